//! Read receipts, typing, replies and reactions (docs/templates.md): once per message, at
//! most once per 20 s, the quoted message both ways, a reaction on its target and never a
//! turn. Against DynamoDB Local and the Graph API stand-in, through the real handlers.

mod handler_kit;

use edubot_adapters::model::ConversationState;
use edubot_e2e::*;
use handler_kit::*;
use serde_json::{json, Value};

const ADA: &str = "447700900123";

async fn read(h: &Harness, token: &str, phone: &str) -> (u16, Value) {
    post(
        &h.ctx,
        &format!("/api/admin/conversations/{phone}/read"),
        token,
        None,
    )
    .await
}

async fn typing(h: &Harness, token: &str, phone: &str) -> u16 {
    let response = call(
        &h.ctx,
        http::Method::POST,
        &format!("/api/admin/conversations/{phone}/typing"),
        Some(token),
        None,
    )
    .await;
    response.status().as_u16()
}

/// Ada in chat support, having written `texts` to the desk; answers their wamids.
async fn ada_writes(h: &Harness, texts: &[&str]) -> Vec<String> {
    let mut wamids = Vec::new();
    for text in texts {
        let wamid = new_wamid();
        assert_eq!(
            post_webhook(h, &user_text(ADA, &wamid, now_secs(), text)).await,
            200
        );
        process(h).await;
        wamids.push(wamid);
    }
    wamids
}

/// A user message carrying more than its type (a `context`, a reaction).
fn ada_sends(wamid: &str, timestamp_secs: i64, message: Value) -> Value {
    edubot_local::simulator::user_message_payload(
        PHONE_NUMBER_ID,
        ADA,
        "Ada Student",
        wamid,
        timestamp_secs,
        message,
    )
}

fn reaction(target_wamid: &str, emoji: &str) -> Value {
    json!({"type": "reaction", "reaction": {"message_id": target_wamid, "emoji": emoji}})
}

/// A desk with Ada in chat support and her two messages unread.
async fn desk() -> (Harness, String, Vec<String>) {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let mut wamids = ada_writes(&h, &["support"]).await;
    wamids.extend(ada_writes(&h, &["Is the fee due today?"]).await);
    assert_eq!(conversation(&h, ADA).await.unwrap().unread_count, 2);
    (h, token, wamids)
}

#[tokio::test]
async fn reading_marks_the_newest_message_read_once_and_zeroes_the_unread_count() {
    let (h, token, wamids) = desk().await;
    let (status, body) = read(&h, &token, ADA).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["unread_count"], 0);
    assert_eq!(conversation(&h, ADA).await.unwrap().unread_count, 0);
    assert_eq!(h.graph.read_marks(), [(wamids[1].clone(), false)]);
    let request = h
        .graph
        .sends()
        .into_iter()
        .find(|s| s.body["status"] == "read")
        .unwrap();
    assert_eq!(
        request.body,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamids[1]})
    );

    // The page calls it on every poll: the same message is never marked twice.
    for _ in 0..3 {
        assert_eq!(read(&h, &token, ADA).await.0, 200);
    }
    let (_, results) =
        futures_util::future::join(read(&h, &token, ADA), read(&h, &token, ADA)).await;
    assert_eq!(results.0, 200);
    assert_eq!(h.graph.read_marks().len(), 1);

    let newer = ada_writes(&h, &["Hello?"]).await;
    assert_eq!(conversation(&h, ADA).await.unwrap().unread_count, 1);
    read(&h, &token, ADA).await;
    assert_eq!(
        h.graph.read_marks(),
        [(wamids[1].clone(), false), (newer[0].clone(), false)]
    );
}

#[tokio::test]
async fn a_read_receipt_whatsapp_refuses_is_tried_again_on_the_next_read() {
    let (h, token, wamids) = desk().await;
    h.graph.script(Scripted::ServerError(500));
    let (status, body) = read(&h, &token, ADA).await;
    assert_eq!(status, 200, "the unread count still goes to 0: {body}");
    assert_eq!(body["conversation"]["unread_count"], 0);
    read(&h, &token, ADA).await;
    read(&h, &token, ADA).await;
    assert_eq!(
        h.graph.read_marks(),
        [(wamids[1].clone(), false), (wamids[1].clone(), false)],
        "the refused one, then one that went through, then none"
    );
}

#[tokio::test]
async fn typing_is_shown_at_most_once_per_20_seconds_per_conversation() {
    let (h, token, wamids) = desk().await;
    let statuses = futures_util::future::join_all((0..5).map(|_| typing(&h, &token, ADA))).await;
    assert_eq!(statuses, [204; 5]);
    assert_eq!(typing(&h, &token, ADA).await, 204);
    assert_eq!(
        h.graph.read_marks(),
        [(wamids[1].clone(), true)],
        "one indicator for six calls"
    );
    let request = h
        .graph
        .sends()
        .into_iter()
        .find(|s| s.body["status"] == "read")
        .unwrap();
    assert_eq!(request.body["typing_indicator"], json!({"type": "text"}));
    // The indicator marked the message read: a read call does not mark it again.
    read(&h, &token, ADA).await;
    assert_eq!(h.graph.read_marks().len(), 1);
}

