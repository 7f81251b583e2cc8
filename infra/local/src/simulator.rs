//! The WhatsApp simulator: a stand-in Graph API that records and answers sends like Meta
//! (and posts `delivered`/`read` statuses back), plus a page where a person plays the
//! WhatsApp user; their messages become signed webhooks posted to `/webhook`.
//!
//! Admins' files come as Meta's media sends with a `link`: the stand-in fetches the link
//! (a plain GET, as Meta's fetcher does), checks it as Meta does and holds the bytes in
//! [`UserFiles`], where the page shows them (`/simulator/files/{id}`).
//!
//! For the bench's fault soak it can also misbehave as Meta sometimes does ([`Faults`]):
//! answer a share of sends with a 5xx, answer a share only after the client has given up
//! (having accepted some of those all the same), and post a status webhook again until it
//! is answered 200. By default it does none of that.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use edubot_adapters::whatsapp::signature;
use edubot_adapters::Phone;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;

use crate::user_files::{self, HeldFile, UserFiles};

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

/// How the stand-in Graph API misbehaves (the bench's fault soak sets it; the default is a
/// well-behaved Meta). Which sends fail is decided by a seeded hash of each send's number,
/// so two runs with the same settings fail the same sends in the same order of arrival.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of sends answered with a 5xx and Meta's error body (500 with code 1, or 503
    /// with code 2, alternately); not accepted.
    pub server_error: f64,
    /// Share of sends answered only after `slow_by` (set it past the client's
    /// `WHATSAPP_TIMEOUT_SECONDS`, so the client times out).
    pub timeout: f64,
    /// Of those timed-out sends, the share accepted all the same: recorded as reaching the
    /// user, given a wamid and followed by their status webhook, as a normal send is.
    /// Exact: with 0.5, every second timed-out send.
    pub timeout_accepted: f64,
    /// How late a timed-out send is answered.
    pub slow_by: Duration,
    /// Seeds the choice of the failing sends.
    pub seed: u64,
    /// Post a status webhook again while it is not answered 200, as Meta does (here after
    /// 0.5 s, doubling up to 2 s, for up to 5 minutes). Off: posted once, whatever the answer.
    pub retry_webhooks: bool,
}

/// What the stand-in did so far: its sends and faults, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Well-formed send requests received.
    pub sends: u64,
    pub server_errors: u64,
    pub timeouts: u64,
    /// Timed-out sends that were accepted (they reached the user).
    pub timeouts_accepted: u64,
    /// Status webhooks posted again after an answer other than 200 (or none).
    pub webhook_retries: u64,
}

#[derive(Default)]
struct Counters {
    sends: AtomicU64,
    server_errors: AtomicU64,
    timeouts: AtomicU64,
    timeouts_accepted: AtomicU64,
    webhook_retries: AtomicU64,
}

/// How the stand-in answered a send it accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Answer {
    /// At once, with the wamid.
    #[default]
    Answered,
    /// After the client had given up: the client never learnt it was accepted.
    TimedOut,
}

/// One business message that reached a user, by the stand-in's record: the ground truth
/// for "reached the user twice".
#[derive(Debug, Clone)]
pub struct Delivered {
    pub phone: String,
    pub wamid: String,
    /// Our message id (`biz_opaque_callback_data`).
    pub callback: Option<String>,
    /// Milliseconds since the epoch.
    pub at: i64,
    pub answer: Answer,
    pub request: Value,
    /// A media send's file, as the stand-in fetched it from the link.
    pub file: Option<HeldFile>,
}

