//! The scheduled checks and outbound reliability (docs/operations.md) against DynamoDB Local and a
//! Graph API stand-in that fails on purpose. Checks run at a chosen `now`, so minutes and
//! hours pass without waiting.

mod handler_kit;

use std::time::{Duration, Instant};

use edubot_adapters::model::{ConversationState, MessageStatus};
use edubot_adapters::time::{now_ms, HOUR, MINUTE, SECOND};
use edubot_app::checks::{run_checks, CheckReport};
use edubot_app::ports::ConversationStore;
use edubot_e2e::{Harness, Scripted};
use handler_kit::*;
use serde_json::json;

const ADA: &str = "447700900201";

async fn checks_at(h: &Harness, now: i64) -> CheckReport {
    run_checks(&h.ctx, now, Instant::now() + Duration::from_secs(30))
        .await
        .expect("checks run")
}

/// Ada in chat support, waiting for an answer; answers the admin token.
async fn in_support(h: &Harness) -> String {
    let token = h.admin_token().await;
    user_says(h, ADA, "hi").await;
    user_chooses(h, ADA, "chat_support", "Chat Support").await;
    token
}

fn texts_sent(h: &Harness) -> Vec<String> {
    h.graph
        .sends_to(ADA)
        .iter()
        .filter_map(|s| s.text().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_scheduled_event_runs_every_check_and_reports() {
    let h = Harness::new().await;
    in_support(&h).await;
    let report = scheduled_checks::handle(&h.ctx, edubot_local::schedule::scheduled_event())
        .await
        .unwrap();
    assert_eq!(report.active_chats, 1);
    assert_eq!(report.waiting_chats, 0, "not yet past the SLA");
}

#[tokio::test]
async fn a_wait_past_the_sla_is_counted_and_an_admin_reply_clears_it() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    let waiting_since = conversation(&h, ADA)
        .await
        .unwrap()
        .waiting_since
        .expect("waiting");
    let report = checks_at(&h, waiting_since + 6 * MINUTE).await;
    assert_eq!((report.active_chats, report.waiting_chats), (1, 1));
    assert!(report.oldest_wait_seconds >= 360);
    assert_eq!(admin_send(&h, &token, ADA, "Hello!").await.0, 201);
    assert_eq!(conversation(&h, ADA).await.unwrap().waiting_since, None);
    let report = checks_at(&h, now_ms() + 6 * MINUTE).await;
    assert_eq!(
        (
            report.active_chats,
            report.waiting_chats,
            report.oldest_wait_seconds
        ),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn the_queue_timeout_notice_is_sent_once_per_wait() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    let wait = conversation(&h, ADA).await.unwrap().waiting_since.unwrap();
    let notice = edubot_adapters::content::content()
        .support_queue_timeout
        .clone();

    assert_eq!(
        checks_at(&h, wait + 14 * MINUTE).await.queue_notices,
        0,
        "not yet"
    );
    assert_eq!(checks_at(&h, wait + 16 * MINUTE).await.queue_notices, 1);
    assert_eq!(
        checks_at(&h, wait + 16 * MINUTE).await.queue_notices,
        0,
        "twice in a minute: nothing more"
    );
    assert_eq!(
        checks_at(&h, wait + 30 * MINUTE).await.queue_notices,
        0,
        "once per wait"
    );
    assert_eq!(texts_sent(&h).iter().filter(|t| **t == notice).count(), 1);
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::ChatSupportActive,
        "still in support"
    );

    // Answered, then a new question: a new wait, a new notice when it is too long.
    assert_eq!(admin_send(&h, &token, ADA, "Looking into it").await.0, 201);
    user_says(&h, ADA, "any news?").await;
    let second = conversation(&h, ADA).await.unwrap().waiting_since.unwrap();
    assert!(second > wait);
    assert_eq!(checks_at(&h, second + 16 * MINUTE).await.queue_notices, 1);
    assert_eq!(texts_sent(&h).iter().filter(|t| **t == notice).count(), 2);
}

#[tokio::test]
async fn an_idle_chat_is_closed_with_a_note_and_no_rating() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    assert_eq!(admin_send(&h, &token, ADA, "Anything else?").await.0, 201);
    let last = conversation(&h, ADA).await.unwrap().last_message_at;

    assert_eq!(
        checks_at(&h, last + HOUR).await.idle_closed,
        0,
        "an hour is not idle"
    );
    let report = checks_at(&h, last + 2 * HOUR + SECOND).await;
    assert_eq!(report.idle_closed, 1);
    assert_eq!(
        checks_at(&h, last + 2 * HOUR + SECOND).await.idle_closed,
        0,
        "idempotent"
    );

    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        (c.state, c.is_chat_support(), c.waiting_since),
        (ConversationState::MainMenu, false, None)
    );
    let messages = history(&h, ADA).await;
    assert!(
        messages
            .iter()
            .any(|m| m.kind == "system"
                && m.text.as_deref().unwrap().contains("closed automatically"))
    );
    let closing = edubot_adapters::content::content()
        .support_closed_idle
        .clone();
    assert_eq!(
        texts_sent(&h).last(),
        Some(&closing),
        "told, and not asked for a rating"
    );
    let (status, body) = admin_send(&h, &token, ADA, "hello?").await;
    assert_eq!((status, error_code(&body)), (409, "not_in_chat_support"));
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_until_sent_once() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    let before = h.graph.sends_to(ADA).len();
    // Refused before Meta took it (a 5xx is no such case: see the next test), twice. (Meta's
    // own throughput codes are first tried again in-line, for a couple of seconds:
    // `a_send_meta_throttles_is_sent_again_after_a_short_wait_not_left_for_the_retries`.)
    h.graph.script(Scripted::ServerError(429));
    h.graph.script(Scripted::ServerError(429));

    let (status, body) = admin_send(&h, &token, ADA, "Your form is approved").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["message"]["status"], "pending");
    let id = body["message"]["id"].as_str().unwrap().to_owned();
    let t0 = now_ms();

    assert_eq!(
        checks_at(&h, t0 + 10 * SECOND).await.retries,
        0,
        "not due before the base delay"
    );
    let second = checks_at(&h, t0 + 31 * SECOND).await;
    assert_eq!(
        (second.retries, second.retries_sent),
        (1, 0),
        "attempt 2 throttled (429)"
    );
    assert_eq!(
        checks_at(&h, t0 + 31 * SECOND).await.retries,
        0,
        "twice in a minute: nothing more"
    );
    assert_eq!(
        checks_at(&h, t0 + 80 * SECOND).await.retries,
        0,
        "backoff doubled: not due yet"
    );
    let third = checks_at(&h, t0 + 95 * SECOND).await;
    assert_eq!((third.retries, third.retries_sent), (1, 1));
    assert_eq!(
        checks_at(&h, t0 + HOUR).await.retries,
        0,
        "sent: never again"
    );

    let attempts = &h.graph.sends_to(ADA)[before..];
    assert_eq!(attempts.len(), 3);
    assert!(attempts
        .iter()
        .all(|s| s.body["biz_opaque_callback_data"] == id.as_str()));
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(
        (m.status, m.attempts, m.error),
        (MessageStatus::Sent, 3, None)
    );
}

