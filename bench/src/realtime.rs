//! Real time (docs/realtime.md) through the local stack: admins' pages open WebSockets with
//! single-use tickets, users' signed webhooks arrive at a steady pace, and each inbound
//! message's `{"type":"message"}` event is timed from its webhook's 200 to its arrival on
//! every open socket (the page's view of "on the admin's screen"; the goal is 1 s at p95,
//! where the seed polled every 5–10 s and the page every 2.5 s). With it, what an idle open
//! tab costs (`idle_tab`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edubot_adapters::whatsapp::signature;
use edubot_app::ports::ConnectionStore;
use edubot_e2e::{user_text, APP_SECRET};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::fixture::Fixture;
use crate::scenarios::phone;
use crate::stats::{f1, invariant, ms, pass, percentile, Raw, Section};

/// The section's sizes.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// Open admin WebSockets (one ticket each).
    pub sockets: usize,
    pub users: usize,
    pub per_user: usize,
    /// One webhook every this long, users in turn (open loop: a post does not wait for the
    /// one before).
    pub interval: Duration,
}

impl Size {
    pub fn new(quick: bool) -> Size {
        if quick {
            Size {
                sockets: 2,
                users: 2,
                per_user: 5,
                interval: Duration::from_millis(100),
            }
        } else {
            Size {
                sockets: 10,
                users: 20,
                per_user: 10,
                interval: Duration::from_millis(200),
            }
        }
    }

    pub fn messages(&self) -> usize {
        self.users * self.per_user
    }
}

/// The goal (DESIGN §16): a user's message on the admin's screen within this, at p95.
const GOAL_P95_MS: f64 = 1_000.0;
/// An event later than this after its webhook's 200 counts as never arrived (the seed's
/// slowest poll).
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Warm-up messages (from users of their own), at the same pace, checked but not timed.
const WARMUP_FULL: usize = 10;
const WARMUP_QUICK: usize = 2;

/// What the users say, in turn (the bot answers each, so its replies' events go out too).
const TEXTS: &[&str] = &[
    "Hello",
    "menu",
    "What courses do you have?",
    "fees please",
    "timetable?",
    "thanks",
];

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What one socket received.
#[derive(Default)]
struct SocketLog {
    /// wamid → (ms since the run's base when its first inbound message event arrived, the
    /// event's phone).
    arrivals: HashMap<String, (f64, String)>,
    message_events: usize,
    conversation_events: usize,
    /// Frames that were not a JSON event of a known type.
    other_frames: usize,
    bytes: usize,
    /// The server closed it (or it failed) before the end.
    closed_early: bool,
}

/// Reads `socket` until told to stop (then closes it as a page would).
fn read_socket(
    mut socket: Socket,
    base: Instant,
    log: Arc<Mutex<SocketLog>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = socket.next() => {
                    let at = ms(base.elapsed());
                    let text = match frame {
                        Some(Ok(Frame::Text(text))) => text,
                        Some(Ok(Frame::Close(_))) | Some(Err(_)) | None => {
                            log.lock().unwrap().closed_early = true;
                            return;
                        }
                        Some(Ok(_)) => continue,
                    };
                    let event: Option<Value> = serde_json::from_str(&text).ok();
                    let mut log = log.lock().unwrap();
                    log.bytes += text.len();
                    match event.as_ref().and_then(|e| e["type"].as_str()) {
                        Some("message") => {
                            log.message_events += 1;
                            let e = event.as_ref().unwrap();
                            if e["message"]["direction"] == "inbound" {
                                if let Some(wamid) = e["message"]["wamid"].as_str() {
                                    let phone = e["phone"].as_str().unwrap_or_default().to_owned();
                                    log.arrivals.entry(wamid.to_owned()).or_insert((at, phone));
                                }
                            }
                        }
                        Some("conversation") => log.conversation_events += 1,
                        _ => log.other_frames += 1,
                    }
                }
                _ = stop.changed() => {
                    let _ = socket.close(None).await;
                    return;
                }
            }
        }
    })
}