/// A uniform number in [0, 1) from a seed and a counter (splitmix64).
fn unit(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether the k-th (0-based) of a run of events is chosen, for an exact share: floor((k+1)·share)
/// moves on (with 0.5: the 2nd, 4th, 6th…).
fn nth_chosen(k: u64, share: f64) -> bool {
    ((k + 1) as f64 * share).floor() > (k as f64 * share).floor()
}

/// A file on the simulated phone, as `GET /simulator/api/messages` lists it.
#[derive(Debug, Clone, serde::Serialize)]
struct FileRef {
    id: String,
    /// Where the page shows it: `/simulator/files/{id}`, same origin, no token.
    url: String,
    mime_type: String,
    size: usize,
    filename: Option<String>,
}

impl FileRef {
    fn new(id: &str, mime_type: &str, size: usize, filename: Option<&str>) -> FileRef {
        FileRef {
            id: id.to_owned(),
            url: user_files::phone_url(id),
            mime_type: mime_type.to_owned(),
            size,
            filename: filename.map(str::to_owned),
        }
    }
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
    /// The file a media message carries (sent by the user, or fetched from an admin's link).
    file: Option<FileRef>,
    at: i64,
    status: &'static str,
    #[serde(skip)]
    answer: Answer,
}

pub struct Simulator {
    phone_number_id: String,
    access_token: String,
    app_secret: String,
    webhook_url: String,
    http: reqwest::Client,
    log: Mutex<Vec<LoggedMessage>>,
    faults: Mutex<Faults>,
    counters: Counters,
    /// Report a media link that cannot be fetched as Meta does, in a `failed` status
    /// webhook after answering the send; otherwise the send is refused at once.
    link_failures_on_webhook: AtomicBool,
    /// The files the user sends, served by the Graph stand-in's media endpoints.
    pub files: Arc<UserFiles>,
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
            http: reqwest::Client::new(),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            counters: Counters::default(),
            link_failures_on_webhook: AtomicBool::new(false),
            files: UserFiles::new(access_token, webhook_url.trim_end_matches("/webhook")),
            webhook_url,
        })
    }

    /// From now on, misbehave so (`Faults::default()` ends it).
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().expect("faults lock") = faults;
    }

    /// How a media send whose link cannot be fetched (or holds what WhatsApp does not take)
    /// is answered. By default (`false`) it is refused at once: HTTP 400 with Meta's error
    /// 131053, nothing sent. With `true`, as Meta itself does: the send is answered with a
    /// wamid, the link is fetched after, and a failure comes as a `failed` status webhook
    /// carrying error 131053.
    pub fn set_link_failures_on_webhook(&self, on_webhook: bool) {
        self.link_failures_on_webhook
            .store(on_webhook, Ordering::Relaxed);
    }

    /// A file the stand-in holds (sent by the user, or fetched from an admin's link).
    pub fn file(&self, id: &str) -> Option<HeldFile> {
        self.files.get(id)
    }

    pub fn fault_counts(&self) -> FaultCounts {
        let c = &self.counters;
        FaultCounts {
            sends: c.sends.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            timeouts_accepted: c.timeouts_accepted.load(Ordering::Relaxed),
            webhook_retries: c.webhook_retries.load(Ordering::Relaxed),
        }
    }

    /// Every business message that reached a user (accepted sends), oldest first.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.log
            .lock()
            .expect("log lock")
            .iter()
            .filter(|m| m.from == "business")
            .map(|m| Delivered {
                phone: m.phone.clone(),
                wamid: m.wamid.clone(),
                callback: m.callback.clone(),
                at: m.at,
                answer: m.answer,
                request: m.message.clone(),
                file: m.file.as_ref().and_then(|f| self.files.get(&f.id)),
            })
            .collect()
    }

    /// Posts a status webhook; with `retry_webhooks`, again until it is answered 200.
    async fn post_status(&self, payload: &Value) {
        let mut delay = Duration::from_millis(500);
        let give_up = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            let ok = matches!(self.post_webhook(payload).await, Ok(200));
            let retry = self.faults.lock().expect("faults lock").retry_webhooks;
            if ok || !retry || std::time::Instant::now() >= give_up {
                return;
            }
            self.counters
                .webhook_retries
                .fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/simulator/graph/{phone_number_id}/messages",
                post(graph_send),
            )
            .route("/simulator/api/messages", get(user_view))
            .route("/simulator/api/send", post(user_send))
            .layer(axum::extract::DefaultBodyLimit::max(SEND_BODY_BYTES))
            .with_state(self.clone())
            .merge(self.files.router())
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

/// Meta's error with its `error_data.details`, which says what exactly was wrong.
fn meta_error_details(status: StatusCode, code: i64, message: &str, details: &str) -> Response {
    let body = json!({ "error": {
        "message": message, "type": "OAuthException", "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": details },
        "fbtrace_id": "simulator" } });
    (status, Json(body)).into_response()
}

/// Meta's code for a media file it could not fetch from its link or does not take.
pub const MEDIA_UPLOAD_ERROR: i64 = 131053;

