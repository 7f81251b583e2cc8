//! HTTP for the admin API and the webhook: the one place errors become responses,
//! request parsing with limits, and authentication of admin requests.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::AppContext;
use crate::phone::Phone;
use edubot_app::auth::Session;
use edubot_app::sending::SendOutcome;
use edubot_app::{AppError, ErrorCode};

/// Admin API request bodies over this are refused with 413 (docs/architecture.md).
/// The limit is on the text (4096 characters); the body's leaves room for the longest
/// text even when a client escapes every character as a `\uXXXX` surrogate pair (12 bytes
/// each): 4096 × 12 bytes and the envelope fit.
pub const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024;

pub fn json_response<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Body::from(
            serde_json::to_string(value).expect("responses serialise"),
        ))
        .expect("static response parts")
}

/// A send's answer: 201 sent, 202 while a retry is scheduled (a refusal is the error's).
pub fn send_response(outcome: SendOutcome) -> Response<Body> {
    let (status, message) = match &outcome {
        SendOutcome::Sent(m) => (201, m),
        SendOutcome::Retrying(m) => (202, m),
    };
    json_response(
        status,
        &serde_json::json!({ "message": crate::views::message(message) }),
    )
}

/// A response with no body (204).
pub fn empty_response(status: u16) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .expect("static response parts")
}

/// The HTTP status of each error code of the API.
pub fn status_of(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::InvalidRequest => 400,
        ErrorCode::Unauthorized => 401,
        ErrorCode::Forbidden => 403,
        ErrorCode::NotFound => 404,
        ErrorCode::NotInChatSupport
        | ErrorCode::WindowClosed
        | ErrorCode::OptedOut
        | ErrorCode::AssignedToOther
        | ErrorCode::Conflict => 409,
        ErrorCode::TooLarge => 413,
        ErrorCode::RateLimited => 429,
        ErrorCode::WhatsappError => 502,
        ErrorCode::Internal => 500,
    }
}

/// `{"error":{"code","message"}}`, and beside it the failed `message` of a refused send.
pub fn error_body(e: &AppError) -> serde_json::Value {
    let mut body = serde_json::json!({
        "error": { "code": e.code, "message": e.message }
    });
    if let Some(failed) = &e.failed_message {
        body["message"] = serde_json::json!(crate::views::message(failed));
    }
    if let Some(conversation) = &e.conversation {
        body["conversation"] = serde_json::json!(crate::views::conversation(conversation));
    }
    body
}

pub fn error_response(e: &AppError) -> Response<Body> {
    let mut response = json_response(status_of(e.code), &error_body(e));
    if let Some(seconds) = e.retry_after {
        response.headers_mut().insert("retry-after", seconds.into());
    }
    response
}

/// Turns a handler's result into the response; the only mapping of errors to HTTP.
pub fn respond(result: Result<Response<Body>, AppError>) -> Response<Body> {
    result.unwrap_or_else(|e| error_response(&e))
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// The JSON body, within the admin API's size limit.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_ADMIN_BODY_BYTES {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            "The request body is larger than 64 KiB.",
        ));
    }
    if bytes.is_empty() {
        return Err(AppError::invalid("A JSON body is required."));
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut json)
        .map_err(|e| AppError::invalid(body_refusal(&e)))?;
    json.end()
        .map_err(|_| AppError::invalid("The body is not valid JSON."))?;
    Ok(value)
}

/// Why a body was refused, for a person: the field at fault, never the parser's own text
/// (it can quote the input); the kind of fault and the field go to the log.
fn body_refusal(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    use serde_json::error::Category;
    let category = e.inner().classify();
    let path = e.path().to_string();
    tracing::info!(?category, field = %path, "request body refused");
    if category != Category::Data {
        return "The body is not valid JSON.".into();
    }
    let missing = e.inner().to_string();
    let missing = missing
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (missing, path.as_str()) {
        (Some(field), ".") => format!("The field `{field}` is required."),
        (Some(field), parent) => format!("The field `{parent}.{field}` is required."),
        (None, ".") => "The body must be a JSON object with the fields this request takes.".into(),
        // A top-level array: its elements are no field of ours.
        (None, field) if field.starts_with('[') => {
            "The body must be a JSON object with the fields this request takes.".into()
        }
        (None, field) => format!("The field `{field}` has a value of the wrong type or form."),
    }
}

