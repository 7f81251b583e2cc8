//! Sustained rates through the local stack (issue 19): users writing "menu" at a fixed total
//! rate, open loop, with the Graph stand-in answering after Meta's own time; per rate the
//! time from each webhook's 200 to the bot's first reply answered by the stand-in, the
//! backlog when the posting stops, and nothing lost, doubled or unanswered once it drains.
//! Played at the stream mapping's ParallelizationFactor from wiring.yaml and at 1 (before
//! issue 19), so the knee moves where both can be read. Beside it, the floor: the DynamoDB
//! calls one message costs, replayed on DynamoDB Local as fast as it takes them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edubot_adapters::whatsapp::signature;
use edubot_e2e::{user_text, APP_SECRET};

use crate::burst::{count_unprocessed, verify};
use crate::counting::{counted_client, replay, Call, Counter};
use crate::fixture::{local_stack, Fixture};
use crate::scenarios::phone;
use crate::stats::{f1, ms, pass, percentile, Raw, Section};
use edubot_local::DynamoDbLocal;

/// What the section plays.
#[derive(Debug, Clone)]
pub struct Size {
    pub users: usize,
    /// Messages a second, each for `seconds`.
    pub rates: Vec<usize>,
    /// The rates also played at ParallelizationFactor 1 (before issue 19).
    pub before_rates: Vec<usize>,
    pub seconds: u64,
    /// The stand-in's answer time: base ± spread.
    pub latency: Duration,
    pub spread: Duration,
}

impl Size {
    pub fn new(quick: bool) -> Size {
        if quick {
            Size {
                users: 10,
                rates: vec![10],
                before_rates: vec![10],
                seconds: 2,
                latency: Duration::from_millis(150),
                spread: Duration::from_millis(50),
            }
        } else {
            Size {
                users: 200,
                rates: vec![20, 40, 80, 160],
                before_rates: vec![40, 80],
                seconds: 60,
                latency: Duration::from_millis(150),
                spread: Duration::from_millis(50),
            }
        }
    }
}

/// How long a run may take to drain after its posting ends.
const DRAIN: Duration = Duration::from_secs(120);
/// The goal: p99 at 80 messages a second.
const GOAL_RATE: usize = 80;
const GOAL_P99_MS: f64 = 2_000.0;

/// One rate's figures.
struct Run {
    factor: usize,
    rate: usize,
    posted: usize,
    /// Inbound → first reply, ms, per message answered.
    latencies: Vec<f64>,
    backlog: i32,
    drained_after: Option<Duration>,
    lost: usize,
    twice: usize,
    /// Users whose posts were stored in another order than posted: open loop, two posts
    /// of one user can be in flight at once, so this is arrival order, not ours.
    stored_out_of_order: usize,
    /// Users whose messages were processed in another order than stored: ours.
    processed_out_of_order: usize,
    /// Messages whose replies did not come as every other "menu"'s did (none, or more).
    unanswered: usize,
    non_200: usize,
}

/// A timed post: the user, its wamid, when its webhook answered, and how.
type Posted = (String, String, Instant, u16);

fn signed(body: &str) -> String {
    signature::sign(APP_SECRET.as_bytes(), body.as_bytes())
}

/// Posts one signed "menu" from `phone`; answers its wamid, its 200's instant and status.
async fn post(http: &reqwest::Client, url: &str, phone: &str, n: usize) -> (String, Instant, u16) {
    let wamid = format!("wamid.SUST{}x{n:08}{phone}", std::process::id());
    let body = user_text(phone, &wamid, edubot_e2e::now_secs(), "menu").to_string();
    let status = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signed(&body))
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (wamid, Instant::now(), status)
}

/// When each of the bot's sends to `phone` was answered (read receipts left out).
fn replies_to(fx: &Fixture, phone: &str) -> Vec<Instant> {
    fx.graph
        .sends_to(phone)
        .iter()
        .filter(|s| s.body["status"].is_null())
        .map(|s| s.at)
        .collect()
}

