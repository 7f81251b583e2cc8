//! A burst through the local stack over HTTP: signed webhooks from many users at a fixed
//! concurrency, with duplicate deliveries and status webhooks mixed in; then the checks
//! that nothing was lost, stored twice, processed out of order or replied to twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Select};
use edubot_adapters::whatsapp::signature;
use edubot_e2e::{status, user_text, APP_SECRET};

use crate::fixture::Fixture;
use crate::scenarios::phone;
use crate::stats::{f1, ms, percentile, Raw, Section};

const TEXTS: &[&str] = &[
    "Hello",
    "menu",
    "What courses do you have?",
    "menu",
    "fees please",
    "menu",
    "timetable?",
    "menu",
    "thanks",
    "menu",
];

#[derive(Clone)]
pub enum Post {
    Message { body: String },
    Duplicate { body: String },
    Status { body: String },
}

type Queue = Arc<Mutex<VecDeque<(String, Vec<Post>)>>>;
/// (ms, kind, HTTP status) per post.
type Latencies = Arc<Mutex<Vec<(f64, &'static str, u16)>>>;

pub struct Plan {
    pub phone: String,
    pub posts: Vec<Post>,
    pub wamids: Vec<String>,
}

fn signed(body: &str) -> String {
    signature::sign(APP_SECRET.as_bytes(), body.as_bytes())
}

/// The plan: per user (phones of `range`), messages in order; every 10th message delivered
/// again a little later (10% duplicates); a status webhook after every 4th message.
pub fn plan(range: u32, label: &str, users: usize, per_user: usize) -> Vec<Plan> {
    let base_ts = edubot_e2e::now_secs() - 60;
    let mut plans = Vec::new();
    let mut seq = 0u64;
    for u in 0..users {
        let p = phone(range, u);
        let mut posts = Vec::new();
        let mut wamids = Vec::new();
        let mut pending_dup: Option<String> = None;
        for m in 0..per_user {
            seq += 1;
            let wamid = format!("wamid.{label}{}x{seq:07}", std::process::id());
            let text = TEXTS[m % TEXTS.len()];
            let body = user_text(&p, &wamid, base_ts + m as i64, text).to_string();
            posts.push(Post::Message { body: body.clone() });
            wamids.push(wamid);
            if let Some(d) = pending_dup.take() {
                posts.push(Post::Duplicate { body: d });
            }
            if (u * per_user + m) % 10 == 3 {
                pending_dup = Some(body);
            }
            if m % 4 == 1 {
                let st = if m % 8 == 1 { "delivered" } else { "read" };
                let b = status(&format!("wamid.UNKNOWN{seq}"), st, &p, None).to_string();
                posts.push(Post::Status { body: b });
            }
        }
        if let Some(d) = pending_dup.take() {
            posts.push(Post::Duplicate { body: d });
        }
        plans.push(Plan {
            phone: p,
            posts,
            wamids,
        });
    }
    plans
}

/// Messages, duplicate deliveries and status webhooks in the plan.
pub fn plan_counts(plans: &[Plan]) -> (usize, usize, usize) {
    let count = |f: fn(&Post) -> bool| -> usize {
        plans
            .iter()
            .map(|p| p.posts.iter().filter(|x| f(x)).count())
            .sum()
    };
    (
        plans.iter().map(|p| p.wamids.len()).sum(),
        count(|x| matches!(x, Post::Duplicate { .. })),
        count(|x| matches!(x, Post::Status { .. })),
    )
}

/// What posting the plan saw.
pub struct Posted {
    /// (ms, kind, HTTP status) per POST (each attempt).
    pub latencies: Vec<(f64, &'static str, u16)>,
    /// Posts answered other than 200 and posted again (with `meta_retries`).
    pub retried: usize,
    /// Posts never answered 200.
    pub abandoned: usize,
}

/// POSTs the plan to `url` at `concurrency` (each user's posts in order, users in
/// parallel). With `meta_retries`, a post answered other than 200 is posted again — after
/// 0.25 s, doubling up to 2 s, for up to 5 minutes — before the user's next, as Meta
/// retries a webhook. `done` counts the posts answered 200.
pub async fn post_all(
    url: &str,
    plans: &[Plan],
    concurrency: usize,
    meta_retries: bool,
    done: Arc<AtomicUsize>,
) -> Posted {
    let queue: Queue = Arc::new(Mutex::new(
        plans
            .iter()
            .map(|p| (p.phone.clone(), p.posts.clone()))
            .collect(),
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let latencies: Latencies = Arc::new(Mutex::new(Vec::new()));
    let retried = Arc::new(AtomicUsize::new(0));
    let abandoned = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let queue = queue.clone();
        let http = http.clone();
        let url = url.to_owned();
        let latencies = latencies.clone();
        let (retried, abandoned, done) = (retried.clone(), abandoned.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some((_phone, posts)) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                for post in posts {
                    let (body, kind) = match post {
                        Post::Message { body, .. } => (body, "message"),
                        Post::Duplicate { body } => (body, "duplicate"),
                        Post::Status { body } => (body, "status"),
                    };
                    let sig = signed(&body);
                    let give_up = Instant::now() + Duration::from_secs(300);
                    let mut delay = Duration::from_millis(250);
                    loop {
                        let t = Instant::now();
                        let code = http
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("x-hub-signature-256", &sig)
                            .body(body.clone())
                            .send()
                            .await
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0);
                        latencies
                            .lock()
                            .unwrap()
                            .push((ms(t.elapsed()), kind, code));
                        if code == 200 {
                            done.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        if !meta_retries || Instant::now() >= give_up {
                            abandoned.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        retried.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let latencies = latencies.lock().unwrap().clone();
    Posted {
        latencies,
        retried: retried.load(Ordering::Relaxed),
        abandoned: abandoned.load(Ordering::Relaxed),
    }
}

/// Inbound messages still unprocessed (the sparse index, counted).
pub async fn count_unprocessed(client: &aws_sdk_dynamodb::Client, table: &str) -> i32 {
    let mut count = 0;
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name(edubot_adapters::store::index::UNPROCESSED)
            .key_condition_expression("gsi_unprocessed_pk = :p")
            .expression_attribute_values(":p", AttributeValue::S("UNPROCESSED".into()))
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("count unprocessed");
        count += out.count;
        start = out.last_evaluated_key;
        if start.is_none() {
            return count;
        }
    }
}

/// The table's verdict on a plan, read from its raw items per user.
#[derive(Default)]
pub struct Verdict {
    pub lost: usize,
    pub twice: usize,
    /// Users whose messages were stored in another order than posted (arrival order: ours
    /// only when a user's posts were not in flight at once).
    pub stored_out_of_order: usize,
    /// Users whose messages were processed in another order than stored.
    pub processed_out_of_order: usize,
    pub unprocessed: usize,
    /// Bot replies stored, per user in storage order (the plan's order).
    pub replies: Vec<Vec<HashMap<String, AttributeValue>>>,
}

impl Verdict {
    /// Users out of order either way: where each user posts one message at a time, both
    /// orders must hold.
    pub fn out_of_order(&self) -> usize {
        self.stored_out_of_order + self.processed_out_of_order
    }

    pub fn reply_count(&self) -> usize {
        self.replies.iter().map(Vec::len).sum()
    }
}

/// Nothing lost, stored twice, left unprocessed or processed out of order? And the bot's
/// replies, per user.
pub async fn verify(client: &aws_sdk_dynamodb::Client, table: &str, plans: &[Plan]) -> Verdict {
    let mut v = Verdict::default();
    for plan in plans {
        let items = all_messages(client, table, &plan.phone).await;
        let inbound: Vec<&HashMap<String, AttributeValue>> = items
            .iter()
            .filter(|i| s_of(i, "direction") == Some("inbound"))
            .collect();
        let stored: Vec<&str> = inbound.iter().filter_map(|i| s_of(i, "wamid")).collect();
        let unique: HashSet<&str> = stored.iter().copied().collect();
        v.twice += stored.len() - unique.len();
        v.lost += plan
            .wamids
            .iter()
            .filter(|w| !unique.contains(w.as_str()))
            .count();
        // Storage order is arrival order; processing must follow it.
        let order: Vec<usize> = stored
            .iter()
            .filter_map(|w| plan.wamids.iter().position(|x| x == w))
            .collect();
        if order.windows(2).any(|w| w[0] > w[1]) {
            v.stored_out_of_order += 1;
        }
        let processed: Vec<Option<f64>> = inbound
            .iter()
            .map(|i| match i.get("processed_at") {
                Some(AttributeValue::N(n)) => n.parse().ok(),
                _ => None,
            })
            .collect();
        v.unprocessed += processed.iter().filter(|p| p.is_none()).count();
        let times: Vec<f64> = processed.into_iter().flatten().collect();
        if times.windows(2).any(|w| w[0] > w[1]) {
            v.processed_out_of_order += 1;
        }
        v.replies.push(
            items
                .iter()
                .filter(|i| {
                    s_of(i, "direction") == Some("outbound") && s_of(i, "author") == Some("bot")
                })
                .cloned()
                .collect(),
        );
    }
    v
}

pub async fn run(
    endpoint: &str,
    users: usize,
    per_user: usize,
    concurrency: usize,
    raw: &mut Raw,
) -> Section {
    let fx = Fixture::with_stream(endpoint, "burst", true).await;
    let mut env = fx.env.clone();
    env.insert("LOCAL_SCHEDULE_SECONDS".into(), "3600".into());
    env.insert("ADMIN_PASSWORD".into(), "bench-burst-password".into());
    let stack = crate::fixture::local_stack(endpoint, env).await;
    let url = format!("{}/webhook", stack.url());

    let plans = plan(7, "BURST", users, per_user);
    let (total_messages, total_dups, total_status) = plan_counts(&plans);
    let started = Instant::now();
    let posted = post_all(&url, &plans, concurrency, false, Arc::default()).await;
    let latencies = posted.latencies;
    let posted = started.elapsed();

    // Until nothing is unprocessed (every message was stored before its 200).
    let client = fx.ctx.store.client().clone();
    let table = fx.table.clone();
    let deadline = Instant::now() + Duration::from_secs(300);
    let processed_after = loop {
        if count_unprocessed(&client, &table).await == 0 {
            break Some(started.elapsed());
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Let the last sends finish their sent marks.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Verification, per user, from the table's raw items.
    let sends = fx.graph.sends();
    let mut sends_by_callback: HashMap<String, usize> = HashMap::new();
    for s in &sends {
        if let Some(cb) = s.body["biz_opaque_callback_data"].as_str() {
            *sends_by_callback.entry(cb.to_owned()).or_default() += 1;
        }
    }
    let verdict = verify(&client, &table, &plans).await;
    let out_of_order = verdict.out_of_order();
    let Verdict {
        lost,
        twice,
        unprocessed,
        ..
    } = verdict;
    let replies = verdict.reply_count();
    let (mut replies_not_once, mut replies_unsent) = (0usize, 0usize);
    for i in verdict.replies.iter().flatten() {
        let id = s_of(i, "id").unwrap_or_default();
        match sends_by_callback.get(id) {
            Some(1) => {}
            _ => replies_not_once += 1,
        }
        if !matches!(s_of(i, "status"), Some("sent" | "delivered" | "read")) {
            replies_unsent += 1;
        }
    }
    let stray_sends = sends.len() - sends_by_callback.values().sum::<usize>()
        + sends_by_callback
            .values()
            .filter(|n| **n > 1)
            .map(|n| n - 1)
            .sum::<usize>();

    let lat = latencies;
    let all: Vec<f64> = lat.iter().map(|l| l.0).collect();
    let non_200 = lat.iter().filter(|l| l.2 != 200).count();
    for (i, (v, kind, _)) in lat.iter().enumerate() {
        raw.push("burst", kind, "webhook_ms", i, *v);
    }
    let mut section = Section::new(
        "Burst through the local stack",
        &format!(
            "{total_messages} inbound messages from {users} users, {total_dups} duplicate deliveries (10%) and \
             {total_status} status webhooks, all signed, POSTed to /webhook at concurrency {concurrency} \
             (each user's posts in order, users in parallel). The local stack runs every handler in-process \
             behind a real HTTP server and feeds the stream to the inbound processor; the Graph API is a \
             real HTTP stand-in that records every send."
        ),
        &["figure", "value"],
    );
    let mut add =
        |k: &str, v: String, verdict: Option<String>| section.row(vec![k.to_owned(), v], verdict);
    add("webhook answer p50 ms", f1(percentile(&all, 50.0)), None);
    add("webhook answer p99 ms", f1(percentile(&all, 99.0)), None);
    add(
        "webhook answer max ms",
        f1(all.iter().cloned().fold(0.0, f64::max)),
        None,
    );
    add(
        "webhook answers not 200",
        non_200.to_string(),
        Some(crate::stats::pass(non_200 == 0)),
    );
    add(
        "all posts answered after s",
        format!("{:.2}", posted.as_secs_f64()),
        None,
    );
    add(
        "every message processed after s",
        processed_after
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .unwrap_or_else(|| "NOT within 300 s".into()),
        Some(crate::stats::pass(processed_after.is_some())),
    );
    add(
        "messages lost",
        lost.to_string(),
        Some(crate::stats::pass(lost == 0)),
    );
    add(
        "messages stored twice",
        twice.to_string(),
        Some(crate::stats::pass(twice == 0)),
    );
    add(
        "messages left unprocessed",
        unprocessed.to_string(),
        Some(crate::stats::pass(unprocessed == 0)),
    );
    add(
        "users processed out of order",
        out_of_order.to_string(),
        Some(crate::stats::pass(out_of_order == 0)),
    );
    add("bot replies stored", replies.to_string(), None);
    add(
        "bot replies not sent exactly once",
        replies_not_once.to_string(),
        Some(crate::stats::pass(replies_not_once == 0)),
    );
    add(
        "bot replies not marked sent",
        replies_unsent.to_string(),
        Some(crate::stats::pass(replies_unsent == 0)),
    );
    add(
        "Graph API sends (stray or repeated)",
        format!("{} ({stray_sends})", sends.len()),
        Some(crate::stats::pass(stray_sends == 0)),
    );
    drop(stack);
    section
}

pub fn s_of<'a>(item: &'a HashMap<String, AttributeValue>, key: &str) -> Option<&'a str> {
    match item.get(key) {
        Some(AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}

pub async fn all_messages(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    phone: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("CONV#{phone}")))
            .expression_attribute_values(":m", AttributeValue::S("MSG#".into()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("history");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}