fn upload_error(details: &str) -> Response {
    meta_error_details(
        StatusCode::BAD_REQUEST,
        MEDIA_UPLOAD_ERROR,
        "(#131053) Media upload error",
        details,
    )
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How long the stand-in waits for a media link: less than the desk's own 10 s for the
/// send (`WHATSAPP_TIMEOUT_SECONDS`), so a link that hangs is refused (131053) rather than
/// leaving the send's outcome unknown.
const LINK_TIMEOUT: Duration = Duration::from_secs(8);

/// A media send (`image`, `document`, `audio`, `video`) by link.
#[derive(Debug, Clone)]
struct MediaSend {
    kind: &'static str,
    link: url::Url,
    filename: Option<String>,
}

/// What a send carries, once checked.
enum Kind {
    Text,
    Interactive,
    Media(MediaSend),
}

/// The Cloud API's largest file of each kind.
fn max_bytes(kind: &str) -> usize {
    const MB: usize = 1024 * 1024;
    match kind {
        "image" => 5 * MB,
        "audio" | "video" => 16 * MB,
        _ => user_files::MAX_FILE_BYTES,
    }
}

/// Whether WhatsApp takes a file of this type as this kind (the Cloud API's supported
/// media types; parameters such as a charset or OGG's codec are not read).
fn takes_type(kind: &str, mime_type: &str) -> bool {
    let lower = mime_type.to_ascii_lowercase();
    let essence = lower.split(';').next().unwrap_or("").trim();
    let types: &[&str] = match kind {
        "image" => &["image/jpeg", "image/png"],
        "audio" => &[
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
        ],
        "video" => &["video/mp4", "video/3gpp"],
        _ => &[
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ],
    };
    types.contains(&essence)
}

/// Checks a media send's object as Meta does: a `link` (http or https) is required, a
/// caption is at most 1024 characters and never on audio, a filename only on a document,
/// nothing else. Answers what is wrong in Meta's words for `error_data.details`.
fn media_send(kind: &'static str, object: &Value) -> Result<MediaSend, String> {
    let Some(fields) = object.as_object() else {
        return Err(format!("Param {kind} must be a JSON object"));
    };
    let allowed: &[&str] = match kind {
        "document" => &["link", "caption", "filename"],
        "audio" => &["link"],
        _ => &["link", "caption"],
    };
    if let Some(key) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(match key.as_str() {
            "caption" => format!("Param {kind}['caption'] is not allowed: audio has no caption"),
            "filename" => format!("Param {kind}['filename'] is only for documents"),
            "id" => format!(
                "Param {kind}['id']: this stand-in holds no uploaded media; send with a link"
            ),
            other => format!("Param {kind}['{other}'] is not a valid parameter"),
        });
    }
    if let Some(caption) = fields.get("caption") {
        match caption.as_str() {
            Some(c) if c.chars().count() <= 1024 => {}
            Some(_) => {
                return Err(format!(
                    "Param {kind}['caption'] must be at most 1024 characters long"
                ))
            }
            None => return Err(format!("Param {kind}['caption'] must be a string")),
        }
    }
    let filename = match fields.get("filename") {
        None => None,
        Some(Value::String(f)) if !f.trim().is_empty() => Some(f.clone()),
        Some(_) => {
            return Err(format!(
                "Param {kind}['filename'] must be a non-empty string"
            ))
        }
    };
    let Some(link) = fields.get("link") else {
        return Err(format!("Param {kind}['link'] is required"));
    };
    let link = link
        .as_str()
        .and_then(|l| url::Url::parse(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| format!("Param {kind}['link'] is not a valid http or https URI"))?;
    Ok(MediaSend {
        kind,
        link,
        filename,
    })
}

/// Fetches a media send's link as Meta's fetcher does: a plain GET, no token. Answers the
/// file, or why Meta would fail it with 131053.
async fn fetch_link(sim: &Simulator, media: &MediaSend) -> Result<HeldFile, String> {
    let kind = media.kind;
    let mut response = sim
        .http
        .get(media.link.clone())
        .timeout(LINK_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("Media download from the link failed: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "Media download from the link failed: it answered HTTP {}",
            status.as_u16()
        ));
    }
    let mime_type = response
        .headers()
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned();
    if !takes_type(kind, &mime_type) {
        let shown = if mime_type.is_empty() {
            "no content type"
        } else {
            &mime_type
        };
        return Err(format!(
            "Downloaded media has an unsupported content type for {kind}: {shown}"
        ));
    }
    let limit = max_bytes(kind);
    let too_large = || {
        format!(
            "Downloaded media is larger than the {} MB WhatsApp takes for {kind}",
            limit / (1024 * 1024)
        )
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(format!("Media download from the link failed: {e}")),
        }
    }
    if bytes.is_empty() {
        return Err("Downloaded media is empty".into());
    }
    Ok(HeldFile {
        bytes: bytes.into(),
        mime_type,
        filename: media.filename.clone(),
    })
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
    let kind = match request["type"].as_str() {
        Some("text") => request["text"]["body"]
            .as_str()
            .is_some_and(|b| (1..=4096).contains(&b.chars().count()))
            .then_some(Kind::Text),
        Some("interactive") => request["interactive"]
            .is_object()
            .then_some(Kind::Interactive),
        Some(t @ ("image" | "document" | "audio" | "video")) => {
            let kind: &'static str = match t {
                "image" => "image",
                "document" => "document",
                "audio" => "audio",
                _ => "video",
            };
            match media_send(kind, &request[kind]) {
                Ok(media) => Some(Kind::Media(media)),
                Err(details) => {
                    return meta_error_details(
                        StatusCode::BAD_REQUEST,
                        100,
                        "(#100) Invalid parameter",
                        &details,
                    )
                }
            }
        }
        _ => None,
    };
    let (Some(to), Some(kind), Some("whatsapp")) =
        (to, kind, request["messaging_product"].as_str())
    else {
        return meta_error(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter.");
    };
    let media = match kind {
        Kind::Media(media) => Some(media),
        Kind::Text | Kind::Interactive => None,
    };
    let faults = sim.faults.lock().expect("faults lock").clone();
    let n = sim.counters.sends.fetch_add(1, Ordering::Relaxed);
    let draw = unit(faults.seed, n);
    if draw < faults.server_error {
        let k = sim.counters.server_errors.fetch_add(1, Ordering::Relaxed);
        return if k % 2 == 0 {
            meta_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                1,
                "An unknown error occurred",
            )
        } else {
            meta_error(
                StatusCode::SERVICE_UNAVAILABLE,
                2,
                "Service temporarily unavailable",
            )
        };
    }
    if draw < faults.server_error + faults.timeout {
        let k = sim.counters.timeouts.fetch_add(1, Ordering::Relaxed);
        let accepted = nth_chosen(k, faults.timeout_accepted);
        let answer = if accepted {
            let (taken, response) = take(&sim, &to, request, media, Answer::TimedOut).await;
            if taken {
                sim.counters
                    .timeouts_accepted
                    .fetch_add(1, Ordering::Relaxed);
            }
            Some(response)
        } else {
            None
        };
        // The client has given up by now: whatever this says, nobody reads it.
        tokio::time::sleep(faults.slow_by).await;
        return answer.unwrap_or_else(|| {
            meta_error(
                StatusCode::GATEWAY_TIMEOUT,
                2,
                "Service temporarily unavailable",
            )
        });
    }
    take(&sim, &to, request, media, Answer::Answered).await.1
}

