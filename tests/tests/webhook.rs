//! The webhook handler (`GET`/`POST /webhook`) against DynamoDB Local: verification,
//! signatures, limits, idempotent storage and status updates (docs/architecture.md).

mod handler_kit;

use edubot_adapters::model::{Direction, MessageError, MessageStatus};
use edubot_adapters::whatsapp::signature;
use edubot_app::ports::OutboxStore;
use edubot_e2e::*;
use handler_kit::*;
use http::Method;
use serde_json::{json, Value};

const ADA: &str = "447700900123";
const BOB: &str = "447700900456";

async fn get_webhook(h: &Harness, query: &str) -> lambda_http::Response<lambda_http::Body> {
    webhook::handle(
        &h.ctx,
        api_request(Method::GET, &format!("/webhook{query}"), &[], b""),
    )
    .await
}

async fn post_raw(h: &Harness, body: &[u8], signature_header: Option<&str>) -> (u16, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(sig) = signature_header {
        headers.push(("x-hub-signature-256", sig));
    }
    json_of(
        webhook::handle(
            &h.ctx,
            api_request(Method::POST, "/webhook", &headers, body),
        )
        .await,
    )
}

/// Nothing at all was stored for `phone`: no message, nothing waiting for the processor.
async fn assert_nothing_stored(h: &Harness, raw_phone: &str) {
    assert!(
        history(h, raw_phone).await.is_empty(),
        "no message stored for {raw_phone}"
    );
    assert!(
        h.stream_event_for_unprocessed().await.records.is_empty(),
        "nothing unprocessed"
    );
}

/// Ada says hello and the bot answers (welcome + menu, both sent): the wamids of the replies.
async fn outbound_wamids(h: &Harness) -> Vec<String> {
    user_says(h, ADA, "hello").await;
    let outbound: Vec<String> = history(h, ADA)
        .await
        .into_iter()
        .filter(|m| m.direction == Direction::Outbound)
        .map(|m| {
            assert_eq!(m.status, MessageStatus::Sent);
            m.wamid.expect("a sent message has its wamid")
        })
        .collect();
    assert_eq!(outbound.len(), 2);
    outbound
}

async fn status_of(h: &Harness, wamid: &str) -> (MessageStatus, Option<MessageError>) {
    let m = history(h, ADA)
        .await
        .into_iter()
        .find(|m| m.wamid.as_deref() == Some(wamid))
        .expect("message with wamid");
    (m.status, m.error)
}

#[tokio::test]
async fn verification_echoes_the_challenge_for_the_right_token() {
    let h = Harness::new().await;
    let response = get_webhook(
        &h,
        "?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1158201444",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(&response), "1158201444");

    let response = get_webhook(
        &h,
        "?hub.challenge=abc-XYZ_42&hub.verify_token=test-verify-token&hub.mode=subscribe",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(&response), "abc-XYZ_42");
}

#[tokio::test]
async fn verification_refuses_a_wrong_or_missing_token_or_mode() {
    let h = Harness::new().await;
    for query in [
        "?hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=42",
        "?hub.mode=subscribe&hub.verify_token=test-verify-toke&hub.challenge=42",
        "?hub.mode=subscribe&hub.verify_token=test-verify-token-&hub.challenge=42",
        "?hub.mode=subscribe&hub.verify_token=&hub.challenge=42",
        "?hub.mode=subscribe&hub.challenge=42",
        "?hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=42",
        "?hub.verify_token=test-verify-token&hub.challenge=42",
        "",
    ] {
        let response = get_webhook(&h, query).await;
        assert_eq!(response.status(), 403, "{query}");
        assert!(
            !body_text(&response).contains("42"),
            "{query}: the challenge is not echoed"
        );
    }
}

#[tokio::test]
async fn a_post_without_signature_is_refused_and_nothing_is_stored() {
    let h = Harness::new().await;
    let body = user_text(ADA, &new_wamid(), now_secs(), "hello").to_string();
    let (status, json) = post_raw(&h, body.as_bytes(), None).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&json), "unauthorized");
    assert_nothing_stored(&h, ADA).await;
}

