//! The admin API at size: thousands of conversations and hundreds of thousands of messages
//! written straight into the table (BatchWriteItem), then the list, messages and dashboard
//! handlers timed in-process, with the items each DynamoDB call read.

use edubot_app::ports::ConversationStore;
use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use edubot_adapters::model::{
    new_message_id, Author, Conversation, ConversationState, Direction, Message, MessageStatus,
};
use edubot_adapters::Phone;
use futures::StreamExt;
use http::Method;

use crate::fixture::Fixture;
use crate::scenarios::{api_event, call_handler, phone, Invocation};
use crate::stats::{f1, f2, ms, pass, percentile, Raw, Section};
use edubot_adapters::store::{SEARCH_PAGE, SEARCH_QUERIES};

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn message(phone: &Phone, direction: Direction, now: i64) -> Message {
    let inbound = direction == Direction::Inbound;
    Message {
        phone: phone.clone(),
        id: new_message_id(),
        direction,
        author: if inbound { Author::User } else { Author::Bot },
        admin: None,
        kind: "text".into(),
        text: Some(
            if inbound {
                "What are the fees?"
            } else {
                "Here are our fees."
            }
            .into(),
        ),
        status: if inbound {
            MessageStatus::Received
        } else {
            MessageStatus::Sent
        },
        error: None,
        wamid: Some(format!("wamid.TEMPLATE{}", new_message_id())),
        created_at: now,
        sent_at: Some(now),
        interactive_id: None,
        body: None,
        attempts: if inbound { 0 } else { 1 },
        profile_name: inbound.then(|| "Ada Student".into()),
        media: None,
        reply_to: None,
        reply_to_wamid: None,
        reactions: Vec::new(),
    }
}

/// Item templates written by the store itself (`Store::commit`), read back raw: a
/// conversation (plain and in chat support), an inbound and an outbound message.
async fn templates(fx: &Fixture) -> (Item, Item, Item, Item) {
    let now = edubot_adapters::time::now_ms();
    let mut out = Vec::new();
    for (k, support) in [(0usize, false), (1, true)] {
        let p = Phone::parse(&phone(9, k)).unwrap();
        let mut c = Conversation::new(p.clone(), now);
        c.name = Some("Ada Student".into());
        c.last_message_preview = "What are the fees?".into();
        c.last_inbound_sent_at = Some(now);
        c.state = ConversationState::MainMenu;
        if support {
            c.state = ConversationState::ChatSupportActive;
            c.support_started_at = Some(now);
            c.waiting_since = Some(now);
            c.unread_count = 1;
        }
        let msgs = vec![
            message(&p, Direction::Inbound, now),
            message(&p, Direction::Outbound, now),
        ];
        fx.ctx
            .store
            .commit(&c, None, &msgs, now)
            .await
            .expect("template commit");
        let conv = raw_item(fx, &format!("CONV#{p}"), "#META").await;
        out.push(conv);
        if !support {
            out.push(raw_item(fx, &format!("CONV#{p}"), &format!("MSG#{}", msgs[0].id)).await);
            out.push(raw_item(fx, &format!("CONV#{p}"), &format!("MSG#{}", msgs[1].id)).await);
        }
    }
    (
        out[0].clone(),
        out[3].clone(),
        out[1].clone(),
        out[2].clone(),
    )
}

