//! The WhatsApp simulator: a stand-in Graph API that records and answers sends like Meta
//! (and posts `delivered`/`read` statuses back), plus a page where a person plays the
//! WhatsApp user; their messages become signed webhooks posted to `/webhook`.
//!
//! Admins' files come as Meta's media sends with a `link`: the stand-in fetches the link
//! (a plain GET, as Meta's fetcher does), checks it as Meta does and holds the bytes in
//! [`UserFiles`], where the page shows them (`/simulator/files/{id}`).
//!
//! It lists the account's message templates as Meta does (`GET /{waba_id}/message_templates`,
//! paged, from `simulator/templates.json`) and checks template sends against them; it takes
//! read receipts and typing indicators (recorded: [`Simulator::read_calls`]) and shows them
//! on the page as blue ticks and "typing…"; a send's `context` shows as a quote. On the page
//! the user can tap a template's quick-reply buttons, reply to any message (the webhook's
//! `context`) and react to any message (a `reaction` webhook; `""` removes it).
//!
//! For the bench's fault soak it can also misbehave as Meta sometimes does ([`Faults`]):
//! answer a share of sends with a 5xx, answer a share only after the client has given up
//! (having accepted some of those all the same), and post a status webhook again until it
//! is answered 200. By default it does none of that.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
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

/// The business's number as users see it (`metadata.display_phone_number`, and the `from`
/// of a reply's `context` when the user quotes one of the business's messages).
pub const BUSINESS_DISPLAY_NUMBER: &str = "15550000000";

/// The stand-in's WhatsApp Business Account (the local default of
/// `WHATSAPP_BUSINESS_ACCOUNT_ID`): the account whose templates it lists.
pub const BUSINESS_ACCOUNT_ID: &str = "100000000000002";

/// The template listing's page size when the request sets no `limit` (Meta's is 25; small
/// here so that a whole listing takes several pages).
pub const TEMPLATE_PAGE_SIZE: usize = 2;

/// How long a typing indicator shows unless a business message comes first (as Meta).
pub const TYPING_SHOWN_FOR: Duration = Duration::from_secs(25);

/// The account's message templates, as Meta lists them (one file, used by the listing and
/// by the send check).
const TEMPLATES_JSON: &str = include_str!("../simulator/templates.json");

/// The account's message templates, every status, in the listing's order.
pub fn templates() -> &'static [Value] {
    static TEMPLATES: OnceLock<Vec<Value>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        serde_json::from_str(TEMPLATES_JSON).expect("simulator/templates.json is a JSON array")
    })
}