#[tokio::test]
async fn a_wrong_signature_or_a_body_changed_after_signing_is_refused() {
    let h = Harness::new().await;
    let body = user_text(ADA, &new_wamid(), now_secs(), "hello").to_string();
    let good = signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let tampered = body.replace("hello", "hellp");
    assert_ne!(tampered, body);
    let other_secret = signature::sign(b"another-app-secret", body.as_bytes());
    let bare_hex = good.trim_start_matches("sha256=").to_owned();
    let as_sha1 = good.replace("sha256=", "sha1=");
    let zeros = format!("sha256={}", "0".repeat(64));
    let cases: [(&str, &str, &str); 6] = [
        ("tampered body", &tampered, &good),
        ("other secret", &body, &other_secret),
        ("no sha256= prefix", &body, &bare_hex),
        ("sha1 prefix", &body, &as_sha1),
        ("zeros", &body, &zeros),
        ("not hex", &body, "sha256=not-hex-at-all"),
    ];
    for (what, body, sig) in cases {
        let (status, json) = post_raw(&h, body.as_bytes(), Some(sig)).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(error_code(&json), "unauthorized", "{what}");
    }
    assert_nothing_stored(&h, ADA).await;

    // The same body with its right signature is accepted: the refusals were the signature's.
    let (status, _) = post_raw(&h, body.as_bytes(), Some(&good)).await;
    assert_eq!(status, 200);
    assert_eq!(history(&h, ADA).await.len(), 1);
}

#[tokio::test]
async fn malformed_json_with_a_valid_signature_is_a_bad_request() {
    let h = Harness::new().await;
    for body in [
        "{not json",
        "{\"entry\": 3}",
        "{\"entry\": [{\"changes\": [{\"value\": 5}]}]}",
        "",
        "\"just a string\"",
    ] {
        let sig = signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
        let (status, json) = post_raw(&h, body.as_bytes(), Some(&sig)).await;
        assert_eq!(status, 400, "{body:?}");
        assert_eq!(error_code(&json), "invalid_request", "{body:?}");
    }
    assert!(h.stream_event_for_unprocessed().await.records.is_empty());
}

#[tokio::test]
async fn a_body_over_3_mb_is_refused_with_413() {
    let h = Harness::new().await;
    let padding = "x".repeat(3 * 1024 * 1024);
    let payload = user_text(ADA, &new_wamid(), now_secs(), &padding);
    let body = payload.to_string();
    assert!(body.len() > 3 * 1024 * 1024);
    let sig = signature::sign(APP_SECRET.as_bytes(), body.as_bytes());
    let (status, json) = post_raw(&h, body.as_bytes(), Some(&sig)).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&json), "too_large");
    assert_nothing_stored(&h, ADA).await;
}

#[tokio::test]
async fn several_messages_and_statuses_in_one_post_are_all_recorded() {
    let h = Harness::new().await;
    let wamids = outbound_wamids(&h).await;
    let sends_before = h.graph.sends().len();
    let ts = now_secs();
    let (ada_1, bob_1, bob_2) = (new_wamid(), new_wamid(), new_wamid());
    let payload = webhook_with_changes(vec![
        (
            PHONE_NUMBER_ID,
            json!({
                "contacts": [{"profile": {"name": "Ada Student"}, "wa_id": ADA}, {"profile": {"name": "Bob Parent"}, "wa_id": BOB}],
                "messages": [text_message(ADA, &ada_1, ts, "first"), text_message(BOB, &bob_1, ts, "second")],
                "statuses": [status_object(&wamids[0], "delivered", ADA)],
            }),
        ),
        (
            PHONE_NUMBER_ID,
            json!({
                "contacts": [{"profile": {"name": "Bob Parent"}, "wa_id": BOB}],
                "messages": [{"from": BOB, "id": bob_2, "timestamp": ts.to_string(), "type": "image",
                              "image": {"id": "media-1", "mime_type": "image/jpeg", "caption": "my form"}}],
                "statuses": [status_object(&wamids[1], "read", ADA)],
            }),
        ),
    ]);
    assert_eq!(post_webhook(&h, &payload).await, 200);

    let ada = history(&h, ADA).await;
    let ada_inbound: Vec<_> = ada
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .collect();
    assert_eq!(ada_inbound.len(), 2);
    assert_eq!(ada_inbound[1].wamid.as_deref(), Some(ada_1.as_str()));
    assert_eq!(ada_inbound[1].text.as_deref(), Some("first"));
    assert_eq!(ada_inbound[1].status, MessageStatus::Received);
    assert_eq!(
        ada_inbound[1].sent_at,
        Some(ts * 1000),
        "sent_at is the user's own timestamp"
    );
    assert_eq!(status_of(&h, &wamids[0]).await.0, MessageStatus::Delivered);
    assert_eq!(status_of(&h, &wamids[1]).await.0, MessageStatus::Read);

    let bob = history(&h, BOB).await;
    assert_eq!(bob.len(), 2);
    assert_eq!(bob[0].wamid.as_deref(), Some(bob_1.as_str()));
    assert_eq!(bob[0].profile_name.as_deref(), Some("Bob Parent"));
    assert_eq!(
        (bob[1].kind.as_str(), bob[1].text.as_deref()),
        ("image", Some("[image] my form"))
    );
    assert_eq!(h.stream_event_for_unprocessed().await.records.len(), 3);
    assert_eq!(
        h.graph.sends().len(),
        sends_before,
        "the webhook never calls the Graph API"
    );

    // The processor then greets Bob by his profile name.
    assert!(process(&h).await.batch_item_failures.is_empty());
    assert_eq!(
        conversation(&h, BOB).await.unwrap().name.as_deref(),
        Some("Bob Parent")
    );
}

