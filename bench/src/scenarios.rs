//! One realistic request per function: the event Lambda would deliver (API Gateway v2 for
//! HTTP routes, a DynamoDB stream batch, an EventBridge schedule), and the in-process call
//! of its handler.

use std::net::SocketAddr;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use axum::body::Bytes;
use edubot_e2e::{status, user_text, APP_SECRET};
use http::{HeaderMap, Method};
use serde_json::{json, Value};

use crate::fixture::Fixture;

pub const LOGIN_USER: &str = "bench.login";
pub const LOGIN_PASSWORD: &str = "bench correct horse battery";

pub enum Invocation {
    Http(Box<ApiGatewayV2httpRequest>),
    Stream(aws_lambda_events::dynamodb::Event),
    Schedule(Box<EventBridgeEvent>),
}

impl Invocation {
    pub fn to_json(&self) -> Value {
        match self {
            Invocation::Http(e) => serde_json::to_value(e).unwrap(),
            Invocation::Stream(e) => serde_json::to_value(e).unwrap(),
            Invocation::Schedule(e) => serde_json::to_value(e).unwrap(),
        }
    }
}

pub fn api_event(
    method: Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> ApiGatewayV2httpRequest {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let matched = edubot_local::gateway::match_route(&method, path)
        .unwrap_or_else(|| panic!("no route for {method} {path}"));
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let source: SocketAddr = "203.0.113.7:50000".parse().unwrap();
    edubot_local::gateway::to_event(
        &method,
        path,
        query,
        &map,
        &Bytes::copy_from_slice(body),
        source,
        &matched,
    )
}

fn http(e: ApiGatewayV2httpRequest) -> Invocation {
    Invocation::Http(Box::new(e))
}

pub fn schedule_event() -> EventBridgeEvent {
    serde_json::from_value(json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/edubot-bench-every-minute"],
        "detail": {}
    }))
    .expect("EventBridge event")
}

/// Phones: 15 digits, a range per use so scenarios do not disturb each other.
pub fn phone(range: u32, i: usize) -> String {
    format!("4477{range:03}{:08}", i)
}

pub struct Scenarios<'a> {
    pub fx: &'a Fixture,
    /// Tokens of several admins (sends are limited per admin and minute).
    pub tokens: Vec<String>,
    /// A conversation in chat support, with history.
    pub support_phone: String,
    /// Its newest message id (for `after=` polling).
    pub newest_id: String,
}

impl<'a> Scenarios<'a> {
    pub async fn new(fx: &'a Fixture, admins: usize) -> Scenarios<'a> {
        let mut tokens = Vec::new();
        for a in 0..admins.max(1) {
            tokens.push(
                fx.admin_token(&format!("bench.admin{a:02}"), "bench-password-123")
                    .await,
            );
        }
        fx.admin_token(LOGIN_USER, LOGIN_PASSWORD).await;
        let support_phone = phone(1, 0);
        fx.user_says(&support_phone, "Hello").await;
        fx.user_says(&support_phone, "menu").await;
        fx.enter_support(&support_phone).await;
        fx.user_says(&support_phone, "I have a question about my fees")
            .await;
        let page = fx
            .ctx
            .store
            .messages_page(
                &edubot_adapters::Phone::parse(&support_phone).unwrap(),
                1,
                None,
                None,
            )
            .await
            .expect("history");
        let newest_id = page.items.last().map(|m| m.id.clone()).unwrap_or_default();
        fx.counter.take();
        Scenarios {
            fx,
            tokens,
            support_phone,
            newest_id,
        }
    }

    fn bearer(&self, i: usize) -> String {
        format!("Bearer {}", self.tokens[i % self.tokens.len()])
    }

    /// The warm scenarios (cold start uses each function's first).
    pub fn names() -> &'static [&'static str] {
        &[
            "webhook",
            "webhook (status)",
            "inbound-processor",
            "admin-login",
            "list-conversations",
            "get-messages",
            "get-messages (after=)",
            "send-message",
            "end-chat",
            "dashboard",
            "activation-codes",
            "retry-message",
            "list-templates",
            "send-template",
            "mark-read",
            "typing",
            "scheduled-checks",
        ]
    }

