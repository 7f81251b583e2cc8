//! API Gateway (HTTP API, payload 2.0) in miniature: each request is matched to its route,
//! turned into the `ApiGatewayV2httpRequest` event Lambda would deliver, parsed by
//! `lambda_http` exactly as in AWS, and handed to the function's handler.

use std::collections::HashMap;
use std::net::SocketAddr;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext};
use axum::body::Bytes;
use base64::Engine;
use edubot_adapters::AppContext;
use http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Response};

/// The functions behind the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Webhook,
    AdminLogin,
    ListConversations,
    GetMessages,
    SendMessage,
    EndChat,
    Dashboard,
    RetryMessage,
    ActivationCodes,
    GetMedia,
    CreateAttachment,
    ListTemplates,
    SendTemplate,
    MarkRead,
    Typing,
    WsTicket,
    ListAdmins,
    CreateAdmin,
    DisableAdmin,
    EnableAdmin,
    SetAdminPassword,
    AssignConversation,
    AddNote,
    ListCannedReplies,
    CreateCannedReply,
    DeleteCannedReply,
    AuditLog,
    Reports,
}

/// The HTTP API's routes, as the CloudFormation template declares them.
pub const ROUTES: &[(&str, &str, Function)] = &[
    ("GET", "/webhook", Function::Webhook),
    ("POST", "/webhook", Function::Webhook),
    ("POST", "/api/admin/login", Function::AdminLogin),
    (
        "GET",
        "/api/admin/conversations",
        Function::ListConversations,
    ),
    (
        "GET",
        "/api/admin/conversations/{phone}/messages",
        Function::GetMessages,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/chat-support/send",
        Function::SendMessage,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/chat-support/end",
        Function::EndChat,
    ),
    ("GET", "/api/admin/dashboard", Function::Dashboard),
    (
        "POST",
        "/api/admin/conversations/{phone}/messages/{id}/retry",
        Function::RetryMessage,
    ),
    (
        "POST",
        "/api/admin/activation-codes",
        Function::ActivationCodes,
    ),
    (
        "GET",
        "/api/admin/conversations/{phone}/messages/{id}/media",
        Function::GetMedia,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/attachments",
        Function::CreateAttachment,
    ),
    ("GET", "/api/admin/templates", Function::ListTemplates),
    (
        "POST",
        "/api/admin/conversations/{phone}/template",
        Function::SendTemplate,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/read",
        Function::MarkRead,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/typing",
        Function::Typing,
    ),
    ("POST", "/api/admin/ws-ticket", Function::WsTicket),
    ("GET", "/api/admin/admins", Function::ListAdmins),
    ("POST", "/api/admin/admins", Function::CreateAdmin),
    (
        "POST",
        "/api/admin/admins/{username}/disable",
        Function::DisableAdmin,
    ),
    (
        "POST",
        "/api/admin/admins/{username}/enable",
        Function::EnableAdmin,
    ),
    (
        "POST",
        "/api/admin/admins/{username}/password",
        Function::SetAdminPassword,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/assign",
        Function::AssignConversation,
    ),
    (
        "POST",
        "/api/admin/conversations/{phone}/notes",
        Function::AddNote,
    ),
    (
        "GET",
        "/api/admin/canned-replies",
        Function::ListCannedReplies,
    ),
    (
        "POST",
        "/api/admin/canned-replies",
        Function::CreateCannedReply,
    ),
    (
        "DELETE",
        "/api/admin/canned-replies/{shortcut}",
        Function::DeleteCannedReply,
    ),
    ("GET", "/api/admin/audit", Function::AuditLog),
    ("GET", "/api/admin/reports", Function::Reports),
];

/// A matched route: the function, its route key and the path parameters.
pub struct Matched {
    pub function: Function,
    pub route_key: String,
    pub path_parameters: HashMap<String, String>,
}

pub fn match_route(method: &Method, path: &str) -> Option<Matched> {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().find_map(|(m, pattern, function)| {
        if *m != method.as_str() {
            return None;
        }
        let pattern_segments: Vec<&str> = pattern.split('/').collect();
        if pattern_segments.len() != segments.len() {
            return None;
        }
        let mut params = HashMap::new();
        for (p, s) in pattern_segments.iter().zip(&segments) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !s.is_empty() => {
                    params.insert(name.to_owned(), percent_decode(s));
                }
                Some(_) => return None,
                None if p == s => {}
                None => return None,
            }
        }
        Some(Matched {
            function: *function,
            route_key: format!("{m} {pattern}"),
            path_parameters: params,
        })
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The event API Gateway would send for this request.
pub fn to_event(
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &Bytes,
    source: SocketAddr,
    matched: &Matched,
) -> ApiGatewayV2httpRequest {
    let now = chrono::Utc::now();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(matched.route_key.clone());
    context.account_id = Some("000000000000".into());
    context.stage = Some("$default".into());
    context.request_id = Some(edubot_adapters::model::new_message_id());
    context.apiid = Some("local".into());
    context.domain_name = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    context.time = Some(now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
    context.time_epoch = now.timestamp_millis();
    context.http.method = method.clone();
    context.http.path = Some(path.to_owned());
    context.http.protocol = Some("HTTP/1.1".into());
    context.http.source_ip = Some(source.ip().to_string());
    context.http.user_agent = headers
        .get("user-agent")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(matched.route_key.clone());
    event.raw_path = Some(path.to_owned());
    event.raw_query_string = Some(raw_query.to_owned());
    event.cookies = {
        let cookies: Vec<String> = headers
            .get_all("cookie")
            .iter()
            .filter_map(|c| c.to_str().ok())
            .flat_map(|c| c.split("; ").map(str::to_owned))
            .collect();
        (!cookies.is_empty()).then_some(cookies)
    };
    // Payload 2.0 joins repeated headers with commas and drops cookies from the headers.
    let mut joined = HeaderMap::new();
    for name in headers.keys().filter(|n| n.as_str() != "cookie") {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if let Ok(value) = values.join(",").parse() {
            joined.insert(name.clone(), value);
        }
    }
    event.headers = joined;
    event.query_string_parameters = raw_query.parse().unwrap_or_default();
    event.path_parameters = matched.path_parameters.clone();
    event.request_context = context;
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event.body = Some(text.to_owned()),
            Err(_) => {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// Delivers `event` to `function` as Lambda would: as JSON, parsed by `lambda_http`.
pub async fn invoke(
    ctx: &AppContext,
    function: Function,
    event: &ApiGatewayV2httpRequest,
) -> Response<Body> {
    let json = serde_json::to_string(event).expect("events serialise");
    let request = match lambda_http::request::from_str(&json) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "event did not parse");
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::Empty)
                .expect("response");
        }
    };
    dispatch(ctx, function, request).await
}