async fn raw_item(fx: &Fixture, pk: &str, sk: &str) -> Item {
    fx.ctx
        .store
        .client()
        .get_item()
        .table_name(&fx.table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .expect("template read")
        .item
        .expect("template exists")
}

/// First names of the loaded conversations (with `Surname<c % 97>`): "an" starts three
/// of five, a name word and a surname narrow it down.
const FIRST_NAMES: [&str; 5] = ["Ana", "Andrés", "Anil", "Bea", "Carl"];

fn name_of(c: usize) -> String {
    format!("{} Surname{}", FIRST_NAMES[c % 5], c % 97)
}

/// Loads `convs` conversations of `per_conv` messages, each with its search entries;
/// answers (items written, seconds).
async fn load(fx: &Fixture, convs: usize, per_conv: usize) -> (usize, f64) {
    let (plain, support, inbound, outbound) = templates(fx).await;
    let base = edubot_adapters::time::now_ms() - (convs as i64) * 60_000;
    let mut items: Vec<Item> = Vec::with_capacity(convs * (per_conv + 1));
    for c in 0..convs {
        let p = phone(8, c);
        let in_support = c % 20 == 0;
        let last = base + c as i64 * 60_000 + per_conv as i64 * 1000;
        let mut conv = if in_support {
            support.clone()
        } else {
            plain.clone()
        };
        let recency = edubot_adapters::store::recency_sk(last, &Phone::parse(&p).unwrap());
        conv.insert("pk".into(), s(format!("CONV#{p}")));
        conv.insert("phone".into(), s(&p));
        conv.insert("last_message_at".into(), n(last));
        conv.insert("last_inbound_sent_at".into(), n(last));
        conv.insert("created_at".into(), n(base + c as i64 * 60_000));
        conv.insert("gsi1sk".into(), s(&recency));
        let name = name_of(c);
        let (entries, words) =
            edubot_adapters::store::search_entries(&Phone::parse(&p).unwrap(), Some(&name));
        conv.insert("name".into(), s(&name));
        conv.insert(
            "search_words".into(),
            AttributeValue::L(words.into_iter().map(s).collect()),
        );
        items.extend(entries);
        if in_support {
            conv.insert("gsi_support_sk".into(), s(&recency));
            conv.insert("support_started_at".into(), n(last - 5000));
            conv.insert("waiting_since".into(), n(last - 5000));
        }
        items.push(conv);
        for m in 0..per_conv {
            let ts = base + c as i64 * 60_000 + m as i64 * 1000;
            let id = ulid::Ulid::from_parts(ts as u64, rand::random::<u128>()).to_string();
            let mut msg = if m % 2 == 0 {
                inbound.clone()
            } else {
                outbound.clone()
            };
            msg.insert("pk".into(), s(format!("CONV#{p}")));
            msg.insert("sk".into(), s(format!("MSG#{id}")));
            msg.insert("phone".into(), s(&p));
            msg.insert("id".into(), s(&id));
            msg.insert("created_at".into(), n(ts));
            msg.insert("sent_at".into(), n(ts));
            msg.insert("wamid".into(), s(format!("wamid.LOAD{c}x{m}")));
            items.push(msg);
        }
    }
    let total = items.len();
    let client = fx.ctx.store.client().clone();
    let table = fx.table.clone();
    let started = Instant::now();
    let chunks: Vec<Vec<Item>> = items.chunks(25).map(|c| c.to_vec()).collect();
    futures::stream::iter(chunks)
        .map(|chunk| {
            let client = client.clone();
            let table = table.clone();
            async move {
                let mut requests: Vec<WriteRequest> = chunk
                    .into_iter()
                    .map(|i| {
                        WriteRequest::builder()
                            .put_request(PutRequest::builder().set_item(Some(i)).build().unwrap())
                            .build()
                    })
                    .collect();
                while !requests.is_empty() {
                    let out = client
                        .batch_write_item()
                        .request_items(&table, requests)
                        .send()
                        .await
                        .expect("batch write");
                    requests = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&table))
                        .unwrap_or_default();
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    (total, started.elapsed().as_secs_f64())
}

pub async fn run(
    endpoint: &str,
    convs: usize,
    per_conv: usize,
    iterations: usize,
    raw: &mut Raw,
) -> Section {
    let fx = Fixture::new(endpoint, "admin").await;
    let token = fx.admin_token("bench.size", "bench-password-123").await;
    let (written, load_secs) = load(&fx, convs, per_conv).await;
    fx.counter.take();
    let auth = format!("Bearer {token}");
    let h = [("authorization", auth.as_str())];
    // Cursors and ids to page with.
    let first = fx
        .ctx
        .store
        .list_conversations(&edubot_app::ports::ListFilter::All, 50, None)
        .await
        .expect("list");
    let cursor = first.next_cursor.clone().unwrap_or_default();
    let sample_phone = phone(8, convs / 2);
    let history = fx
        .ctx
        .store
        .messages_page(&Phone::parse(&sample_phone).unwrap(), 6, None, None)
        .await
        .expect("history");
    let after_id = history
        .items
        .first()
        .map(|m| m.id.clone())
        .unwrap_or_default();
    let newest_id = history
        .items
        .last()
        .map(|m| m.id.clone())
        .unwrap_or_default();
    let cases: Vec<(&str, String, &str, Option<i64>)> = vec![
        (
            "list, first page (limit 50)",
            "/api/admin/conversations?limit=50".into(),
            "list-conversations",
            Some(51),
        ),
        (
            "list, next page (cursor)",
            format!("/api/admin/conversations?limit=50&cursor={cursor}"),
            "list-conversations",
            Some(51),
        ),
        (
            "list, filter=support",
            "/api/admin/conversations?limit=50&filter=support".into(),
            "list-conversations",
            Some(51),
        ),
        (
            "messages, first page (50)",
            format!("/api/admin/conversations/{sample_phone}/messages"),
            "get-messages",
            None,
        ),
        (
            "messages, after= (5 new)",
            format!("/api/admin/conversations/{sample_phone}/messages?after={after_id}"),
            "get-messages",
            None,
        ),
        (
            "messages, after= (nothing new)",
            format!("/api/admin/conversations/{sample_phone}/messages?after={newest_id}"),
            "get-messages",
            None,
        ),
        (
            "dashboard",
            "/api/admin/dashboard".into(),
            "dashboard",
            None,
        ),
        (
            "search, a common word start (q=an, limit 50)",
            "/api/admin/conversations?q=an&limit=50".into(),
            "list-conversations",
            Some(i64::from(SEARCH_PAGE)),
        ),
        (
            "search, two words (q=ana+surname5)",
            "/api/admin/conversations?q=ana+surname5&limit=50".into(),
            "list-conversations",
            Some(i64::from(SEARCH_PAGE)),
        ),
        (
            "search, phone digits (q=447700800001)",
            "/api/admin/conversations?q=447700800001&limit=50".into(),
            "list-conversations",
            Some(i64::from(SEARCH_PAGE)),
        ),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut reads: Vec<Vec<i64>> = vec![Vec::new(); cases.len()];
    let mut max_query_read: Vec<i64> = vec![0; cases.len()];
    let mut statuses: Vec<String> = vec![String::new(); cases.len()];
    for i in 0..iterations + 1 {
        for (k, (name, path, function, _)) in cases.iter().enumerate() {
            let inv = Invocation::Http(Box::new(api_event(Method::GET, path, &h, b"")));
            fx.counter.take();
            let t = Instant::now();
            let status = call_handler(function, &fx.ctx, inv).await;
            let elapsed = ms(t.elapsed());
            let calls = fx.counter.take();
            if i == 0 {
                continue;
            }
            statuses[k] = status;
            times[k].push(elapsed);
            reads[k].push(calls.iter().map(|c| c.items_read).sum());
            for c in calls.iter().filter(|c| c.op == "Query") {
                max_query_read[k] = max_query_read[k].max(c.items_read);
            }
            raw.push("admin", name, "ms", i, elapsed);
        }
    }
    let mut section = Section::new(
        "Admin API at size",
        &format!(
            "{convs} conversations ({} in chat support) and {} messages written straight into a fresh table \
             with BatchWriteItem ({written} items in {load_secs:.1} s, {:.0} items/s, 8 batches in flight). \
             The item shapes are the store's own: a conversation, an inbound and an outbound message are first \
             written by `Store::commit`, read back raw and used as templates (keys, phone, ids, times and the \
             recency index keys replaced). Then each call {iterations} times in-process, interleaved; items \
             read = Query ScannedCount + GetItem hits, from the SDK interceptor.",
            convs.div_ceil(20),
            convs * per_conv,
            written as f64 / load_secs.max(0.001)
        ),
        &["call", "status", "p50 ms", "p99 ms", "items read/call (max)", "largest Query read"],
    );
    for (k, (name, _, _, page_limit)) in cases.iter().enumerate() {
        let max_read = reads[k].iter().max().copied().unwrap_or(0);
        let mean = reads[k].iter().sum::<i64>() as f64 / reads[k].len().max(1) as f64;
        section.row(
            vec![
                name.to_string(),
                statuses[k].clone(),
                f2(percentile(&times[k], 50.0)),
                f2(percentile(&times[k], 99.0)),
                format!("{} ({max_read})", f1(mean)),
                max_query_read[k].to_string(),
            ],
            page_limit.map(|l| format!("{} ≤ a page ({l})", pass(max_query_read[k] <= l))),
        );
    }
    section.notes.push(format!(
        "Loading took {load_secs:.1} s for {written} items. Search (DESIGN §15) reads at most \
         {SEARCH_QUERIES} index Queries of {SEARCH_PAGE} items and one BatchGetItem of the page's \
         conversations per call (its items are not in the count above), whatever the desk's size; the names are `<Ana|Andrés|Anil|Bea|Carl> \
         Surname<n % 97>`, so `an` matches three in five."
    ));
    section
}