    /// The function a scenario calls.
    pub fn function_of(name: &str) -> &str {
        name.split(' ').next().unwrap_or(name)
    }

    /// Prepares iteration `i` of `name` (untimed) and answers its event.
    pub async fn prepare(&self, name: &str, i: usize) -> Option<Invocation> {
        let fx = self.fx;
        // Sends are limited per admin and minute: they rotate admins; the rest use one.
        let sends = matches!(name, "send-message" | "send-template");
        let auth = self.bearer(if sends { i } else { 0 });
        let auth_h = [("authorization", auth.as_str())];
        Some(match name {
            "webhook" => {
                let payload = user_text(
                    &phone(2, i % 40),
                    &fx.wamid(),
                    edubot_e2e::now_secs(),
                    "Hello",
                );
                http(signed_event(&payload))
            }
            "webhook (status)" => {
                let sends = fx.graph.sends();
                let last = sends.iter().rev().find(|s| s.wamid.is_some())?;
                let callback = last.body["biz_opaque_callback_data"].as_str();
                let payload = status(last.wamid.as_deref().unwrap(), "read", last.to(), callback);
                http(signed_event(&payload))
            }
            "inbound-processor" => {
                let p = phone(3, i % 40);
                fx.inbound(&p, if i % 2 == 0 { "menu" } else { "Hello" })
                    .await;
                Invocation::Stream(fx.stream_event_for(&p).await)
            }
            "admin-login" => {
                let body = json!({"username": LOGIN_USER, "password": LOGIN_PASSWORD}).to_string();
                http(api_event(
                    Method::POST,
                    "/api/admin/login",
                    &[("content-type", "application/json")],
                    body.as_bytes(),
                ))
            }
            "list-conversations" => http(api_event(
                Method::GET,
                "/api/admin/conversations?limit=50",
                &auth_h,
                b"",
            )),
            "get-messages" => http(api_event(
                Method::GET,
                &format!("/api/admin/conversations/{}/messages", self.support_phone),
                &auth_h,
                b"",
            )),
            "get-messages (after=)" => http(api_event(
                Method::GET,
                &format!(
                    "/api/admin/conversations/{}/messages?after={}",
                    self.support_phone, self.newest_id
                ),
                &auth_h,
                b"",
            )),
            "send-message" => {
                let body = json!({"text": format!("Hello from the desk, reply {i}.")}).to_string();
                http(api_event(
                    Method::POST,
                    &format!(
                        "/api/admin/conversations/{}/chat-support/send",
                        self.support_phone
                    ),
                    &[auth_h[0], ("content-type", "application/json")],
                    body.as_bytes(),
                ))
            }
            "end-chat" => {
                let p = phone(4, i);
                fx.enter_support(&p).await;
                http(api_event(
                    Method::POST,
                    &format!("/api/admin/conversations/{p}/chat-support/end"),
                    &auth_h,
                    b"",
                ))
            }
            "dashboard" => http(api_event(Method::GET, "/api/admin/dashboard", &auth_h, b"")),
            "activation-codes" => {
                let body =
                    json!({"student_name": "Ada Lovelace", "course": "Data Analytics"}).to_string();
                http(api_event(
                    Method::POST,
                    "/api/admin/activation-codes",
                    &[auth_h[0], ("content-type", "application/json")],
                    body.as_bytes(),
                ))
            }
            "retry-message" => http(api_event(
                Method::POST,
                &format!(
                    "/api/admin/conversations/{}/messages/{}/retry",
                    self.support_phone,
                    edubot_adapters::model::new_message_id()
                ),
                &auth_h,
                b"",
            )),
            "list-templates" => http(api_event(Method::GET, "/api/admin/templates", &auth_h, b"")),
            "send-template" => {
                let body = json!({"name": "support_followup", "language": "en_US",
                    "parameters": ["Ada", format!("question {i}")]})
                .to_string();
                http(api_event(
                    Method::POST,
                    &format!("/api/admin/conversations/{}/template", self.support_phone),
                    &[auth_h[0], ("content-type", "application/json")],
                    body.as_bytes(),
                ))
            }
            // A new message each time, so each call has a receipt to send.
            "mark-read" => {
                fx.user_says(&self.support_phone, "Are you there?").await;
                http(api_event(
                    Method::POST,
                    &format!("/api/admin/conversations/{}/read", self.support_phone),
                    &auth_h,
                    b"",
                ))
            }
            // Called as the page calls it while an admin types: most calls are throttled.
            "typing" => http(api_event(
                Method::POST,
                &format!("/api/admin/conversations/{}/typing", self.support_phone),
                &auth_h,
                b"",
            )),
            "scheduled-checks" => Invocation::Schedule(Box::new(schedule_event())),
            _ => return None,
        })
    }
}