/// Takes a send Meta accepts. A text or interactive message, or a media message whose
/// link was fetched, is recorded as reaching the user and answered with its wamid (`true`);
/// a media message whose link fails is refused with 131053 and nothing recorded (`false`) —
/// or, with [`Simulator::set_link_failures_on_webhook`], answered at once and fetched
/// after, a failure reported in a `failed` status.
async fn take(
    sim: &Arc<Simulator>,
    to: &Phone,
    request: Value,
    media: Option<MediaSend>,
    answer: Answer,
) -> (bool, Response) {
    let Some(media) = media else {
        return (true, accept(sim, to, request, None, answer));
    };
    if sim.link_failures_on_webhook.load(Ordering::Relaxed) {
        let wamid = new_wamid();
        let (sim, phone, id) = (sim.clone(), to.clone(), wamid.clone());
        tokio::spawn(async move {
            match fetch_link(&sim, &media).await {
                Ok(file) => record(&sim, &phone, request, id, Some(file), answer),
                Err(details) => {
                    let callback = request["biz_opaque_callback_data"].as_str();
                    let mut payload = status_payload(
                        &sim.phone_number_id,
                        &id,
                        "failed",
                        phone.as_str(),
                        callback,
                        now_secs(),
                    );
                    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = json!([{
                        "code": MEDIA_UPLOAD_ERROR,
                        "title": "Media upload error",
                        "message": "Media upload error",
                        "error_data": { "details": details },
                    }]);
                    sim.post_status(&payload).await;
                }
            }
        });
        return (true, answered(to, &wamid));
    }
    match fetch_link(sim, &media).await {
        Ok(file) => (true, accept(sim, to, request, Some(file), answer)),
        Err(details) => (false, upload_error(&details)),
    }
}

fn new_wamid() -> String {
    format!("wamid.SIM{}", edubot_adapters::model::new_message_id())
}