/// `{phone}` from the route: 8 to 15 digits.
pub fn path_phone(req: &Request) -> Result<Phone, AppError> {
    let params = req.path_parameters_ref();
    let raw = params.and_then(|p| p.first("phone")).unwrap_or_default();
    Phone::parse(raw).ok_or_else(|| {
        AppError::invalid("The phone number must be 8 to 15 digits (a WhatsApp id).")
    })
}

/// The `{id}` of a message route.
pub fn path_message_id(req: &Request) -> Result<&str, AppError> {
    req.path_parameters_ref()
        .and_then(|p| p.first("id"))
        .filter(|id| crate::store::valid_message_id(id))
        .ok_or_else(|| AppError::invalid("The message id is not valid."))
}

/// A path parameter as the route names it (an empty string when absent: no valid name or
/// key is empty, so the use case answers 404).
pub fn path_param<'a>(req: &'a Request, name: &str) -> &'a str {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .unwrap_or_default()
}

pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
}

/// A list's page when `limit` is absent (docs/openapi.yaml)…
pub const DEFAULT_PAGE: i32 = 50;
/// …and the most one may ask for.
pub const MAX_PAGE: i32 = 200;
/// A search's page at most: each item costs index reads (docs/team.md).
pub const MAX_SEARCH_PAGE: i32 = 100;

/// `limit`: 1 to `max`, DEFAULT_PAGE when absent.
pub fn limit_param(req: &Request, max: i32) -> Result<i32, AppError> {
    match query(req, "limit") {
        None => Ok(DEFAULT_PAGE),
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| AppError::invalid(format!("limit must be a number from 1 to {max}."))),
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The header CloudFront adds to every request it sends the API, carrying
/// `ORIGIN_VERIFY_SECRET`: proof that the request came through CloudFront.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// The caller's address: CloudFront's viewer address when the request provably came
/// through CloudFront, else API Gateway's source address. Anyone can send a
/// `CloudFront-Viewer-Address` header straight to the API's own URL; only CloudFront knows
/// the origin secret.
pub fn source_address(ctx: &AppContext, req: &Request) -> String {
    let secret = ctx.config.origin_verify_secret.expose().as_bytes();
    let via_cloudfront = !secret.is_empty()
        && header(req, ORIGIN_VERIFY_HEADER)
            .is_some_and(|given| constant_time_eq(given.as_bytes(), secret));
    if let Some(viewer) = header(req, "cloudfront-viewer-address").filter(|_| via_cloudfront) {
        // "203.0.113.7:46532" or "[2001:db8::1]:46532": drop the port.
        if let Some((ip, _port)) = viewer.rsplit_once(':') {
            return per_client(ip.trim_matches(['[', ']']));
        }
    }
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
            per_client(ctx.http.source_ip.as_deref().unwrap_or_default())
        }
        _ => String::new(),
    }
}

/// An address as one client: IPv4 as it is, IPv6 by its /64, the block one subscriber
/// gets and rotates addresses inside.
fn per_client(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{}/64", std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        _ => ip.to_owned(),
    }
}

/// Equal bytes, compared in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The admin making the request: a valid token of an admin who is still enabled.
pub async fn authenticate(ctx: &AppContext, req: &Request) -> Result<String, AppError> {
    authenticate_session(ctx, req).await.map(|s| s.admin)
}

/// [`authenticate_session`] for what only a supervisor may do: 403 `forbidden` for an admin.
pub async fn authenticate_supervisor(ctx: &AppContext, req: &Request) -> Result<Session, AppError> {
    let session = authenticate_session(ctx, req).await?;
    if !session.is_supervisor() {
        return Err(AppError::forbidden("Only a supervisor may do this."));
    }
    Ok(session)
}

