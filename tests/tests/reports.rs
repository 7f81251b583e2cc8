//! Reports (DESIGN §17): a scripted week of chats counted with the real store and read
//! through the real handler, against figures computed by hand from the script; a retried
//! stream record counted once by push; the range's validation and the CSV form; the local
//! stack's own chats in today's figures, end to end; the backfill; and a batch push gave up
//! on, read again from the stream and counted once.

mod handler_kit;

use std::time::{Duration, Instant};

use edubot_adapters::model::{Author, Conversation, ConversationState, Direction, Message};
use edubot_adapters::stream_reader::{recount, FailedBatch};
use edubot_adapters::time::{now_ms, Millis, DAY, HOUR, MINUTE, SECOND};
use edubot_app::ports::ReportStore;
use edubot_domain::desk::{answered_by_desk, end_support};
use edubot_domain::reports::{
    conversation_events, message_events, Day, FigureEvent, SKETCH_RELATIVE_ERROR,
};
use edubot_domain::team::Role;
use edubot_e2e::*;
use handler_kit::*;
use http::Method;
use serde_json::Value;

/// Monday 2 November 2026, 00:00 UTC: the scripted week's first day.
const WEEK: Millis = 1_793_577_600_000;

/// One scripted chat: when it starts, how long the first reply and the whole chat take,
/// who answers and holds it, the rating, and the messages in and out (besides a note and
/// a failed send, which never count).
struct Chat {
    phone: &'static str,
    start: Millis,
    first_reply_after: Millis,
    ends_after: Millis,
    admin: &'static str,
    rating: Option<u8>,
    messages_in: u64,
    messages_out: u64,
}

fn week() -> Vec<Chat> {
    let at = |day: i64, hour: i64, minute: i64| WEEK + day * DAY + hour * HOUR + minute * MINUTE;
    let chat = |phone, start, fr_s: i64, res_s: i64, admin, rating, ins, outs| Chat {
        phone,
        start,
        first_reply_after: fr_s * SECOND,
        ends_after: res_s * SECOND,
        admin,
        rating,
        messages_in: ins,
        messages_out: outs,
    };
    vec![
        chat("447700900101", at(0, 9, 0), 30, 600, "ana", Some(5), 3, 2),
        chat("447700900102", at(1, 10, 0), 60, 1200, "ben", Some(4), 2, 2),
        chat("447700900103", at(2, 11, 0), 90, 1800, "ana", Some(3), 4, 3),
        chat(
            "447700900104",
            at(2, 14, 0),
            300,
            2400,
            "ben",
            Some(1),
            1,
            1,
        ),
        chat("447700900105", at(2, 16, 0), 420, 900, "ana", None, 2, 2),
        chat(
            "447700900106",
            at(3, 9, 30),
            120,
            3600,
            "ben",
            Some(5),
            5,
            4,
        ),
        // Starts late on day 5 and ends on day 6: started counts on day 5, the first reply
        // (23:54) on day 5, the end and its resolution on day 6.
        chat(
            "447700900107",
            at(5, 23, 50),
            240,
            1800,
            "ana",
            Some(2),
            2,
            2,
        ),
        chat("447700900108", at(6, 8, 0), 45, 7200, "ana", Some(4), 3, 3),
    ]
}

fn message(phone: &str, id: String, direction: Direction, at: Millis) -> Message {
    let mut m = Message::system_note(phone_of(phone), id, "…".into(), at);
    m.direction = direction;
    m.author = match direction {
        Direction::Inbound => Author::User,
        Direction::Outbound => Author::Admin,
    };
    m.kind = "text".into();
    m
}

fn phone_of(raw: &str) -> edubot_adapters::phone::Phone {
    edubot_adapters::phone::Phone::parse(raw).unwrap()
}