#[tokio::test]
async fn nothing_is_shown_to_a_user_whose_window_is_closed_or_who_opted_out() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says_at(&h, ADA, "support", now_secs() - 25 * HOUR_SECS).await;
    assert_eq!(typing(&h, &token, ADA).await, 204);
    user_says(&h, "447700900456", "STOP").await;
    assert_eq!(typing(&h, &token, "447700900456").await, 204);
    assert_eq!(read(&h, &token, "447700900456").await.0, 200);
    assert!(
        h.graph.read_marks().is_empty(),
        "{:?}",
        h.graph.read_marks()
    );
    assert_eq!(read(&h, &token, "447700900999").await.0, 404);
    assert_eq!(typing(&h, &token, "447700900999").await, 404);
    assert_eq!(typing(&h, &token, "12ab").await, 400);
}

#[tokio::test]
async fn a_users_reply_keeps_what_it_answers_and_an_admins_reply_quotes_it_on_whatsapp() {
    let (h, token, wamids) = desk().await;
    // The bot's acknowledgement of "support" has a wamid; Ada replies to it.
    let ack = h.graph.sends_to(ADA)[0].clone();
    let quoted = ada_sends(
        &new_wamid(),
        now_secs(),
        json!({"type": "text", "text": {"body": "About this"},
               "context": {"from": "15550000000", "id": ack.wamid.clone().unwrap()}}),
    );
    assert_eq!(post_webhook(&h, &quoted).await, 200);
    process(&h).await;
    let (_, page) = admin_history(&h, &token, ADA, "").await;
    let messages = page["messages"].as_array().unwrap();
    let ack_id = messages
        .iter()
        .find(|m| m["wamid"] == ack.wamid.clone().unwrap())
        .unwrap()["id"]
        .clone();
    let reply = messages.iter().find(|m| m["text"] == "About this").unwrap();
    assert_eq!(reply["reply_to"], ack_id, "{reply}");
    let unknown = messages
        .iter()
        .find(|m| m["text"] == "Is the fee due today?")
        .unwrap();
    assert_eq!(unknown["reply_to"], Value::Null);

    // The admin answers Ada's question, quoting it.
    let question_id = unknown["id"].as_str().unwrap();
    let (status, body) = post(
        &h.ctx,
        &format!("/api/admin/conversations/{ADA}/chat-support/send"),
        &token,
        Some(&json!({"text": "Yes, today.", "reply_to": question_id})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["reply_to"], question_id);
    let sent = h.graph.sends_to(ADA).pop().unwrap();
    assert_eq!(sent.body["context"], json!({"message_id": wamids[1]}));
}

#[tokio::test]
async fn a_reply_to_a_message_whatsapp_does_not_know_is_refused_with_nothing_sent() {
    let (h, token, _) = desk().await;
    // A reply WhatsApp refused has no wamid: nothing can quote it.
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131026,
        details: "Message undeliverable",
    });
    let (status, _) = admin_send(&h, &token, ADA, "First try").await;
    assert_eq!(status, 502);
    let note = history(&h, ADA).await.pop().unwrap();
    assert_eq!(note.wamid, None);
    let sends = h.graph.sends().len();
    let stored = history(&h, ADA).await.len();
    for (reply_to, why) in [
        (json!("01JZZZZZZZZZZZZZZZZZZZZZZZ"), "unknown id"),
        (json!(note.id), "no wamid"),
        (json!("../../#META"), "not an id"),
        (json!(7), "not a string"),
    ] {
        let (status, body) = post(
            &h.ctx,
            &format!("/api/admin/conversations/{ADA}/chat-support/send"),
            &token,
            Some(&json!({"text": "Yes", "reply_to": reply_to})),
        )
        .await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_request"),
            "{why}: {body}"
        );
    }
    // Another conversation's message is unknown in this one.
    user_says(&h, "447700900456", "support").await;
    let bobs = history(&h, "447700900456")
        .await
        .into_iter()
        .find(|m| m.wamid.is_some())
        .unwrap();
    let (status, _) = post(
        &h.ctx,
        &format!("/api/admin/conversations/{ADA}/chat-support/send"),
        &token,
        Some(&json!({"text": "Yes", "reply_to": bobs.id})),
    )
    .await;
    assert_eq!(status, 400, "another conversation's message");
    assert_eq!(
        h.graph.sends().len(),
        sends + 1,
        "only Bob's acknowledgement was sent"
    );
    assert_eq!(
        history(&h, ADA).await.len(),
        stored,
        "nothing stored for Ada"
    );
}

