//! Warm latency: each handler in-process (a warm container: context built once) against
//! DynamoDB Local, next to the same DynamoDB calls replayed on a bare client (and the same
//! Graph API requests, for the handlers that send), interleaved, same run.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::counting::{bare_client, replay, ADMIN_GATE_READ};
use crate::fixture::Fixture;
use crate::scenarios::{call_handler, Scenarios};
use crate::stats::{f1, f2, median, ms, pass, percentile, Raw, Section};

/// docs/storage.md's budget, as a check on the calls one request made.
enum Budget {
    Fixed(usize),
    /// n DynamoDB calls plus one (the sent mark) per Graph API send.
    PlusPerSend(usize),
    /// Queries only (no Scan), any number.
    QueriesOnly,
    None,
}

fn budget(name: &str) -> (Budget, &'static str) {
    match name {
        "webhook" => (Budget::Fixed(1), "1 conditional write per inbound message"),
        "webhook (status)" => (Budget::Fixed(2), "pointer read + 1 conditional update"),
        "inbound-processor" => (
            Budget::PlusPerSend(3),
            "conversation read + unprocessed Query + 1 transaction (+1 GetItem on an activation attempt); + the sent mark per reply",
        ),
        "admin-login" => (
            Budget::Fixed(7),
            "3 attempt counters + 1 read (+ the 3 counters back on success)",
        ),
        "list-conversations" => (Budget::Fixed(1), "1 Query on an index"),
        "get-messages" | "get-messages (after=)" => (
            Budget::Fixed(3),
            "1 Query + 1 GetItem (+ the enquiries Query)",
        ),
        "send-message" => (Budget::PlusPerSend(3), "a few writes + 1 Graph API call"),
        "end-chat" => (
            Budget::PlusPerSend(2),
            "1 conditional transaction, then the user's messages",
        ),
        "dashboard" => (Budget::QueriesOnly, "Queries on sparse indexes"),
        "list-templates" => (Budget::Fixed(0), "none (Meta's listing, cached 5 minutes)"),
        "send-template" => (
            Budget::PlusPerSend(4),
            "2 conversation reads + the rate counter + 1 transaction; + the sent mark",
        ),
        "mark-read" => (
            Budget::Fixed(4),
            "conversation read + the receipt's conditional write (+ read and commit when unread)",
        ),
        "typing" => (
            Budget::Fixed(3),
            "conversation read + the throttle (+ the receipt when shown)",
        ),
        "scheduled-checks" => (Budget::QueriesOnly, "Queries on sparse indexes only (nothing due)"),
        _ => (Budget::None, "— (no budget in docs/storage.md)"),
    }
}

#[derive(Default)]
struct Samples {
    handler: Vec<f64>,
    bare: Vec<f64>,
    calls: Vec<usize>,
    sends: Vec<usize>,
    ops: BTreeMap<String, usize>,
    statuses: BTreeMap<String, usize>,
    scans: usize,
    over_budget: usize,
}