/// Builds the webhook payload Meta posts for one change value.
pub fn webhook_payload(phone_number_id: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = "whatsapp".into();
    value["metadata"] = json!({ "display_phone_number": BUSINESS_DISPLAY_NUMBER, "phone_number_id": phone_number_id });
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

/// A read receipt the stand-in took (`"status":"read"` on `/messages`), with or without a
/// typing indicator: what tests and the bench count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCall {
    /// The user whose message it marked.
    pub phone: String,
    /// The user's message marked read (it and every earlier one of theirs).
    pub message_id: String,
    /// Whether it also showed "typing…" (`"typing_indicator":{"type":"text"}`).
    pub typing: bool,
    /// Milliseconds since the epoch.
    pub at: i64,
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
    /// A template as the user sees it: `{"name","language","category","header","body",
    /// "buttons":[{"index","type","text","payload"}]}`, the body's placeholders filled in.
    template: Option<Value>,
    /// The wamid of the message this one quotes (a send's `context.message_id`, a user
    /// reply's `context.id`).
    reply_to: Option<String>,
    /// The user's reaction to this message (an emoji).
    reaction: Option<String>,
    at: i64,
    /// A business message: `delivered`, then `read` once the page showed it. A user's:
    /// `sent`, `delivered` once the webhook took it, `read` once the business marked it.
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
    /// The account whose templates `GET /{id}/message_templates` lists.
    business_account_id: Mutex<String>,
    /// The read receipts taken, oldest first.
    reads: Mutex<Vec<ReadCall>>,
    /// Until when each user sees "typing…" (ended early by the next business message).
    typing: Mutex<HashMap<String, Instant>>,
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
            business_account_id: Mutex::new(BUSINESS_ACCOUNT_ID.to_owned()),
            reads: Mutex::new(Vec::new()),
            typing: Mutex::new(HashMap::new()),
        })
    }

    /// The WhatsApp Business Account whose templates are listed (by default
    /// [`BUSINESS_ACCOUNT_ID`]); any other id is unknown to the stand-in.
    pub fn set_business_account_id(&self, id: &str) {
        *self.business_account_id.lock().expect("account lock") = id.to_owned();
    }

    /// Every read receipt (and typing indicator) the stand-in took, oldest first.
    pub fn read_calls(&self) -> Vec<ReadCall> {
        self.reads.lock().expect("reads lock").clone()
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
            .route(
                "/simulator/graph/{business_account_id}/message_templates",
                get(graph_templates),
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

/// Graph's error for a request it cannot answer as asked (a bad query, an unknown node).
fn graph_method_error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": "GraphMethodException", "code": 100, "fbtrace_id": "simulator" } });
    (status, Json(body)).into_response()
}

/// Meta's `(#100) Invalid parameter` with what exactly was wrong.
fn invalid_parameter(details: &str) -> Response {
    meta_error_details(
        StatusCode::BAD_REQUEST,
        100,
        "(#100) Invalid parameter",
        details,
    )
}

fn bearer_is(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        == Some(token)
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
    /// A template that is approved in its language, its parameters as it wants them.
    Template,
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
    if !bearer_is(&headers, &sim.access_token) {
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
    if request.get("status").is_some() {
        return mark_read(&sim, &request);
    }
    if let Some(context) = request.get("context") {
        if context["message_id"].as_str().is_none_or(str::is_empty) {
            return invalid_parameter("Param context['message_id'] must be a non-empty string");
        }
    }
    let to = request["to"].as_str().and_then(Phone::parse);
    let kind = match request["type"].as_str() {
        Some("text") => request["text"]["body"]
            .as_str()
            .is_some_and(|b| (1..=4096).contains(&b.chars().count()))
            .then_some(Kind::Text),
        Some("interactive") => request["interactive"]
            .is_object()
            .then_some(Kind::Interactive),
        Some("template") => match check_template(&request["template"]) {
            Ok(_) => Some(Kind::Template),
            Err(refused) => return refused.response(),
        },
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
        Kind::Text | Kind::Interactive | Kind::Template => None,
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
    let template = (request["type"] == "template")
        .then(|| check_template(&request["template"]).ok())
        .flatten();
    let reply_to = request["context"]["message_id"].as_str().map(str::to_owned);
    sim.log.lock().expect("log lock").push(LoggedMessage {
        from: "business",
        phone: to.to_string(),
        wamid: wamid.clone(),
        callback: callback.clone(),
        message: request,
        file,
        template,
        reply_to,
        reaction: None,
        at: chrono::Utc::now().timestamp_millis(),
        status: "delivered",
        answer,
    });
    // A message from the business ends its "typing…".
    sim.typing.lock().expect("typing lock").remove(to.as_str());
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

/// Meta's code for a template that is not approved in the language asked.
pub const TEMPLATE_DOES_NOT_EXIST: i64 = 132001;
/// Meta's code for a template send whose parameters are not as many as the template's.
pub const TEMPLATE_PARAMETER_COUNT: i64 = 132000;

/// The template of a name in a language, when it is approved there.
fn approved_template(name: &str, language: &str) -> Option<&'static Value> {
    templates()
        .iter()
        .find(|t| t["name"] == name && t["language"] == language && t["status"] == "APPROVED")
}

/// A template's component of a type (`BODY`, `HEADER`, `BUTTONS`).
fn template_component<'a>(template: &'a Value, kind: &str) -> Option<&'a Value> {
    template["components"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

/// The positional placeholders of a text (`{{1}}`, `{{2}}`…): where each is, and its number.
fn placeholders(text: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("{{").map(|i| from + i) {
        let digits = start + 2;
        let len = text[digits..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let end = digits + len;
        match text[digits..end].parse::<usize>() {
            Ok(n) if text[end..].starts_with("}}") => {
                found.push((start..end + 2, n));
                from = end + 2;
            }
            _ => from = digits,
        }
    }
    found
}

/// How many parameters a text's placeholders take (its highest `{{n}}`).
fn parameter_count(text: &str) -> usize {
    placeholders(text)
        .into_iter()
        .map(|(_, n)| n)
        .max()
        .unwrap_or(0)
}

/// A text with its placeholders filled in (`{{n}}` by the n-th parameter).
fn fill(text: &str, parameters: &[String]) -> String {
    let mut filled = String::with_capacity(text.len());
    let mut last = 0;
    for (at, n) in placeholders(text) {
        filled.push_str(&text[last..at.start]);
        match n.checked_sub(1).and_then(|i| parameters.get(i)) {
            Some(p) => filled.push_str(p),
            None => filled.push_str(&text[at.clone()]),
        }
        last = at.end;
    }
    filled.push_str(&text[last..]);
    filled
}

/// A Meta error with its details, before it is answered (small, unlike a response).
struct GraphError {
    status: StatusCode,
    code: i64,
    message: &'static str,
    details: String,
}

impl GraphError {
    fn new(status: StatusCode, code: i64, message: &'static str, details: &str) -> GraphError {
        GraphError {
            status,
            code,
            message,
            details: details.to_owned(),
        }
    }

    fn response(&self) -> Response {
        meta_error_details(self.status, self.code, self.message, &self.details)
    }
}

fn invalid(details: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        100,
        "(#100) Invalid parameter",
        details,
    )
}

/// The `text` parameters of a send's component, checked as Meta checks them.
fn text_parameters(component: &Value, which: &str) -> Result<Vec<String>, GraphError> {
    let parameters = match component.get("parameters") {
        None => return Ok(Vec::new()),
        Some(Value::Array(p)) => p,
        Some(_) => {
            return Err(invalid(&format!(
                "Param {which}['parameters'] must be an array"
            )))
        }
    };
    let mut texts = Vec::new();
    for (i, p) in parameters.iter().enumerate() {
        if p.get("parameter_name").is_some() {
            return Err(invalid(&format!(
                "Param {which}['parameters'][{i}]['parameter_name']: this template's parameters are POSITIONAL"
            )));
        }
        if p["type"] != "text" {
            return Err(invalid(&format!(
                "Param {which}['parameters'][{i}]['type'] must be text for this template"
            )));
        }
        let Some(text) = p["text"].as_str().filter(|t| !t.is_empty()) else {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                131008,
                "(#131008) Required parameter is missing",
                &format!("Parameter of type text is missing text value: {which}['parameters'][{i}]['text']"),
            ));
        };
        if text.contains(['\n', '\t']) || text.contains("     ") {
            return Err(invalid(
                "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
            ));
        }
        texts.push(text.to_owned());
    }
    Ok(texts)
}

fn parameter_count_error(which: &str, given: usize, expected: usize) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        TEMPLATE_PARAMETER_COUNT,
        "(#132000) Number of parameters does not match the expected number of params",
        &format!(
            "{which}: number of localizable_params ({given}) does not match the expected number of params ({expected})"
        ),
    )
}

