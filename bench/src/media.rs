//! The files users send (docs/media.md), through the local stack: signed media webhooks
//! naming files the simulator holds as Meta holds them, fetched by `desk-events` (the
//! stream's second reader) from the Graph stand-in into the stack's S3 server (moto).
//! Measured: the time from a media message's webhook answer to its `media.status` becoming
//! `stored`, per size, paced and then in a burst (bytes/s); and the bot's reply time for
//! users who send text while files are being fetched against users who send text at the
//! same pace and load with none in flight (and for the files' own senders) — the replies run
//! on the stream's first reader, so media should not delay them. Checked: every file stored,
//! byte-exact, one object per message, every user answered.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use edubot_adapters::whatsapp::signature;
use edubot_local::simulator::user_message_payload;
use edubot_local::LocalStack;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::burst::{all_messages, s_of};
use crate::fixture::Fixture;
use crate::scenarios::phone;
use crate::stats::{f1, invariant, ms, percentile, Raw, Section};

/// The section's sizes.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// 100 KB JPEG images.
    pub images: usize,
    /// 1 MB PDF documents.
    pub small_docs: usize,
    /// 10 MB PDF documents.
    pub large_docs: usize,
    /// Text users per phase (alone, then beside the media).
    pub texts: usize,
}

impl Size {
    pub fn new(quick: bool) -> Size {
        if quick {
            Size {
                images: 3,
                small_docs: 1,
                large_docs: 0,
                texts: 8,
            }
        } else {
            Size {
                images: 60,
                small_docs: 40,
                large_docs: 20,
                texts: 200,
            }
        }
    }

    pub fn media(&self) -> usize {
        self.images + self.small_docs + self.large_docs
    }

    /// The burst at the end: a sixth of the images, a quarter of the 1 MB and half of the
    /// 10 MB documents (at least one of each kind there is).
    pub fn burst(&self) -> Size {
        Size {
            images: self.images.div_ceil(6),
            small_docs: self.small_docs.div_ceil(4),
            large_docs: self.large_docs.div_ceil(2),
            texts: 0,
        }
    }
}

/// One text post every this long, in both phases; the media are spread over the same window.
/// (Well below what the in-process stack processes, about 35 messages a second in the
/// burst: a reply's time, not a queue's.)
const TEXT_INTERVAL: Duration = Duration::from_millis(150);
/// Text users per round (alone, then beside media).
const TEXTS_PER_ROUND: usize = 25;
/// Texts in the warm-up, at the pace.
const WARMUP_TEXTS: usize = 20;
/// How often the pending-media index is read to see which files are stored.
const POLL_EVERY: Duration = Duration::from_millis(20);

const KB: usize = 1024;
const MB: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Image,
    SmallDoc,
    LargeDoc,
}

impl Kind {
    fn len(self) -> usize {
        match self {
            Kind::Image => 100 * KB,
            Kind::SmallDoc => MB,
            Kind::LargeDoc => 10 * MB,
        }
    }

    fn mime(self) -> &'static str {
        match self {
            Kind::Image => "image/jpeg",
            _ => "application/pdf",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Image => "100 KB images",
            Kind::SmallDoc => "1 MB documents",
            Kind::LargeDoc => "10 MB documents",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Kind::Image => "image_100KB",
            Kind::SmallDoc => "document_1MB",
            Kind::LargeDoc => "document_10MB",
        }
    }
}

/// What a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Checked, not timed.
    Warmup,
    /// Posted at a pace, beside text users.
    Paced,
    /// Posted all at once, at the end.
    Burst,
}

/// Who posted a message, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Warmup,
    /// Text users while no file is being fetched…
    TextAlone,
    /// …the texts posted in place of the files then…
    Filler,
    /// …and text users while files are being fetched.
    TextBeside,
    Media,
    Burst,
}

/// A file a user sends: held by the simulator, described in the webhook.
struct File {
    kind: Kind,
    phone: String,
    sha256: [u8; 32],
    len: usize,
    role: Role,
}

/// A post, scheduled `offset` after its phase starts.
struct Post {
    offset: Duration,
    phone: String,
    group: Group,
    body: String,
}

/// What a post saw.
#[derive(Debug, Clone)]
struct Answered {
    phone: String,
    group: Group,
    /// Milliseconds since the epoch when the 200 arrived (the simulator's clock).
    at: i64,
    webhook_ms: f64,
    code: u16,
}