/// One user's message, to be posted `offset` after its phase starts.
struct Post {
    offset: Duration,
    phone: String,
    wamid: String,
    body: String,
}

/// What its webhook answered, and when (ms since the run's base).
struct Answered {
    phone: String,
    wamid: String,
    at: f64,
    code: u16,
    webhook_ms: f64,
}

fn posts(range: u32, label: &str, users: usize, count: usize, interval: Duration) -> Vec<Post> {
    let ts = edubot_e2e::now_secs();
    (0..count)
        .map(|k| {
            let p = phone(range, k % users);
            let wamid = format!("wamid.RT{label}{}x{k:07}", std::process::id());
            let text = TEXTS[(k / users) % TEXTS.len()];
            let body = user_text(&p, &wamid, ts + (k / users) as i64, text).to_string();
            Post {
                offset: interval * k as u32,
                phone: p,
                wamid,
                body,
            }
        })
        .collect()
}

/// Posts each at its offset from now, each on its own task.
async fn play(http: &reqwest::Client, url: &str, base: Instant, posts: Vec<Post>) -> Vec<Answered> {
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for post in posts {
        let (http, url) = (http.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start + post.offset).await;
            let sig = signature::sign(APP_SECRET.as_bytes(), post.body.as_bytes());
            let t = Instant::now();
            let code = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(post.body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            Answered {
                phone: post.phone,
                wamid: post.wamid,
                at: ms(base.elapsed()),
                code,
                webhook_ms: ms(t.elapsed()),
            }
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("post task"));
    }
    out
}

