//! The test kit: DynamoDB Local (one per test process, a table per test), a real HTTP
//! stand-in for the Graph API, and requests built as API Gateway would build them.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use edubot_adapters::config::{Config, Needs};
use edubot_adapters::model::new_message_id;
use edubot_adapters::whatsapp::signature;
use edubot_adapters::AppContext;
pub use edubot_domain::team::Role;
use edubot_local::object_store::ObjectStore;
use edubot_local::{gateway, DynamoDbLocal, LocalStack, Settings};
use http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

pub const PHONE_NUMBER_ID: &str = "123456789012345";
pub const ACCESS_TOKEN: &str = "test-access-token";
pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const BUSINESS_ACCOUNT_ID: &str = "987654321098765";
pub const JWT_SECRET: &str = "test-jwt-secret-of-at-least-32-bytes!";
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// DynamoDB Local, started once for this test process (stopped by its watchdog when the
/// process ends), unless `AWS_ENDPOINT_URL_DYNAMODB` names one already running.
pub async fn dynamodb_endpoint() -> String {
    static LOCAL: OnceCell<(Option<DynamoDbLocal>, String)> = OnceCell::const_new();
    let (_, endpoint) = LOCAL
        .get_or_init(|| async {
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
                return (None, endpoint);
            }
            let local = DynamoDbLocal::start(None)
                .await
                .expect("DynamoDB Local starts (make install)");
            let endpoint = local.endpoint.clone();
            (Some(local), endpoint)
        })
        .await;
    endpoint.clone()
}

/// The local S3 server (moto), started once for this test process, unless
/// `AWS_ENDPOINT_URL_S3` names one already running.
pub async fn object_store_endpoint() -> String {
    static LOCAL: OnceCell<(Option<ObjectStore>, String)> = OnceCell::const_new();
    let (_, endpoint) = LOCAL
        .get_or_init(|| async {
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_S3") {
                return (None, endpoint);
            }
            let local = ObjectStore::start()
                .await
                .expect("the local S3 server starts (make install)");
            let endpoint = local.endpoint.clone();
            (Some(local), endpoint)
        })
        .await;
    endpoint.clone()
}

/// A fresh media bucket, with the deployed bucket's CORS rule for the page's origin.
pub async fn new_bucket() -> (aws_sdk_s3::Client, String) {
    let client = edubot_local::object_store::s3_client(&object_store_endpoint().await);
    let bucket = format!("test-{}", new_message_id().to_lowercase());
    edubot_local::object_store::create_bucket(&client, &bucket, &["http://127.0.0.1".into()])
        .await
        .expect("bucket created");
    (client, bucket)
}

/// A fresh table, created from the CloudFormation definition.
pub async fn new_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = edubot_local::dynamodb_client(&dynamodb_endpoint().await);
    let table = format!("test-{}", new_message_id().to_lowercase());
    edubot_local::schema::create_table(&client, &table)
        .await
        .expect("table created");
    (client, table)
}