/// A button component's index (Meta takes `"0"` or `0`).
fn button_index(component: &Value) -> Option<usize> {
    match &component["index"] {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        _ => None,
    }
}

/// Checks a send's `template` object as Meta does: the name approved in the language asked
/// (else 132001), the body's parameters as many as its placeholders (else 132000), a media
/// header given when the template has one (else 132012), each quick-reply button's payload
/// well formed. Answers the template as the user sees it.
fn check_template(object: &Value) -> Result<Value, GraphError> {
    if !object.is_object() {
        return Err(invalid("Param template must be a JSON object"));
    }
    let Some(name) = object["name"].as_str().filter(|n| !n.is_empty()) else {
        return Err(invalid("Param template['name'] is required"));
    };
    let Some(code) = object["language"]["code"]
        .as_str()
        .filter(|c| !c.is_empty())
    else {
        return Err(invalid("Param template['language']['code'] is required"));
    };
    let Some(template) = approved_template(name, code) else {
        return Err(GraphError::new(
            StatusCode::NOT_FOUND,
            TEMPLATE_DOES_NOT_EXIST,
            "(#132001) Template name does not exist in the translation",
            &format!("template name ({name}) does not exist in {code}"),
        ));
    };
    let components = match object.get("components") {
        None => &[][..],
        Some(Value::Array(c)) => c.as_slice(),
        Some(_) => return Err(invalid("Param template['components'] must be an array")),
    };
    let mut body: Option<Vec<String>> = None;
    let mut header: Option<&Value> = None;
    let mut payloads: BTreeMap<usize, String> = BTreeMap::new();
    let buttons = template_component(template, "BUTTONS")
        .and_then(|b| b["buttons"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, component) in components.iter().enumerate() {
        let which = format!("template['components'][{i}]");
        let kind = component["type"].as_str().map(str::to_ascii_lowercase);
        match kind.as_deref() {
            Some("body") if body.is_none() => body = Some(text_parameters(component, &which)?),
            Some("header") if header.is_none() => header = Some(component),
            Some("button") => {
                let Some(index) = button_index(component) else {
                    return Err(invalid(&format!(
                        "Param {which}['index'] must be a button's index, from 0"
                    )));
                };
                let Some(button) = buttons.get(index) else {
                    return Err(invalid(&format!(
                        "Param {which}['index']: the template has no button {index}"
                    )));
                };
                let sub_type = component["sub_type"].as_str().unwrap_or("");
                if sub_type != "quick_reply" || button["type"] != "QUICK_REPLY" {
                    return Err(invalid(&format!(
                        "Param {which}['sub_type'] must be quick_reply for a QUICK_REPLY button; button {index} is {}",
                        button["type"].as_str().unwrap_or("unknown")
                    )));
                }
                let payload = match component["parameters"].as_array().map(Vec::as_slice) {
                    Some([p]) if p["type"] == "payload" => p["payload"].as_str(),
                    _ => None,
                };
                let Some(payload) = payload else {
                    return Err(invalid(&format!(
                        "Param {which}['parameters'] must be one {{\"type\":\"payload\",\"payload\":\"…\"}}"
                    )));
                };
                if payloads.insert(index, payload.to_owned()).is_some() {
                    return Err(invalid(&format!(
                        "Param {which}: button {index} is given twice"
                    )));
                }
            }
            Some("body" | "header") => {
                return Err(invalid(&format!(
                    "Param {which}['type']: {} is given twice",
                    component["type"].as_str().unwrap_or("")
                )))
            }
            _ => {
                return Err(invalid(&format!(
                    "Param {which}['type'] must be one of {{header, body, button}}"
                )))
            }
        }
    }

    // The header: a media header wants its file; none of ours has a text header.
    let header_format = template_component(template, "HEADER")
        .and_then(|h| h["format"].as_str())
        .map(str::to_owned);
    let shown_header = match (&header_format, header) {
        (None, None) => Value::Null,
        (None, Some(h)) => {
            let given = h["parameters"].as_array().map_or(0, Vec::len);
            return Err(parameter_count_error("header", given, 0));
        }
        (Some(format), given) => {
            let kind = format.to_ascii_lowercase();
            let media = given
                .and_then(|h| h["parameters"].as_array())
                .and_then(|p| match p.as_slice() {
                    [p] if p["type"] == kind.as_str() => Some(&p[kind.as_str()]),
                    _ => None,
                })
                .filter(|m| m["link"].is_string() || m["id"].is_string());
            let Some(media) = media else {
                let received = given
                    .and_then(|h| h["parameters"][0]["type"].as_str())
                    .unwrap_or("UNKNOWN")
                    .to_ascii_uppercase();
                return Err(GraphError::new(
                    StatusCode::BAD_REQUEST,
                    132012,
                    "(#132012) Parameter format does not match format in the created template",
                    &format!("header: Format mismatch, expected {format}, received {received}"),
                ));
            };
            json!({ "format": format, "link": media["link"], "id": media["id"] })
        }
    };

    let text = template_component(template, "BODY")
        .and_then(|b| b["text"].as_str())
        .unwrap_or("");
    let parameters = body.unwrap_or_default();
    let expected = parameter_count(text);
    if parameters.len() != expected {
        return Err(parameter_count_error("body", parameters.len(), expected));
    }
    let filled = fill(text, &parameters);
    if filled.chars().count() > 1024 {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            132005,
            "(#132005) Translated text too long",
            "body: the text with its parameters filled in is over 1024 characters",
        ));
    }
    let shown_buttons: Vec<Value> = buttons
        .iter()
        .enumerate()
        .map(|(index, b)| {
            json!({ "index": index, "type": b["type"], "text": b["text"], "payload": payloads.get(&index) })
        })
        .collect();
    Ok(json!({
        "name": name,
        "language": code,
        "category": template["category"],
        "header": shown_header,
        "body": filled,
        "buttons": shown_buttons,
    }))
}

