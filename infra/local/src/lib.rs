//! The local stack (`make run`): DynamoDB Local, the table from its CloudFormation
//! definition, every HTTP function behind API Gateway v2 events, the stream delivered to
//! the inbound processor, the admin page, and the WhatsApp simulator — on one port,
//! answering only once all of it is up.

pub mod dynamodb_local;
pub mod gateway;
pub mod object_store;
pub mod schedule;
pub mod schema;
pub mod simulator;
pub mod static_site;
pub mod stream;
pub mod user_files;
pub mod watched;
pub mod websocket;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use edubot_adapters::config::{Config, Needs};
use edubot_adapters::AppContext;
use edubot_app::ports::AdminStore;
use tokio::task::JoinHandle;

pub use dynamodb_local::DynamoDbLocal;
pub use object_store::ObjectStore;

/// The largest request body API Gateway passes to a function (10 MB).
pub const API_GATEWAY_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The local stack's embedded defaults: every one can be overridden by the environment.
pub fn default_env(port: u16) -> HashMap<&'static str, String> {
    HashMap::from([
        ("TABLE_NAME", "edubot-local".to_owned()),
        (
            "WHATSAPP_API_BASE_URL",
            format!("http://127.0.0.1:{port}/simulator/graph"),
        ),
        ("WHATSAPP_PHONE_NUMBER_ID", "100000000000001".to_owned()),
        ("WHATSAPP_ACCESS_TOKEN", "local-access-token".to_owned()),
        ("WHATSAPP_APP_SECRET", "local-app-secret".to_owned()),
        ("WHATSAPP_VERIFY_TOKEN", "local-verify-token".to_owned()),
        (
            "WHATSAPP_BUSINESS_ACCOUNT_ID",
            simulator::BUSINESS_ACCOUNT_ID.to_owned(),
        ),
        (
            "SUPPORT_FEEDBACK_TEMPLATE",
            "feedback_rating:en_US".to_owned(),
        ),
        (
            "JWT_SECRET",
            "local-only-jwt-secret-never-use-in-aws".to_owned(),
        ),
        ("ADMIN_USERNAME", "admin".to_owned()),
        ("MEDIA_BUCKET", "edubot-local-media".to_owned()),
        // The WebSocket API, its management API and Lambda's invoke API: this server.
        ("WEBSOCKET_URL", format!("ws://127.0.0.1:{port}/ws")),
        ("WEBSOCKET_CALLBACK_URL", format!("http://127.0.0.1:{port}")),
        ("DESK_EVENTS_FUNCTION", "desk-events".to_owned()),
    ])
}

/// The work tree the stack serves from (the admin page, the simulator, DynamoDB Local's
/// install): the nearest folder at or above the working directory, else above this binary,
/// that holds the local stack. Found at run time, never compiled in, so the build does not
/// depend on where the checkout lies: a fresh clone sharing a target directory reuses it
/// as it is and serves its own files.
pub fn project_root() -> PathBuf {
    let marker = Path::new("infra/local/package.json");
    let holds_stack = |dir: &Path| dir.join(marker).is_file();
    let cwd = std::env::current_dir().unwrap_or_default();
    let exe = std::env::current_exe().unwrap_or_default();
    cwd.ancestors()
        .chain(exe.ancestors())
        .find(|dir| holds_stack(dir))
        .map_or(cwd.clone(), Path::to_path_buf)
}

/// A DynamoDB client for DynamoDB Local: fixed credentials and region, no lookups.
/// The SDK settings of the local stand-ins: a region and placeholder credentials (nothing
/// local checks them), our HTTP client.
pub fn local_sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(edubot_adapters::aws::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            Credentials::new("local", "local", None, None, "edubot-local"),
        ))
        .build()
}

pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(edubot_adapters::aws::http_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "edubot-local",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A streams client for DynamoDB Local's stream (served on its one endpoint).
pub fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .http_client(edubot_adapters::aws::http_client())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "edubot-local",
        ))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

pub struct Settings {
    /// 0 picks a free port.
    pub port: u16,
    /// DynamoDB Local's files and the stream position; in memory when None.
    pub data_dir: Option<PathBuf>,
    /// Use this DynamoDB (Local) instead of starting one.
    pub dynamodb_endpoint: Option<String>,
    /// Use this S3-compatible server instead of starting one.
    pub s3_endpoint: Option<String>,
    /// Settings by environment variable name; the embedded defaults fill the rest.
    pub env: HashMap<String, String>,
    pub static_dir: PathBuf,
}