/// Hands a parsed request to the function's handler.
pub async fn dispatch(
    ctx: &AppContext,
    function: Function,
    request: lambda_http::Request,
) -> Response<Body> {
    match function {
        Function::Webhook => webhook::handle(ctx, request).await,
        Function::AdminLogin => admin_login::handle(ctx, request).await,
        Function::ListConversations => list_conversations::handle(ctx, request).await,
        Function::GetMessages => get_messages::handle(ctx, request).await,
        Function::SendMessage => send_message::handle(ctx, request).await,
        Function::EndChat => end_chat::handle(ctx, request).await,
        Function::Dashboard => dashboard::handle(ctx, request).await,
        Function::RetryMessage => retry_message::handle(ctx, request).await,
        Function::ActivationCodes => activation_codes::handle(ctx, request).await,
        Function::GetMedia => get_media::handle(ctx, request).await,
        Function::CreateAttachment => create_attachment::handle(ctx, request).await,
        Function::ListTemplates => list_templates::handle(ctx, request).await,
        Function::SendTemplate => send_template::handle(ctx, request).await,
        Function::MarkRead => mark_read::handle(ctx, request).await,
        Function::Typing => typing::handle(ctx, request).await,
        Function::WsTicket => ws_ticket::handle(ctx, request).await,
        Function::ListAdmins => list_admins::handle(ctx, request).await,
        Function::CreateAdmin => create_admin::handle(ctx, request).await,
        Function::DisableAdmin => disable_admin::handle(ctx, request).await,
        Function::EnableAdmin => enable_admin::handle(ctx, request).await,
        Function::SetAdminPassword => set_admin_password::handle(ctx, request).await,
        Function::AssignConversation => assign_conversation::handle(ctx, request).await,
        Function::AddNote => add_note::handle(ctx, request).await,
        Function::ListCannedReplies => list_canned_replies::handle(ctx, request).await,
        Function::CreateCannedReply => create_canned_reply::handle(ctx, request).await,
        Function::DeleteCannedReply => delete_canned_reply::handle(ctx, request).await,
        Function::AuditLog => audit_log::handle(ctx, request).await,
        Function::Reports => reports::handle(ctx, request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_routes_with_path_parameters() {
        let m = match_route(
            &Method::POST,
            "/api/admin/conversations/447700900123/chat-support/send",
        )
        .unwrap();
        assert_eq!(m.function, Function::SendMessage);
        assert_eq!(
            m.route_key,
            "POST /api/admin/conversations/{phone}/chat-support/send"
        );
        assert_eq!(m.path_parameters["phone"], "447700900123");
        assert!(match_route(
            &Method::GET,
            "/api/admin/conversations/447700900123/chat-support/send"
        )
        .is_none());
        assert!(match_route(&Method::GET, "/api/admin/conversations//messages").is_none());
        assert_eq!(
            match_route(&Method::GET, "/webhook").unwrap().function,
            Function::Webhook
        );
        assert!(match_route(&Method::GET, "/api/admin/unknown").is_none());
    }

    #[test]
    fn events_parse_as_lambda_http_requests_with_their_parts() {
        use lambda_http::RequestExt;
        let m = match_route(
            &Method::GET,
            "/api/admin/conversations/447700900123/messages",
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer t".parse().unwrap());
        let event = to_event(
            &Method::GET,
            "/api/admin/conversations/447700900123/messages",
            "limit=5&after=X",
            &headers,
            &Bytes::new(),
            "127.0.0.1:5000".parse().unwrap(),
            &m,
        );
        let req = lambda_http::request::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        assert_eq!(
            req.path_parameters_ref().unwrap().first("phone"),
            Some("447700900123")
        );
        assert_eq!(
            req.query_string_parameters_ref().unwrap().first("limit"),
            Some("5")
        );
        assert_eq!(req.headers()["authorization"], "Bearer t");
        assert_eq!(req.method(), Method::GET);
    }
}