/// Waits until every wamid of `answered` has arrived on every socket, or until
/// [`EVENT_TIMEOUT`] after the last answer.
async fn arrived(logs: &[Arc<Mutex<SocketLog>>], answered: &[Answered], base: Instant) {
    let last = answered.iter().map(|a| a.at).fold(0.0, f64::max);
    loop {
        let all = logs.iter().all(|l| {
            let l = l.lock().unwrap();
            answered.iter().all(|a| l.arrivals.contains_key(&a.wamid))
        });
        if all || ms(base.elapsed()) > last + ms(EVENT_TIMEOUT) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().cloned().fold(0.0, f64::max)
}

pub async fn run(endpoint: &str, size: Size, quick: bool, raw: &mut Raw) -> Vec<Section> {
    let fx = Fixture::with_stream(endpoint, "realtime", true).await;
    let mut env = fx.env.clone();
    env.insert("LOCAL_SCHEDULE_SECONDS".into(), "3600".into());
    env.insert("ADMIN_PASSWORD".into(), "bench-realtime-password".into());
    let stack = crate::fixture::local_stack(endpoint, env).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let api = |path: &str| format!("{}{path}", stack.url());

    // Signed in as the page signs in; then one ticket and one socket per tab.
    let login: Value = http
        .post(api("/api/admin/login"))
        .json(&json!({"username": stack.admin_username, "password": "bench-realtime-password"}))
        .send()
        .await
        .expect("login answered")
        .json()
        .await
        .expect("login JSON");
    let token = login["token"].as_str().expect("signed in").to_owned();
    let base = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut logs = Vec::new();
    let mut readers = Vec::new();
    let mut ticket_ms = Vec::new();
    let mut connect_ms = Vec::new();
    for _ in 0..size.sockets {
        let t = Instant::now();
        let response = http
            .post(api("/api/admin/ws-ticket"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .expect("ticket answered");
        assert_eq!(response.status().as_u16(), 201, "a ticket is issued");
        let ticket: Value = response.json().await.expect("ticket JSON");
        ticket_ms.push(ms(t.elapsed()));
        let url = format!(
            "{}?ticket={}",
            ticket["url"].as_str().expect("url"),
            ticket["ticket"].as_str().expect("ticket")
        );
        let t = Instant::now();
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the ticket opens a socket");
        connect_ms.push(ms(t.elapsed()));
        let log = Arc::new(Mutex::new(SocketLog::default()));
        readers.push(read_socket(socket, base, log.clone(), stop_rx.clone()));
        logs.push(log);
    }
    let open = stack.sockets.count();
    let recorded = stack
        .context
        .store
        .connections()
        .await
        .map(|c| c.len())
        .unwrap_or(0);

    let url = api("/webhook");
    // Warm-up: users of their own at the same pace, until their events are on every socket.
    let warmup_n = if quick { WARMUP_QUICK } else { WARMUP_FULL };
    let warm = play(
        &http,
        &url,
        base,
        posts(32, "WARM", warmup_n, warmup_n, size.interval),
    )
    .await;
    arrived(&logs, &warm, base).await;
    let warm_ok = logs.iter().all(|l| {
        let l = l.lock().unwrap();
        warm.iter().all(|a| l.arrivals.contains_key(&a.wamid))
    });

    // The measured messages: users in turn, one webhook every interval.
    let measured_from = ms(base.elapsed());
    let answered = play(
        &http,
        &url,
        base,
        posts(31, "MSG", size.users, size.messages(), size.interval),
    )
    .await;
    arrived(&logs, &answered, base).await;
    let measured_for_s = (ms(base.elapsed()) - measured_from) / 1000.0;
    let _ = stop_tx.send(true);
    for r in readers {
        let _ = r.await;
    }

    // Per message: its latency on each socket (None: not within the timeout), the max.
    let logs: Vec<SocketLog> = logs
        .into_iter()
        .map(|l| std::mem::take(&mut *l.lock().unwrap()))
        .collect();
    let timeout_ms = ms(EVENT_TIMEOUT);
    let mut per_socket: Vec<Vec<f64>> = vec![Vec::new(); logs.len()];
    let (mut every, mut first, mut spread) = (Vec::new(), Vec::new(), Vec::new());
    let (mut missing, mut wrong_phone) = (0usize, 0usize);
    for (i, a) in answered.iter().enumerate() {
        let mut latencies = Vec::new();
        for (s, log) in logs.iter().enumerate() {
            match log.arrivals.get(&a.wamid) {
                Some((at, phone)) if at - a.at <= timeout_ms => {
                    let v = at - a.at;
                    wrong_phone += usize::from(*phone != a.phone);
                    per_socket[s].push(v);
                    raw.push(
                        "realtime",
                        &format!("socket_{}", s + 1),
                        "webhook_to_event_ms",
                        i,
                        v,
                    );
                    latencies.push(v);
                }
                _ => {}
            }
        }
        if latencies.len() == logs.len() && !latencies.is_empty() {
            let hi = max(&latencies);
            let lo = latencies.iter().cloned().fold(f64::INFINITY, f64::min);
            every.push(hi);
            first.push(lo);
            spread.push(hi - lo);
            raw.push("realtime", "every_socket", "webhook_to_event_ms", i, hi);
        } else {
            missing += 1;
        }
    }
    let webhook: Vec<f64> = answered.iter().map(|a| a.webhook_ms).collect();
    for (i, v) in webhook.iter().enumerate() {
        raw.push("realtime", "webhook", "webhook_ms", i, *v);
    }
    let non_200 = answered
        .iter()
        .chain(&warm)
        .filter(|a| a.code != 200)
        .count();
    let closed_early = logs.iter().filter(|l| l.closed_early).count();
    let p95 = percentile(&every, 95.0);

    let mut section = Section::new(
        "Real time: a user's message on every open admin socket",
        &format!(
            "{} admin WebSockets opened as the page opens them (sign in, then per socket \
             `POST /api/admin/ws-ticket` and `ws://…/ws?ticket=…`, one admin); then {} inbound messages \
             from {} users, signed, POSTed to /webhook one every {} ms, users in turn (open loop: {:.0} \
             messages a second, each user every {:.1} s; the bot answers each, so its replies' and \
             statuses' events go out too). Timed per message: from its webhook's 200 to its \
             `{{\"type\":\"message\"}}` event (inbound, matched by `message.wamid`) on each socket, and \
             *on every socket* (the latest of them). An event later than {} s counts as never arrived. \
             Before it, a warm-up ({} messages from other users), checked but not timed. The stack runs \
             in-process: DynamoDB Local's stream read by the push mapping's poller (200 ms idle poll), \
             `push` posting to the stand-in management API over HTTP, the sockets read by the bench; \
             all on the machine's cores.",
            size.sockets,
            size.messages(),
            size.users,
            size.interval.as_millis(),
            1000.0 / size.interval.as_millis().max(1) as f64,
            size.interval.as_secs_f64() * size.users as f64,
            EVENT_TIMEOUT.as_secs(),
            warmup_n,
        ),
        &["figure", "n", "p50 ms", "p95 ms", "max ms"],
    );
    let row = |name: &str, v: &[f64]| {
        vec![
            name.to_owned(),
            v.len().to_string(),
            f1(percentile(v, 50.0)),
            f1(percentile(v, 95.0)),
            f1(max(v)),
        ]
    };
    section.row(
        row("webhook → event on every socket", &every),
        Some(format!(
            "{} (p95 ≤ {GOAL_P95_MS:.0} ms)",
            pass(p95 <= GOAL_P95_MS && missing == 0 && !every.is_empty())
        )),
    );
    section.row(row("webhook → event on the first socket", &first), None);
    section.row(row("last socket − first socket", &spread), None);
    for (s, v) in per_socket.iter().enumerate() {
        section.row(row(&format!("webhook → event, socket {}", s + 1), v), None);
    }
    section.row(row("webhook answer", &webhook), None);
    section.row(row("ticket (POST /api/admin/ws-ticket)", &ticket_ms), None);
    section.row(row("socket handshake ($connect)", &connect_ms), None);
    let mut check = |name: &str, value: String, ok: bool| {
        section.row(
            vec![
                name.to_owned(),
                value,
                String::new(),
                String::new(),
                String::new(),
            ],
            Some(invariant(ok)),
        )
    };
    check(
        "sockets open (connections recorded)",
        format!("{open} of {} ({recorded})", size.sockets),
        open == size.sockets && recorded == size.sockets,
    );
    check(
        &format!(
            "messages whose event missed a socket (not within {} s)",
            EVENT_TIMEOUT.as_secs()
        ),
        format!("{missing} of {}", answered.len()),
        missing == 0,
    );
    check(
        "warm-up events on every socket",
        if warm_ok { "yes" } else { "no" }.into(),
        warm_ok,
    );
    check(
        "message events naming another phone",
        wrong_phone.to_string(),
        wrong_phone == 0,
    );
    check("webhook answers not 200", non_200.to_string(), non_200 == 0);
    check(
        "sockets closed by the server",
        closed_early.to_string(),
        closed_early == 0,
    );
    let frames: usize = logs
        .iter()
        .map(|l| l.message_events + l.conversation_events + l.other_frames)
        .sum();
    let per_socket_frames = frames as f64 / logs.len().max(1) as f64;
    let all_messages = (warm.len() + answered.len()).max(1) as f64;
    section.notes.push(format!(
        "each socket received {per_socket_frames:.0} frames ({:.1} per inbound message: its own event, its \
         conversation's, the bot's replies and their statuses; {} message and {} conversation events in all, \
         {} other), {:.0} KB; the measured phase took {measured_for_s:.1} s",
        per_socket_frames / all_messages,
        logs.iter().map(|l| l.message_events).sum::<usize>(),
        logs.iter().map(|l| l.conversation_events).sum::<usize>(),
        logs.iter().map(|l| l.other_frames).sum::<usize>(),
        logs.iter().map(|l| l.bytes).sum::<usize>() as f64 / 1024.0 / logs.len().max(1) as f64,
    ));
    raw.push("realtime", "every_socket", "p95_ms", 0, p95);
    raw.push("realtime", "every_socket", "missing", 0, missing as f64);
    drop(stack);
    vec![section, crate::idle_tab::section(raw)]
}