/// Every figure event of a chat, as the stream would tell them: each write's before and
/// after, made with the desk's own rules.
fn events_of(chat: &Chat) -> Vec<FigureEvent> {
    let mut events = Vec::new();
    let mut c = Conversation::new(phone_of(chat.phone), chat.start - HOUR);
    let mut write = |before: &Conversation, after: &Conversation| {
        events.extend(conversation_events(Some(before), after));
    };
    // The user asks for a person: their message starts the wait.
    let before = c.clone();
    c.state = ConversationState::ChatSupportActive;
    c.support_started_at = Some(chat.start);
    c.waiting_since = Some(chat.start);
    write(&before, &c);
    // The admin answers (taking the chat), then again: only the first is the first reply.
    let before = c.clone();
    c.assigned_to = Some(chat.admin.to_owned());
    answered_by_desk(
        &mut c,
        chat.admin,
        chat.start + chat.first_reply_after,
        "hi",
    );
    write(&before, &c);
    let before = c.clone();
    c.waiting_since = Some(chat.start + chat.first_reply_after + MINUTE);
    answered_by_desk(
        &mut c,
        chat.admin,
        chat.start + chat.first_reply_after + 2 * MINUTE,
        "more",
    );
    write(&before, &c);
    // The chat ends; the user rates it a minute later.
    let ended = chat.start + chat.ends_after;
    let before = c.clone();
    end_support(&mut c, ended);
    c.state = ConversationState::SupportFeedback;
    write(&before, &c);
    if let Some(rating) = chat.rating {
        let before = c.clone();
        c.last_rating = Some(rating);
        c.rated_at = Some(ended + MINUTE);
        c.state = ConversationState::MainMenu;
        write(&before, &c);
    }
    // Messages: each inbound one inserted; each outbound one inserted pending, then sent.
    for i in 0..chat.messages_in {
        let m = message(
            chat.phone,
            format!("IN{i}"),
            Direction::Inbound,
            chat.start + i as Millis,
        );
        events.extend(message_events(None, &m));
    }
    for i in 0..chat.messages_out {
        let pending = message(
            chat.phone,
            format!("OUT{i}"),
            Direction::Outbound,
            chat.start + chat.first_reply_after + i as Millis,
        );
        events.extend(message_events(None, &pending));
        let mut sent = pending.clone();
        sent.wamid = Some(format!("wamid.{}.{i}", chat.phone));
        sent.sent_at = Some(pending.created_at + SECOND);
        events.extend(message_events(Some(&pending), &sent));
    }
    let mut note = message(chat.phone, "NOTE".into(), Direction::Outbound, chat.start);
    note.kind = edubot_adapters::model::NOTE_KIND.into();
    events.extend(message_events(None, &note));
    let failed = message(chat.phone, "FAILED".into(), Direction::Outbound, chat.start);
    events.extend(message_events(None, &failed));
    events
}

/// The exact value of rank ⌊q·(n−1)⌋ of `values`, in seconds (the sketch's definition).
fn exact_quantile(values: &[Millis], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (q * (sorted.len().checked_sub(1)? as f64)).floor() as usize;
    Some(sorted[rank] as f64 / 1000.0)
}

fn assert_close(got: &Value, want: Option<f64>, what: &str) {
    match want {
        None => assert!(got.is_null(), "{what}: {got} where none was expected"),
        Some(want) => {
            let got = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
            // The sketch's error, and the tenth of a second the report rounds to.
            assert!(
                (got - want).abs() <= want * SKETCH_RELATIVE_ERROR + 0.05,
                "{what}: {got} vs {want}"
            );
        }
    }
}

/// The hand-computed figures of `day` (0–6) from the script.
struct Expected {
    started: u64,
    ended: u64,
    first_responses: Vec<Millis>,
    resolutions: Vec<Millis>,
    ratings: Vec<u8>,
    messages_in: u64,
    messages_out: u64,
}

fn expected(chats: &[Chat], day: Day) -> Expected {
    let on = |at: Millis| Day::of(at) == day;
    let mut e = Expected {
        started: 0,
        ended: 0,
        first_responses: vec![],
        resolutions: vec![],
        ratings: vec![],
        messages_in: 0,
        messages_out: 0,
    };
    for c in chats {
        let ended = c.start + c.ends_after;
        e.started += u64::from(on(c.start));
        e.ended += u64::from(on(ended));
        if on(c.start + c.first_reply_after) {
            e.first_responses.push(c.first_reply_after);
        }
        if on(ended) {
            e.resolutions.push(c.ends_after);
        }
        if let Some(r) = c.rating.filter(|_| on(ended + MINUTE)) {
            e.ratings.push(r);
        }
        if on(c.start) {
            e.messages_in += c.messages_in;
        }
        if on(c.start + c.first_reply_after) {
            e.messages_out += c.messages_out;
        }
    }
    e
}