impl Settings {
    /// From the process environment: `PORT`, `LOCAL_DATA_DIR`, `AWS_ENDPOINT_URL_DYNAMODB`,
    /// `AWS_ENDPOINT_URL_S3`, and
    /// the configuration names of README.md ("Configuration").
    pub fn from_env() -> Result<Settings, String> {
        let port = match std::env::var("PORT") {
            Ok(p) => p
                .parse()
                .map_err(|_| format!("PORT={p} is not a port number"))?,
            Err(_) => 3000,
        };
        Ok(Settings {
            port,
            data_dir: Some(data_dir_from(std::env::var("LOCAL_DATA_DIR").ok())?),
            dynamodb_endpoint: std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
                .ok()
                .filter(|v| !v.is_empty()),
            s3_endpoint: std::env::var("AWS_ENDPOINT_URL_S3")
                .ok()
                .filter(|v| !v.is_empty()),
            env: std::env::vars().collect(),
            static_dir: std::env::var("STATIC_SITE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| static_site::default_dir()),
        })
    }
}

/// `LOCAL_DATA_DIR` (default `.local`), made absolute against the working directory now, so
/// that every part of the stack reads the same folder whatever its own working directory.
pub fn data_dir_from(setting: Option<String>) -> Result<PathBuf, String> {
    let dir = setting
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| ".local".into());
    std::path::absolute(&dir).map_err(|e| format!("LOCAL_DATA_DIR={dir}: {e}"))
}

pub struct LocalStack {
    pub addr: SocketAddr,
    pub context: Arc<AppContext>,
    /// Set when the admin was created with a generated password (printed once).
    pub generated_admin_password: Option<String>,
    pub admin_username: String,
    /// The stand-in Graph API (`WHATSAPP_API_BASE_URL` points at it unless set otherwise):
    /// its record of what reached each user, and its fault injection for the bench.
    pub simulator: Arc<simulator::Simulator>,
    tasks: Vec<JoinHandle<()>>,
    /// The open WebSockets of the stand-in WebSocket API.
    pub sockets: Arc<websocket::Sockets>,
    _dynamodb: Option<DynamoDbLocal>,
    _object_store: Option<ObjectStore>,
}

