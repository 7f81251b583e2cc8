//! Templates (docs/templates.md): the approved ones listed from every page, one sent to a
//! user whose window closed, the checks before anything is stored or sent, and the rating
//! question sent as a template when a chat ends outside the window. Against DynamoDB Local
//! and the Graph API stand-in, through the real handlers.

mod handler_kit;

use edubot_adapters::model::{ConversationState, MessageStatus};
use edubot_e2e::*;
use handler_kit::*;
use serde_json::{json, Value};

const ADA: &str = "447700900123";
const DAY_SECS: i64 = 24 * HOUR_SECS;

fn template_path(phone: &str) -> String {
    format!("/api/admin/conversations/{phone}/template")
}

async fn send_template(h: &Harness, token: &str, phone: &str, body: Value) -> (u16, Value) {
    post(&h.ctx, &template_path(phone), token, Some(&body)).await
}

/// Ada wrote three days ago: her window is closed, the bot's reply could not go out.
async fn window_closed_three_days_ago(h: &Harness) {
    user_says_at(h, ADA, "hello", now_secs() - 3 * DAY_SECS).await;
    let c = conversation(h, ADA).await.unwrap();
    assert!(!c.window_open(edubot_adapters::time::now_ms()));
}

fn template_sends(h: &Harness) -> Vec<RecordedSend> {
    h.graph
        .sends_to(ADA)
        .into_iter()
        .filter(|s| s.body["type"] == "template")
        .collect()
}

#[tokio::test]
async fn the_list_holds_only_the_approved_templates_the_desk_may_send_from_every_page() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let (status, body) = get(&h.ctx, "/api/admin/templates", &token).await;
    assert_eq!(status, 200, "{body}");
    let listed: Vec<(String, u64)> = body["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["parameter_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("welcome_back".to_owned(), 0),
            ("support_followup".to_owned(), 2),
            ("feedback_rating".to_owned(), 0)
        ],
        "no media header, no AUTHENTICATION, nothing pending or rejected"
    );
    let followup = &body["templates"][1];
    assert_eq!(followup["language"], "en_US");
    assert_eq!(followup["category"], "UTILITY");
    assert!(followup["body"].as_str().unwrap().contains("{{2}}"));
    // Five approved templates, two per page: three pages, each on the Graph host.
    let pages = h.graph.template_requests();
    assert_eq!(pages.len(), 3, "{pages:#?}");
    assert!(pages[0].contains("status=APPROVED"));
    assert!(
        pages[2].contains("after=4"),
        "the last page came from `next`"
    );

    let (status, _) = get(&h.ctx, "/api/admin/templates", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        h.graph.template_requests().len(),
        3,
        "a second listing within five minutes is served from the cache"
    );
}

