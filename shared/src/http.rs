//! HTTP for the admin API and the webhook: the one place errors become responses,
//! request parsing with limits, and authentication of admin requests.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::AppContext;
use crate::error::{ApiError, ErrorCode};
use crate::phone::Phone;

/// Admin API request bodies over this are refused with 413 (§7).
pub const MAX_ADMIN_BODY_BYTES: usize = 16 * 1024;

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

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut response = json_response(e.code.status(), &e.body());
    if let Some(seconds) = e.retry_after {
        response.headers_mut().insert("retry-after", seconds.into());
    }
    response
}

/// Turns a handler's result into the response; the only mapping of errors to HTTP.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
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
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_ADMIN_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            "The request body is larger than 16 KiB.",
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid("A JSON body is required."));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("The body is not valid JSON for this request: {e}")))
}

/// `{phone}` from the route: 8 to 15 digits.
pub fn path_phone(req: &Request) -> Result<Phone, ApiError> {
    let params = req.path_parameters_ref();
    let raw = params.and_then(|p| p.first("phone")).unwrap_or_default();
    Phone::parse(raw).ok_or_else(|| {
        ApiError::invalid("The phone number must be 8 to 15 digits (a WhatsApp id).")
    })
}

pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
}

/// `limit`: 1 to `max`, `default` when absent.
pub fn limit_param(req: &Request, default: i32, max: i32) -> Result<i32, ApiError> {
    match query(req, "limit") {
        None => Ok(default),
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| ApiError::invalid(format!("limit must be a number from 1 to {max}."))),
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The caller's address: CloudFront's viewer address when behind it, else API Gateway's.
pub fn source_address(req: &Request) -> String {
    if let Some(viewer) = header(req, "cloudfront-viewer-address") {
        // "203.0.113.7:46532" or "[2001:db8::1]:46532": drop the port.
        if let Some((ip, _port)) = viewer.rsplit_once(':') {
            return ip.trim_matches(['[', ']']).to_owned();
        }
    }
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// The admin making the request: a valid token of an admin who is still enabled.
pub async fn authenticate(ctx: &AppContext, req: &Request) -> Result<String, ApiError> {
    let token = header(req, "authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or_else(ApiError::unauthorized)?;
    let claims = ctx
        .tokens
        .verify(token.trim())
        .ok_or_else(ApiError::unauthorized)?;
    if claims.role != crate::auth::ROLE_ADMIN {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "This account may not use the admin API.",
        ));
    }
    if !ctx.admins.is_enabled(&ctx.store, &claims.sub).await? {
        return Err(ApiError::unauthorized());
    }
    Ok(claims.sub)
}

/// The whole `main` of an HTTP function: logs, the context built once for the life of the
/// container (a missing setting fails the cold start), then `lambda_http::run` with the
/// handler borrowing it. A macro because the handler's future borrows the context, which a
/// generic function cannot express as `Send`.
#[macro_export]
macro_rules! http_function_main {
    ($needs:expr, $handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::logging::init();
            let ctx = $crate::AppContext::from_env($needs).await?;
            let ctx = &ctx;
            lambda_http::run(lambda_http::service_fn(move |req| async move {
                Ok::<_, std::convert::Infallible>($handler(ctx, req).await)
            }))
            .await
        }
    };
}