#[tokio::test]
async fn a_reaction_shows_on_its_target_and_is_never_a_turn() {
    let (h, token, _) = desk().await;
    let (status, body) = admin_send(&h, &token, ADA, "Yes, today.").await;
    assert_eq!(status, 201, "{body}");
    let answer_id = body["message"]["id"].as_str().unwrap().to_owned();
    let answer_wamid = body["message"]["wamid"].as_str().unwrap().to_owned();
    let before = conversation(&h, ADA).await.unwrap();
    let sends = h.graph.sends().len();

    let thumbs = ada_sends(&new_wamid(), now_secs(), reaction(&answer_wamid, "👍"));
    assert_eq!(post_webhook(&h, &thumbs).await, 200);
    assert_eq!(post_webhook(&h, &thumbs).await, 200, "a redelivery");
    process(&h).await;
    let reactions_on_answer = |page: &Value| {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == answer_id.as_str())
            .unwrap()["reactions"]
            .clone()
    };
    let (_, page) = admin_history(&h, &token, ADA, "").await;
    assert_eq!(
        reactions_on_answer(&page),
        json!([{"emoji": "👍", "author": "user"}])
    );
    let stored: Vec<&Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reaction")
        .collect();
    assert_eq!(stored.len(), 1, "stored once");
    assert_eq!(
        (stored[0]["reply_to"].as_str(), stored[0]["text"].as_str()),
        (Some(answer_id.as_str()), Some("👍"))
    );

    let after = conversation(&h, ADA).await.unwrap();
    assert_eq!(h.graph.sends().len(), sends, "no bot reply");
    assert_eq!(after.unread_count, before.unread_count, "not unread");
    assert_eq!(after.waiting_since, before.waiting_since, "no wait");
    assert_eq!(after.state, ConversationState::ChatSupportActive);

    // Changed, then removed; a late delivery of an older reaction changes nothing.
    let later = now_secs() + 5;
    let heart = ada_sends(&new_wamid(), later, reaction(&answer_wamid, "❤️"));
    let removed = ada_sends(&new_wamid(), later + 5, reaction(&answer_wamid, ""));
    let stale = ada_sends(&new_wamid(), later - 100, reaction(&answer_wamid, "😂"));
    for payload in [&heart, &removed, &stale] {
        assert_eq!(post_webhook(&h, payload).await, 200);
    }
    let (_, page) = admin_history(&h, &token, ADA, "").await;
    assert_eq!(
        reactions_on_answer(&page),
        json!([]),
        "removed, and the stale one ignored"
    );
    let removal = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reaction")
        .nth(2)
        .unwrap()
        .clone();
    assert_eq!(removal["text"], Value::Null, "a removal has no emoji");

    // A reaction to a message we never had is kept, pointing at nothing.
    let unknown = ada_sends(&new_wamid(), now_secs(), reaction("wamid.UNKNOWN", "👍"));
    assert_eq!(post_webhook(&h, &unknown).await, 200);
    let last = history(&h, ADA).await.pop().unwrap();
    assert_eq!((last.kind.as_str(), last.reply_to), ("reaction", None));
}

#[tokio::test]
async fn a_read_during_a_burst_never_loses_and_a_stale_writer_decides_again() {
    use edubot_adapters::store::{CommitError, ConversationStore};
    let (h, token, _) = desk().await;
    // A writer (the processor) read the conversation before the admin read the chat.
    let mut stale = conversation(&h, ADA).await.unwrap();
    let (status, body) = read(&h, &token, ADA).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["unread_count"], 0);
    let read_version = conversation(&h, ADA).await.unwrap().version;
    assert_eq!(
        read_version,
        stale.version + 1,
        "reading moves the version on"
    );
    // Its commit, decided on what it read (3 unread), is refused: it decides again.
    stale.unread_count = 3;
    let refused = h
        .ctx
        .store
        .commit(&stale, None, &[], edubot_adapters::time::now_ms())
        .await;
    assert!(matches!(refused, Err(CommitError::Conflict)), "{refused:?}");
    assert_eq!(conversation(&h, ADA).await.unwrap().unread_count, 0);
    // Reading while the user writes: every read answers 200, the count ends at what came
    // after the last read.
    let reads = async {
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(read(&h, &token, ADA).await.0);
        }
        statuses
    };
    let (statuses, _) = futures_util::join!(reads, ada_writes(&h, &["one", "two", "three"]));
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (status, _) = read(&h, &token, ADA).await;
    assert_eq!(status, 200);
    assert_eq!(conversation(&h, ADA).await.unwrap().unread_count, 0);
}