#[tokio::test]
async fn the_same_wamid_delivered_twice_is_stored_once() {
    let h = Harness::new().await;
    let wamid = new_wamid();
    let payload = user_text(ADA, &wamid, now_secs(), "hello");
    assert_eq!(post_webhook(&h, &payload).await, 200);
    assert_eq!(
        post_webhook(&h, &payload).await,
        200,
        "a redelivery is acknowledged"
    );
    let stored = history(&h, ADA).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].wamid.as_deref(), Some(wamid.as_str()));
    assert_eq!(h.stream_event_for_unprocessed().await.records.len(), 1);

    // Twice in one POST, and again after it was processed: still once, no second reply.
    let twice = our_change(json!({
        "messages": [text_message(ADA, &wamid, now_secs(), "hello"), text_message(ADA, &wamid, now_secs(), "hello")]
    }));
    assert_eq!(post_webhook(&h, &twice).await, 200);
    assert!(process(&h).await.batch_item_failures.is_empty());
    let replies = h.graph.sends_to(ADA).len();
    assert_eq!(replies, 2, "welcome and menu");
    assert_eq!(post_webhook(&h, &payload).await, 200);
    assert!(h.stream_event_for_unprocessed().await.records.is_empty());
    assert!(process(&h).await.batch_item_failures.is_empty());
    assert_eq!(h.graph.sends_to(ADA).len(), replies);
    assert_eq!(
        history(&h, ADA)
            .await
            .iter()
            .filter(|m| m.direction == Direction::Inbound)
            .count(),
        1
    );
}

#[tokio::test]
async fn an_unknown_message_type_is_stored_with_its_kind() {
    let h = Harness::new().await;
    let payload = edubot_local::simulator::user_message_payload(
        PHONE_NUMBER_ID,
        ADA,
        "Ada Student",
        &new_wamid(),
        now_secs(),
        json!({"type": "hologram", "hologram": {"depth": 3}}),
    );
    assert_eq!(post_webhook(&h, &payload).await, 200);
    let stored = history(&h, ADA).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kind, "hologram");
    assert_eq!(stored[0].text.as_deref(), Some("[hologram message]"));
    assert_eq!(stored[0].direction, Direction::Inbound);

    // Shown to the desk with its kind, and the user is not met with silence.
    let token = h.admin_token().await;
    assert!(process(&h).await.batch_item_failures.is_empty());
    let (status, json) = admin_history(&h, &token, ADA, "").await;
    assert_eq!(status, 200);
    assert_eq!(json["messages"][0]["kind"], "hologram");
    assert!(!h.graph.sends_to(ADA).is_empty());
}

#[tokio::test]
async fn a_change_for_another_phone_number_id_is_acknowledged_and_ignored() {
    let h = Harness::new().await;
    let foreign = edubot_local::simulator::user_message_payload(
        "999999999999999",
        ADA,
        "Ada Student",
        &new_wamid(),
        now_secs(),
        json!({"type": "text", "text": {"body": "hello"}}),
    );
    assert_eq!(post_webhook(&h, &foreign).await, 200);
    assert_nothing_stored(&h, ADA).await;

    // In a POST mixing both, only our change is recorded.
    let ours = new_wamid();
    let mixed = webhook_with_changes(vec![
        (
            "999999999999999",
            json!({"messages": [text_message(BOB, &new_wamid(), now_secs(), "not ours")]}),
        ),
        (
            PHONE_NUMBER_ID,
            json!({"messages": [text_message(ADA, &ours, now_secs(), "ours")]}),
        ),
    ]);
    assert_eq!(post_webhook(&h, &mixed).await, 200);
    assert!(history(&h, BOB).await.is_empty());
    let ada = history(&h, ADA).await;
    assert_eq!(ada.len(), 1);
    assert_eq!(ada[0].wamid.as_deref(), Some(ours.as_str()));
    assert!(h.graph.sends().is_empty());
}