/// `POST /{phone_number_id}/messages` with `"status":"read"`: the user's message (and every
/// earlier one of theirs) shows blue ticks; with `"typing_indicator":{"type":"text"}` the
/// user also sees "typing…" until the business's next message, or for 25 s. Answered
/// `{"success":true}` and recorded; an id that is no user's message is `(#100)`.
fn mark_read(sim: &Simulator, request: &Value) -> Response {
    if request["messaging_product"] != "whatsapp" {
        return invalid_parameter("Param messaging_product must be whatsapp");
    }
    if request["status"] != "read" {
        return invalid_parameter("Param status must be read");
    }
    let Some(message_id) = request["message_id"].as_str().filter(|id| !id.is_empty()) else {
        return invalid_parameter("Param message_id is required");
    };
    let typing = match request.get("typing_indicator") {
        None => false,
        Some(t) if t["type"] == "text" => true,
        Some(_) => return invalid_parameter("Param typing_indicator['type'] must be text"),
    };
    let phone = {
        let mut log = sim.log.lock().expect("log lock");
        let Some(at) = log
            .iter()
            .position(|m| m.from == "user" && m.wamid == message_id)
        else {
            return invalid_parameter(&format!(
                "Invalid message_id: {message_id} is not a message this number received"
            ));
        };
        let phone = log[at].phone.clone();
        for m in log[..=at]
            .iter_mut()
            .filter(|m| m.from == "user" && m.phone == phone)
        {
            m.status = "read";
        }
        phone
    };
    if typing {
        sim.typing
            .lock()
            .expect("typing lock")
            .insert(phone.clone(), Instant::now() + TYPING_SHOWN_FOR);
    }
    sim.reads.lock().expect("reads lock").push(ReadCall {
        phone,
        message_id: message_id.to_owned(),
        typing,
        at: chrono::Utc::now().timestamp_millis(),
    });
    Json(json!({ "success": true })).into_response()
}