/// The test configuration as environment variables (the names of README.md, "Configuration").
pub fn test_env(table: &str, graph_base_url: &str) -> HashMap<String, String> {
    [
        ("TABLE_NAME", table),
        ("WHATSAPP_API_BASE_URL", graph_base_url),
        ("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID),
        ("WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", BUSINESS_ACCOUNT_ID),
        ("JWT_SECRET", JWT_SECRET),
        ("ADMIN_USERNAME", ADMIN),
        ("ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Everything a handler test needs: a context on a fresh table and a Graph API stand-in.
pub struct Harness {
    pub ctx: AppContext,
    pub graph: GraphStandIn,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(&[]).await
    }

    /// A harness whose configuration adds (or overrides) these environment variables.
    pub async fn with(extra: &[(&str, &str)]) -> Harness {
        let graph = GraphStandIn::start().await;
        let (client, table) = new_table().await;
        let mut env = test_env(&table, &graph.base_url());
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let all = Needs {
            whatsapp_send: true,
            webhook_secrets: true,
            admin_tokens: true,
            media: false,
            media_fetch: false,
            templates: true,
            push: false,
            media_hand_off: false,
            websocket_url: false,
        };
        let config = Config::from_lookup(all, |k| env.get(k).cloned()).expect("test config");
        let ctx = AppContext::new(config, client);
        Harness { ctx, graph }
    }

    /// A harness with the media bucket: a fresh bucket on this test process's S3 server.
    pub async fn with_media(extra: &[(&str, &str)]) -> Harness {
        let (s3, bucket) = new_bucket().await;
        let mut with_bucket = vec![("MEDIA_BUCKET", bucket.as_str())];
        with_bucket.extend_from_slice(extra);
        let h = Harness::with(&with_bucket).await;
        h.ctx.use_s3(s3);
        h
    }

    /// A fresh context on the same table: a new container, with nothing cached.
    pub fn cold_context(&self) -> AppContext {
        AppContext::new(self.ctx.config.clone(), self.ctx.store.client().clone())
    }

    /// A supervisor (the harness's own admin is one, as the local stack's is).
    pub async fn create_admin(&self, username: &str, password: &str) {
        create_admin(&self.ctx, username, password).await;
    }

    /// An account of `role` and a valid token of it.
    pub async fn account_token(&self, username: &str, role: Role) -> String {
        self.ctx
            .store
            .put_admin(&edubot_app::auth::new_admin(
                username,
                "a password of 12+",
                role,
            ))
            .await
            .expect("admin stored");
        self.ctx
            .tokens()
            .issue(username, role, 0, edubot_adapters::time::now_ms())
            .0
    }

    /// A valid token for a newly created admin.
    pub async fn admin_token(&self) -> String {
        self.create_admin(ADMIN, ADMIN_PASSWORD).await;
        self.ctx
            .tokens()
            .issue(ADMIN, Role::Supervisor, 0, edubot_adapters::time::now_ms())
            .0
    }

    /// The stream event Lambda would deliver for the inbound messages still unprocessed.
    pub async fn stream_event_for_unprocessed(&self) -> Event {
        let out = self
            .ctx
            .store
            .client()
            .query()
            .table_name(self.ctx.store.table())
            .index_name(edubot_adapters::store::index::UNPROCESSED)
            .key_condition_expression("gsi_unprocessed_pk = :p")
            .expression_attribute_values(":p", AttributeValue::S("UNPROCESSED".into()))
            .send()
            .await
            .expect("query unprocessed");
        stream_event(out.items.unwrap_or_default())
    }
}

/// Disables or enables `username` as the `edubot-admin` command does (no last-supervisor
/// check); false when there is no such admin.
pub async fn set_admin_disabled(
    store: &edubot_adapters::store::Store,
    username: &str,
    disabled: bool,
) -> bool {
    use edubot_adapters::store::AdminStore;
    use edubot_domain::team::{AuditAction, AuditEntry};
    let entry = AuditEntry::new(
        "edubot-admin",
        AuditAction::AdminDisable,
        None,
        edubot_adapters::time::now_ms(),
    );
    matches!(
        store
            .set_admin_disabled(username, disabled, None, &entry)
            .await
            .expect("admin changed"),
        edubot_app::ports::AccountChange::Done(_)
    )
}

/// Stores a new, enabled supervisor with this password (the real argon2id hash).
pub async fn create_admin(ctx: &AppContext, username: &str, password: &str) {
    ctx.store
        .put_admin(&edubot_app::auth::new_admin(
            username,
            password,
            Role::Supervisor,
        ))
        .await
        .expect("admin stored");
}

/// A stream event of INSERT records carrying these items as new images.
pub fn stream_event(items: Vec<HashMap<String, AttributeValue>>) -> Event {
    let mut event = Event::default();
    event.records = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut record = EventRecord::default();
            record.event_id = format!("event-{i}");
            record.event_name = "INSERT".into();
            record.event_source = Some("aws:dynamodb".into());
            record.aws_region = "us-east-1".into();
            record.change.keys = HashMap::from([
                ("pk".to_owned(), item["pk"].clone()),
                ("sk".to_owned(), item["sk"].clone()),
            ])
            .into();
            record.change.new_image = item.into();
            record.change.sequence_number = Some(format!("{:021}", i + 1));
            record
        })
        .collect();
    event
}

/// What the handler gets in AWS for this request: the API Gateway v2 event, parsed by
/// `lambda_http`. Panics for a path no route matches.
pub fn api_request(
    method: Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let matched = gateway::match_route(&method, path)
        .unwrap_or_else(|| panic!("no route for {method} {path}"));
    let mut header_map = HeaderMap::new();
    for (k, v) in headers {
        header_map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let source: SocketAddr = "203.0.113.7:50000".parse().unwrap();
    let event = gateway::to_event(
        &method,
        path,
        query,
        &header_map,
        &Bytes::copy_from_slice(body),
        source,
        &matched,
    );
    lambda_http::request::from_str(&serde_json::to_string(&event).unwrap()).expect("event parses")
}

/// A webhook POST signed with the test app secret.
pub fn signed_webhook(payload: &Value) -> Request {
    let body = payload.to_string();
    let sig = signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    api_request(
        Method::POST,
        "/webhook",
        &[
            ("content-type", "application/json"),
            ("x-hub-signature-256", &sig),
        ],
        body.as_bytes(),
    )
}

pub fn user_text(from: &str, wamid: &str, timestamp_secs: i64, text: &str) -> Value {
    edubot_local::simulator::user_message_payload(
        PHONE_NUMBER_ID,
        from,
        "Ada Student",
        wamid,
        timestamp_secs,
        json!({"type": "text", "text": {"body": text}}),
    )
}

/// A user's media message: `kind` (image, document, audio…) with WhatsApp's description of
/// the file (`{"id","mime_type",…}`).
pub fn user_media(from: &str, wamid: &str, timestamp_secs: i64, kind: &str, file: Value) -> Value {
    edubot_local::simulator::user_message_payload(
        PHONE_NUMBER_ID,
        from,
        "Ada Student",
        wamid,
        timestamp_secs,
        json!({"type": kind, kind: file}),
    )
}

pub fn user_choice(from: &str, wamid: &str, timestamp_secs: i64, id: &str, title: &str) -> Value {
    edubot_local::simulator::user_message_payload(
        PHONE_NUMBER_ID,
        from,
        "Ada Student",
        wamid,
        timestamp_secs,
        json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": id, "title": title}}}),
    )
}

pub fn status(wamid: &str, status: &str, recipient: &str, callback: Option<&str>) -> Value {
    edubot_local::simulator::status_payload(
        PHONE_NUMBER_ID,
        wamid,
        status,
        recipient,
        callback,
        now_secs(),
    )
}

pub fn now_secs() -> i64 {
    edubot_adapters::time::now_ms() / 1000
}

/// Status and JSON body of a handler's response.
pub fn json_of(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::String(t.clone())),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

/// One request the Graph API stand-in received.
#[derive(Debug, Clone)]
pub struct RecordedSend {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    /// The wamid the stand-in assigned, when it accepted the message.
    pub wamid: Option<String>,
    /// When the stand-in answered it (after its latency, if one is set).
    pub at: Instant,
}

impl RecordedSend {
    pub fn to(&self) -> &str {
        self.body["to"].as_str().unwrap_or_default()
    }
    pub fn text(&self) -> Option<&str> {
        self.body["text"]["body"]
            .as_str()
            .or_else(|| self.body["interactive"]["body"]["text"].as_str())
    }
    /// Ids of the buttons or list rows offered.
    pub fn choice_ids(&self) -> Vec<String> {
        let action = &self.body["interactive"]["action"];
        let buttons = action["buttons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| &b["reply"]["id"]);
        let rows = action["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["rows"].as_array().into_iter().flatten())
            .map(|r| &r["id"]);
        buttons
            .chain(rows)
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }
}

/// How the stand-in answers the next send.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// Meta's error JSON with this HTTP status, code and details.
    MetaError {
        status: u16,
        code: i64,
        details: &'static str,
    },
    /// A plain 5xx without a body.
    ServerError(u16),
    /// Accepted (recorded, with a wamid) but answered only after this long: longer than
    /// the client's timeout, it is a send whose answer was lost.
    SlowSuccess(Duration),
    /// Accepted with this wamid: one no key can hold makes recording the send fail.
    SuccessWithWamid(String),
}

/// How the stand-in answers for one user's file (Meta's media endpoints).
#[derive(Debug, Clone, Default)]
pub enum MediaScript {
    /// Looked up and downloaded as Meta would.
    #[default]
    Serve,
    /// The lookup answers this many 500s first.
    ServerErrors(u32),
    /// The download serves other bytes than the checksum says this many times first.
    WrongBytes(u32),
    /// The id is gone (Graph error 100), as after Meta's 7 days.
    Gone,
    /// The lookup gives no sha256 (the webhook's is all there is to check against).
    NoChecksumInLookup,
    /// The lookup says the file is this big.
    DeclaredSize(u64),
}

struct StandInMedia {
    bytes: Vec<u8>,
    mime_type: String,
    script: MediaScript,
}

/// Templates as Meta lists them: the realistic set the stand-in serves by default.
pub fn standard_templates() -> Vec<Value> {
    let body = |text: &str| json!({"type": "BODY", "text": text});
    let template = |name: &str, language: &str, status: &str, category: &str, components: Value| {
        json!({"name": name, "language": language, "status": status, "category": category,
               "parameter_format": "POSITIONAL", "components": components, "id": format!("{name}-{language}")})
    };
    let rating_buttons: Vec<Value> = (1..=5)
        .map(|n| json!({"type": "QUICK_REPLY", "text": n.to_string()}))
        .collect();
    vec![
        template("welcome_back", "en_US", "APPROVED", "UTILITY",
            json!([body("Hello! We have an answer to your question. Reply to this message to continue our chat.")])),
        template("support_followup", "en_US", "APPROVED", "UTILITY",
            json!([body("Hi {{1}}, about your question on {{2}}: our team has an update for you. Reply to continue the conversation.")])),
        template("feedback_rating", "en_US", "APPROVED", "UTILITY",
            json!([body("How would you rate the help you got from our support team?"),
                   {"type": "BUTTONS", "buttons": rating_buttons}])),
        template("course_poster", "en_US", "APPROVED", "MARKETING",
            json!([{"type": "HEADER", "format": "IMAGE"}, body("New courses open: {{1}}")])),
        template("login_code", "en_US", "APPROVED", "AUTHENTICATION", json!([body("{{1}} is your verification code.")])),
        template("spring_offer", "en_US", "PENDING", "MARKETING", json!([body("Spring offer: {{1}}")])),
        template("promo_blast", "en_US", "REJECTED", "MARKETING", json!([body("Big sale!")])),
    ]
}

/// Templates per listing page (small, so a listing takes several pages).
pub const TEMPLATE_PAGE_SIZE: usize = 2;

struct GraphState {
    sends: Vec<RecordedSend>,
    /// What `GET /{business account}/message_templates` lists, paged.
    templates: Vec<Value>,
    /// Every listing page request (path and query).
    template_requests: Vec<String>,
    /// Listing requests answer this status (a 500: Meta down) while set.
    template_failure: Option<u16>,
    script: VecDeque<Scripted>,
    media: HashMap<String, StandInMedia>,
    /// Every media request (path, authorization header), lookups and downloads.
    media_requests: Vec<(String, Option<String>)>,
    /// Meta's answer time on sends: a base and a spread either side (uniform).
    latency: Option<(Duration, Duration)>,
    latency_draws: u64,
}

impl Default for GraphState {
    fn default() -> Self {
        GraphState {
            sends: Vec::new(),
            templates: standard_templates(),
            template_requests: Vec::new(),
            template_failure: None,
            script: VecDeque::new(),
            media: HashMap::new(),
            media_requests: Vec::new(),
            latency: None,
            latency_draws: 0,
        }
    }
}

impl GraphState {
    /// The next send's answer time: the base, plus or minus up to the spread (splitmix64 of
    /// a counter, so runs draw alike).
    fn next_latency(&mut self) -> Option<Duration> {
        let (base, spread) = self.latency?;
        self.latency_draws += 1;
        let mut z = self.latency_draws.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let unit = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
        Some((base + spread).saturating_sub(spread.mul_f64(2.0 * unit)))
    }
}

/// `GET /{version}/{business account}/message_templates`, paged as Meta pages it (honours
/// `status`, `after`), or None for another path.
fn templates_answer(
    state: &Mutex<GraphState>,
    addr: SocketAddr,
    uri: &axum::http::Uri,
    authorization: Option<&str>,
) -> Option<axum::response::Response> {
    let path = uri.path();
    if !path.ends_with(&format!("/{BUSINESS_ACCOUNT_ID}/message_templates")) {
        return None;
    }
    let mut state = state.lock().unwrap();
    state.template_requests.push(
        uri.path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
    );
    if authorization != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    if let Some(status) = state.template_failure {
        return Some(StatusCode::from_u16(status).unwrap().into_response());
    }
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let listed: Vec<&Value> = state
        .templates
        .iter()
        .filter(|t| {
            query
                .get("status")
                .is_none_or(|s| t["status"] == s.as_str())
        })
        .collect();
    let from: usize = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let page: Vec<&Value> = listed
        .iter()
        .skip(from)
        .take(TEMPLATE_PAGE_SIZE)
        .copied()
        .collect();
    let mut answer = json!({"data": page, "paging": {"cursors": {"before": from.to_string(), "after": (from + page.len()).to_string()}}});
    if from + page.len() < listed.len() {
        answer["paging"]["next"] = format!(
            "http://{addr}{path}?status=APPROVED&after={}&access_token={ACCESS_TOKEN}",
            from + page.len()
        )
        .into();
    }
    Some(axum::Json(answer).into_response())
}

/// `GET /{version}/{media_id}` (the lookup) and `GET /media-download/{media_id}` (the
/// bytes), as Meta answers them: None when the request is not one of these.
fn media_answer(
    state: &Mutex<GraphState>,
    addr: SocketAddr,
    path: &str,
    authorization: Option<String>,
) -> Option<axum::response::Response> {
    let mut state = state.lock().unwrap();
    let (download, id) = match path.strip_prefix("/media-download/") {
        Some(id) => (true, id.to_owned()),
        None => (false, path.rsplit('/').next()?.to_owned()),
    };
    if !state.media.contains_key(&id) {
        return None;
    }
    state
        .media_requests
        .push((path.to_owned(), authorization.clone()));
    if authorization.as_deref() != Some(&format!("Bearer {ACCESS_TOKEN}")) {
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    let media = state.media.get_mut(&id).expect("checked above");
    let answer = match (&mut media.script, download) {
        (MediaScript::Gone, _) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"message": "Unsupported get request. Object with ID does not exist", "type": "GraphMethodException", "code": 100}})),
        )
            .into_response(),
        (MediaScript::ServerErrors(n), false) if *n > 0 => {
            *n -= 1;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        (_, false) => {
            use base64::Engine;
            use sha2::Digest;
            let digest = sha2::Sha256::digest(&media.bytes);
            let mut info = json!({
                "messaging_product": "whatsapp",
                "url": format!("http://{addr}/media-download/{id}"),
                "mime_type": media.mime_type,
                "sha256": base64::engine::general_purpose::STANDARD.encode(digest),
                "file_size": media.bytes.len().to_string(),
                "id": id,
            });
            match media.script {
                MediaScript::NoChecksumInLookup => {
                    info.as_object_mut().unwrap().remove("sha256");
                }
                MediaScript::DeclaredSize(size) => info["file_size"] = size.into(),
                _ => {}
            }
            axum::Json(info).into_response()
        }
        (MediaScript::WrongBytes(n), true) if *n > 0 => {
            *n -= 1;
            let mut wrong = media.bytes.clone();
            wrong.push(b'!');
            ([("content-type", media.mime_type.clone())], wrong).into_response()
        }
        (_, true) => ([("content-type", media.mime_type.clone())], media.bytes.clone()).into_response(),
    };
    Some(answer)
}