/// Waits until nothing is unprocessed and no send came for a while (the stand-in's longest
/// answer and more); answers the sends so far.
async fn settle(fx: &Fixture, size: &Size) -> usize {
    let quiet = (size.latency + size.spread) * 2 + Duration::from_millis(300);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (usize::MAX, Instant::now());
    loop {
        let sends = fx.graph.sends().len();
        if sends != last.0 {
            last = (sends, Instant::now());
        }
        let idle = last.1.elapsed() >= quiet;
        if (idle && count_unprocessed(fx.ctx.store.client(), &fx.table).await == 0)
            || Instant::now() > deadline
        {
            return fx
                .graph
                .sends()
                .iter()
                .filter(|s| s.body["status"].is_null())
                .count();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A DynamoDB Local of the measurement's own (in memory), unless the bench was pointed at
/// one (AWS_ENDPOINT_URL_DYNAMODB): a rate that fell behind leaves webhook handlers in
/// flight after its stack stops, and on a shared database they would slow the next rate.
async fn own_database(shared: &str) -> (Option<DynamoDbLocal>, String) {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|e| !e.is_empty()) {
        return (None, shared.to_owned());
    }
    let local = DynamoDbLocal::start_with(None, "-Xms512m -Xmx2g -XX:+UseParallelGC")
        .await
        .expect("DynamoDB Local starts (make install)");
    let endpoint = local.endpoint.clone();
    (Some(local), endpoint)
}

async fn play(shared: &str, size: &Size, factor: usize, rate: usize, range: u32) -> Run {
    let (_database, endpoint) = own_database(shared).await;
    let endpoint = endpoint.as_str();
    let fx = Fixture::with_stream(endpoint, &format!("sustained{rate}"), true).await;
    fx.graph.set_latency(size.latency, size.spread);
    let mut env = fx.env.clone();
    env.insert("LOCAL_SCHEDULE_SECONDS".into(), "3600".into());
    env.insert("ADMIN_PASSWORD".into(), "bench-sustained-password".into());
    env.insert(
        "LOCAL_INBOUND_PARALLELIZATION_FACTOR".into(),
        factor.to_string(),
    );
    let stack = local_stack(endpoint, env).await;
    let url = format!("{}/webhook", stack.url());
    let http = reqwest::Client::new();
    let users: Vec<String> = (0..size.users).map(|u| phone(range, u)).collect();

    // Warm-up, untimed: each user's first message (the welcome) and one "menu", so every
    // timed message is a "menu" in the main menu and draws the same replies.
    let mut counts = Vec::new();
    for round in 0..2 {
        futures::future::join_all(users.iter().map(|p| post(&http, &url, p, round))).await;
        counts.push(settle(&fx, size).await);
    }
    let per_menu = ((counts[1] - counts[0]) / users.len()).max(1);
    let skip_per_user: HashMap<String, usize> = users
        .iter()
        .map(|p| (p.clone(), replies_to(&fx, p).len()))
        .collect();

    // Open loop: one post every 1/rate s, users in turn, whatever the answers.
    let posted: Arc<Mutex<Vec<Posted>>> = Arc::default();
    let total = rate * size.seconds as usize;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        let (http, url, posted) = (http.clone(), url.clone(), posted.clone());
        let p = users[i % users.len()].clone();
        tasks.push(tokio::spawn(async move {
            let (wamid, at, status) = post(&http, &url, &p, 2 + i).await;
            posted.lock().unwrap().push((p, wamid, at, status));
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let client = fx.ctx.store.client().clone();
    let backlog = count_unprocessed(&client, &fx.table).await;
    let ended = Instant::now();
    let drained_after = loop {
        if count_unprocessed(&client, &fx.table).await == 0 {
            break Some(ended.elapsed());
        }
        if ended.elapsed() > DRAIN {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    settle(&fx, size).await;

    let posted = posted.lock().unwrap().clone();
    let non_200 = posted.iter().filter(|p| p.3 != 200).count();
    let mut by_user: HashMap<&str, Vec<&Posted>> = HashMap::new();
    for p in &posted {
        by_user.entry(p.0.as_str()).or_default().push(p);
    }
    let (mut latencies, mut unanswered) = (Vec::new(), 0);
    for (user, mut messages) in by_user {
        messages.sort_by_key(|m| m.2);
        let replies: Vec<Instant> = replies_to(&fx, user)
            .into_iter()
            .skip(skip_per_user[user])
            .collect();
        if replies.len() != messages.len() * per_menu {
            unanswered += messages.len().abs_diff(replies.len() / per_menu).max(1);
        }
        for (k, m) in messages.iter().enumerate() {
            if let Some(first) = replies.get(k * per_menu) {
                latencies.push(ms(first.saturating_duration_since(m.2)));
            }
        }
    }
    let plans: Vec<crate::burst::Plan> = users
        .iter()
        .map(|u| crate::burst::Plan {
            phone: u.clone(),
            posts: Vec::new(),
            wamids: posted
                .iter()
                .filter(|p| &p.0 == u)
                .map(|p| p.1.clone())
                .collect(),
        })
        .collect();
    let verdict = verify(&client, &fx.table, &plans).await;
    drop(stack);
    // DynamoDB Local slows as it holds more (tables, streams): the next rate starts clean.
    let _ = client.delete_table().table_name(&fx.table).send().await;
    let run = Run {
        factor,
        rate,
        posted: posted.len(),
        latencies,
        backlog,
        drained_after,
        lost: verdict.lost,
        twice: verdict.twice,
        stored_out_of_order: verdict.stored_out_of_order,
        processed_out_of_order: verdict.processed_out_of_order,
        unanswered,
        non_200,
    };
    let l = &run.latencies;
    eprintln!(
        "edubot-bench: sustained: factor {factor}, {rate}/s: p50 {:.0} p95 {:.0} p99 {:.0} max {:.0} ms, \
         backlog {}, drained {:?}, lost {} twice {} stored / processed out of order {} / {} unanswered {} not 200 {}",
        percentile(l, 50.0),
        percentile(l, 95.0),
        percentile(l, 99.0),
        l.iter().cloned().fold(0.0, f64::max),
        run.backlog,
        run.drained_after,
        run.lost,
        run.twice,
        run.stored_out_of_order,
        run.processed_out_of_order,
        run.unanswered,
        run.non_200
    );
    run
}

/// The DynamoDB calls of one "menu" in the main menu (the webhook's, then the processor's),
/// per user, recorded in-process.
async fn calls_per_message(fx: &Fixture, users: &[String]) -> Vec<Vec<Call>> {
    let mut recorded = Vec::new();
    for p in users {
        fx.user_says(p, "hello").await;
        fx.counter.take(); // the welcome's, not a menu's
        fx.inbound(p, "menu").await;
        let mut calls = fx.counter.take();
        let event = fx.stream_event_for(p).await;
        fx.counter.take(); // the bench's own reads
        let res = inbound_processor::handle(&fx.ctx, event).await;
        assert!(res.batch_item_failures.is_empty());
        calls.extend(fx.counter.take());
        recorded.push(calls);
    }
    recorded
}

/// One floor measurement: with this many workers, messages and calls a second, and where
/// the time went (calls per operation and their median).
struct Floor {
    workers: usize,
    messages_per_s: f64,
    calls_per_s: f64,
    calls: String,
}

/// The floor: messages a second DynamoDB Local takes when it is given nothing but one
/// message's calls, `workers` at a time (each worker its own users), for `seconds`, for
/// each worker count. Answers the calls a message costs and each measurement.
async fn floor(
    shared: &str,
    users: usize,
    seconds: u64,
    worker_counts: &[usize],
) -> (usize, Vec<Floor>) {
    let (_database, endpoint) = own_database(shared).await;
    let endpoint = endpoint.as_str();
    let fx = Fixture::with_stream(endpoint, "sustainedfloor", true).await;
    let phones: Vec<String> = (0..users).map(|u| phone(9, u)).collect();
    let recorded = Arc::new(calls_per_message(&fx, &phones).await);
    let ops = recorded.iter().map(Vec::len).sum::<usize>() / recorded.len().max(1);
    let mut floors = Vec::new();
    for &workers in worker_counts {
        let workers = workers.min(users);
        let counter = Counter::default();
        let client = counted_client(endpoint, &counter);
        let stop = Instant::now() + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..workers)
            .map(|w| {
                let (client, recorded) = (client.clone(), recorded.clone());
                tokio::spawn(async move {
                    let mut done = 0usize;
                    let mut i = w;
                    while Instant::now() < stop {
                        replay(&client, &recorded[i % recorded.len()]).await;
                        done += 1;
                        i += workers;
                    }
                    done
                })
            })
            .collect();
        let started = Instant::now();
        let mut messages = 0;
        for t in tasks {
            messages += t.await.unwrap_or(0);
        }
        let rate = messages as f64 / started.elapsed().as_secs_f64();
        let made = counter.take();
        let mut by_op: HashMap<&str, Vec<f64>> = HashMap::new();
        for c in &made {
            if let Some(end) = c.ended {
                by_op.entry(&c.op).or_default().push(ms(end - c.started));
            }
        }
        let failed = made.iter().filter(|c| c.failed).count();
        let mut seen: Vec<String> = by_op
            .iter()
            .map(|(op, t)| format!("{op} p50 {:.0} ms", percentile(t, 50.0)))
            .collect();
        seen.sort();
        let calls = format!("{} failed; {}", failed, seen.join(", "));
        eprintln!("edubot-bench: floor, {workers} workers: {rate:.0} messages/s; {calls}");
        floors.push(Floor {
            workers,
            messages_per_s: rate,
            calls_per_s: rate * ops as f64,
            calls,
        });
    }
    (ops, floors)
}

pub async fn run(endpoint: &str, size: &Size, quick: bool, raw: &mut Raw) -> Section {
    let wired = edubot_local::stream::Mapping::InboundProcessor
        .settings()
        .expect("wiring.yaml's InboundStream");
    let mut runs = Vec::new();
    let mut range = 20;
    for (factor, rates) in [
        (wired.parallelization_factor, &size.rates),
        (1, &size.before_rates),
    ] {
        for &rate in rates {
            range += 1;
            eprintln!(
                "edubot-bench: sustained: {rate} messages/s at ParallelizationFactor {factor}…"
            );
            runs.push(play(endpoint, size, factor, rate, range).await);
        }
    }
    let (ops, floors) = floor(
        endpoint,
        if quick { 4 } else { 64 },
        if quick { 2 } else { 15 },
        &[1, 4, 32],
    )
    .await;

    let mut section = Section::new(
        "Sustained rates",
        &format!(
            "{users} users each writing \"menu\" in the main menu, at a fixed total rate for {secs} s per rate, open loop \
             (a post does not wait for the one before), signed, through the local stack's /webhook; the Graph \
             stand-in answers every send after {lat} ms ± {spread} ms (Meta's own time). Per message: from its \
             webhook's 200 to the stand-in's answer to the bot's first reply. Each rate on a DynamoDB Local, table and stack of \
             its own, after an untimed warm-up (each user's welcome and one menu). Backlog: messages stored but \
             not processed when the posting stops; then the run drains (up to {drain} s) and is checked: every \
             message stored once, processed in order, answered as every other menu. Played at the inbound \
             mapping's ParallelizationFactor from wiring.yaml ({pf}, BatchSize {bs}) and at 1 (before issue 19). \
             Goal: p99 ≤ 2 s at {GOAL_RATE} messages/s.",
            users = size.users,
            secs = size.seconds,
            lat = size.latency.as_millis(),
            spread = size.spread.as_millis(),
            drain = DRAIN.as_secs(),
            pf = wired.parallelization_factor,
            bs = wired.batch_size,
        ),
        &[
            "factor",
            "msg/s",
            "posted",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "backlog at end",
            "drained after s",
            "lost / twice / stored, processed out of order / unanswered / not 200",
        ],
    );
    for r in &runs {
        let l = &r.latencies;
        for (i, v) in l.iter().enumerate() {
            raw.push(
                "sustained",
                &format!("pf{}-{}", r.factor, r.rate),
                "reply_ms",
                i,
                *v,
            );
        }
        let p99 = percentile(l, 99.0);
        let clean = r.lost + r.twice + r.processed_out_of_order + r.unanswered + r.non_200 == 0
            && r.drained_after.is_some();
        let verdict = if r.rate == GOAL_RATE && r.factor == wired.parallelization_factor {
            format!("p99 {}; {}", pass(p99 <= GOAL_P99_MS), pass(clean))
        } else {
            pass(clean)
        };
        section.row(
            vec![
                r.factor.to_string(),
                r.rate.to_string(),
                r.posted.to_string(),
                f1(percentile(l, 50.0)),
                f1(percentile(l, 95.0)),
                f1(p99),
                f1(l.iter().cloned().fold(0.0, f64::max)),
                r.backlog.to_string(),
                r.drained_after
                    .map(|d| format!("{:.1}", d.as_secs_f64()))
                    .unwrap_or_else(|| format!("not in {}", DRAIN.as_secs())),
                format!(
                    "{} / {} / {}, {} / {} / {}",
                    r.lost,
                    r.twice,
                    r.stored_out_of_order,
                    r.processed_out_of_order,
                    r.unanswered,
                    r.non_200
                ),
            ],
            Some(verdict),
        );
    }
    let best = floors.iter().map(|f| f.messages_per_s).fold(0.0, f64::max);
    let measured: Vec<String> = floors
        .iter()
        .map(|f| {
            raw.push(
                "sustained",
                &format!("floor-{}", f.workers),
                "messages_per_s",
                0,
                f.messages_per_s,
            );
            format!(
                "{} worker(s) {:.0} messages/s ({:.0} calls/s; {})",
                f.workers, f.messages_per_s, f.calls_per_s, f.calls
            )
        })
        .collect();
    section.notes.push(format!(
        "Floor: one message costs {ops} DynamoDB calls (the webhook's and the processor's, recorded in-process); \
         replayed on DynamoDB Local with nothing else running, each worker its own users: {}. \
         Past {best:.0} messages/s no stack could keep up through this DynamoDB Local on this machine; \
         the stack asks it for more than these calls (both stream pollers' reads, the figures) on the same cores.",
        measured.join("; ")
    ));
    section
}