/// The template fields Graph answers for (`id` is always answered).
const TEMPLATE_FIELDS: &[&str] = &[
    "name",
    "language",
    "status",
    "category",
    "parameter_format",
    "components",
    "id",
];

const TEMPLATE_STATUSES: &[&str] = &[
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "LIMIT_EXCEEDED",
];

fn cursor(template: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(template["id"].as_str().unwrap_or_default())
}

/// `GET /{waba_id}/message_templates`, answered as Meta does: `{"data":[…],"paging":
/// {"cursors":{"before","after"},"next","previous"}}`, `limit` (default
/// [`TEMPLATE_PAGE_SIZE`]) to a page, `status` and `fields` honoured, `after`/`before`
/// cursors; `next` is an absolute URL of this same host and path (carrying the token, as
/// Meta's does) and is absent on the last page.
async fn graph_templates(
    State(sim): State<Arc<Simulator>>,
    Path(account): Path<String>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let token_in_query = param("access_token") == Some(sim.access_token.as_str());
    if !bearer_is(&headers, &sim.access_token) && !token_in_query {
        return meta_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token.");
    }
    if account != *sim.business_account_id.lock().expect("account lock") {
        return graph_method_error(
            StatusCode::BAD_REQUEST,
            &format!("Unsupported get request. Object with ID '{account}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
        );
    }
    let statuses: Option<Vec<String>> = param("status").map(|s| {
        s.split(',')
            .map(|s| s.trim().to_ascii_uppercase())
            .collect()
    });
    if let Some(bad) = statuses
        .iter()
        .flatten()
        .find(|s| !TEMPLATE_STATUSES.contains(&s.as_str()))
    {
        return graph_method_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "(#100) Param status must be one of {{{}}}; got {bad}",
                TEMPLATE_STATUSES.join(", ")
            ),
        );
    }
    let fields: Option<Vec<&str>> = param("fields").map(|f| {
        f.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect()
    });
    if let Some(bad) = fields
        .iter()
        .flatten()
        .find(|f| !TEMPLATE_FIELDS.contains(f))
    {
        return graph_method_error(
            StatusCode::BAD_REQUEST,
            &format!("(#100) Tried accessing nonexisting field ({bad}) on node type (WhatsAppMessageTemplate)"),
        );
    }
    let limit = match param("limit") {
        None => TEMPLATE_PAGE_SIZE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return graph_method_error(
                    StatusCode::BAD_REQUEST,
                    "(#100) Param limit must be a positive integer",
                )
            }
        },
    };
    let listed: Vec<&Value> = templates()
        .iter()
        .filter(|t| {
            statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| t["status"] == s.as_str()))
        })
        .collect();
    let position = |c: &str| listed.iter().position(|t| cursor(t) == c);
    let (start, end) = match (param("after"), param("before")) {
        (Some(after), _) => match position(after) {
            Some(i) => (i + 1, (i + 1 + limit).min(listed.len())),
            None => {
                return graph_method_error(StatusCode::BAD_REQUEST, "(#100) Invalid cursor: after")
            }
        },
        (None, Some(before)) => match position(before) {
            Some(i) => (i.saturating_sub(limit), i),
            None => {
                return graph_method_error(StatusCode::BAD_REQUEST, "(#100) Invalid cursor: before")
            }
        },
        (None, None) => (0, limit.min(listed.len())),
    };
    let page = &listed[start..end];
    let data: Vec<Value> = page
        .iter()
        .map(|t| match &fields {
            None => (*t).clone(),
            Some(fields) => {
                let mut shown = serde_json::Map::new();
                for f in fields.iter().chain(&["id"]) {
                    if let Some(v) = t.get(*f) {
                        shown.insert((*f).to_owned(), v.clone());
                    }
                }
                Value::Object(shown)
            }
        })
        .collect();
    let (Some(first), Some(last)) = (page.first(), page.last()) else {
        return Json(json!({ "data": data })).into_response();
    };
    // Meta's paging links: absolute, this host and path, the request's own query with the
    // token, the limit and the cursor.
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            sim.webhook_url
                .trim_start_matches("http://")
                .trim_end_matches("/webhook")
                .to_owned()
        });
    let link = |key: &str, at: &Value| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "limit" | "access_token"))
        {
            query.append_pair(k, v);
        }
        query
            .append_pair("access_token", &sim.access_token)
            .append_pair("limit", &limit.to_string())
            .append_pair(key, &cursor(at));
        format!("http://{host}{}?{}", uri.path(), query.finish())
    };
    let mut paging = json!({ "cursors": { "before": cursor(first), "after": cursor(last) } });
    if end < listed.len() {
        paging["next"] = link("after", last).into();
    }
    if start > 0 {
        paging["previous"] = link("before", first).into();
    }
    Json(json!({ "data": data, "paging": paging })).into_response()
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
    let typing = sim
        .typing
        .lock()
        .expect("typing lock")
        .get(&q.phone)
        .is_some_and(|until| Instant::now() < *until);
    Json(json!({ "messages": messages, "typing": typing })).into_response()
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
    /// The wamid of the message this one replies to (any message of this chat): sent as
    /// Meta's `context`.
    #[serde(default)]
    context: Option<String>,
    /// A tapped quick-reply button of a template: `{"message_id","index"}`.
    #[serde(default)]
    button: Option<ButtonTap>,
    /// A reaction to a message of this chat: `{"message_id","emoji"}`; `""` removes it.
    #[serde(default)]
    reaction: Option<ReactionSend>,
}