#[tokio::test]
async fn retries_stop_after_the_maximum_and_fail_with_the_reason() {
    let h = handler_kit::harness_with(&[("OUTBOUND_MAX_ATTEMPTS", "2")]).await;
    let token = in_support(&h).await;
    h.graph.script(Scripted::ServerError(503));
    h.graph.script(Scripted::ServerError(503));
    let (status, body) = admin_send(&h, &token, ADA, "Hello").await;
    assert_eq!(status, 202);
    let id = body["message"]["id"].as_str().unwrap().to_owned();
    // A 5xx may have reached Meta: retried once its grace (5 minutes) passed with no status.
    let report = checks_at(&h, now_ms() + 6 * MINUTE).await;
    assert_eq!((report.retries, report.permanent_failures), (1, 1));
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(m.status, MessageStatus::Failed);
    let error = m.error.unwrap();
    assert_eq!(error.code, "http_503");
    assert!(
        error.title.contains("gave up after 2 attempts"),
        "{}",
        error.title
    );
    assert_eq!(checks_at(&h, now_ms() + HOUR).await.retries, 0);
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    let before = h.graph.sends_to(ADA).len();
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131026,
        details: "Message undeliverable",
    });
    let (status, body) = admin_send(&h, &token, ADA, "Hello").await;
    assert_eq!((status, error_code(&body)), (502, "whatsapp_error"));
    assert_eq!(
        body["message"]["error"],
        json!({"code": "131026", "title": "Message undeliverable"})
    );
    assert_eq!(checks_at(&h, now_ms() + HOUR).await.retries, 0);
    assert_eq!(h.graph.sends_to(ADA).len(), before + 1);
}