#[tokio::test]
async fn statuses_never_move_backwards() {
    let h = Harness::new().await;
    let wamids = outbound_wamids(&h).await;
    let (first, second) = (&wamids[0], &wamids[1]);

    assert_eq!(
        post_webhook(&h, &status(first, "read", ADA, None)).await,
        200
    );
    assert_eq!(status_of(&h, first).await.0, MessageStatus::Read);
    for late in ["delivered", "sent", "failed"] {
        assert_eq!(
            post_webhook(&h, &status(first, late, ADA, None)).await,
            200,
            "{late}"
        );
        assert_eq!(
            status_of(&h, first).await,
            (MessageStatus::Read, None),
            "read stays read after a late {late}"
        );
    }

    // Forward moves are applied one by one.
    assert_eq!(
        post_webhook(&h, &status(second, "delivered", ADA, None)).await,
        200
    );
    assert_eq!(status_of(&h, second).await.0, MessageStatus::Delivered);
    assert_eq!(
        post_webhook(&h, &status(second, "sent", ADA, None)).await,
        200
    );
    assert_eq!(status_of(&h, second).await.0, MessageStatus::Delivered);
    assert_eq!(
        post_webhook(&h, &status(second, "read", ADA, None)).await,
        200
    );
    assert_eq!(status_of(&h, second).await.0, MessageStatus::Read);

    // A status for a wamid we never sent is acknowledged and changes nothing.
    assert_eq!(
        post_webhook(&h, &status(&new_wamid(), "read", ADA, None)).await,
        200
    );
    assert_eq!(history(&h, ADA).await.len(), 3);
}

#[tokio::test]
async fn a_failed_status_stores_metas_code_and_title() {
    let h = Harness::new().await;
    let wamids = outbound_wamids(&h).await;
    let mut payload = status(&wamids[1], "failed", ADA, None);
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = json!([{
        "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."}
    }]);
    assert_eq!(post_webhook(&h, &payload).await, 200);
    let expected = MessageError {
        code: "131026".into(),
        title: "Message undeliverable".into(),
    };
    assert_eq!(
        status_of(&h, &wamids[1]).await,
        (MessageStatus::Failed, Some(expected))
    );

    // And the desk sees it.
    let token = h.admin_token().await;
    let (_, json) = admin_history(&h, &token, ADA, "").await;
    let failed = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["wamid"] == wamids[1].as_str())
        .unwrap()
        .clone();
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["error"],
        json!({"code": "131026", "title": "Message undeliverable"})
    );
    // The other message is untouched.
    assert_eq!(status_of(&h, &wamids[0]).await, (MessageStatus::Sent, None));
}

#[tokio::test]
async fn a_status_carrying_our_message_id_settles_a_send_whose_answer_was_lost() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says(&h, ADA, "support").await;
    h.graph.script(Scripted::ServerError(500));
    let (status_code, json) = admin_send(&h, &token, ADA, "Let me check").await;
    assert_eq!(status_code, 202);
    let id = json["message"]["id"].as_str().unwrap().to_owned();
    assert_eq!(json["message"]["status"], "pending");

    // Meta did take it after all: the status webhook names our id in biz_opaque_callback_data.
    let wamid = new_wamid();
    assert_eq!(
        post_webhook(&h, &status(&wamid, "delivered", ADA, Some(&id))).await,
        200
    );
    let settled = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(settled.status, MessageStatus::Delivered);
    assert_eq!(settled.wamid.as_deref(), Some(wamid.as_str()));

    // A callback that is not one of our ids is ignored, and creates nothing.
    assert_eq!(
        post_webhook(&h, &status(&new_wamid(), "read", ADA, Some("not-an-id"))).await,
        200
    );
    let unknown_id = edubot_adapters::model::new_message_id();
    assert_eq!(
        post_webhook(&h, &status(&new_wamid(), "read", ADA, Some(&unknown_id))).await,
        200
    );
    assert!(history(&h, ADA).await.iter().all(|m| m.id != unknown_id));
    assert_eq!(
        history(&h, ADA)
            .await
            .into_iter()
            .find(|m| m.id == id)
            .unwrap()
            .status,
        MessageStatus::Delivered
    );
}

