//! The fault soak: the burst (burst.rs) played through the local stack while the Graph
//! stand-in fails sends with 5xx and timeouts (having accepted half of the timed-out ones)
//! and DynamoDB Local is stopped for 5 s and started again in the middle. Then, with the
//! faults over, it waits until every inbound message is processed and every outbound one
//! settled, and checks that nothing was lost, stored twice or left unanswered, and that no
//! reply reached a user twice — apart from the windows docs/reliability.md names, counted
//! apart with the path each belongs to. `SOAK_DEBUG=1` prints its progress every half second
//! and each inbound message's wait.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use edubot_local::simulator::{Answer, Delivered, Faults};
use edubot_local::DynamoDbLocal;

use crate::burst::{self, s_of};
use crate::fixture::Fixture;
use crate::stats::{f1, invariant, percentile, Raw, Section};

/// The soak's settings: the faults and the stack's shortened clocks.
pub struct Plan {
    pub users: usize,
    pub per_user: usize,
    pub concurrency: usize,
    /// Graph API sends answered 5xx.
    pub server_error: f64,
    /// Graph API sends answered after the client's timeout…
    pub timeout: f64,
    /// …of which this share were accepted all the same.
    pub timeout_accepted: f64,
    /// WHATSAPP_TIMEOUT_SECONDS.
    pub whatsapp_timeout: u64,
    /// OUTBOUND_UNKNOWN_GRACE_SECONDS.
    pub grace: u64,
    /// OUTBOUND_RETRY_BASE_SECONDS.
    pub retry_base: u64,
    /// OUTBOUND_MAX_ATTEMPTS.
    pub max_attempts: u32,
    /// How often the scheduled checks (the send retries, the replay) run, in seconds.
    pub schedule: u64,
    /// How long DynamoDB Local stays stopped (then its restart takes what it takes).
    pub outage: Duration,
    pub seed: u64,
}

impl Plan {
    pub fn new(users: usize, per_user: usize, concurrency: usize) -> Plan {
        Plan {
            users,
            per_user,
            concurrency,
            server_error: 0.20,
            timeout: 0.05,
            timeout_accepted: 0.5,
            whatsapp_timeout: 1,
            grace: 20,
            retry_base: 5,
            max_attempts: 10,
            schedule: 2,
            outage: Duration::from_secs(5),
            seed: 13,
        }
    }
}

/// What the scheduled checks did during the soak.
#[derive(Debug, Clone, Copy, Default)]
struct CheckTotals {
    runs: usize,
    failed_runs: usize,
    retries: usize,
    retries_sent: usize,
    permanent_failures: usize,
    replayed: usize,
}

/// A send's claim (store::SEND_CLAIM): a reply whose fate could not be recorded is due again
/// only after max(grace, this).
const SEND_CLAIM_SECONDS: u64 = 60;
/// The longest the soak waits for each phase before it reports what is left.
const PHASE_LIMIT: Duration = Duration::from_secs(600);

/// DynamoDB Local's files for the soak: on tmpfs when there is one (it persists across the
/// restart like a disk, at memory speed), else in the temporary folder.
fn data_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    base.join(format!(
        "edubot-soak-{}-{}",
        std::process::id(),
        edubot_adapters::model::new_message_id().to_lowercase()
    ))
}