#[tokio::test]
async fn a_send_whose_answer_was_lost_is_settled_by_its_status_and_not_sent_again() {
    let h = handler_kit::harness_with(&[("WHATSAPP_TIMEOUT_SECONDS", "1")]).await;
    let token = in_support(&h).await;
    let before = h.graph.sends_to(ADA).len();
    h.graph
        .script(Scripted::SlowSuccess(Duration::from_millis(2_500)));
    let (status, body) = admin_send(&h, &token, ADA, "Did this arrive?").await;
    assert_eq!(status, 202, "no answer in time: outcome unknown, {body}");
    let id = body["message"]["id"].as_str().unwrap().to_owned();

    // Meta had accepted it: its status webhook carries our id back.
    let accepted = h.graph.sends_to(ADA)[before].clone();
    let wamid = accepted.wamid.expect("the stand-in accepted it");
    assert_eq!(
        post_webhook(&h, &edubot_e2e::status(&wamid, "delivered", ADA, Some(&id))).await,
        200
    );

    assert_eq!(checks_at(&h, now_ms() + 10 * MINUTE).await.retries, 0);
    assert_eq!(h.graph.sends_to(ADA).len(), before + 1, "not sent twice");
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(
        (m.status, m.wamid.as_deref()),
        (MessageStatus::Delivered, Some(wamid.as_str()))
    );
}

#[tokio::test]
async fn a_server_error_may_have_been_accepted_so_it_waits_for_a_status_before_any_retry() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    let before = h.graph.sends_to(ADA).len();
    h.graph.script(Scripted::ServerError(500));
    let (status, body) = admin_send(&h, &token, ADA, "Your certificate is ready").await;
    assert_eq!(status, 202, "{body}");
    let id = body["message"]["id"].as_str().unwrap().to_owned();
    let t0 = now_ms();

    assert_eq!(
        checks_at(&h, t0 + 31 * SECOND).await.retries,
        0,
        "not retried at the backoff's base: Meta may have it"
    );
    // Meta had taken it after all: its status carries our id.
    let status = edubot_e2e::status("wamid.ACCEPTED-DESPITE-500", "delivered", ADA, Some(&id));
    assert_eq!(post_webhook(&h, &status).await, 200);
    assert_eq!(checks_at(&h, t0 + 10 * MINUTE).await.retries, 0);
    assert_eq!(
        h.graph.sends_to(ADA).len(),
        before + 1,
        "the user got it once"
    );
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(m.status, MessageStatus::Delivered);
}

/// A sender that stops after committing its claimed message (a crash, the Lambda timeout,
/// a failed `sent` write after Meta accepted it) leaves it pending: it is retried only after
/// the grace an unknown outcome gets, not when its 60 s claim runs out.
#[tokio::test]
async fn a_send_whose_sender_stopped_waits_for_the_grace_before_a_retry() {
    let h = Harness::new().await;
    in_support(&h).await;
    let before = h.graph.sends_to(ADA).len();
    let current = conversation(&h, ADA).await.unwrap();
    let t0 = now_ms();
    let stranded = edubot_domain::desk::claimed_outbound(
        current.phone.clone(),
        edubot_domain::model::Author::Admin,
        edubot_domain::whatsapp::OutboundBody::text("Sent before the crash?"),
        t0,
    );
    h.ctx
        .store
        .commit(&current, None, std::slice::from_ref(&stranded), t0)
        .await
        .expect("committed; the sender then stops");

    assert_eq!(
        checks_at(&h, t0 + 2 * MINUTE).await.retries,
        0,
        "its claim ran out, but Meta may have it: no retry yet"
    );
    assert_eq!(h.graph.sends_to(ADA).len(), before);
    let later = checks_at(&h, t0 + 6 * MINUTE).await;
    assert_eq!(
        (later.retries, later.retries_sent),
        (1, 1),
        "no status came: sent"
    );
    assert_eq!(h.graph.sends_to(ADA).len(), before + 1);
}

#[tokio::test]
async fn a_lost_answer_with_no_status_is_retried_only_after_the_grace_period() {
    // The one documented case where the user may get a message twice.
    let h = handler_kit::harness_with(&[("WHATSAPP_TIMEOUT_SECONDS", "1")]).await;
    let token = in_support(&h).await;
    let before = h.graph.sends_to(ADA).len();
    h.graph
        .script(Scripted::SlowSuccess(Duration::from_millis(2_500)));
    let (status, _) = admin_send(&h, &token, ADA, "Did this arrive?").await;
    assert_eq!(status, 202);
    let t0 = now_ms();
    assert_eq!(
        checks_at(&h, t0 + 4 * MINUTE).await.retries,
        0,
        "inside the grace period"
    );
    assert_eq!(checks_at(&h, t0 + 6 * MINUTE).await.retries_sent, 1);
    assert_eq!(h.graph.sends_to(ADA).len(), before + 2);
}