#[tokio::test]
async fn a_sent_mark_overtaken_by_a_status_keeps_the_status_and_still_writes_the_pointer() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says(&h, ADA, "support").await;
    h.graph.script(Scripted::ServerError(500));
    let (_, json) = admin_send(&h, &token, ADA, "Let me check").await;
    let id = json["message"]["id"].as_str().unwrap().to_owned();
    let wamid = new_wamid();
    // The status webhook (found by our id) gets there before the send's answer is recorded.
    assert_eq!(
        post_webhook(&h, &status(&wamid, "delivered", ADA, Some(&id))).await,
        200
    );
    let pending = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    h.ctx
        .store
        .mark_sent(&pending, &wamid, edubot_adapters::time::now_ms())
        .await
        .expect("a late sent mark is not an error");
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(m.status, MessageStatus::Delivered, "not moved back to sent");
    // The pointer was written: a later status without callback data still finds the message.
    assert_eq!(
        post_webhook(&h, &status(&wamid, "read", ADA, None)).await,
        200
    );
    assert_eq!(status_of(&h, &wamid).await.0, MessageStatus::Read);
}

#[tokio::test]
async fn the_webhook_never_calls_the_graph_api() {
    let h = Harness::new().await;
    for text in ["hello", "support", "STOP"] {
        assert_eq!(
            post_webhook(&h, &user_text(ADA, &new_wamid(), now_secs(), text)).await,
            200
        );
    }
    assert_eq!(
        post_webhook(&h, &status(&new_wamid(), "read", ADA, None)).await,
        200
    );
    assert_eq!(history(&h, ADA).await.len(), 3);
    assert!(
        h.graph.sends().is_empty(),
        "only the processor sends: {:?}",
        h.graph.sends()
    );
}

/// Nothing in one POST can fail the others: a message whose id is no WhatsApp id (too long
/// for a key) is left out, an oversized text or raw payload is cut to what a stored item
/// holds, and everything else is stored — with 200, so Meta does not retry for days.
#[tokio::test]
async fn an_unstorable_item_never_fails_the_rest_of_its_post() {
    let h = Harness::new().await;
    let ts = now_secs();
    let (long_text_wamid, image_wamid, normal_wamid) = (new_wamid(), new_wamid(), new_wamid());
    let long_text = "é".repeat(100_000);
    let payload = webhook_with_changes(vec![(
        PHONE_NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": "N".repeat(5_000)}, "wa_id": ADA}],
            "messages": [
                text_message(ADA, &"w".repeat(3_000), ts, "an id no key can hold"),
                text_message(ADA, &long_text_wamid, ts, &long_text),
                {"from": ADA, "id": image_wamid, "timestamp": ts.to_string(), "type": "image",
                 "image": {"id": "media-2", "mime_type": "image/jpeg", "padding": "x".repeat(500_000)}},
                text_message(ADA, &normal_wamid, ts, "and this one"),
            ],
            "statuses": [status_object(&"s".repeat(3_000), "delivered", ADA)],
        }),
    )]);
    assert_eq!(post_webhook(&h, &payload).await, 200);

    let inbound: Vec<_> = history(&h, ADA)
        .await
        .into_iter()
        .filter(|m| m.direction == Direction::Inbound)
        .collect();
    let wamids: Vec<_> = inbound.iter().filter_map(|m| m.wamid.clone()).collect();
    assert_eq!(wamids, [long_text_wamid, image_wamid, normal_wamid]);
    let cut = inbound[0].text.as_deref().unwrap();
    assert_eq!(
        cut.chars().count(),
        4097,
        "4096 characters and the mark of the cut"
    );
    assert!(cut.ends_with('…'));
    assert_eq!(inbound[1].text.as_deref(), Some("[image]"));
    assert_eq!(inbound[2].text.as_deref(), Some("and this one"));
    assert!(inbound[0].profile_name.as_deref().unwrap().chars().count() <= 257);
}