/// Meta's answer to an accepted send.
fn answered(to: &Phone, wamid: &str) -> Response {
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to.as_str(), "wa_id": to.as_str() }],
        "messages": [{ "id": wamid }]
    }))
    .into_response()
}

/// Records a send as reaching the user, reports its delivery on the webhook a moment later
/// (as Meta does) and answers with its new wamid.
fn accept(
    sim: &Arc<Simulator>,
    to: &Phone,
    request: Value,
    file: Option<HeldFile>,
    answer: Answer,
) -> Response {
    let wamid = new_wamid();
    record(sim, to, request, wamid.clone(), file, answer);
    answered(to, &wamid)
}

/// Puts a business message in the user's chat (its file held on the phone) and posts its
/// `delivered` status a moment later.
fn record(
    sim: &Arc<Simulator>,
    to: &Phone,
    request: Value,
    wamid: String,
    file: Option<HeldFile>,
    answer: Answer,
) {
    let callback = request["biz_opaque_callback_data"]
        .as_str()
        .map(str::to_owned);
    let file = file.map(|f| {
        let size = f.bytes.len();
        let id = sim
            .files
            .hold_named(f.bytes, &f.mime_type, f.filename.as_deref());
        FileRef::new(&id, &f.mime_type, size, f.filename.as_deref())
    });
    sim.log.lock().expect("log lock").push(LoggedMessage {
        from: "business",
        phone: to.to_string(),
        wamid: wamid.clone(),
        callback: callback.clone(),
        message: request,
        file,
        at: chrono::Utc::now().timestamp_millis(),
        status: "delivered",
        answer,
    });
    // Meta reports delivery a moment later, on the webhook.
    let delayed = sim.clone();
    let phone = to.to_string();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let payload = status_payload(
            &delayed.phone_number_id,
            &wamid,
            "delivered",
            &phone,
            callback.as_deref(),
            now_secs(),
        );
        delayed.post_status(&payload).await;
    });
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
                sim.post_status(&payload).await;
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
    /// A photo, document, voice note or video: sent as the media message its type makes.
    #[serde(default)]
    file: Option<UserFile>,
    /// The file's caption.
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Deserialize)]
struct UserFile {
    filename: String,
    mime_type: String,
    data_base64: String,
}

/// A file in base64 takes a third more than its bytes.
const SEND_BODY_BYTES: usize = user_files::MAX_FILE_BYTES / 3 * 4 + 64 * 1024;

/// The WhatsApp message a file makes, as Meta describes it in the webhook, and the file as
/// the phone holds it.
fn media_message(
    sim: &Simulator,
    file: &UserFile,
    caption: Option<&str>,
) -> Result<(Value, FileRef), String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(file.data_base64.trim())
        .map_err(|_| "data_base64 is not base64".to_owned())?;
    if bytes.is_empty() || bytes.len() > user_files::MAX_FILE_BYTES {
        return Err("a file of 1 byte to 100 MB".into());
    }
    let kind = match file.mime_type.split('/').next() {
        Some("image") => "image",
        Some("audio") => "audio",
        Some("video") => "video",
        _ => "document",
    };
    let sha256 = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
    let size = bytes.len();
    let filename = (kind == "document").then_some(file.filename.as_str());
    let id = sim
        .files
        .hold_named(bytes.into(), &file.mime_type, filename);
    let held = FileRef::new(&id, &file.mime_type, size, filename);
    let mut described = json!({ "id": id, "mime_type": file.mime_type, "sha256": sha256 });
    if kind == "document" {
        described["filename"] = file.filename.clone().into();
    }
    if let Some(caption) = caption.filter(|c| !c.trim().is_empty() && kind != "audio") {
        described["caption"] = caption.into();
    }
    Ok((json!({ "type": kind, kind: described }), held))
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
    let mut held = None;
    let message = match (&send.text, &send.reply) {
        _ if send.file.is_some() => {
            let file = send.file.as_ref().expect("checked");
            match media_message(&sim, file, send.caption.as_deref()) {
                Ok((message, file)) => {
                    held = Some(file);
                    message
                }
                Err(e) => {
                    return (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response()
                }
            }
        }
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
        file: held,
        at: chrono::Utc::now().timestamp_millis(),
        status: "sent",
        answer: Answer::Answered,
    });
    match sim.post_webhook(&payload).await {
        Ok(status) => Json(json!({ "webhook_status": status })).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e }))).into_response(),
    }
}
