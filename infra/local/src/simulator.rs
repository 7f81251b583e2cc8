//! The WhatsApp simulator: a stand-in Graph API that records and answers sends like Meta
//! (and posts `delivered`/`read` statuses back), plus a page where a person plays the
//! WhatsApp user; their messages become signed webhooks posted to `/webhook`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use edubot_adapters::whatsapp::signature;
use edubot_adapters::Phone;
use serde::Deserialize;
use serde_json::{json, Value};

/// Builds the webhook payload Meta posts for one change value.
pub fn webhook_payload(phone_number_id: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = "whatsapp".into();
    value["metadata"] =
        json!({ "display_phone_number": "15550000000", "phone_number_id": phone_number_id });
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "0", "changes": [{ "field": "messages", "value": value }] }]
    })
}

/// A user's message as Meta delivers it: `message` holds `type` and its type's object.
pub fn user_message_payload(
    phone_number_id: &str,
    from: &str,
    name: &str,
    wamid: &str,
    timestamp_secs: i64,
    message: Value,
) -> Value {
    let mut m = message;
    m["from"] = from.into();
    m["id"] = wamid.into();
    m["timestamp"] = timestamp_secs.to_string().into();
    webhook_payload(
        phone_number_id,
        json!({ "contacts": [{ "profile": { "name": name }, "wa_id": from }], "messages": [m] }),
    )
}

/// A delivery status for one of the business's messages.
pub fn status_payload(
    phone_number_id: &str,
    wamid: &str,
    status: &str,
    recipient: &str,
    callback: Option<&str>,
    timestamp_secs: i64,
) -> Value {
    let mut s = json!({ "id": wamid, "status": status, "timestamp": timestamp_secs.to_string(), "recipient_id": recipient });
    if let Some(c) = callback {
        s["biz_opaque_callback_data"] = c.into();
    }
    webhook_payload(phone_number_id, json!({ "statuses": [s] }))
}

#[derive(Debug, Clone, serde::Serialize)]
struct LoggedMessage {
    /// `business` (sent through the Graph API) or `user` (typed in the simulator).
    from: &'static str,
    phone: String,
    wamid: String,
    callback: Option<String>,
    /// The Graph API request body, or the user's message object.
    message: Value,
    at: i64,
    status: &'static str,
}

pub struct Simulator {
    phone_number_id: String,
    access_token: String,
    app_secret: String,
    webhook_url: String,
    http: reqwest::Client,
    log: Mutex<Vec<LoggedMessage>>,
}

impl Simulator {
    pub fn new(
        phone_number_id: &str,
        access_token: &str,
        app_secret: &str,
        webhook_url: String,
    ) -> Arc<Self> {
        Arc::new(Simulator {
            phone_number_id: phone_number_id.to_owned(),
            access_token: access_token.to_owned(),
            app_secret: app_secret.to_owned(),
            webhook_url,
            http: reqwest::Client::new(),
            log: Mutex::new(Vec::new()),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/simulator/graph/{phone_number_id}/messages",
                post(graph_send),
            )
            .route("/simulator/api/messages", get(user_view))
            .route("/simulator/api/send", post(user_send))
            .with_state(self.clone())
    }

    /// Signs and posts a payload to the webhook, as Meta does.
    async fn post_webhook(&self, payload: &Value) -> Result<u16, String> {
        let body = payload.to_string();
        let response = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                signature::sign(self.app_secret.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }
}

fn meta_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "simulator" } });
    (status, Json(body)).into_response()
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `POST /{phone_number_id}/messages`, answered as Meta would.
async fn graph_send(
    State(sim): State<Arc<Simulator>>,
    Path(phone_number_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let authorised = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        == Some(sim.access_token.as_str());
    if !authorised {
        return meta_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token.");
    }
    if phone_number_id != sim.phone_number_id {
        return meta_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Unsupported post request: unknown phone number id.",
        );
    }
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return meta_error(StatusCode::BAD_REQUEST, 100, "(#100) Invalid JSON.");
    };
    let to = request["to"].as_str().and_then(Phone::parse);
    let kind_ok = match request["type"].as_str() {
        Some("text") => request["text"]["body"]
            .as_str()
            .is_some_and(|b| (1..=4096).contains(&b.chars().count())),
        Some("interactive") => request["interactive"].is_object(),
        _ => false,
    };
    let (Some(to), true, Some("whatsapp")) = (to, kind_ok, request["messaging_product"].as_str())
    else {
        return meta_error(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter.");
    };
    let wamid = format!("wamid.SIM{}", edubot_adapters::model::new_message_id());
    let callback = request["biz_opaque_callback_data"]
        .as_str()
        .map(str::to_owned);
    sim.log.lock().expect("log lock").push(LoggedMessage {
        from: "business",
        phone: to.to_string(),
        wamid: wamid.clone(),
        callback: callback.clone(),
        message: request,
        at: chrono::Utc::now().timestamp_millis(),
        status: "delivered",
    });
    // Meta reports delivery a moment later, on the webhook.
    let delayed = sim.clone();
    let (phone, id) = (to.to_string(), wamid.clone());
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let payload = status_payload(
            &delayed.phone_number_id,
            &id,
            "delivered",
            &phone,
            callback.as_deref(),
            now_secs(),
        );
        let _ = delayed.post_webhook(&payload).await;
    });
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to.as_str(), "wa_id": to.as_str() }],
        "messages": [{ "id": wamid }]
    }))
    .into_response()
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: String,
}

