//! `POST /api/admin/activation-codes` against DynamoDB Local, and redeeming its codes
//! through the webhook and the inbound processor.

mod handler_kit;

use aws_sdk_dynamodb::types::AttributeValue;
use edubot_adapters::model::ConversationState;
use edubot_adapters::time::{now_ms, rfc3339, DAY};
use edubot_app::activation::code_hash;
use edubot_e2e::*;
use handler_kit::*;
use http::Method;
use serde_json::{json, Value};

const ADA: &str = "447700900123";
const BOB: &str = "447700900456";
const PATH: &str = "/api/admin/activation-codes";

async fn issue(h: &Harness, token: &str, body: &Value) -> (u16, Value) {
    post(&h.ctx, PATH, token, Some(body)).await
}

async fn issue_for_jane(h: &Harness, token: &str) -> String {
    let (status, body) = issue(
        h,
        token,
        &json!({"student_name": "Jane Doe", "course": "Web Development"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["code"].as_str().unwrap().to_owned()
}

/// Ada opens the menu and taps Activate account.
async fn at_activation(h: &Harness, from: &str) {
    user_says(h, from, "hi").await;
    user_chooses(h, from, "activate", "Activate account").await;
    assert_eq!(
        conversation(h, from).await.unwrap().state,
        ConversationState::ActivationCode
    );
}

fn last_text(h: &Harness, to: &str) -> String {
    h.graph
        .sends_to(to)
        .last()
        .and_then(|s| s.text().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test]
async fn issuing_needs_an_admin_token() {
    let h = Harness::new().await;
    let body = json!({"student_name": "Jane Doe", "course": "Web"}).to_string();
    for headers in [
        vec![("content-type", "application/json")],
        vec![
            ("content-type", "application/json"),
            ("authorization", "Bearer not-a-token"),
        ],
    ] {
        let response =
            call_with_headers(&h.ctx, Method::POST, PATH, &headers, body.as_bytes()).await;
        let (status, json) = json_of(response);
        assert_eq!((status, error_code(&json)), (401, "unauthorized"));
    }
}

#[tokio::test]
async fn issuing_validates_the_request() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    for bad in [
        json!({}),
        json!({"student_name": "Jane Doe"}),
        json!({"course": "Web"}),
        json!({"student_name": "J", "course": "Web"}),
        json!({"student_name": "Jane Doe", "course": "   "}),
        json!({"student_name": "x".repeat(101), "course": "Web"}),
        json!({"student_name": 5, "course": "Web"}),
    ] {
        let (status, body) = issue(&h, &token, &bad).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_request"),
            "{bad}"
        );
    }
    let response = call(&h.ctx, Method::POST, PATH, Some(&token), None).await;
    assert_eq!(json_of(response).0, 400, "no body");
    let huge = json!({"student_name": "Jane", "course": "x".repeat(65 * 1024)});
    let (status, body) = issue(&h, &token, &huge).await;
    assert_eq!((status, error_code(&body)), (413, "too_large"));
}

#[tokio::test]
async fn a_code_is_issued_for_seven_days_and_stored_only_hashed() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let before = now_ms();
    let (status, body) = issue(
        &h,
        &token,
        &json!({"student_name": "  Jane   Doe ", "course": "Web Development"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let code = body["code"].as_str().unwrap();
    assert_eq!(code.len(), 9, "XXXX-XXXX: {code}");
    assert_eq!(
        (body["student_name"].as_str(), body["course"].as_str()),
        (Some("Jane Doe"), Some("Web Development"))
    );
    assert!(is_rfc3339_millis(&body["expires_at"]));
    // RFC 3339 with milliseconds in UTC sorts as the time does.
    let expires = body["expires_at"].as_str().unwrap();
    assert!(
        rfc3339(before + 7 * DAY).as_str() <= expires
            && expires <= rfc3339(now_ms() + 7 * DAY).as_str()
    );

    // The item is keyed by the code's SHA-256; the code itself is nowhere in it.
    let item = h
        .ctx
        .store
        .client()
        .get_item()
        .table_name(h.ctx.store.table())
        .key(
            "pk",
            AttributeValue::S(format!("ACTCODE#{}", code_hash(code))),
        )
        .key("sk", AttributeValue::S("#".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("stored under its hash");
    let stored = format!("{item:?}");
    assert!(!stored.contains(code) && !stored.contains(&code.replace('-', "")));
    assert!(stored.contains("Jane Doe"));

    let (_, other) = issue(
        &h,
        &token,
        &json!({"student_name": "Jane Doe", "course": "Web"}),
    )
    .await;
    assert_ne!(other["code"], body["code"], "a new code each time");
}

#[tokio::test]
async fn a_code_links_the_conversation_once_whatever_its_format() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    let code = issue_for_jane(&h, &token).await;

    at_activation(&h, ADA).await;
    let typed = format!(" {} ", code.to_lowercase().replace('-', " "));
    user_says(&h, ADA, &typed).await;
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::MainMenu);
    let student = c.student.expect("linked");
    assert_eq!(
        (student.name.as_str(), student.course.as_str()),
        ("Jane Doe", "Web Development")
    );
    assert!(h
        .graph
        .sends_to(ADA)
        .iter()
        .any(|s| s.text().is_some_and(|t| t.contains("Jane Doe"))));

    // The admin list shows who the conversation belongs to.
    let (_, list) = get(&h.ctx, "/api/admin/conversations", &token).await;
    assert_eq!(
        list["conversations"][0]["student"],
        json!({"name": "Jane Doe", "course": "Web Development"})
    );
    let (_, history) = admin_history(&h, &token, ADA, "").await;
    assert!(history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["author"] == "system"
            && m["text"]
                .as_str()
                .unwrap()
                .contains("ACTIVATION_CODE → MAIN_MENU: Account activated")));

    // Single use: the same code is a wrong attempt for anyone else.
    at_activation(&h, BOB).await;
    user_says(&h, BOB, &code).await;
    let bob = conversation(&h, BOB).await.unwrap();
    assert_eq!(
        (bob.state, bob.activation_failures, bob.student),
        (ConversationState::ActivationCode, 1, None)
    );
    assert!(
        last_text(&h, BOB).contains("already been used"),
        "{}",
        last_text(&h, BOB)
    );
}

#[tokio::test]
async fn three_wrong_codes_lock_activation_and_menu_does_not_lift_it() {
    let h = harness_with(&[("ACTIVATION_LOCK_SECONDS", "120")]).await;
    let token = h.admin_token().await;
    let code = issue_for_jane(&h, &token).await;
    at_activation(&h, ADA).await;
    // Keywords are not attempts.
    user_says(&h, ADA, "menu").await;
    user_chooses(&h, ADA, "activate", "Activate account").await;
    for (i, attempt) in ["1234", "hello there", "🙂"].into_iter().enumerate() {
        user_says(&h, ADA, attempt).await;
        let c = conversation(&h, ADA).await.unwrap();
        if i < 2 {
            assert_eq!(
                (c.state, c.activation_failures as usize),
                (ConversationState::ActivationCode, i + 1)
            );
        } else {
            assert_eq!(c.state, ConversationState::ActivationLocked);
            let until = c
                .activation_locked_until
                .expect("lock stored on the conversation");
            assert!((until - now_ms()) <= 120_000 && (until - now_ms()) > 100_000);
        }
    }
    assert!(
        last_text(&h, ADA).contains("2 minutes"),
        "{}",
        last_text(&h, ADA)
    );
    // Even the right code is refused while locked.
    user_says(&h, ADA, &code).await;
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        (c.state, c.student),
        (ConversationState::ActivationLocked, None)
    );

    // "menu" leaves the state, not the lock; Activate comes back to the lock.
    user_says(&h, ADA, "menu").await;
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::MainMenu);
    assert!(c.activation_locked_until.is_some());
    user_chooses(&h, ADA, "activate", "Activate account").await;
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::ActivationLocked
    );
    assert!(
        last_text(&h, ADA).contains("minute"),
        "the remaining time: {}",
        last_text(&h, ADA)
    );

    let (_, list) = get(&h.ctx, "/api/admin/conversations", &token).await;
    assert!(list["conversations"][0]["activation_locked_until"].is_string());
    assert!(list["conversations"][0]["student"].is_null());
}