fn now_epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Bytes that look like nothing in particular, different for every seed.
fn file_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The media of a run, interleaved by size so the large ones are spread through it.
fn media_order(size: &Size) -> Vec<Kind> {
    let mut placed: Vec<(f64, Kind)> = Vec::new();
    for (kind, n) in [
        (Kind::Image, size.images),
        (Kind::SmallDoc, size.small_docs),
        (Kind::LargeDoc, size.large_docs),
    ] {
        for j in 0..n {
            placed.push(((j as f64 + 0.5) / n as f64, kind));
        }
    }
    placed.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    placed.into_iter().map(|(_, k)| k).collect()
}

struct Poster {
    http: reqwest::Client,
    url: String,
    app_secret: String,
    phone_number_id: String,
    seq: std::sync::atomic::AtomicU64,
    /// Media posts answered 200: phone → when, for the stored poller.
    media_answered: Arc<Mutex<HashMap<String, i64>>>,
}

impl Poster {
    fn wamid(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("wamid.MEDIA{}x{n:07}", std::process::id())
    }

    fn text(&self, offset: Duration, phone: &str, group: Group) -> Post {
        let body = user_message_payload(
            &self.phone_number_id,
            phone,
            "Ada Student",
            &self.wamid(),
            edubot_e2e::now_secs(),
            json!({"type": "text", "text": {"body": "Hello"}}),
        );
        Post {
            offset,
            phone: phone.to_owned(),
            group,
            body: body.to_string(),
        }
    }

    fn media(&self, offset: Duration, file: &File, media_id: &str, group: Group) -> Post {
        let kind = if file.kind == Kind::Image {
            "image"
        } else {
            "document"
        };
        let mut described: Value = json!({
            "id": media_id,
            "mime_type": file.kind.mime(),
            "sha256": hex::encode(file.sha256),
        });
        if kind == "document" {
            described["filename"] = format!("certificate-{}.pdf", file.phone).into();
        } else {
            described["caption"] = "my receipt".into();
        }
        let body = user_message_payload(
            &self.phone_number_id,
            &file.phone,
            "Ada Student",
            &self.wamid(),
            edubot_e2e::now_secs(),
            json!({"type": kind, kind: described}),
        );
        Post {
            offset,
            phone: file.phone.clone(),
            group,
            body: body.to_string(),
        }
    }