#[tokio::test]
async fn a_listing_meta_cannot_answer_is_a_502_and_is_not_cached() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    h.graph.fail_template_listing(Some(500));
    let (status, body) = get(&h.ctx, "/api/admin/templates", &token).await;
    assert_eq!(
        (status, error_code(&body)),
        (502, "whatsapp_error"),
        "{body}"
    );
    h.graph.fail_template_listing(None);
    let (status, body) = get(&h.ctx, "/api/admin/templates", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["templates"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_template_reaches_a_user_whose_window_closed_three_days_ago_and_the_answer_reaches_the_desk(
) {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    window_closed_three_days_ago(&h).await;
    let sends_before = h.graph.sends_to(ADA).len();

    let (status, body) = send_template(
        &h,
        &token,
        ADA,
        json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada", "the fees"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let filled = "Hi Ada, about your question on the fees: our team has an update for you. Reply to continue the conversation.";
    assert_eq!(body["message"]["kind"], "template");
    assert_eq!(body["message"]["text"], filled);
    assert_eq!(body["message"]["author"], "admin");
    assert_eq!(body["message"]["status"], "sent");

    let sends = h.graph.sends_to(ADA);
    assert_eq!(
        sends.len(),
        sends_before + 1,
        "one send: no acknowledgement from the bot"
    );
    let sent = &sends[sends.len() - 1];
    assert_eq!(
        sent.body["template"],
        json!({"name": "support_followup", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": "Ada"}, {"type": "text", "text": "the fees"}]}]})
    );
    let stored = history(&h, ADA).await;
    let last = stored.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.status),
        ("template", MessageStatus::Sent)
    );
    assert_eq!(
        last.wamid, sent.wamid,
        "its fate is recorded with Meta's id"
    );

    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::ChatSupportActive);
    assert_eq!(c.waiting_since, None, "a template starts no wait");

    // Ada answers: the message goes to the desk, the bot stays silent.
    user_says(&h, ADA, "Thanks, what is the update?").await;
    assert_eq!(
        h.graph.sends_to(ADA).len(),
        sends_before + 1,
        "no bot reply"
    );
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::ChatSupportActive);
    assert_eq!(c.unread_count, 1);
    assert!(
        c.waiting_since.is_some(),
        "the desk's first response is now awaited"
    );
    // And the window is open again: a free-form reply goes out.
    let (status, body) = admin_send(&h, &token, ADA, "Your fees are confirmed.").await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_template_a_user_can_not_get_is_refused_before_anything_is_stored_or_sent() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    window_closed_three_days_ago(&h).await;
    let sends = h.graph.sends().len();
    let stored = history(&h, ADA).await.len();
    let refused = [
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada"]}),
            "takes 2 parameter",
        ),
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada", "a", "b"]}),
            "takes 2 parameter",
        ),
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada", "  "]}),
            "Parameter 2 is blank",
        ),
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada", "two\nlines"]}),
            "new line",
        ),
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["A\tda", "fees"]}),
            "tab",
        ),
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada", "a     b"]}),
            "4 spaces",
        ),
        (
            json!({"name": "support_followup", "language": "en_US", "parameters": ["Ada", "x".repeat(1100)]}),
            "at most 1024",
        ),
        (
            json!({"name": "support_followup", "language": "fr", "parameters": ["Ada", "fees"]}),
            "No approved template",
        ),
        (
            json!({"name": "spring_offer", "language": "en_US", "parameters": ["x"]}),
            "No approved template",
        ),
        (
            json!({"name": "login_code", "language": "en_US", "parameters": ["123456"]}),
            "No approved template",
        ),
        (
            json!({"name": "support followup", "language": "en_US"}),
            "letters, digits",
        ),
        (
            json!({"name": "welcome_back", "language": "en_US", "parameters": "Ada"}),
            "",
        ),
        (json!({"name": "welcome_back"}), ""),
        (
            json!({"name": "welcome_back", "language": "en_US", "extra": 1}),
            "",
        ),
    ];
    for (body, says) in refused {
        let (status, answer) = send_template(&h, &token, ADA, body.clone()).await;
        assert_eq!(
            (status, error_code(&answer)),
            (400, "invalid_request"),
            "{body}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(h.graph.sends().len(), sends, "nothing sent");
    assert_eq!(history(&h, ADA).await.len(), stored, "nothing stored");
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::MainMenu,
        "the conversation did not move"
    );
}

#[tokio::test]
async fn refusals_come_in_order_not_found_then_opted_out_then_the_template() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let bad = json!({"name": "support_followup", "language": "en_US", "parameters": []});
    let (status, body) = send_template(&h, &token, "447700900999", bad.clone()).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    user_says(&h, ADA, "STOP").await;
    let (status, body) = send_template(&h, &token, ADA, bad).await;
    assert_eq!((status, error_code(&body)), (409, "opted_out"));
    let (status, body) = send_template(
        &h,
        &token,
        ADA,
        json!({"name": "welcome_back", "language": "en_US"}),
    )
    .await;
    assert_eq!((status, error_code(&body)), (409, "opted_out"), "{body}");
    assert!(template_sends(&h).is_empty());
}