#[tokio::test]
async fn a_retry_is_refused_for_good_once_the_user_opted_out() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    h.graph.script(Scripted::ServerError(500));
    let (_, body) = admin_send(&h, &token, ADA, "Hello").await;
    let id = body["message"]["id"].as_str().unwrap().to_owned();
    user_says(&h, ADA, "STOP").await;
    let before = h.graph.sends_to(ADA).len();
    let report = checks_at(&h, now_ms() + 6 * MINUTE).await;
    assert_eq!((report.retries, report.permanent_failures), (1, 1));
    assert_eq!(
        h.graph.sends_to(ADA).len(),
        before,
        "nothing sent after STOP"
    );
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(
        (m.status, m.error.map(|e| e.code)),
        (MessageStatus::Failed, Some("opted_out".to_owned()))
    );
}

#[tokio::test]
async fn messages_the_stream_missed_are_replayed_in_order_once() {
    let h = Harness::new().await;
    for (i, text) in ["hi", "support"].iter().enumerate() {
        let payload = edubot_e2e::user_text(
            ADA,
            &format!("wamid.missed{i}"),
            edubot_e2e::now_secs(),
            text,
        );
        assert_eq!(post_webhook(&h, &payload).await, 200);
    }
    // No stream delivery: only the check can pick them up, and only once they are stale.
    assert_eq!(
        checks_at(&h, now_ms()).await.replayed_conversations,
        0,
        "too fresh: the stream may still come"
    );
    assert_eq!(
        checks_at(&h, now_ms() + 2 * MINUTE)
            .await
            .replayed_conversations,
        1
    );
    assert_eq!(
        checks_at(&h, now_ms() + 2 * MINUTE)
            .await
            .replayed_conversations,
        0,
        "idempotent"
    );
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        c.state,
        ConversationState::ChatSupportActive,
        "hi, then support: in order"
    );
    let ids: Vec<Vec<String>> = h
        .graph
        .sends_to(ADA)
        .iter()
        .map(|s| s.choice_ids())
        .collect();
    assert_eq!(ids.len(), 3, "welcome, menu, acknowledgement: {ids:?}");
    assert_eq!(ids[2], ["end_chat"]);
}

#[tokio::test]
async fn a_failed_admin_reply_can_be_retried_from_the_page() {
    let h = Harness::new().await;
    let token = in_support(&h).await;
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131026,
        details: "Message undeliverable",
    });
    let (status, body) = admin_send(&h, &token, ADA, "Hello").await;
    assert_eq!(status, 502);
    let id = body["message"]["id"].as_str().unwrap().to_owned();
    let retry = format!("/api/admin/conversations/{ADA}/messages/{id}/retry");

    // Two retries at once (a double click, two admins): one new attempt.
    let (first, second) = tokio::join!(
        post(&h.ctx, &retry, &token, None),
        post(&h.ctx, &retry, &token, None)
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{first:?} {second:?}");
    let body = if first.0 == 201 { first.1 } else { second.1 };
    assert_eq!(
        (
            body["message"]["id"].as_str(),
            body["message"]["status"].as_str()
        ),
        (Some(id.as_str()), Some("sent"))
    );
    let m = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .unwrap();
    assert_eq!(
        (m.attempts, m.error),
        (2, None),
        "a new attempt on the same message"
    );
    assert_eq!(
        history(&h, ADA)
            .await
            .iter()
            .filter(|m| m.text.as_deref() == Some("Hello"))
            .count(),
        1
    );
    // The retry is in the audit log, written with the reopening.
    let (status, body) = get(&h.ctx, &format!("/api/admin/audit?phone={ADA}"), &token).await;
    assert_eq!(status, 200, "{body}");
    let retried: Vec<_> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with(", retried"))
        })
        .collect();
    assert_eq!(retried.len(), 1, "{body}");
    assert_eq!(retried[0]["action"], "send");

    let (status, body) = post(&h.ctx, &retry, &token, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "conflict"),
        "only a failed message"
    );
    let missing =
        format!("/api/admin/conversations/{ADA}/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry");
    assert_eq!(post(&h.ctx, &missing, &token, None).await.0, 404);
    let bad = format!("/api/admin/conversations/{ADA}/messages/not-an-id/retry");
    assert_eq!(post(&h.ctx, &bad, &token, None).await.0, 400);
    assert_eq!(
        edubot_e2e::json_of(call(&h.ctx, http::Method::POST, &retry, None, None).await).0,
        401
    );
}