/// A real HTTP server answering `POST /{phone_number_id}/messages` like the Graph API.
pub struct GraphStandIn {
    addr: SocketAddr,
    state: Arc<Mutex<GraphState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GraphStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn graph_handler(
    State((state, addr)): State<(Arc<Mutex<GraphState>>, SocketAddr)>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    if method == Method::GET {
        let authorization = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        if let Some(answer) = templates_answer(&state, addr, &uri, authorization.as_deref()) {
            return answer;
        }
        return media_answer(&state, addr, uri.path(), authorization)
            .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response());
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let latency = state.lock().unwrap().next_latency();
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }
    let scripted = state.lock().unwrap().script.pop_front();
    let wamid = match &scripted {
        Some(Scripted::SuccessWithWamid(wamid)) => wamid.clone(),
        _ => format!("wamid.TEST{}", new_message_id()),
    };
    let scripted = {
        let mut s = state.lock().unwrap();
        let accepted = matches!(
            scripted,
            None | Some(Scripted::SlowSuccess(_)) | Some(Scripted::SuccessWithWamid(_))
        );
        s.sends.push(RecordedSend {
            path: uri.path().to_owned(),
            authorization: headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned),
            body: body.clone(),
            wamid: accepted.then(|| wamid.clone()),
            at: Instant::now(),
        });
        scripted
    };
    match scripted {
        Some(Scripted::MetaError { status, code, details }) => (
            StatusCode::from_u16(status).unwrap(),
            axum::Json(json!({"error": {"message": format!("(#{code}) error"), "type": "OAuthException", "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details}, "fbtrace_id": "test"}})),
        )
            .into_response(),
        Some(Scripted::ServerError(status)) => StatusCode::from_u16(status).unwrap().into_response(),
        Some(Scripted::SlowSuccess(delay)) => {
            tokio::time::sleep(delay).await;
            accepted_response(&body, &wamid)
        }
        Some(Scripted::SuccessWithWamid(_)) | None => accepted_response(&body, &wamid),
    }
}

fn accepted_response(request: &Value, wamid: &str) -> axum::response::Response {
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": request["to"], "wa_id": request["to"]}],
        "messages": [{"id": wamid}]
    }))
    .into_response()
}