fn average(ratings: &[u8]) -> Option<f64> {
    (!ratings.is_empty()).then(|| {
        let sum: u32 = ratings.iter().map(|r| u32::from(*r)).sum();
        (f64::from(sum) * 100.0 / ratings.len() as f64).round() / 100.0
    })
}

#[tokio::test]
async fn a_scripted_week_reads_back_as_computed_by_hand_and_a_repeat_counts_nothing() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let chats = week();
    let events: Vec<FigureEvent> = chats.iter().flat_map(events_of).collect();
    let counted = h.ctx.store.count_figures(&events).await.unwrap();
    assert_eq!(counted, events.len(), "each scripted event is new");

    let from = Day::of(WEEK);
    let to = Day::of(WEEK + 6 * DAY);
    let path = format!("/api/admin/reports?from={from}&to={to}");
    let (status, report) = get(&h.ctx, &path, &token).await;
    assert_eq!(status, 200, "{report}");
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    for (i, row) in days.iter().enumerate() {
        let day = Day::of(WEEK + i as i64 * DAY);
        let e = expected(&chats, day);
        let what = |f: &str| format!("{day} {f}");
        assert_eq!(row["date"], day.to_string());
        assert_eq!(row["chats_started"], e.started, "{}", what("started"));
        assert_eq!(row["chats_ended"], e.ended, "{}", what("ended"));
        assert_eq!(row["messages_in"], e.messages_in, "{}", what("in"));
        assert_eq!(row["messages_out"], e.messages_out, "{}", what("out"));
        assert_eq!(row["csat_count"], e.ratings.len(), "{}", what("csat count"));
        assert_eq!(
            row["csat_average"].as_f64(),
            average(&e.ratings),
            "{}",
            what("csat")
        );
        for (field, values, q) in [
            ("first_response_p50_s", &e.first_responses, 0.5),
            ("first_response_p90_s", &e.first_responses, 0.9),
            ("resolution_p50_s", &e.resolutions, 0.5),
        ] {
            assert_close(&row[field], exact_quantile(values, q), &what(field));
        }
    }
    // Day 4 has nothing: zeros and nulls.
    assert_eq!(days[4]["chats_started"], 0);
    assert!(days[4]["first_response_p50_s"].is_null());
    assert!(days[4]["csat_average"].is_null());

    // Admins over the week: chats they held at the end, their first replies, their ratings.
    let admins = report["admins"].as_array().unwrap();
    let names: Vec<&str> = admins
        .iter()
        .map(|a| a["admin"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ana", "ben"]);
    for row in admins {
        let mine: Vec<&Chat> = chats.iter().filter(|c| c.admin == row["admin"]).collect();
        assert_eq!(row["chats_handled"], mine.len());
        let firsts: Vec<Millis> = mine.iter().map(|c| c.first_reply_after).collect();
        assert_close(
            &row["first_response_p50_s"],
            exact_quantile(&firsts, 0.5),
            "admin p50",
        );
        let ratings: Vec<u8> = mine.iter().filter_map(|c| c.rating).collect();
        assert_eq!(row["csat_average"].as_f64(), average(&ratings));
    }

    // The same events again (retried stream records, a second backfill): nothing counts.
    assert_eq!(h.ctx.store.count_figures(&events).await.unwrap(), 0);
    let (_, again) = get(&h.ctx, &path, &token).await;
    assert_eq!(again, report);

    // A narrower range reads only its days.
    let (_, one) = get(
        &h.ctx,
        &format!("/api/admin/reports?from={to}&to={to}"),
        &token,
    )
    .await;
    assert_eq!(one["days"].as_array().unwrap().len(), 1);
    assert_eq!(one["days"][0], days[6]);
    let ana: Vec<&Value> = one["admins"].as_array().unwrap().iter().collect();
    assert_eq!(ana.len(), 1, "only ana's items on day 6: {one}");
}

/// The raw item of `pk`/`sk`, as a stream image.
async fn item(
    h: &Harness,
    pk: String,
    sk: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    h.ctx
        .store
        .client()
        .get_item()
        .table_name(h.ctx.store.table())
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

#[tokio::test]
async fn push_counts_a_retried_stream_record_once() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let raw = "447700900222";
    user_says(&h, raw, "support").await;
    let conversation = item(&h, format!("CONV#{raw}"), "#META").await;
    let inbound: Vec<_> = history(&h, raw)
        .await
        .into_iter()
        .filter(|m| m.direction == Direction::Inbound)
        .collect();
    assert_eq!(inbound.len(), 1);
    let message = item(&h, format!("CONV#{raw}"), &format!("MSG#{}", inbound[0].id)).await;
    let event = stream_event(vec![conversation, message]);
    for _ in 0..3 {
        let response = push::handle(&h.ctx, event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let today = Day::of(now_ms());
    let (status, report) = get(
        &h.ctx,
        &format!("/api/admin/reports?from={today}&to={today}"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["days"][0]["chats_started"], 1, "{report}");
    assert_eq!(report["days"][0]["messages_in"], 1, "{report}");
}

#[tokio::test]
async fn the_range_is_checked_and_the_csv_has_the_days_and_the_admins() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    for (query, why) in [
        ("from=2026-01-01&to=2026-04-03", "93 days"),
        ("from=2026-01-02&to=2026-01-01", "backwards"),
        ("from=2026-02-30&to=2026-03-01", "no such date"),
        ("from=2026-01-01", "no to"),
        ("to=2026-01-01", "no from"),
        ("from=01/01/2026&to=2026-01-02", "another format"),
        ("from=2026-01-01&to=2026-01-02&format=xml", "unknown format"),
        (
            "from=2026-01-01&to=2026-01-02&format=csv&table=rows",
            "unknown table",
        ),
    ] {
        let (status, body) = get(&h.ctx, &format!("/api/admin/reports?{query}"), &token).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{why}");
    }
    let (status, body) = get(
        &h.ctx,
        "/api/admin/reports?from=2026-01-01&to=2026-04-02",
        &token,
    )
    .await;
    assert_eq!(status, 200, "92 days: {body}");
    assert_eq!(body["days"].as_array().unwrap().len(), 92);
    assert_eq!(body["admins"], serde_json::json!([]));

    // Without a token, or a tampered one: 401.
    let (status, _) = json_of(
        call(
            &h.ctx,
            Method::GET,
            "/api/admin/reports?from=2026-01-01&to=2026-01-02",
            None,
            None,
        )
        .await,
    );
    assert_eq!(status, 401);
    let (status, _) = get(
        &h.ctx,
        "/api/admin/reports?from=2026-01-01&to=2026-01-02",
        &format!("{token}x"),
    )
    .await;
    assert_eq!(status, 401);

    // Both roles read reports.
    let plain = h.account_token("plain.admin", Role::Admin).await;
    let (status, _) = get(
        &h.ctx,
        "/api/admin/reports?from=2026-01-01&to=2026-01-02",
        &plain,
    )
    .await;
    assert_eq!(status, 200);

    // CSV: by format=, or by Accept; days by default, admins on request.
    let chats = week();
    let events: Vec<FigureEvent> = chats.iter().flat_map(events_of).collect();
    h.ctx.store.count_figures(&events).await.unwrap();
    let (from, to) = (Day::of(WEEK), Day::of(WEEK + DAY));
    let csv_of = |response: http::Response<lambda_http::Body>| {
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        String::from_utf8(response.body().to_vec()).unwrap()
    };
    let days = csv_of(
        call(
            &h.ctx,
            Method::GET,
            &format!("/api/admin/reports?from={from}&to={to}&format=csv"),
            Some(&token),
            None,
        )
        .await,
    );
    let lines: Vec<&str> = days.lines().collect();
    assert_eq!(
        lines[0],
        "date,chats_started,chats_ended,first_response_p50_s,first_response_p90_s,resolution_p50_s,csat_count,csat_average,messages_in,messages_out"
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with(&format!("{from},1,1,")),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(",1,5.0,3,2") || lines[1].ends_with(",1,5,3,2"),
        "{}",
        lines[1]
    );
    let by_accept = csv_of(
        call_with_headers(
            &h.ctx,
            Method::GET,
            &format!("/api/admin/reports?from={from}&to={to}"),
            &[
                ("authorization", &format!("Bearer {token}")),
                ("accept", "text/csv"),
            ],
            b"",
        )
        .await,
    );
    assert_eq!(by_accept, days);
    let admins = csv_of(
        call(
            &h.ctx,
            Method::GET,
            &format!("/api/admin/reports?from={from}&to={to}&format=csv&table=admins"),
            Some(&token),
            None,
        )
        .await,
    );
    let lines: Vec<&str> = admins.lines().collect();
    assert_eq!(
        lines[0],
        "admin,chats_handled,first_response_p50_s,csat_average"
    );
    assert_eq!(lines[1..].len(), 2, "{admins}");
    assert!(lines[1].starts_with("ana,1,"), "{admins}");
}

#[tokio::test]
async fn the_local_stacks_own_chats_show_up_in_todays_figures() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[]).await;
    let mut admin = StackClient::new(&stack);
    admin.sign_in().await;
    let user = "447700900333";
    admin
        .webhook(&user_text(user, "wamid.r1", now_secs(), "support"))
        .await;
    admin
        .webhook(&user_text(
            user,
            "wamid.r2",
            now_secs(),
            "My timetable is wrong",
        ))
        .await;
    admin.wait_messages(user, |m| m.len() >= 3).await;
    let send = format!("/api/admin/conversations/{user}/chat-support/send");
    let (status, body) = admin
        .post(&send, serde_json::json!({"text": "Let me look."}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/end"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    admin
        .webhook(&user_text(user, "wamid.r3", now_secs(), "5"))
        .await;

    let today = Day::of(now_ms());
    let started = Instant::now();
    let report = loop {
        let (status, report) = admin
            .get(&format!("/api/admin/reports?from={today}&to={today}"))
            .await;
        assert_eq!(status, 200, "{report}");
        let day = &report["days"][0];
        if day["csat_count"] == 1
            && day["chats_ended"] == 1
            && day["messages_out"].as_u64() >= Some(3)
        {
            break report;
        }
        assert!(started.elapsed() < E2E_WAIT, "figures never came: {report}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let day = &report["days"][0];
    assert_eq!(day["chats_started"], 1);
    assert_eq!(day["messages_in"], 3, "support, the question, the rating");
    assert!(day["first_response_p50_s"].as_f64().is_some(), "{day}");
    assert!(day["resolution_p50_s"].as_f64().is_some(), "{day}");
    assert_eq!(day["csat_average"], 5.0);
    assert_eq!(
        report["admins"],
        serde_json::json!([{"admin": ADMIN, "chats_handled": 1,
            "first_response_p50_s": day["first_response_p50_s"], "csat_average": 5.0}])
    );
}

/// A user's three messages, stored and answered but not counted (the harness runs no
/// push): the messages in and the messages Meta accepted.
async fn uncounted_chat(h: &Harness, raw: &str) -> (usize, usize) {
    user_says(h, raw, "Hello").await;
    user_says(h, raw, "support").await;
    user_says(h, raw, "Are you there?").await;
    let history = history(h, raw).await;
    let ins = history
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .count();
    let outs = history
        .iter()
        .filter(|m| m.wamid.is_some() && m.direction == Direction::Outbound)
        .count();
    assert_eq!(ins, 3);
    assert!(outs >= 3, "welcome, menu, acknowledgement: {history:#?}");
    (ins, outs)
}

/// Today's report says one chat started, `ins` messages in and `outs` out.
async fn assert_todays_figures(h: &Harness, token: &str, ins: usize, outs: usize) {
    let today = Day::of(now_ms());
    let (_, report) = get(
        &h.ctx,
        &format!("/api/admin/reports?from={today}&to={today}"),
        token,
    )
    .await;
    let day = &report["days"][0];
    assert_eq!(day["chats_started"], 1);
    assert_eq!(day["messages_in"], ins);
    assert_eq!(day["messages_out"], outs);
}

#[tokio::test]
async fn the_backfill_counts_what_was_stored_before_once_and_no_more() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    // Stored without the stream's counting: as before reports.
    let (ins, outs) = uncounted_chat(&h, "447700900444").await;

    let mut pages = 0;
    let done = h
        .ctx
        .store
        .backfill_figures(now_ms(), |_| pages += 1)
        .await
        .unwrap();
    assert!(pages >= 1);
    // One session started, every message in and every message Meta accepted.
    assert_eq!(done.events_found, (1 + ins + outs) as u64, "{done:?}");
    assert_eq!(done.events_counted, done.events_found);
    let again = h
        .ctx
        .store
        .backfill_figures(now_ms(), |_| {})
        .await
        .unwrap();
    assert_eq!(again.events_found, done.events_found);
    assert_eq!(again.events_counted, 0, "a second run counts nothing");

    assert_todays_figures(&h, &token, ins, outs).await;
}

/// The whole of each shard of the harness table's stream, as Lambda's on-failure message
/// would name it (one message per shard), with the shard's records.
async fn failed_batches(h: &Harness) -> Vec<(FailedBatch, Vec<String>)> {
    let endpoint = dynamodb_endpoint().await;
    let table = edubot_local::dynamodb_client(&endpoint)
        .describe_table()
        .table_name(&h.ctx.config.table_name)
        .send()
        .await
        .unwrap();
    let stream_arn = table.table.unwrap().latest_stream_arn.unwrap();
    let streams = edubot_local::streams_client(&endpoint);
    let shards = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap_or_default();
    let mut batches = Vec::new();
    for shard in shards {
        let shard_id = shard.shard_id.unwrap();
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(&shard_id)
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        let mut sequence_numbers = Vec::new();
        while let Some(it) = iterator {
            let out = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .unwrap();
            let read = out.records.unwrap_or_default();
            if read.is_empty() {
                break;
            }
            sequence_numbers.extend(
                read.iter()
                    .map(|r| r.dynamodb().unwrap().sequence_number().unwrap().to_owned()),
            );
            iterator = out.next_shard_iterator;
        }
        if sequence_numbers.is_empty() {
            continue;
        }
        let message = serde_json::json!({
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
            "version": "1.0",
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": sequence_numbers.first(),
                "endSequenceNumber": sequence_numbers.last(),
                "batchSize": sequence_numbers.len(),
                "streamArn": stream_arn,
            }
        });
        let batch = FailedBatch::from_failure_message(&message.to_string()).unwrap();
        batches.push((batch, sequence_numbers));
    }
    batches
}

#[tokio::test]
async fn a_batch_push_gave_up_on_is_recounted_from_the_stream_once() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    // Every figure event of this chat is as if push gave up on it.
    let (ins, outs) = uncounted_chat(&h, "447700900555").await;
    let endpoint = dynamodb_endpoint().await;
    let streams = edubot_local::streams_client(&endpoint);
    let batches = failed_batches(&h).await;
    assert!(!batches.is_empty(), "the chat left records in the stream");

    // Part of a batch first, ending between two records (sequence numbers are numbers, not
    // consecutive): only the records up to its end are read.
    let (whole, sequence_numbers) = &batches[0];
    let half = sequence_numbers.len() / 2;
    let next: u128 = sequence_numbers[half + 1].parse().unwrap();
    let mut part = whole.clone();
    part.end_sequence_number = (next - 1).to_string();
    let first = recount(&streams, &h.ctx.store, &part).await.unwrap();
    assert_eq!(first.records, half + 1);

    let mut counted = first.counted;
    let mut records = 0;
    for (batch, _) in &batches {
        let r = recount(&streams, &h.ctx.store, batch).await.unwrap();
        records += r.records;
        counted += r.counted;
    }
    assert_eq!(
        records,
        batches.iter().map(|(_, s)| s.len()).sum::<usize>(),
        "every record of every batch read"
    );
    // The session started, every message in, every message Meta accepted: each once,
    // though the first part was read twice.
    assert_eq!(counted, 1 + ins + outs);
    for (batch, _) in &batches {
        let again = recount(&streams, &h.ctx.store, batch).await.unwrap();
        assert_eq!(again.counted, 0, "a second recount counts nothing");
        assert!(again.figure_events > 0);
    }
    assert_todays_figures(&h, &token, ins, outs).await;

    // A batch the stream does not hold is refused with why; nothing is counted.
    let mut gone = whole.clone();
    gone.shard_id = "shardId-00000000000000000000-00000000".into();
    let problem = recount(&streams, &h.ctx.store, &gone).await.unwrap_err();
    assert!(problem.contains("kept 24 hours"), "{problem}");
}