    /// Posts each at its offset from now, each on its own task; answers what each saw.
    async fn play(self: &Arc<Self>, posts: Vec<Post>) -> Vec<Answered> {
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for post in posts {
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep_until(start + post.offset).await;
                let sig = signature::sign(me.app_secret.as_bytes(), post.body.as_bytes());
                let t = Instant::now();
                let code = me
                    .http
                    .post(&me.url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(post.body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                let webhook_ms = ms(t.elapsed());
                let at = now_epoch_ms();
                if code == 200 && matches!(post.group, Group::Media | Group::Burst | Group::Warmup)
                {
                    me.media_answered
                        .lock()
                        .unwrap()
                        .insert(post.phone.clone(), at);
                }
                Answered {
                    phone: post.phone,
                    group: post.group,
                    at,
                    webhook_ms,
                    code,
                }
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("post task"));
        }
        out
    }
}

/// The phones whose media message is still in the fetch schedule (`gsi_pending`, partition
/// `MEDIA`): stored (or given up) files leave it.
async fn pending_media(client: &aws_sdk_dynamodb::Client, table: &str) -> HashSet<String> {
    let mut phones = HashSet::new();
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name(edubot_adapters::store::index::PENDING)
            .key_condition_expression("gsi_pending_pk = :p")
            .expression_attribute_values(":p", AttributeValue::S("MEDIA".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query the media schedule");
        for item in out.items.unwrap_or_default() {
            // "<next attempt>#<phone>#<message id>"
            if let Some(p) = s_of(&item, "gsi_pending_sk").and_then(|sk| sk.split('#').nth(1)) {
                phones.insert(p.to_owned());
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return phones;
        }
    }
}

/// Reads the schedule every [`POLL_EVERY`]; a media message answered 200 before a read
/// began and absent from it has left the schedule: its time is that read's end.
fn watch_stored(
    client: aws_sdk_dynamodb::Client,
    table: String,
    answered: Arc<Mutex<HashMap<String, i64>>>,
    stored: Arc<Mutex<HashMap<String, i64>>>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let began = now_epoch_ms();
            let pending = pending_media(&client, &table).await;
            let seen = now_epoch_ms();
            {
                let answered = answered.lock().unwrap();
                let mut stored = stored.lock().unwrap();
                for (phone, at) in answered.iter() {
                    if *at <= began && !pending.contains(phone) && !stored.contains_key(phone) {
                        stored.insert(phone.clone(), seen);
                    }
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    })
}

/// The first business message that reached each phone, by the simulator's record.
fn first_replies(stack: &LocalStack) -> HashMap<String, i64> {
    let mut first: HashMap<String, i64> = HashMap::new();
    for d in stack.simulator.delivered() {
        let e = first.entry(d.phone.clone()).or_insert(d.at);
        *e = (*e).min(d.at);
    }
    first
}

/// Waits until `phones` all have a reply (or `within` passes).
async fn replied(stack: &LocalStack, phones: &[String], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let first = first_replies(stack);
        if phones.iter().all(|p| first.contains_key(p)) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `phones` all left the fetch schedule (or `within` passes).
async fn all_left(
    stored: &Mutex<HashMap<String, i64>>,
    phones: &[String],
    within: Duration,
) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if phones
            .iter()
            .all(|p| stored.lock().unwrap().contains_key(p))
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The verdict on every file, from the table and the bucket.
#[derive(Default)]
struct Checked {
    /// Phones whose message is `stored` (with an object key).
    stored: HashSet<String>,
    /// …of which the object matches the user's file (sha256, size, type).
    exact: usize,
    /// Media messages stored more than once in the table.
    twice: usize,
    /// Objects under `media/`, and those not the key of one of our messages.
    objects: usize,
    stray: usize,
    /// Why the ones that are not stored or not exact are not.
    problems: Vec<String>,
}

async fn check(stack: &LocalStack, table: &str, files: &[File]) -> Checked {
    let ctx = &stack.context;
    let client = ctx.store.client().clone();
    let s3 = ctx.media().s3();
    let bucket = &ctx.config.media_bucket;
    let mut c = Checked::default();
    let mut expected_keys = HashSet::new();
    for f in files {
        let items = all_messages(&client, table, &f.phone).await;
        let inbound: Vec<_> = items
            .into_iter()
            .filter(|i| s_of(i, "direction") == Some("inbound"))
            .collect();
        c.twice += inbound.len().saturating_sub(1);
        let Some(item) = inbound.into_iter().next() else {
            c.problems.push(format!("{}: no message", f.phone));
            continue;
        };
        let message = match edubot_adapters::store::message_from_item(item) {
            Ok(m) => m,
            Err(e) => {
                c.problems.push(format!("{}: unreadable ({e})", f.phone));
                continue;
            }
        };
        let Some(media) = message.media else {
            c.problems.push(format!("{}: no media", f.phone));
            continue;
        };
        let status = serde_json::to_value(media.status).unwrap_or_default();
        let (Some("stored"), Some(key)) = (status.as_str(), media.object_key.clone()) else {
            c.problems.push(format!(
                "{}: {status} ({:?})",
                f.phone,
                media.error.map(|e| e.code)
            ));
            continue;
        };
        c.stored.insert(f.phone.clone());
        expected_keys.insert(key.clone());
        let object = match s3.get_object().bucket(bucket).key(&key).send().await {
            Ok(o) => o,
            Err(e) => {
                c.problems.push(format!("{key}: not in the bucket ({e})"));
                continue;
            }
        };
        let content_type = object.content_type().map(str::to_owned);
        let bytes = match object.body.collect().await {
            Ok(b) => b.into_bytes(),
            Err(e) => {
                c.problems.push(format!("{key}: unreadable ({e})"));
                continue;
            }
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if digest == f.sha256
            && bytes.len() == f.len
            && media.size == Some(f.len as u64)
            && content_type.as_deref() == Some(f.kind.mime())
        {
            c.exact += 1;
        } else {
            c.problems.push(format!(
                "{key}: {} bytes of {}, type {content_type:?}, sha256 {}",
                bytes.len(),
                f.len,
                if digest == f.sha256 {
                    "same"
                } else {
                    "differs"
                }
            ));
        }
    }
    let mut token = None;
    loop {
        let out = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("media/")
            .set_continuation_token(token)
            .send()
            .await
            .expect("list the bucket");
        for o in out.contents() {
            c.objects += 1;
            if !o.key().is_some_and(|k| expected_keys.contains(k)) {
                c.stray += 1;
            }
        }
        token = out.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return c;
        }
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().cloned().fold(0.0, f64::max)
}

pub async fn run(endpoint: &str, size: Size, raw: &mut Raw) -> Section {
    let fx = Fixture::with_stream(endpoint, "media", true).await;
    let mut env = fx.env.clone();
    // The stack's own Graph stand-in (the simulator), which holds the users' files.
    env.remove("WHATSAPP_API_BASE_URL");
    env.insert("LOCAL_SCHEDULE_SECONDS".into(), "3600".into());
    env.insert("ADMIN_PASSWORD".into(), "bench-media-password".into());
    let stack = crate::fixture::local_stack(endpoint, env).await;
    let config = &stack.context.config;
    let poster = Arc::new(Poster {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        url: format!("{}/webhook", stack.url()),
        app_secret: config.whatsapp_app_secret.expose().to_owned(),
        phone_number_id: config.whatsapp_phone_number_id.clone(),
        seq: Default::default(),
        media_answered: Arc::default(),
    });
    let client = fx.ctx.store.client().clone();
    let stored_at: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_stored(
        client.clone(),
        fx.table.clone(),
        poster.media_answered.clone(),
        stored_at.clone(),
        stop.clone(),
    );

    // The files, held by the simulator as Meta holds them.
    let mut files = Vec::new();
    let mut media_ids = Vec::new();
    let warmup_kinds = [Kind::Image, Kind::SmallDoc];
    for (i, (kind, role)) in warmup_kinds
        .iter()
        .map(|k| (*k, Role::Warmup))
        .chain(media_order(&size).into_iter().map(|k| (k, Role::Paced)))
        .chain(
            media_order(&size.burst())
                .into_iter()
                .map(|k| (k, Role::Burst)),
        )
        .enumerate()
    {
        let bytes = file_bytes(kind.len(), i as u64 + 1);
        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
        let len = bytes.len();
        media_ids.push(stack.simulator.files.hold(bytes, kind.mime()));
        files.push(File {
            kind,
            phone: phone(21, i),
            sha256,
            len,
            role,
        });
    }
    let mut answered: Vec<Answered> = Vec::new();

    // Warm-up (not timed): texts at the pace and the warm-up files, until replied and
    // stored.
    let warm_texts: Vec<String> = (0..WARMUP_TEXTS).map(|i| phone(22, i)).collect();
    let mut posts: Vec<Post> = warm_texts
        .iter()
        .enumerate()
        .map(|(i, p)| poster.text(TEXT_INTERVAL * i as u32, p, Group::Warmup))
        .collect();
    let of_role = |role: Role| -> Vec<usize> {
        (0..files.len())
            .filter(|i| files[*i].role == role)
            .collect()
    };
    let warm_files = of_role(Role::Warmup);
    for &i in &warm_files {
        posts.push(poster.media(
            TEXT_INTERVAL * i as u32,
            &files[i],
            &media_ids[i],
            Group::Warmup,
        ));
    }
    answered.extend(poster.play(posts).await);
    let warm_file_phones: Vec<String> =
        warm_files.iter().map(|&i| files[i].phone.clone()).collect();
    let warm_phones: Vec<String> = warm_texts
        .iter()
        .chain(&warm_file_phones)
        .cloned()
        .collect();
    let warm_ok = replied(&stack, &warm_phones, Duration::from_secs(60)).await
        && all_left(&stored_at, &warm_file_phones, Duration::from_secs(60)).await;

    // Rounds, so that a drift of the machine (DynamoDB Local's JIT, the heap) falls on
    // both sides alike: text users one every TEXT_INTERVAL with no file in flight; then as
    // many at the same pace with the round's files spread over the same window.
    let rounds = (size.texts / TEXTS_PER_ROUND).max(1);
    let measured = of_role(Role::Paced);
    let (mut alone, mut beside, mut media_phones) = (Vec::new(), Vec::new(), Vec::new());
    let mut fillers: Vec<String> = Vec::new();
    let (mut alone_ok, mut beside_ok, mut media_left) = (true, true, true);
    // Per round: (first media webhook answered, last file stored, window).
    let mut spans: Vec<(Option<i64>, Option<i64>, Duration)> = Vec::new();
    let mut overlapping = 0usize;
    for r in 0..rounds {
        let texts = size.texts / rounds + usize::from(r < size.texts % rounds);
        let first_text = alone.len();
        let window = TEXT_INTERVAL * texts.max(1) as u32;
        let round_files: Vec<usize> = measured
            .iter()
            .enumerate()
            .filter(|(j, _)| j % rounds == r)
            .map(|(_, &i)| i)
            .collect();
        // The control: the same posts at the same times, with a text from another user in
        // place of each file, so only the fetching differs.
        let round_alone: Vec<String> = (0..texts).map(|i| phone(23, first_text + i)).collect();
        let round_fillers: Vec<String> = (0..round_files.len())
            .map(|j| phone(25, fillers.len() + j))
            .collect();
        let mut posts: Vec<Post> = round_alone
            .iter()
            .enumerate()
            .map(|(i, p)| poster.text(TEXT_INTERVAL * i as u32, p, Group::TextAlone))
            .collect();
        for (j, p) in round_fillers.iter().enumerate() {
            let offset = window.mul_f64(j as f64 / round_fillers.len() as f64);
            posts.push(poster.text(offset, p, Group::Filler));
        }
        answered.extend(poster.play(posts).await);
        let everyone: Vec<String> = round_alone.iter().chain(&round_fillers).cloned().collect();
        alone_ok &= replied(&stack, &everyone, Duration::from_secs(120)).await;
        alone.extend(round_alone);
        fillers.extend(round_fillers);

        let round_beside: Vec<String> = (0..texts).map(|i| phone(24, first_text + i)).collect();
        let mut posts: Vec<Post> = round_beside
            .iter()
            .enumerate()
            .map(|(i, p)| poster.text(TEXT_INTERVAL * i as u32, p, Group::TextBeside))
            .collect();
        for (j, &i) in round_files.iter().enumerate() {
            let offset = window.mul_f64(j as f64 / round_files.len() as f64);
            posts.push(poster.media(offset, &files[i], &media_ids[i], Group::Media));
        }
        let round_answered = poster.play(posts).await;
        let round_media: Vec<String> = round_files
            .iter()
            .map(|&i| files[i].phone.clone())
            .collect();
        media_left &= all_left(&stored_at, &round_media, Duration::from_secs(300)).await;
        let everyone: Vec<String> = round_beside.iter().chain(&round_media).cloned().collect();
        beside_ok &= replied(&stack, &everyone, Duration::from_secs(120)).await;
        let first_media = round_answered
            .iter()
            .filter(|a| a.group == Group::Media && a.code == 200)
            .map(|a| a.at)
            .min();
        let last_stored = {
            let stored = stored_at.lock().unwrap();
            round_media
                .iter()
                .filter_map(|p| stored.get(p))
                .max()
                .copied()
        };
        // Text users answered while files were being fetched (after the round's first
        // media webhook, before its last file was stored).
        overlapping += round_answered
            .iter()
            .filter(|a| a.group == Group::TextBeside)
            .filter(|a| {
                first_media.is_some_and(|m| a.at >= m) && last_stored.is_some_and(|l| a.at <= l)
            })
            .count();
        spans.push((first_media, last_stored, window));
        answered.extend(round_answered);
        beside.extend(round_beside);
        media_phones.extend(round_media);
    }

    // The burst: its files all at once, as fast as the stream and the bucket take them.
    let burst_files = of_role(Role::Burst);
    let posts = burst_files
        .iter()
        .map(|&i| poster.media(Duration::ZERO, &files[i], &media_ids[i], Group::Burst))
        .collect();
    let burst_answered = poster.play(posts).await;
    let burst_phones: Vec<String> = burst_files
        .iter()
        .map(|&i| files[i].phone.clone())
        .collect();
    let burst_left = all_left(&stored_at, &burst_phones, Duration::from_secs(300)).await;
    let burst_ok = replied(&stack, &burst_phones, Duration::from_secs(120)).await;
    let burst_span_s = {
        let first = burst_answered
            .iter()
            .filter(|a| a.code == 200)
            .map(|a| a.at)
            .min();
        let stored = stored_at.lock().unwrap();
        let last = burst_phones
            .iter()
            .filter_map(|p| stored.get(p))
            .max()
            .copied();
        match (first, last) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1000.0,
            _ => 0.0,
        }
    };
    answered.extend(burst_answered);
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.await;

    // The figures.
    let first = first_replies(&stack);
    let stored_at = stored_at.lock().unwrap().clone();
    let checked = check(&stack, &fx.table, &files).await;
    let answered_at: HashMap<&str, &Answered> =
        answered.iter().map(|a| (a.phone.as_str(), a)).collect();
    let reply_ms = |group: Group| -> Vec<f64> {
        answered
            .iter()
            .filter(|a| a.group == group && a.code == 200)
            .filter_map(|a| first.get(&a.phone).map(|r| (r - a.at) as f64))
            .collect()
    };
    let text_alone = reply_ms(Group::TextAlone);
    let text_beside = reply_ms(Group::TextBeside);
    let media_reply = reply_ms(Group::Media);
    let stored_ms_of = |f: &File| -> Option<f64> {
        let at = answered_at.get(f.phone.as_str())?.at;
        let s = stored_at.get(&f.phone)?;
        checked.stored.contains(&f.phone).then_some((s - at) as f64)
    };
    let mut by_kind: HashMap<Kind, Vec<f64>> = HashMap::new();
    let (mut all_stored, mut burst_stored) = (Vec::new(), Vec::new());
    for f in &files {
        match (f.role, stored_ms_of(f)) {
            (Role::Paced, Some(v)) => {
                by_kind.entry(f.kind).or_default().push(v);
                all_stored.push(v);
            }
            (Role::Burst, Some(v)) => burst_stored.push(v),
            _ => {}
        }
    }
    let bytes_of = |role: Role| -> f64 {
        files
            .iter()
            .filter(|f| f.role == role)
            .map(|f| f.len)
            .sum::<usize>() as f64
            / MB as f64
    };
    let burst_mb = bytes_of(Role::Burst);
    let burst_throughput = if burst_span_s > 0.0 {
        burst_mb / burst_span_s
    } else {
        0.0
    };
    // Throughput: the measured files' bytes over the rounds' spans, each from its first
    // media webhook's answer to its last file stored.
    let span_s: f64 = spans
        .iter()
        .map(|(a, b, _)| match (a, b) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1000.0,
            _ => 0.0,
        })
        .sum();
    let windows_s: f64 = spans.iter().map(|(_, _, w)| w.as_secs_f64()).sum();
    let mb = bytes_of(Role::Paced);
    let throughput = if span_s > 0.0 { mb / span_s } else { 0.0 };
    let offered = mb / windows_s.max(0.001);
    let webhook: Vec<f64> = answered
        .iter()
        .filter(|a| a.group != Group::Warmup)
        .map(|a| a.webhook_ms)
        .collect();
    let non_200 = answered.iter().filter(|a| a.code != 200).count();
    let users: Vec<&String> = warm_phones
        .iter()
        .chain(&alone)
        .chain(&fillers)
        .chain(&beside)
        .chain(&burst_phones)
        .chain(&media_phones)
        .collect();
    let unreplied = users.iter().filter(|p| !first.contains_key(**p)).count();

    for (kind, v) in &by_kind {
        for (i, x) in v.iter().enumerate() {
            raw.push("media", kind.subject(), "webhook_to_stored_ms", i, *x);
        }
    }
    for (subject, v) in [
        ("text_alone", &text_alone),
        ("text_beside_media", &text_beside),
        ("media_user", &media_reply),
    ] {
        for (i, x) in v.iter().enumerate() {
            raw.push("media", subject, "reply_ms", i, *x);
        }
    }
    for (i, x) in webhook.iter().enumerate() {
        raw.push("media", "all_posts", "webhook_ms", i, *x);
    }
    for (i, x) in burst_stored.iter().enumerate() {
        raw.push("media", "burst", "webhook_to_stored_ms", i, *x);
    }
    raw.push("media", "paced", "stored_mb_per_s", 0, throughput);
    raw.push("media", "burst", "stored_mb_per_s", 0, burst_throughput);

    let n_media = measured.len();
    let mut section = Section::new(
        "Media: users' files through the local stack",
        &format!(
            "{n_media} signed media webhooks ({} 100 KB JPEG images, {} 1 MB and {} 10 MB PDF documents, \
             {mb:.0} MB), each from its own user and naming a file the simulator holds as Meta does; \
             `desk-events` (the stream's second reader) looks each up on the Graph stand-in, downloads it \
             with the bearer token and streams it into the stack's S3 server (moto). *Stored*: from the \
             webhook's 200 to the message leaving the fetch schedule (`gsi_pending`, read every {} ms), \
             checked `stored` after. *Reply*: from the webhook's 200 to the bot's first reply (to a fresh \
             user's \"Hello\") reaching the Graph stand-in, by its record. In {rounds} rounds: text users \
             one every {} ms with no file in flight, a text from another user at each moment a file is \
             posted next; then as many text users at the same pace with the round's files posted over the \
             same window ({} text users each way in all) — the same load on the bot, only the fetching \
             differs. Then a burst of {} more files posted at once. Before it all, a warm-up \
             ({WARMUP_TEXTS} texts, a 100 KB image, a 1 MB document), checked but not timed. Everything, \
             moto included, shares the machine's cores; the bot's reply runs on the stream's first reader.",
            size.images,
            size.small_docs,
            size.large_docs,
            POLL_EVERY.as_millis(),
            TEXT_INTERVAL.as_millis(),
            size.texts,
            size.burst().media(),
        ),
        &["figure", "n", "p50 ms", "p99 ms", "max ms"],
    );
    let mut timed = |name: &str, v: &[f64]| {
        section.row(
            vec![
                name.to_owned(),
                v.len().to_string(),
                f1(percentile(v, 50.0)),
                f1(percentile(v, 99.0)),
                f1(max(v)),
            ],
            None,
        )
    };
    for kind in [Kind::Image, Kind::SmallDoc, Kind::LargeDoc] {
        if let Some(v) = by_kind.get(&kind) {
            timed(&format!("webhook → stored, {}", kind.label()), v);
        }
    }
    timed("webhook → stored, all files", &all_stored);
    timed("webhook → stored, the burst's files", &burst_stored);
    timed("bot reply, text users, no files in flight", &text_alone);
    timed("bot reply, text users, files being fetched", &text_beside);
    timed("bot reply, the files' senders", &media_reply);
    timed("webhook answer", &webhook);
    let ratio = |q: f64| {
        let a = percentile(&text_alone, q);
        if a > 0.0 {
            format!("{:.2}×", percentile(&text_beside, q) / a)
        } else {
            "–".into()
        }
    };
    section.row(
        vec![
            "bot reply, fetching ÷ none".into(),
            String::new(),
            ratio(50.0),
            ratio(99.0),
            if max(&text_alone) > 0.0 {
                format!("{:.2}×", max(&text_beside) / max(&text_alone))
            } else {
                "–".into()
            },
        ],
        None,
    );
    let mut check_row = |name: &str, value: String, ok: bool| {
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
    check_row("webhook answers not 200", non_200.to_string(), non_200 == 0);
    check_row(
        "files stored (of sent, warm-up included)",
        format!("{} of {}", checked.stored.len(), files.len()),
        checked.stored.len() == files.len() && media_left && warm_ok && burst_left,
    );
    check_row(
        "stored byte-exact (sha256, size, type)",
        format!("{} of {}", checked.exact, files.len()),
        checked.exact == files.len(),
    );
    check_row(
        "objects under media/ (stray or extra)",
        format!("{} ({})", checked.objects, checked.stray),
        checked.objects == files.len() && checked.stray == 0,
    );
    check_row(
        "media messages stored twice",
        checked.twice.to_string(),
        checked.twice == 0,
    );
    check_row(
        "users without a bot reply",
        unreplied.to_string(),
        unreplied == 0 && alone_ok && beside_ok && burst_ok,
    );
    section.notes.push(format!(
        "throughput: {mb:.1} MB stored in {span_s:.2} s (each round from its first media webhook's answer \
         to its last file stored), {throughput:.1} MB/s; offered {offered:.1} MB/s over {windows_s:.1} s"
    ));
    let b = size.burst();
    section.notes.push(format!(
        "the burst: {} files ({} 100 KB, {} 1 MB, {} 10 MB; {burst_mb:.1} MB) posted at once, all stored \
         {burst_span_s:.2} s after the first answer: {burst_throughput:.1} MB/s (`desk-events` takes the \
         stream in batches of 5 fetched side by side, one batch at a time)",
        b.media(),
        b.images,
        b.small_docs,
        b.large_docs,
    ));
    section.notes.push(format!(
        "{overlapping} of the {} text users beside media were answered 200 while files were being \
         fetched (after their round's first media webhook, before its last file was stored)",
        beside.len()
    ));
    for p in checked.problems.iter().take(5) {
        section.notes.push(format!("FAIL: {p}"));
    }
    drop(stack);
    section
}