impl Scenarios<'_> {
    /// A stream batch as a burst fills it: the new messages of `users` users (of 200,
    /// in turn), each stored through the webhook handler (untimed).
    pub async fn stream_batch(&self, i: usize, users: usize) -> Invocation {
        let mut batch = aws_lambda_events::dynamodb::Event::default();
        for u in 0..users {
            let p = phone(5, (i * users + u) % 200);
            self.fx
                .inbound(&p, if (i + u) % 3 == 0 { "menu" } else { "Hello" })
                .await;
            batch
                .records
                .extend(self.fx.stream_event_for(&p).await.records);
        }
        Invocation::Stream(batch)
    }
}

fn signed_event(payload: &Value) -> ApiGatewayV2httpRequest {
    let body = payload.to_string();
    let sig = edubot_adapters::whatsapp::signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    api_event(
        Method::POST,
        "/webhook",
        &[
            ("content-type", "application/json"),
            ("x-hub-signature-256", &sig),
        ],
        body.as_bytes(),
    )
}

/// Runs the scenario's handler in-process; answers the HTTP status (or "ok").
pub async fn call_handler(
    name: &str,
    ctx: &edubot_adapters::AppContext,
    inv: Invocation,
) -> String {
    let function = Scenarios::function_of(name);
    match inv {
        Invocation::Http(e) => {
            let req = lambda_http::request::from_str(&serde_json::to_string(&e).unwrap())
                .expect("event parses");
            let res = match function {
                "webhook" => webhook::handle(ctx, req).await,
                "admin-login" => admin_login::handle(ctx, req).await,
                "list-conversations" => list_conversations::handle(ctx, req).await,
                "get-messages" => get_messages::handle(ctx, req).await,
                "send-message" => send_message::handle(ctx, req).await,
                "end-chat" => end_chat::handle(ctx, req).await,
                "dashboard" => dashboard::handle(ctx, req).await,
                "activation-codes" => activation_codes::handle(ctx, req).await,
                "retry-message" => retry_message::handle(ctx, req).await,
                "list-templates" => list_templates::handle(ctx, req).await,
                "send-template" => send_template::handle(ctx, req).await,
                "mark-read" => mark_read::handle(ctx, req).await,
                "typing" => typing::handle(ctx, req).await,
                "reports" => reports::handle(ctx, req).await,
                other => panic!("no in-process handler for {other}"),
            };
            res.status().as_u16().to_string()
        }
        Invocation::Stream(e) => {
            let r = inbound_processor::handle(ctx, e).await;
            if r.batch_item_failures.is_empty() {
                "ok"
            } else {
                "failures"
            }
            .into()
        }
        Invocation::Schedule(e) => match scheduled_checks::handle(ctx, *e).await {
            Ok(_) => "ok".into(),
            Err(e) => format!("error: {e}"),
        },
    }
}
