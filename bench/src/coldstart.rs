//! A Lambda Runtime API emulator on 127.0.0.1 and a function's binary started as Lambda
//! starts it (a "sandbox"). Cold start: spawn → its first `GET …/invocation/next` (init),
//! spawn → the end of its first invocation. Then as many invocations as wanted, one at a
//! time as Lambda gives them to one instance, and its peak RSS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::mpsc;

#[derive(Debug)]
enum Seen {
    Next(Instant),
    Response(Instant, Vec<u8>),
    Error(Instant, Vec<u8>),
    InitError(Vec<u8>),
}

struct Emulator {
    /// The events to hand out, one per `next`.
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    request_id: String,
    function_arn: String,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn next(State(emu): State<Arc<Emulator>>) -> Response {
    let _ = emu.seen.send(Seen::Next(Instant::now()));
    // Between invocations Lambda freezes the sandbox here; so does the wait for the next event.
    let Some(body) = emu.events.lock().await.recv().await else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&emu.request_id).unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_str(&deadline.to_string()).unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_str(&emu.function_arn).unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static(
            "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=0",
        ),
    );
    (StatusCode::OK, headers, body).into_response()
}

async fn response(State(emu): State<Arc<Emulator>>, body: Bytes) -> StatusCode {
    let _ = emu.seen.send(Seen::Response(Instant::now(), body.to_vec()));
    StatusCode::ACCEPTED
}

async fn error(State(emu): State<Arc<Emulator>>, body: Bytes) -> StatusCode {
    let _ = emu.seen.send(Seen::Error(Instant::now(), body.to_vec()));
    StatusCode::ACCEPTED
}

async fn init_error(State(emu): State<Arc<Emulator>>, body: Bytes) -> StatusCode {
    let _ = emu.seen.send(Seen::InitError(body.to_vec()));
    StatusCode::ACCEPTED
}

/// One cold start's figures.
#[derive(Debug, Clone)]
pub struct Start {
    pub init_ms: f64,
    pub first_invoke_ms: f64,
    pub peak_rss_kb: u64,
    /// The HTTP status a function answered (API Gateway responses), or "ok"/"error".
    pub outcome: String,
}

/// The environment Lambda gives a provided.al2023 function, plus the function's own.
pub fn lambda_env(
    function: &str,
    runtime_api: SocketAddr,
    own: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("edubot-bench-{function}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/edubot-bench-{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]0123456789abcdef".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHLOCAL000000".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench-local-secret".into()),
        ("AWS_SESSION_TOKEN", "bench-local-session-token".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        ("LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A function's process and the emulator it talks to. Killed when dropped.
pub struct Sandbox {
    function: String,
    child: tokio::process::Child,
    pid: u32,
    spawned: Instant,
    init: Option<Duration>,
    events: mpsc::UnboundedSender<Vec<u8>>,
    seen: mpsc::UnboundedReceiver<Seen>,
    server: tokio::task::JoinHandle<()>,
}

/// One invocation's answer.
pub struct Invoked {
    /// Event handed over → response posted.
    pub elapsed: Duration,
    /// Spawn → response posted.
    pub since_spawn: Duration,
    /// The HTTP status a function answered (API Gateway responses), or "ok"/"error: …".
    pub outcome: String,
}

impl Sandbox {
    /// Starts `binary` with the Lambda environment and `own_env`, against a fresh emulator.
    pub async fn start(
        binary: &Path,
        function: &str,
        own_env: &HashMap<String, String>,
    ) -> Result<Sandbox, String> {
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let emu = Arc::new(Emulator {
            events: tokio::sync::Mutex::new(events_rx),
            request_id: format!("bench-{}", edubot_adapters::model::new_message_id()),
            function_arn: format!(
                "arn:aws:lambda:us-east-1:123456789012:function:edubot-bench-{function}"
            ),
            seen: seen_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(emu);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let env = lambda_env(function, addr, own_env);
        let spawned = Instant::now();
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .envs(env)
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let pid = child.id().unwrap_or(0);
        Ok(Sandbox {
            function: function.to_owned(),
            child,
            pid,
            spawned,
            init: None,
            events,
            seen,
            server,
        })
    }

    /// Spawn → the first `next`, once the function has asked for its first event.
    pub fn init(&self) -> Option<Duration> {
        self.init
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(
        &mut self,
        event: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Invoked, String> {
        let handed = Instant::now();
        let _ = self.events.send(serde_json::to_vec(event).unwrap());
        let function = self.function.clone();
        let answer = async {
            loop {
                tokio::select! {
                    seen = self.seen.recv() => match seen {
                        Some(Seen::Next(t)) => {
                            if self.init.is_none() {
                                self.init = Some(t - self.spawned);
                            }
                        }
                        Some(Seen::Response(t, body)) => {
                            let status = serde_json::from_slice::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| v.get("statusCode").and_then(|s| s.as_u64()).map(|s| s.to_string()))
                                .unwrap_or_else(|| "ok".into());
                            return Ok((t, status));
                        }
                        Some(Seen::Error(t, body)) => {
                            return Ok((t, format!("error: {}",
                                String::from_utf8_lossy(&body).chars().take(120).collect::<String>())));
                        }
                        Some(Seen::InitError(body)) => {
                            return Err(format!("{function}: init error {}", String::from_utf8_lossy(&body)));
                        }
                        None => return Err("emulator stopped".to_owned()),
                    },
                    status = self.child.wait() => {
                        return Err(format!("{function} exited during an invocation: {status:?}"));
                    }
                }
            }
        };
        let (t, outcome) = tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| format!("{}: no answer within {timeout:?}", self.function))??;
        Ok(Invoked {
            elapsed: t.saturating_duration_since(handed),
            since_spawn: t - self.spawned,
            outcome,
        })
    }

    /// VmHWM: the most memory the process has held.
    pub fn peak_rss_kb(&self) -> u64 {
        peak_rss_kb(self.pid)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.server.abort();
    }
}

/// Starts `binary`, gives it `event`, answers its cold-start figures and stops it.
pub async fn start_once(
    binary: &Path,
    function: &str,
    event: &serde_json::Value,
    own_env: &HashMap<String, String>,
    timeout: Duration,
) -> Result<Start, String> {
    let mut sandbox = Sandbox::start(binary, function, own_env).await?;
    let invoked = sandbox.invoke(event, timeout).await;
    // Peak RSS before it goes (it now waits in its second `next`, frozen as in Lambda).
    let rss = sandbox.peak_rss_kb();
    let init = sandbox.init();
    sandbox.stop().await;
    let invoked = invoked?;
    Ok(Start {
        init_ms: crate::stats::ms(init.unwrap_or_default()),
        first_invoke_ms: crate::stats::ms(invoked.since_spawn),
        peak_rss_kb: rss,
        outcome: invoked.outcome,
    })
}

/// The binaries to start: every crate under functions/ (its package name is its binary).
pub fn function_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let manifest = std::fs::read_to_string(e.path().join("Cargo.toml")).ok()?;
                    manifest.lines().find_map(|l| {
                        let l = l.trim();
                        l.strip_prefix("name").map(|r| {
                            r.trim_start()
                                .trim_start_matches('=')
                                .trim()
                                .trim_matches('"')
                                .to_owned()
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn binary(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