#[tokio::test]
async fn a_template_meta_refuses_is_recorded_failed_with_metas_reason() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    window_closed_three_days_ago(&h).await;
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 132001,
        details: "Template name does not exist in the translation",
    });
    let (status, body) = send_template(
        &h,
        &token,
        ADA,
        json!({"name": "welcome_back", "language": "en_US"}),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (502, "whatsapp_error"),
        "{body}"
    );
    assert_eq!(body["message"]["status"], "failed");
    assert_eq!(body["message"]["error"]["code"], "132001");
    let last = history(&h, ADA).await.pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.status),
        ("template", MessageStatus::Failed)
    );
    assert!(
        template_sends(&h)[0].body["template"]
            .get("components")
            .is_none(),
        "no parameters: no components"
    );
}

/// Ada asked for a person 25 hours ago and nobody answered in time.
async fn in_support_outside_the_window(h: &Harness) {
    user_says_at(h, ADA, "support", now_secs() - 25 * HOUR_SECS).await;
    let c = conversation(h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::ChatSupportActive);
    assert!(!c.window_open(edubot_adapters::time::now_ms()));
}

#[tokio::test]
async fn a_chat_ended_outside_the_window_asks_for_the_rating_with_the_feedback_template() {
    let h = harness_with(&[("SUPPORT_FEEDBACK_TEMPLATE", "feedback_rating:en_US")]).await;
    let token = h.admin_token().await;
    in_support_outside_the_window(&h).await;
    let (status, body) = admin_end(&h, &token, ADA).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["state"], "SUPPORT_FEEDBACK");
    let sends = template_sends(&h);
    assert_eq!(sends.len(), 1, "only the template: free text cannot go out");
    let template = &sends[0].body["template"];
    assert_eq!(template["name"], "feedback_rating");
    let payloads: Vec<&str> = template["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(
                (c["type"].as_str(), c["sub_type"].as_str()),
                (Some("button"), Some("quick_reply"))
            );
            c["parameters"][0]["payload"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        payloads,
        ["rating_1", "rating_2", "rating_3", "rating_4", "rating_5"]
    );

    // Ada taps "4": a `button` message carrying the payload.
    let tap = edubot_local::simulator::user_message_payload(
        PHONE_NUMBER_ID,
        ADA,
        "Ada Student",
        &new_wamid(),
        now_secs(),
        json!({"type": "button", "button": {"payload": "rating_4", "text": "4"},
               "context": {"from": "15550000000", "id": sends[0].wamid.clone().unwrap()}}),
    );
    assert_eq!(post_webhook(&h, &tap).await, 200);
    process(&h).await;
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.last_rating, Some(4));
    assert_eq!(c.state, ConversationState::MainMenu);
}

#[tokio::test]
async fn without_a_feedback_template_the_rating_is_skipped_and_the_history_says_so() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    in_support_outside_the_window(&h).await;
    let sends = h.graph.sends().len();
    let (status, body) = admin_end(&h, &token, ADA).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["state"], "MAIN_MENU");
    assert_eq!(h.graph.sends().len(), sends, "nothing could reach Ada");
    let notes: Vec<String> = history(&h, ADA)
        .await
        .into_iter()
        .filter(|m| m.kind == "system")
        .filter_map(|m| m.text)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("No rating asked") && n.contains("SUPPORT_FEEDBACK_TEMPLATE")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn a_failed_template_is_retried_by_the_admin_even_with_the_window_closed() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    window_closed_three_days_ago(&h).await;
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131000,
        details: "Something went wrong",
    });
    let (status, body) = send_template(
        &h,
        &token,
        ADA,
        json!({"name": "welcome_back", "language": "en_US"}),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    let id = body["message"]["id"].as_str().unwrap();
    let (status, body) = post(
        &h.ctx,
        &format!("/api/admin/conversations/{ADA}/messages/{id}/retry"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["status"], "sent");
    assert_eq!(template_sends(&h).len(), 2);
}