#[derive(Deserialize)]
struct ButtonTap {
    message_id: String,
    index: usize,
}

#[derive(Deserialize)]
struct ReactionSend {
    message_id: String,
    emoji: String,
}

fn refused(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// The `context` of a reply to a message of this chat, as Meta puts it in the webhook: who
/// wrote the quoted message (the business's number, or the user's own) and its wamid.
fn quoted(sim: &Simulator, phone: &Phone, wamid: &str) -> Option<Value> {
    let log = sim.log.lock().expect("log lock");
    let m = log
        .iter()
        .find(|m| m.phone == phone.as_str() && m.wamid == wamid)?;
    let from = match m.from {
        "business" => BUSINESS_DISPLAY_NUMBER,
        _ => phone.as_str(),
    };
    Some(json!({ "from": from, "id": wamid }))
}

/// The message a tap on a template's quick-reply button sends: type `button`, its payload
/// the one the send set for that button (else the button's text), in reply to the template.
fn quick_reply(sim: &Simulator, phone: &Phone, tap: &ButtonTap) -> Result<Value, String> {
    let log = sim.log.lock().expect("log lock");
    let template = log
        .iter()
        .find(|m| m.from == "business" && m.phone == phone.as_str() && m.wamid == tap.message_id)
        .and_then(|m| m.template.as_ref())
        .ok_or("button: no template with this id in this chat")?;
    let button = &template["buttons"][tap.index];
    let Some(text) = button["text"]
        .as_str()
        .filter(|_| button["type"] == "QUICK_REPLY")
    else {
        return Err(format!(
            "button: the template has no quick-reply button {}",
            tap.index
        ));
    };
    let payload = button["payload"].as_str().unwrap_or(text);
    Ok(json!({
        "type": "button",
        "button": { "payload": payload, "text": text },
        "context": { "from": BUSINESS_DISPLAY_NUMBER, "id": tap.message_id },
    }))
}

/// The user reacts to a message of this chat (or removes their reaction with `""`): a
/// `reaction` webhook, shown on the target, never a message of its own in the chat.
async fn react(sim: &Simulator, phone: &Phone, name: &str, reaction: &ReactionSend) -> Response {
    let emoji = reaction.emoji.trim();
    if emoji.chars().count() > 8 {
        return refused("reaction: one emoji, or \"\" to remove it");
    }
    {
        let mut log = sim.log.lock().expect("log lock");
        let Some(target) = log
            .iter_mut()
            .find(|m| m.phone == phone.as_str() && m.wamid == reaction.message_id)
        else {
            return refused("reaction: no message with this id in this chat");
        };
        target.reaction = (!emoji.is_empty()).then(|| emoji.to_owned());
    }
    let wamid = format!("wamid.USER{}", edubot_adapters::model::new_message_id());
    let payload = user_message_payload(
        &sim.phone_number_id,
        phone.as_str(),
        name,
        &wamid,
        now_secs(),
        json!({ "type": "reaction", "reaction": { "message_id": reaction.message_id, "emoji": emoji } }),
    );
    match sim.post_webhook(&payload).await {
        Ok(status) => Json(json!({ "webhook_status": status, "wamid": wamid })).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e }))).into_response(),
    }
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