async fn count_index(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    index: &str,
    pk: &str,
    value: &str,
) -> i32 {
    let mut count = 0;
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#pk = :p")
            .expression_attribute_names("#pk", pk)
            .expression_attribute_values(":p", AttributeValue::S(value.into()))
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("count index");
        count += out.count;
        start = out.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A reply that reached its user more than once, and which documented window let it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Twice {
    /// reliability.md, path 1: the send's answer was lost (a timeout after Meta accepted it)
    /// and no status settled it within the grace.
    LostAnswer,
    /// Path 2: the sender learnt the wamid but could not record it (DynamoDB down) and no
    /// status settled it within max(grace, the claim).
    Unrecorded,
    /// None of the documented paths: a defect.
    Unexplained,
}

/// Sorts each repeat of a reply by the path that explains it (`deliveries` oldest first).
fn classify(deliveries: &[&Delivered], grace_ms: i64) -> Vec<Twice> {
    deliveries
        .windows(2)
        .map(|w| {
            let gap = w[1].at - w[0].at;
            match w[0].answer {
                Answer::TimedOut if gap >= grace_ms => Twice::LostAnswer,
                Answer::Answered
                    if gap >= (grace_ms).max(SEND_CLAIM_SECONDS as i64 * 1000) - 1000 =>
                {
                    Twice::Unrecorded
                }
                _ => Twice::Unexplained,
            }
        })
        .collect()
}

pub async fn run(plan: &Plan, raw: &mut Raw) -> Section {
    let dir = data_dir();
    let mut local = DynamoDbLocal::start(Some(&dir))
        .await
        .expect("DynamoDB Local starts with a data folder (make install)");
    let endpoint = local.endpoint.clone();
    let fx = Fixture::with_stream(&endpoint, "soak", true).await;
    let mut env = fx.env.clone();
    // The stack's own Graph stand-in (the simulator), which injects the faults.
    env.remove("WHATSAPP_API_BASE_URL");
    for (k, v) in [
        // The soak runs the scheduled checks itself (below), without their metrics line.
        ("LOCAL_SCHEDULE_SECONDS", "3600".to_owned()),
        (
            "WHATSAPP_TIMEOUT_SECONDS",
            plan.whatsapp_timeout.to_string(),
        ),
        ("OUTBOUND_UNKNOWN_GRACE_SECONDS", plan.grace.to_string()),
        ("OUTBOUND_RETRY_BASE_SECONDS", plan.retry_base.to_string()),
        ("OUTBOUND_MAX_ATTEMPTS", plan.max_attempts.to_string()),
        ("ADMIN_PASSWORD", "bench-soak-password".to_owned()),
    ] {
        env.insert(k.into(), v);
    }
    let stack = crate::fixture::local_stack(&endpoint, env).await;
    let sim = stack.simulator.clone();
    let url = format!("{}/webhook", stack.url());
    let client = fx.ctx.store.client().clone();
    let table = fx.table.clone();

    // The scheduled checks every `schedule` seconds, one run at a time, as the stack's own
    // schedule runs them (scheduled_checks::handle) but without printing their metrics.
    let check_totals = Arc::new(std::sync::Mutex::new(CheckTotals::default()));
    let checks = {
        let ctx = stack.context.clone();
        let shared = check_totals.clone();
        let every = Duration::from_secs(plan.schedule);
        tokio::spawn(async move {
            let mut totals = CheckTotals::default();
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let budget = Instant::now() + scheduled_checks::TIME_BUDGET;
                match edubot_app::checks::run_checks(&*ctx, now_ms(), budget).await {
                    Ok(r) => {
                        totals.runs += 1;
                        totals.retries += r.retries;
                        totals.retries_sent += r.retries_sent;
                        totals.permanent_failures += r.permanent_failures;
                        totals.replayed += r.replayed_conversations;
                    }
                    Err(_) => totals.failed_runs += 1,
                }
                *shared.lock().unwrap() = totals;
            }
        })
    };

    let plans = burst::plan(8, "SOAK", plan.users, plan.per_user);
    let (total_messages, total_dups, total_status) = burst::plan_counts(&plans);
    let total_posts: usize = plans.iter().map(|p| p.posts.len()).sum();

    let faults = Faults {
        server_error: plan.server_error,
        timeout: plan.timeout,
        timeout_accepted: plan.timeout_accepted,
        slow_by: Duration::from_secs(plan.whatsapp_timeout + 1),
        seed: plan.seed,
        retry_webhooks: true,
    };
    sim.set_faults(faults.clone());
    let started = Instant::now();
    let start_ms = now_ms();
    let since = |t: Instant| t.duration_since(started).as_secs_f64();

    // DynamoDB Local stopped once half the posts are in, for `outage`, then started again
    // on the same port with the same files.
    // (Or once posting ends, should half never be answered 200.)
    let done = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outage = plan.outage;
    let stopper = {
        let (done, finished) = (done.clone(), finished.clone());
        tokio::spawn(async move {
            while done.load(Ordering::Relaxed) < total_posts / 2
                && !finished.load(Ordering::Relaxed)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let stop_at = Instant::now();
            tokio::task::block_in_place(|| local.stop());
            let stopped_in = stop_at.elapsed();
            tokio::time::sleep(outage).await;
            let t = Instant::now();
            let restart = local.restart().await;
            eprintln!(
                "edubot-bench: soak: DynamoDB Local stopped (in {:.1} s), then started again (in {:.1} s)",
                stopped_in.as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
            (local, restart, stop_at, Instant::now())
        })
    };
    let monitor = std::env::var("SOAK_DEBUG").is_ok().then(|| {
        let (client, table, sim, done) = (client.clone(), table.clone(), sim.clone(), done.clone());
        tokio::spawn(async move {
            loop {
                let unprocessed = client
                    .query()
                    .table_name(&table)
                    .index_name(edubot_adapters::store::index::UNPROCESSED)
                    .key_condition_expression("gsi_unprocessed_pk = :p")
                    .expression_attribute_values(":p", AttributeValue::S("UNPROCESSED".into()))
                    .select(Select::Count)
                    .send()
                    .await
                    .map(|o| o.count)
                    .unwrap_or(-1);
                eprintln!(
                    "soak {:6.2} s: posts done {}, unprocessed {unprocessed}, {:?}",
                    started.elapsed().as_secs_f64(),
                    done.load(Ordering::Relaxed),
                    sim.fault_counts()
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    });
    let posted = burst::post_all(&url, &plans, plan.concurrency, true, done).await;
    let posted_at = Instant::now();
    finished.store(true, Ordering::Relaxed);
    let (local, restart, stop_at, back_at) = stopper.await.expect("the stopper ran");
    if let Err(e) = restart {
        panic!("DynamoDB Local did not start again: {e}");
    }

    // Every inbound message processed: the Graph faults end there (each reply's first
    // attempt met them; later retries may not).
    let deadline = Instant::now() + PHASE_LIMIT;
    let processed_at = loop {
        if burst::count_unprocessed(&client, &table).await == 0 {
            break Some(Instant::now());
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    sim.set_faults(Faults {
        retry_webhooks: true,
        ..Faults::default()
    });
    let faults_end = Instant::now();
    let injected = sim.fault_counts();

    // Every outbound message settled: none left in the pending index (sent, delivered or
    // failed for good), nothing unprocessed.
    let deadline = Instant::now() + PHASE_LIMIT;
    let settled_at = loop {
        let pending = count_index(
            &client,
            &table,
            edubot_adapters::store::index::PENDING,
            "gsi_pending_pk",
            "PENDING",
        )
        .await;
        if pending == 0 && burst::count_unprocessed(&client, &table).await == 0 {
            break Some(Instant::now());
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Status webhooks still on their way settle nothing more that matters, but let them land.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = sim.fault_counts();
    let check_totals = *check_totals.lock().unwrap();

    // The table's verdict, and the stand-in's record of what reached each user.
    let verdict = burst::verify(&client, &table, &plans).await;
    let delivered = sim.delivered();
    let mut by_callback: HashMap<&str, Vec<&Delivered>> = HashMap::new();
    for d in &delivered {
        by_callback
            .entry(d.callback.as_deref().unwrap_or(""))
            .or_default()
            .push(d);
    }
    let grace_ms = plan.grace as i64 * 1000;
    let (mut missing, mut not_settled, mut gave_up) = (0usize, 0usize, 0usize);
    let mut twice: HashMap<Twice, usize> = HashMap::new();
    let mut twice_examples: Vec<String> = Vec::new();
    let mut attempts: Vec<f64> = Vec::new();
    let mut reply_ids = std::collections::HashSet::new();
    for reply in verdict.replies.iter().flatten() {
        let id = s_of(reply, "id").unwrap_or_default();
        reply_ids.insert(id.to_owned());
        if let Some(AttributeValue::N(n)) = reply.get("attempts") {
            attempts.push(n.parse().unwrap_or(0.0));
        }
        let status = s_of(reply, "status").unwrap_or_default();
        let reached = by_callback.get(id).map(Vec::as_slice).unwrap_or_default();
        if reached.is_empty() {
            missing += 1;
        }
        if status == "failed" {
            gave_up += 1;
        } else if !matches!(status, "sent" | "delivered" | "read") {
            not_settled += 1;
        }
        for kind in classify(reached, grace_ms) {
            *twice.entry(kind).or_default() += 1;
            if twice_examples.len() < 5 {
                twice_examples.push(format!(
                    "{kind:?}: reply {id} to {} reached the user {} times: {}",
                    s_of(reply, "phone").unwrap_or_default(),
                    reached.len(),
                    reached
                        .iter()
                        .map(|d| {
                            format!(
                                "{} at {:.2} s ({:?})",
                                d.wamid,
                                (d.at - start_ms) as f64 / 1000.0,
                                d.answer
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    let stray = delivered
        .iter()
        .filter(|d| !d.callback.as_ref().is_some_and(|c| reply_ids.contains(c)))
        .count();
    // Every user sent the same texts: their bot replies must read the same. A user whose
    // replies differ from the most common sequence lost (or gained) one.
    let sequences: Vec<Vec<String>> = verdict
        .replies
        .iter()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    format!(
                        "{}|{}",
                        s_of(r, "kind").unwrap_or(""),
                        s_of(r, "text").unwrap_or("")
                    )
                })
                .collect()
        })
        .collect();
    let mut common: HashMap<&Vec<String>, usize> = HashMap::new();
    for s in &sequences {
        *common.entry(s).or_default() += 1;
    }
    let expected = common
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(s, _)| (*s).clone())
        .unwrap_or_default();
    let users_differing = sequences.iter().filter(|s| **s != expected).count();

    // How long each inbound message waited to be processed, and when (from the start).
    let mut waits: Vec<(f64, f64)> = Vec::new();
    for p in &plans {
        for i in burst::all_messages(&client, &table, &p.phone).await {
            if s_of(&i, "direction") != Some("inbound") {
                continue;
            }
            let num = |k: &str| match i.get(k) {
                Some(AttributeValue::N(n)) => n.parse::<f64>().ok(),
                _ => None,
            };
            if let (Some(c), Some(pr)) = (num("created_at"), num("processed_at")) {
                waits.push(((c - start_ms as f64) / 1000.0, (pr - c) / 1000.0));
            }
        }
    }
    if std::env::var("SOAK_DEBUG").is_ok() {
        waits.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        for (c, w) in &waits {
            eprintln!("stored at {c:.2} s, processed {w:.2} s later");
        }
    }
    let wait_s: Vec<f64> = waits.iter().map(|w| w.1).collect();

    // The report.
    let lat: Vec<f64> = posted.latencies.iter().map(|l| l.0).collect();
    for (i, (v, kind, _)) in posted.latencies.iter().enumerate() {
        raw.push("soak", kind, "webhook_ms", i, *v);
    }
    let documented = twice.get(&Twice::LostAnswer).copied().unwrap_or(0)
        + twice.get(&Twice::Unrecorded).copied().unwrap_or(0);
    let unexplained = twice.get(&Twice::Unexplained).copied().unwrap_or(0);
    let settle_s = settled_at.map(|t| t.duration_since(faults_end).as_secs_f64());
    if let Some(s) = settle_s {
        raw.push("soak", "all", "settled_after_faults_s", 0, s);
    }
    let mut section = Section::new(
        "Fault soak through the local stack",
        &format!(
            "The burst again ({total_messages} inbound messages from {} users, {total_dups} duplicate deliveries \
             and {total_status} status webhooks, concurrency {}), against faults: the stack's Graph stand-in \
             answers {:.0}% of sends with a 5xx (Meta's error body, codes 1 and 2) and {:.0}% only after the \
             client's timeout, having accepted {:.0}% of those (they reach the user and get their status \
             webhook); DynamoDB Local (files on tmpfs, `-dbPath`) is stopped when half the posts are in, for \
             {} s, and started again on the same port. Webhooks answered other than 200 are posted again, as \
             Meta does (the bench for messages, the stand-in for statuses). The Graph faults last until every \
             inbound message is processed (so every reply's first attempt meets them); then the soak waits \
             until every outbound message is settled. Clocks shortened so it ends in minutes: \
             WHATSAPP_TIMEOUT_SECONDS={}, OUTBOUND_UNKNOWN_GRACE_SECONDS={}, OUTBOUND_RETRY_BASE_SECONDS={}, \
             OUTBOUND_MAX_ATTEMPTS={} (5 attempts would span a minute and a half of faults, not the 20 minutes \
             the default grace gives them), the scheduled checks (the send retries) every {} s; the 60 s send claim is a \
             constant. Which sends fail is seeded ({}). \"Reached the user\" is the stand-in's record of \
             accepted sends. A broken invariant is a FAIL.",
            plan.users,
            plan.concurrency,
            plan.server_error * 100.0,
            plan.timeout * 100.0,
            plan.timeout_accepted * 100.0,
            plan.outage.as_secs(),
            plan.whatsapp_timeout,
            plan.grace,
            plan.retry_base,
            plan.max_attempts,
            plan.schedule,
            plan.seed,
        ),
        &["figure", "value"],
    );
    let mut add =
        |k: &str, v: String, verdict: Option<String>| section.row(vec![k.to_owned(), v], verdict);
    add(
        "Graph sends while faulty: 5xx / timeouts (accepted)",
        format!(
            "{} of {}: {} / {} ({})",
            injected.server_errors + injected.timeouts,
            injected.sends,
            injected.server_errors,
            injected.timeouts,
            injected.timeouts_accepted
        ),
        None,
    );
    add(
        "DynamoDB Local stopped at s / answering again at s",
        format!("{:.2} / {:.2}", since(stop_at), since(back_at)),
        None,
    );
    add(
        "webhook posts answered not 200 (posted again) / never 200",
        format!("{} / {}", posted.retried, posted.abandoned),
        Some(invariant(posted.abandoned == 0)),
    );
    add(
        "status webhooks posted again by the stand-in",
        after.webhook_retries.to_string(),
        None,
    );
    add(
        "webhook answer p50 / p99 ms",
        format!(
            "{} / {}",
            f1(percentile(&lat, 50.0)),
            f1(percentile(&lat, 99.0))
        ),
        None,
    );
    add(
        "all posts answered 200 after s",
        format!("{:.2}", since(posted_at)),
        None,
    );
    add(
        "inbound stored → processed p50 / max s",
        format!(
            "{:.2} / {:.2}",
            percentile(&wait_s, 50.0),
            wait_s.iter().cloned().fold(0.0, f64::max)
        ),
        None,
    );
    add(
        "every message processed after s (faults end)",
        processed_at
            .map(|t| format!("{:.2}", since(t)))
            .unwrap_or_else(|| format!("NOT within {} s", PHASE_LIMIT.as_secs())),
        Some(invariant(processed_at.is_some())),
    );
    add(
        "everything settled, s after the faults end",
        settle_s
            .map(|s| format!("{s:.2}"))
            .unwrap_or_else(|| format!("NOT within {} s", PHASE_LIMIT.as_secs())),
        Some(invariant(settle_s.is_some())),
    );
    add(
        "messages lost",
        verdict.lost.to_string(),
        Some(invariant(verdict.lost == 0)),
    );
    add(
        "messages stored twice",
        verdict.twice.to_string(),
        Some(invariant(verdict.twice == 0)),
    );
    add(
        "messages left unprocessed",
        verdict.unprocessed.to_string(),
        Some(invariant(verdict.unprocessed == 0)),
    );
    add(
        "users processed out of order",
        verdict.out_of_order().to_string(),
        Some(invariant(verdict.out_of_order() == 0)),
    );
    add(
        "bot replies stored",
        verdict.reply_count().to_string(),
        None,
    );
    add(
        "bot replies missing (never reached the user)",
        missing.to_string(),
        Some(invariant(missing == 0)),
    );
    add(
        "bot replies failed for good / not settled",
        format!("{gave_up} / {not_settled}"),
        Some(invariant(gave_up == 0 && not_settled == 0)),
    );
    add(
        "users whose replies differ from the others'",
        users_differing.to_string(),
        Some(invariant(users_differing == 0)),
    );
    add(
        "attempts per reply p50 / max",
        format!(
            "{} / {}",
            percentile(&attempts, 50.0),
            attempts.iter().cloned().fold(0.0, f64::max)
        ),
        None,
    );
    add(
        "retry check: runs (failed) / sends retried (sent) / replays",
        format!(
            "{} ({}) / {} ({}) / {}",
            check_totals.runs,
            check_totals.failed_runs,
            check_totals.retries,
            check_totals.retries_sent,
            check_totals.replayed
        ),
        None,
    );
    add(
        "replies that reached the user twice, unexplained",
        unexplained.to_string(),
        Some(invariant(unexplained == 0)),
    );
    add(
        "… within the documented window (reliability.md 1 / 2)",
        format!(
            "{documented} ({} / {})",
            twice.get(&Twice::LostAnswer).copied().unwrap_or(0),
            twice.get(&Twice::Unrecorded).copied().unwrap_or(0)
        ),
        Some("documented".into()),
    );
    add(
        "sends that reached a user (not a stored reply)",
        format!("{} ({stray})", delivered.len()),
        Some(invariant(stray == 0)),
    );
    section.notes.push(format!(
        "A reply that reached its user more than once is put down to a path of docs/reliability.md by its \
         timing: path 1 when the earlier copy's answer was lost (it timed out after being accepted) and the \
         repeat came at least the grace ({} s) later; path 2 when the earlier copy was answered and the repeat \
         came at least max(grace, the 60 s claim) later (its sent mark failed while DynamoDB was down, and no \
         status came in time). Anything else is unexplained: a FAIL.",
        plan.grace
    ));
    section.notes.push(
        "Settling can take up to the 60 s claim after the faults end: a reply whose attempt failed while \
         DynamoDB was down could not record its retry, so it is due again only when the pending entry written \
         with its claim falls due."
            .into(),
    );
    if check_totals.replayed > 0 {
        section.notes.push(format!(
            "The replay check processed {} conversations: the stream fell more than a minute behind (the \
             replay takes what is still unprocessed a minute after it was stored), so the check and the \
             stream worked on the same conversations side by side; their conditional commits kept either \
             from replying twice.",
            check_totals.replayed
        ));
    }
    for e in &twice_examples {
        section.notes.push(e.clone());
    }
    if let Some(m) = monitor {
        m.abort();
    }
    checks.abort();
    drop(stack);
    drop(local);
    let _ = std::fs::remove_dir_all(&dir);
    section
}