/// What the simulated user's phone shows; displaying business messages marks them read.
async fn user_view(State(sim): State<Arc<Simulator>>, Query(q): Query<PhoneQuery>) -> Response {
    let mut to_mark = Vec::new();
    let messages: Vec<LoggedMessage> = {
        let mut log = sim.log.lock().expect("log lock");
        for m in log.iter_mut().filter(|m| m.phone == q.phone) {
            if m.from == "business" && m.status != "read" {
                m.status = "read";
                to_mark.push((m.wamid.clone(), m.callback.clone()));
            }
        }
        log.iter().filter(|m| m.phone == q.phone).cloned().collect()
    };
    if !to_mark.is_empty() {
        let sim = sim.clone();
        let phone = q.phone.clone();
        tokio::spawn(async move {
            for (wamid, callback) in to_mark {
                let payload = status_payload(
                    &sim.phone_number_id,
                    &wamid,
                    "read",
                    &phone,
                    callback.as_deref(),
                    now_secs(),
                );
                let _ = sim.post_webhook(&payload).await;
            }
        });
    }
    Json(json!({ "messages": messages })).into_response()
}

#[derive(Deserialize)]
struct UserSend {
    phone: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    text: Option<String>,
    /// A tapped button or list row: `{"id","title","kind":"button_reply"|"list_reply"}`.
    #[serde(default)]
    reply: Option<Value>,
}

/// The simulated user sends a message: a signed webhook posted to `/webhook`.
async fn user_send(State(sim): State<Arc<Simulator>>, Json(send): Json<UserSend>) -> Response {
    let Some(phone) = Phone::parse(&send.phone) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "phone must be 8 to 15 digits"})),
        )
            .into_response();
    };
    let message = match (&send.text, &send.reply) {
        (Some(text), _) if !text.trim().is_empty() => {
            json!({ "type": "text", "text": { "body": text } })
        }
        (_, Some(reply)) => {
            let kind = if reply["kind"] == "list_reply" {
                "list_reply"
            } else {
                "button_reply"
            };
            json!({ "type": "interactive", "interactive": {
                "type": kind, kind: { "id": reply["id"], "title": reply["title"] } } })
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "text or reply required"})),
            )
                .into_response()
        }
    };
    let wamid = format!("wamid.USER{}", edubot_adapters::model::new_message_id());
    let name = if send.name.trim().is_empty() {
        "Simulated user"
    } else {
        send.name.trim()
    };
    let payload = user_message_payload(
        &sim.phone_number_id,
        phone.as_str(),
        name,
        &wamid,
        now_secs(),
        message.clone(),
    );
    sim.log.lock().expect("log lock").push(LoggedMessage {
        from: "user",
        phone: phone.to_string(),
        wamid,
        callback: None,
        message,
        at: chrono::Utc::now().timestamp_millis(),
        status: "sent",
    });
    match sim.post_webhook(&payload).await {
        Ok(status) => Json(json!({ "webhook_status": status })).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e }))).into_response(),
    }
}