/// The simulated user sends a message (a signed webhook posted to `/webhook`): a text, a
/// file, a tapped choice or quick-reply button, or a reaction; any but a reaction may reply
/// to a message of the chat (`context`).
async fn user_send(State(sim): State<Arc<Simulator>>, Json(send): Json<UserSend>) -> Response {
    let Some(phone) = Phone::parse(&send.phone) else {
        return refused("phone must be 8 to 15 digits");
    };
    let name = if send.name.trim().is_empty() {
        "Simulated user"
    } else {
        send.name.trim()
    };
    if let Some(reaction) = &send.reaction {
        return react(&sim, &phone, name, reaction).await;
    }
    let mut held = None;
    let mut message = if let Some(tap) = &send.button {
        match quick_reply(&sim, &phone, tap) {
            Ok(message) => message,
            Err(e) => return refused(&e),
        }
    } else if let Some(file) = &send.file {
        match media_message(&sim, file, send.caption.as_deref()) {
            Ok((message, file)) => {
                held = Some(file);
                message
            }
            Err(e) => return refused(&e),
        }
    } else if let Some(text) = send.text.as_ref().filter(|t| !t.trim().is_empty()) {
        json!({ "type": "text", "text": { "body": text } })
    } else if let Some(reply) = &send.reply {
        let kind = if reply["kind"] == "list_reply" {
            "list_reply"
        } else {
            "button_reply"
        };
        json!({ "type": "interactive", "interactive": {
            "type": kind, kind: { "id": reply["id"], "title": reply["title"] } } })
    } else {
        return refused("text, file, reply, button or reaction required");
    };
    if let (Some(wamid), None) = (&send.context, &send.button) {
        match quoted(&sim, &phone, wamid) {
            Some(context) => message["context"] = context,
            None => return refused("context: no message with this id in this chat"),
        }
    }
    let wamid = format!("wamid.USER{}", edubot_adapters::model::new_message_id());
    let payload = user_message_payload(
        &sim.phone_number_id,
        phone.as_str(),
        name,
        &wamid,
        now_secs(),
        message.clone(),
    );
    let reply_to = message["context"]["id"].as_str().map(str::to_owned);
    sim.log.lock().expect("log lock").push(LoggedMessage {
        from: "user",
        phone: phone.to_string(),
        wamid: wamid.clone(),
        callback: None,
        message,
        file: held,
        template: None,
        reply_to,
        reaction: None,
        at: chrono::Utc::now().timestamp_millis(),
        status: "sent",
        answer: Answer::Answered,
    });
    match sim.post_webhook(&payload).await {
        Ok(status) => {
            if status == 200 {
                let mut log = sim.log.lock().expect("log lock");
                if let Some(m) = log
                    .iter_mut()
                    .find(|m| m.wamid == wamid && m.status == "sent")
                {
                    m.status = "delivered";
                }
            }
            Json(json!({ "webhook_status": status, "wamid": wamid })).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, Json(json!({ "error": e }))).into_response(),
    }
}
