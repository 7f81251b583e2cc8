//! A Lambda Runtime API emulator on 127.0.0.1 and a function's binary started as Lambda
//! starts it (a "sandbox"). Cold start: spawn → its first `GET …/invocation/next` (init),
//! spawn → the end of its first invocation. Then as many invocations as wanted, one at a
//! time as Lambda gives them to one instance, and its peak RSS.

use std::collections::{BTreeMap, HashMap};
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

use crate::fixture::Fixture;
use crate::scenarios::Scenarios;
use crate::stats::{f1, f2, median, pass, percentile, Raw, Section};

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

/// The cold-start section: every function under functions/ started `starts` times, each
/// right after the floor, and after it its speed-optimised build when there is one.
pub async fn run(
    root: &Path,
    bin_dir: &Path,
    speed_bin_dir: Option<&Path>,
    endpoint: &str,
    starts: usize,
    raw: &mut Raw,
) -> Section {
    let fx = Fixture::new(endpoint, "cold").await;
    let sc = Scenarios::new(&fx, 3).await;
    let mut env = fx.env.clone();
    env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.to_owned());
    env.insert("RUST_LOG".into(), "info".into());
    let floor_bin = binary(bin_dir, "bench-floor");
    let mut functions = function_names(root);
    let timeout = Duration::from_secs(30);
    let mut samples: BTreeMap<String, Vec<Start>> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    let floor_event = serde_json::json!({"bench": "floor"});
    // Diagnostics (no goal): the floor plus the shared DynamoDB client construction.
    let diagnostics: Vec<String> = ["bench-floor-sdk"]
        .into_iter()
        .map(str::to_owned)
        .filter(|d| binary(bin_dir, d).is_file())
        .collect();
    for round in 0..starts {
        // Rotate the order each round, so no function always follows the same one.
        functions.rotate_left(if round == 0 { 0 } else { 1 });
        for f in &functions {
            let bin = binary(bin_dir, f);
            if !bin.is_file() {
                if round == 0 {
                    errors.push(format!("{f}: no binary at {}", bin.display()));
                }
                continue;
            }
            let Some(inv) = sc.prepare(f, round).await else {
                if round == 0 {
                    errors.push(format!(
                        "{f}: no event defined for it in bench/src/scenarios.rs"
                    ));
                }
                continue;
            };
            // The floor right before each function: same moment, same machine state.
            match start_once(&floor_bin, "bench-floor", &floor_event, &env, timeout).await {
                Ok(s) => samples.entry("(floor)".into()).or_default().push(s),
                Err(e) => errors.push(e),
            }
            match start_once(&bin, f, &inv.to_json(), &env, timeout).await {
                Ok(s) => samples.entry(f.clone()).or_default().push(s),
                Err(e) => errors.push(e),
            }
            // The same function built speed-optimised (`make bench SPEED=1`), right after.
            if let Some(speed) = speed_bin_dir.map(|d| binary(d, f)) {
                if speed.is_file() {
                    let inv = sc.prepare(f, round).await.expect("prepared above");
                    match start_once(&speed, f, &inv.to_json(), &env, timeout).await {
                        Ok(s) => samples
                            .entry(format!("{f} (opt-level 3)"))
                            .or_default()
                            .push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        for d in &diagnostics {
            let bin = binary(bin_dir, d);
            match start_once(&bin, d, &floor_event, &env, timeout).await {
                Ok(s) => samples.entry(format!("({d})")).or_default().push(s),
                Err(e) => errors.push(e),
            }
        }
    }
    let floor: Vec<f64> = samples
        .get("(floor)")
        .map(|v| v.iter().map(|s| s.init_ms).collect())
        .unwrap_or_default();
    let floor_first: Vec<f64> = samples
        .get("(floor)")
        .map(|v| v.iter().map(|s| s.first_invoke_ms).collect())
        .unwrap_or_default();
    let floor_init = median(&floor);
    let floor_invoke = median(&floor_first);
    let mut section = Section::new(
        "Cold start against the floor",
        &format!(
            "Each function's binary from `{}` started {} times as Lambda starts it (env cleared, then the \
             Lambda environment: AWS_LAMBDA_RUNTIME_API of an emulator in the bench, AWS_REGION, credentials \
             in AWS_ACCESS_KEY_ID/…/AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_DYNAMODB at DynamoDB Local, the \
             README's configuration). init = spawn → first `GET /runtime/invocation/next`; first invocation = \
             spawn → its response posted, for a realistic event (API Gateway v2 request, stream batch, \
             EventBridge schedule). The floor (`bench/floor`, a hello-world `lambda_runtime` function, same \
             profile) starts right before every function start. Peak RSS is VmHWM after the first \
             invocation. Goals: init ≤ 1.5× the floor; peak RSS ≤ 40 MB.",
            bin_dir.display(),
            starts
        ),
        &[
            "function",
            "answer",
            "init p50 ms",
            "init p90 ms",
            "init ÷ floor",
            "1st invocation p50 ms",
            "p90 ms",
            "invocation − init p50 ms",
            "peak RSS MB",
        ],
    );
    for (name, v) in &samples {
        let init: Vec<f64> = v.iter().map(|s| s.init_ms).collect();
        let first: Vec<f64> = v.iter().map(|s| s.first_invoke_ms).collect();
        let gap: Vec<f64> = v.iter().map(|s| s.first_invoke_ms - s.init_ms).collect();
        let rss = v.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        for (i, s) in v.iter().enumerate() {
            raw.push("coldstart", name, "init_ms", i, s.init_ms);
            raw.push(
                "coldstart",
                name,
                "first_invocation_ms",
                i,
                s.first_invoke_ms,
            );
            raw.push("coldstart", name, "peak_rss_kb", i, s.peak_rss_kb as f64);
        }
        let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
        for s in v {
            *answers.entry(s.outcome.as_str()).or_default() += 1;
        }
        let answers = answers
            .iter()
            .map(|(k, n)| format!("{k}×{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let ratio = if floor_init > 0.0 {
            median(&init) / floor_init
        } else {
            0.0
        };
        let verdict = if name.starts_with("(bench-floor-") {
            "diagnostic".to_owned()
        } else if name.ends_with("(opt-level 3)") {
            "comparison".to_owned()
        } else if name == "(floor)" {
            format!("RSS {}", pass(rss <= 40.0))
        } else {
            format!("init {} · RSS {}", pass(ratio <= 1.5), pass(rss <= 40.0))
        };
        section.row(
            vec![
                name.clone(),
                answers,
                f2(median(&init)),
                f2(percentile(&init, 90.0)),
                f2(ratio),
                f2(median(&first)),
                f2(percentile(&first, 90.0)),
                f2(median(&gap)),
                f1(rss),
            ],
            Some(verdict),
        );
    }
    section.notes.push(format!(
        "Floor: init p50 {} ms, first invocation p50 {} ms, over {} starts.",
        f2(floor_init),
        f2(floor_invoke),
        floor.len()
    ));
    section.notes.push(
        "(bench-floor-sdk) is the floor plus `edubot_adapters::aws::dynamodb_client()` (what every function \
         builds at init) and one GetItem per invocation: its init's distance from the floor is the cost of \
         building the SDK client."
            .into(),
    );
    section.notes.push(
        "Peak RSS here is after one invocation; after a long run of invocations it is in the next section."
            .into(),
    );
    let sdk: Vec<f64> = samples
        .get("(bench-floor-sdk)")
        .map(|v| v.iter().map(|s| s.init_ms).collect())
        .unwrap_or_default();
    let functions_init: Vec<f64> = samples
        .iter()
        .filter(|(k, _)| !k.starts_with('(') && !k.ends_with(')'))
        .map(|(_, v)| median(&v.iter().map(|s| s.init_ms).collect::<Vec<_>>()))
        .collect();
    if !sdk.is_empty() && floor_init > 0.0 && !functions_init.is_empty() {
        let fn_init = median(&functions_init);
        let gap = fn_init - floor_init;
        let sdk_gap = median(&sdk) - floor_init;
        section.notes.push(format!(
            "Where the init time goes: the functions' median init is {} ms, the floor's {} ms (a gap of {} ms); \
             the floor plus `edubot_adapters::aws::dynamodb_client()` alone is {} ms, i.e. {} ms ({:.0}% of the \
             gap) is building the DynamoDB client. In Lambda that client takes region and credentials straight \
             from the environment (no provider chain, profile files or IMDS) and trusts five compiled-in \
             Amazon roots (no filesystem scan): what is left is the SDK's own configuration building.",
            f2(fn_init),
            f2(floor_init),
            f2(gap),
            f2(median(&sdk)),
            f2(sdk_gap),
            if gap > 0.0 { 100.0 * sdk_gap / gap } else { 0.0 },
        ));
    }
    for e in errors.iter().take(10) {
        section.notes.push(format!("error: {e}"));
    }
    if errors.len() > 10 {
        section
            .notes
            .push(format!("… and {} more errors", errors.len() - 10));
    }
    section
}