impl LocalStack {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn start(settings: Settings) -> Result<LocalStack, String> {
        // Bound first (the simulator's address depends on the port), served last.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", settings.port))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => format!(
                    "port {} is already in use (another `make run`?): stop that, or set PORT to another port",
                    settings.port
                ),
                _ => format!("cannot listen on 127.0.0.1:{}: {e}", settings.port),
            })?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let defaults = default_env(addr.port());
        let lookup = |name: &str| {
            settings
                .env
                .get(name)
                .cloned()
                .filter(|v| !v.is_empty())
                .or_else(|| defaults.get(name).cloned())
        };
        let all = Needs {
            whatsapp_send: true,
            webhook_secrets: true,
            admin_tokens: true,
            media: true,
            media_fetch: true,
            templates: true,
            push: true,
            media_hand_off: true,
            websocket_url: true,
        };
        let config = Config::from_lookup(all, lookup).map_err(|e| e.to_string())?;

        if settings.s3_endpoint.is_none() {
            object_store::python()?;
        }
        // The two servers start side by side: a first `make run` waits for the slower only.
        let dynamodb_dir = settings.data_dir.as_ref().map(|d| d.join("dynamodb"));
        let (dynamodb, object_store) = tokio::join!(
            async {
                match &settings.dynamodb_endpoint {
                    Some(_) => Ok(None),
                    None => DynamoDbLocal::start(dynamodb_dir.as_deref())
                        .await
                        .map(Some),
                }
            },
            async {
                match &settings.s3_endpoint {
                    Some(_) => Ok(None),
                    None => ObjectStore::start().await.map(Some),
                }
            },
        );
        let (dynamodb, object_store) = (dynamodb?, object_store?);
        let endpoint = settings
            .dynamodb_endpoint
            .clone()
            .or_else(|| dynamodb.as_ref().map(|d| d.endpoint.clone()))
            .expect("one endpoint");
        let client = dynamodb_client(&endpoint);
        let created = schema::create_table(&client, &config.table_name).await?;
        let context = Arc::new(AppContext::new(config.clone(), client.clone()));
        if !created {
            // A data folder from before an index was added: add it, then bring the items
            // stored before up to it (docs/team.md: the backfill), as a deploy would.
            let added = schema::add_missing_indexes(&client, &config.table_name).await?;
            if !added.is_empty() {
                let done = context
                    .store
                    .backfill_team(|_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(indexes = ?added, conversations = done.conversations_indexed, "local table brought up to date");
            }
        }

        let s3_endpoint = settings
            .s3_endpoint
            .clone()
            .or_else(|| object_store.as_ref().map(|o| o.endpoint.clone()))
            .expect("one endpoint");
        let s3 = object_store::s3_client(&s3_endpoint);
        let page_origins = [
            format!("http://{addr}"),
            format!("http://localhost:{}", addr.port()),
        ];
        object_store::create_bucket(&s3, &config.media_bucket, &page_origins).await?;
        context.use_s3(s3);
        context.use_realtime(&local_sdk_config(), Some(&format!("http://{addr}")));
        let sockets = Arc::new(websocket::Sockets::default());
        let csp: Arc<str> = static_site::content_security_policy(&s3_endpoint).into();

        let admin_username = lookup("ADMIN_USERNAME").unwrap_or_else(|| "admin".into());
        let generated_admin_password =
            ensure_admin(&context, &admin_username, lookup("ADMIN_PASSWORD")).await?;

        let mut tasks = Vec::new();
        for mapping in [stream::Mapping::InboundProcessor, stream::Mapping::Push] {
            let poller = stream::StreamPoller::new(
                mapping,
                streams_client(&endpoint),
                &client,
                &config.table_name,
                settings.data_dir.as_deref(),
                context.clone(),
            )
            .await?;
            // The bench plays the processor's mapping at another factor to compare.
            let poller = match (mapping, lookup("LOCAL_INBOUND_PARALLELIZATION_FACTOR")) {
                (stream::Mapping::InboundProcessor, Some(v)) => {
                    poller.with_parallelization_factor(v.parse().map_err(|_| {
                        format!("LOCAL_INBOUND_PARALLELIZATION_FACTOR={v} is not a number")
                    })?)
                }
                _ => poller,
            };
            tasks.push(tokio::spawn(poller.run()));
        }
        let interval = match lookup("LOCAL_SCHEDULE_SECONDS") {
            Some(v) => v.parse::<u64>().ok().filter(|s| *s > 0).ok_or(format!(
                "LOCAL_SCHEDULE_SECONDS={v} is not a positive number"
            ))?,
            None => schedule::DEFAULT_INTERVAL_SECONDS,
        };
        tasks.push(tokio::spawn(schedule::run(
            context.clone(),
            std::time::Duration::from_secs(interval),
        )));

        let simulator = simulator::Simulator::new(
            &config.whatsapp_phone_number_id,
            config.whatsapp_access_token.expose(),
            config.whatsapp_app_secret.expose(),
            format!("http://{addr}/webhook"),
        );
        if let Some(account) = lookup("WHATSAPP_BUSINESS_ACCOUNT_ID") {
            simulator.set_business_account_id(&account);
        }
        let front = Front {
            context: context.clone(),
            static_dir: settings.static_dir.clone(),
            csp: csp.clone(),
        };
        let app = Router::new()
            .merge(simulator.router())
            .merge(websocket::router(context.clone(), sockets.clone()))
            .merge(static_site::simulator_router(csp))
            .fallback_service(
                Router::new()
                    .fallback(front_door)
                    .with_state(Arc::new(front))
                    // API Gateway's own limit: the functions' smaller ones answer in the
                    // API's error shape, as they do in AWS.
                    .layer(axum::extract::DefaultBodyLimit::max(
                        API_GATEWAY_MAX_BODY_BYTES,
                    )),
            );
        tasks.push(tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                tracing::error!(error = %e, "local stack server stopped");
            }
        }));
        Ok(LocalStack {
            addr,
            sockets,
            context,
            generated_admin_password,
            admin_username,
            simulator,
            tasks,
            _dynamodb: dynamodb,
            _object_store: object_store,
        })
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Creates the admin. With a password given, it is (re)set to it; without one, a new admin
/// gets a generated password, answered so it can be printed once.
async fn ensure_admin(
    ctx: &AppContext,
    username: &str,
    password: Option<String>,
) -> Result<Option<String>, String> {
    if !edubot_adapters::model::valid_username(username) {
        return Err(format!(
            "ADMIN_USERNAME {username:?}: use 3–64 of a-z 0-9 . _ -"
        ));
    }
    let existing = ctx
        .store
        .get_admin(username)
        .await
        .map_err(|e| e.to_string())?;
    let (password, generated) = match (password, &existing) {
        (Some(p), _) => (p, false),
        (None, Some(_)) => return Ok(None),
        (None, None) => (generate_password(), true),
    };
    // The local stack's admin is a supervisor (DESIGN §15), whatever an earlier run stored.
    let supervisor = edubot_adapters::team::Role::Supervisor;
    let admin = edubot_app::auth::admin_with_password(existing, username, &password, supervisor);
    let admin = edubot_adapters::model::Admin {
        role: supervisor,
        ..admin
    };
    ctx.store
        .put_admin(&admin)
        .await
        .map_err(|e| e.to_string())?;
    Ok(generated.then_some(password))
}

fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// What CloudFront routes in production: `/api/*` and `/webhook` to the HTTP API, the
/// rest to the static site.
struct Front {
    context: Arc<AppContext>,
    static_dir: PathBuf,
    /// The page's Content-Security-Policy, naming this stack's S3 server.
    csp: Arc<str>,
}

async fn front_door(
    State(front): State<Arc<Front>>,
    ConnectInfo(source): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let ctx = &front.context;
    let is_api = path == "/webhook" || path.starts_with("/api/");
    if !is_api {
        return match method {
            Method::GET | Method::HEAD => {
                static_site::serve_from(&front.static_dir, path, &front.csp).await
            }
            _ => axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response(),
        };
    }
    let Some(matched) = gateway::match_route(&method, path) else {
        // API Gateway's own answer for a route it does not have.
        return (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"message": "Not Found"})),
        )
            .into_response();
    };
    let event = gateway::to_event(
        &method,
        path,
        uri.query().unwrap_or(""),
        &headers,
        &body,
        source,
        &matched,
    );
    let response = gateway::invoke(ctx, matched.function, &event).await;
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