/// The caller's session: a valid token of an admin who is still enabled, at their current
/// token version (what a WebSocket ticket carries), with the account's role.
pub async fn authenticate_session(ctx: &AppContext, req: &Request) -> Result<Session, AppError> {
    let token = header(req, "authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or_else(AppError::unauthorized)?;
    let claims = ctx
        .tokens()
        .verify(token.trim())
        .ok_or_else(AppError::unauthorized)?;
    // Only our own signing key makes tokens; one naming no role of ours is refused. The
    // role that counts is the account's, read with its token version.
    if edubot_app::auth::Role::parse(&claims.role).is_none() {
        return Err(AppError::forbidden(
            "This account may not use the admin API.",
        ));
    }
    ctx.admins
        .session(&ctx.store, &claims.sub, claims.ver)
        .await?
        .ok_or_else(AppError::unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Needs};

    #[test]
    fn wire_form_is_snake_case_with_message() {
        let e = AppError::new(ErrorCode::NotInChatSupport, "Not in chat support.");
        assert_eq!(status_of(e.code), 409);
        assert_eq!(
            error_body(&e),
            serde_json::json!({"error":{"code":"not_in_chat_support","message":"Not in chat support."}})
        );
        let failed = crate::model::Message::outbound(
            crate::Phone::parse("447700900123").unwrap(),
            "1".into(),
            crate::model::Author::Admin,
            crate::whatsapp::OutboundBody::text("hi"),
            0,
        );
        let e = AppError::new(ErrorCode::WhatsappError, "x").with_failed_message(failed);
        assert_eq!(error_body(&e)["message"]["id"], "1");
        assert_eq!(AppError::rate_limited(0).retry_after, Some(1));
    }

    fn context(origin_secret: &str) -> AppContext {
        let env = [("TABLE_NAME", "t"), ("ORIGIN_VERIFY_SECRET", origin_secret)];
        let config = Config::from_lookup(Needs::default(), |k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        AppContext::new(config, dynamodb)
    }

    /// An API Gateway v2 request from 198.51.100.9 with these headers.
    fn request(headers: serde_json::Value) -> Request {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "POST /api/admin/login", "rawPath": "/api/admin/login", "rawQueryString": "",
            "headers": headers, "isBase64Encoded": false,
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "requestId": "r",
                "routeKey": "POST /api/admin/login", "stage": "$default", "time": "", "timeEpoch": 0,
                "http": {"method": "POST", "path": "/api/admin/login", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.9", "userAgent": "t"}}
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn an_ipv6_client_is_its_64_block_and_an_ipv4_one_its_address() {
        let a = per_client("2001:db8:aa:bb:1111:2222:3333:4444");
        assert_eq!(a, "2001:db8:aa:bb::/64");
        assert_eq!(
            per_client("2001:db8:aa:bb::9"),
            a,
            "a rotated address, the same client"
        );
        assert_ne!(
            per_client("2001:db8:aa:bc::9"),
            a,
            "the next /64 is another client"
        );
        assert_eq!(per_client("203.0.113.7"), "203.0.113.7");
        assert_eq!(
            per_client("::ffff:203.0.113.7"),
            "203.0.113.7",
            "IPv4, mapped"
        );
    }

    #[tokio::test]
    async fn the_viewer_address_is_trusted_only_from_cloudfront() {
        let ctx = context("origin-secret");
        let forged = request(serde_json::json!({"cloudfront-viewer-address": "203.0.113.7:4000"}));
        assert_eq!(
            source_address(&ctx, &forged),
            "198.51.100.9",
            "no origin secret: API Gateway's address"
        );
        let wrong = request(
            serde_json::json!({"cloudfront-viewer-address": "203.0.113.7:4000", "x-origin-verify": "guess"}),
        );
        assert_eq!(source_address(&ctx, &wrong), "198.51.100.9");
        let cloudfront = request(
            serde_json::json!({"cloudfront-viewer-address": "[2001:db8::1]:4000", "x-origin-verify": "origin-secret"}),
        );
        assert_eq!(source_address(&ctx, &cloudfront), "2001:db8::/64");
        let not_behind_cloudfront = context("");
        let empty_secret = request(
            serde_json::json!({"cloudfront-viewer-address": "203.0.113.7:4000", "x-origin-verify": ""}),
        );
        assert_eq!(
            source_address(&not_behind_cloudfront, &empty_secret),
            "198.51.100.9"
        );
    }
}