pub async fn run(endpoint: &str, iterations: usize, raw: &mut Raw) -> Section {
    let fx = Fixture::new(endpoint, "warm").await;
    // Sends are limited per admin and minute; the replay counts a use too.
    let admins = iterations / 5 + 2;
    let sc = Scenarios::new(&fx, admins).await;
    let bare = bare_client(endpoint);
    let http = reqwest::Client::new();
    let mut samples: BTreeMap<&str, Samples> = BTreeMap::new();
    // One warm-up round (first calls open connections, fill the admin cache).
    for i in 0..iterations + 1 {
        for name in Scenarios::names() {
            let Some(inv) = sc.prepare(name, i).await else {
                continue;
            };
            fx.counter.take();
            let sends_before = fx.graph.sends().len();
            let started = Instant::now();
            let outcome = call_handler(name, &fx.ctx, inv).await;
            let handler = started.elapsed();
            let calls = fx.counter.take();
            let sends: Vec<_> = fx.graph.sends().into_iter().skip(sends_before).collect();
            // The bare I/O: the same DynamoDB calls, then the same Graph API requests.
            let started = Instant::now();
            replay(&bare, &calls).await;
            for s in &sends {
                let _ = http
                    .post(format!(
                        "{}{}",
                        fx.graph.base_url().trim_end_matches("/v23.0"),
                        s.path
                    ))
                    .header("authorization", s.authorization.clone().unwrap_or_default())
                    .json(&s.body)
                    .send()
                    .await;
            }
            let bare_time = started.elapsed();
            if i == 0 {
                continue;
            }
            let e = samples.entry(name).or_default();
            e.handler.push(ms(handler));
            e.bare.push(ms(bare_time));
            e.calls.push(calls.len());
            e.sends.push(sends.len());
            *e.statuses.entry(outcome).or_default() += 1;
            for c in &calls {
                *e.ops.entry(c.op.clone()).or_default() += 1;
                if c.op == "Scan" {
                    e.scans += 1;
                }
            }
            // The admin gate's read happens once a minute per container: not the route's.
            let counted = calls.iter().filter(|c| c.op != ADMIN_GATE_READ).count();
            let over = match budget(name).0 {
                Budget::Fixed(n) => counted > n,
                Budget::PlusPerSend(n) => counted > n + sends.len(),
                Budget::QueriesOnly => calls
                    .iter()
                    .any(|c| c.op != "Query" && c.op != ADMIN_GATE_READ),
                Budget::None => false,
            };
            if over {
                e.over_budget += 1;
            }
            raw.push("warm", name, "handler_ms", i, ms(handler));
            raw.push("warm", name, "bare_ms", i, ms(bare_time));
            raw.push("warm", name, "dynamodb_calls", i, calls.len() as f64);
        }
    }
    let mut section = Section::new(
        "Warm latency: handler vs its bare calls",
        &format!(
            "Each handler in-process on a warm context against DynamoDB Local, {iterations} requests each, \
             interleaved with a replay of exactly the DynamoDB calls it made (same inputs, concurrent ones \
             together) on a bare client, plus the same Graph API requests for handlers that send. \
             Goal: handler median ≤ 1.3× bare median. Calls per request are counted by an SDK interceptor \
             and checked against docs/storage.md."
        ),
        &[
            "handler",
            "status",
            "handler p50 ms",
            "handler p90 ms",
            "bare p50 ms",
            "ratio",
            "calls/request",
            "ops (total)",
            "call budget",
            "within budget",
        ],
    );
    for name in Scenarios::names() {
        let Some(s) = samples.get(name) else { continue };
        let n = s.handler.len().max(1) as f64;
        let h = median(&s.handler);
        let b = median(&s.bare);
        let ratio = if b > 0.0 { h / b } else { 0.0 };
        let calls_mean = s.calls.iter().sum::<usize>() as f64 / n;
        let calls_max = s.calls.iter().max().copied().unwrap_or(0);
        let (_, budget_text) = budget(name);
        let statuses = s
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let ops = s
            .ops
            .iter()
            .map(|(k, v)| format!("{k} {}", f1(*v as f64 / n)))
            .collect::<Vec<_>>()
            .join(", ");
        let within = if matches!(budget(name).0, Budget::None) {
            "—".to_owned()
        } else if s.over_budget == 0 && s.scans == 0 {
            "yes".to_owned()
        } else {
            format!("NO ({} of {})", s.over_budget, s.handler.len())
        };
        section.row(
            vec![
                name.to_string(),
                statuses,
                f2(h),
                f2(percentile(&s.handler, 90.0)),
                f2(b),
                f2(ratio),
                format!("{} (max {calls_max})", f1(calls_mean)),
                ops,
                budget_text.to_owned(),
                within,
            ],
            Some(format!("{} ≤1.3×", pass(ratio <= 1.3))),
        );
    }
    section.notes.push(
        "The bare side replays each write without its condition (and a transaction without its condition \
         checks), so it lands again with the same content: a write whose condition fails is cheaper for \
         DynamoDB Local than one that lands, and would flatter the bare side. Both clients carry the \
         counting interceptor (a clone of each input), so its cost is on both sides."
            .into(),
    );
    section.notes.push(format!(
        "`{ADMIN_GATE_READ}` is the disabled-admin check, cached a minute per container: it is shown but \
         not counted against the route's budget."
    ));
    section.notes.push(
        "admin-login hashes with argon2id on purpose (memory-hard, ~the whole request): its ratio measures \
         the hash, not overhead."
            .into(),
    );
    section
}