impl GraphStandIn {
    pub async fn start() -> GraphStandIn {
        let state = Arc::new(Mutex::new(GraphState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(graph_handler)
            .with_state((state.clone(), addr));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GraphStandIn { addr, state, task }
    }

    /// What to set as `WHATSAPP_API_BASE_URL` (a version segment, as Meta's has).
    pub fn base_url(&self) -> String {
        format!("http://{}/v23.0", self.addr)
    }

    /// Holds a user's file under `media_id`, answering for it as `script` says.
    pub fn add_media(&self, media_id: &str, bytes: Vec<u8>, mime_type: &str, script: MediaScript) {
        self.state.lock().unwrap().media.insert(
            media_id.to_owned(),
            StandInMedia {
                bytes,
                mime_type: mime_type.to_owned(),
                script,
            },
        );
    }

    /// Every media lookup and download so far: (path, authorization header).
    pub fn media_requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().media_requests.clone()
    }

    /// Answers every send after `base` ± `spread` (Meta's own time), from now on.
    pub fn set_latency(&self, base: Duration, spread: Duration) {
        self.state.lock().unwrap().latency = Some((base, spread.min(base)));
    }

    pub fn script(&self, reply: Scripted) {
        self.state.lock().unwrap().script.push_back(reply);
    }

    pub fn sends(&self) -> Vec<RecordedSend> {
        self.state.lock().unwrap().sends.clone()
    }

    /// The read receipts and typing indicators received: (wamid, with typing).
    pub fn read_marks(&self) -> Vec<(String, bool)> {
        self.sends()
            .iter()
            .filter(|s| s.body["status"] == "read")
            .map(|s| {
                (
                    s.body["message_id"].as_str().unwrap_or_default().to_owned(),
                    s.body["typing_indicator"]["type"] == "text",
                )
            })
            .collect()
    }

    /// Makes the template listing answer `status` (Some(500): Meta down), or work again.
    pub fn fail_template_listing(&self, status: Option<u16>) {
        self.state.lock().unwrap().template_failure = status;
    }

    /// Every template listing page requested so far (path and query).
    pub fn template_requests(&self) -> Vec<String> {
        self.state.lock().unwrap().template_requests.clone()
    }

    pub fn sends_to(&self, phone: &str) -> Vec<RecordedSend> {
        self.sends()
            .into_iter()
            .filter(|s| s.to() == phone)
            .collect()
    }

    /// Waits until `phone` has received at least `count` sends; panics after `timeout`.
    pub async fn wait_for(
        &self,
        phone: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<RecordedSend> {
        let started = Instant::now();
        loop {
            let sends = self.sends_to(phone);
            if sends.len() >= count {
                return sends;
            }
            assert!(
                started.elapsed() < timeout,
                "{phone} received {} sends, expected {count}: {sends:#?}",
                sends.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The local stack on a free port, against this process's DynamoDB Local, with the test
/// configuration plus `extra` (names of README.md, "Configuration").
pub async fn start_stack(
    graph: &GraphStandIn,
    table: &str,
    data_dir: Option<std::path::PathBuf>,
    extra: &[(&str, &str)],
) -> LocalStack {
    let mut env = test_env(table, &graph.base_url());
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    LocalStack::start(Settings {
        port: 0,
        data_dir,
        dynamodb_endpoint: Some(dynamodb_endpoint().await),
        s3_endpoint: Some(object_store_endpoint().await),
        env,
        static_dir: edubot_local::static_site::default_dir(),
    })
    .await
    .expect("local stack starts")
}

/// The local stack driven over HTTP exactly as outside clients do: WhatsApp's signed
/// webhooks, and the admin API with a bearer token.
pub struct StackClient {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

/// How long end-to-end tests wait for something to happen before failing.
pub const E2E_WAIT: Duration = Duration::from_secs(15);

impl StackClient {
    pub fn new(stack: &LocalStack) -> StackClient {
        StackClient {
            http: reqwest::Client::new(),
            base: stack.url(),
            token: None,
        }
    }

    pub async fn signed_in(stack: &LocalStack) -> StackClient {
        let mut client = StackClient::new(stack);
        client.sign_in().await;
        client
    }

    pub async fn sign_in(&mut self) {
        let (status, body) = self
            .post(
                "/api/admin/login",
                json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        self.token = Some(body["token"].as_str().unwrap().to_owned());
    }

    /// Posts a webhook signed with the test app secret; answers the HTTP status.
    pub async fn webhook(&self, payload: &Value) -> u16 {
        let body = payload.to_string();
        self.http
            .post(format!("{}/webhook", self.base))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                signature::sign(APP_SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// The conversation and its history (up to 200 messages) as the admin page reads them.
    pub async fn history(&self, phone: &str) -> Value {
        let (status, body) = self
            .get(&format!(
                "/api/admin/conversations/{phone}/messages?limit=200"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn messages(&self, phone: &str) -> Vec<Value> {
        self.history(phone).await["messages"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Polls the history (which may not exist yet) until `done` holds.
    pub async fn wait_messages(&self, phone: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let (_, body) = self
                .get(&format!(
                    "/api/admin/conversations/{phone}/messages?limit=200"
                ))
                .await;
            let messages = body["messages"].as_array().cloned().unwrap_or_default();
            if done(&messages) {
                return messages;
            }
            assert!(
                started.elapsed() < E2E_WAIT,
                "history never got there: {messages:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `export const NAME = <a product of numbers>;` in a page module's `text` (e.g.
/// `5 * 60_000`): the page's own constants, read where a test or the bench counts on them.
pub fn js_number(text: &str, name: &str) -> Option<f64> {
    let start = text.find(&format!("export const {name} = "))? + name.len() + 16;
    let value = &text[start..start + text[start..].find(';')?];
    value
        .split('*')
        .map(|factor| factor.trim().replace('_', "").parse::<f64>().ok())
        .product()
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_numbers_are_read_as_the_page_writes_them() {
        let text = "export const POLL_MS = 10_000;\nexport const PING_MS = 5 * 60_000;\n";
        assert_eq!(super::js_number(text, "POLL_MS"), Some(10_000.0));
        assert_eq!(super::js_number(text, "PING_MS"), Some(300_000.0));
        assert_eq!(super::js_number(text, "POLL_HIDDEN_MS"), None);
        assert_eq!(super::js_number("export const X = ten;", "X"), None);
    }
}
