//! Logs never carry a token, secret, password or message body, and phone numbers are
//! masked (docs/decisions.md): the whole journey runs with the logs captured, then they are read.

mod handler_kit;

use std::io::Write;
use std::sync::{Arc, Mutex};

use edubot_e2e::{Harness, Scripted, ACCESS_TOKEN, ADMIN, ADMIN_PASSWORD, APP_SECRET, JWT_SECRET};
use handler_kit::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_no_secret_body_or_full_phone_number() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The same JSON format the functions log with, at debug level to catch everything.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("debug,aws=info,hyper=info,h2=info,rustls=info")
        .with_writer(move || writer.clone())
        .init();

    let h = Harness::new().await;
    let user = "447700900301";
    h.create_admin(ADMIN, ADMIN_PASSWORD).await;
    let (status, login) = post(
        &h.ctx,
        "/api/admin/login",
        "",
        Some(&json!({"username": ADMIN, "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200);
    let token = login["token"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &h.ctx,
        "/api/admin/login",
        "",
        Some(&json!({"username": ADMIN, "password": "wrong-password-xyz"})),
    )
    .await;
    assert_eq!(status, 401);

    user_says(&h, user, "my private question body").await;
    user_chooses(&h, user, "chat_support", "Chat Support").await;
    user_says(&h, user, "my student number is 8812").await;
    assert_eq!(
        admin_send(&h, &token, user, "the confidential admin reply")
            .await
            .0,
        201
    );
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131026,
        details: "Message undeliverable",
    });
    assert_eq!(
        admin_send(&h, &token, user, "a reply that fails").await.0,
        502
    );
    assert_eq!(admin_end(&h, &token, user).await.0, 200);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("inbound message processed"),
        "logs were captured: {logs}"
    );
    assert!(
        logs.contains("44*********01") || logs.contains("44********01"),
        "phones appear masked: {logs}"
    );
    for secret in [
        ADMIN_PASSWORD,
        "wrong-password-xyz",
        token.as_str(),
        ACCESS_TOKEN,
        APP_SECRET,
        JWT_SECRET,
        "my private question body",
        "my student number is 8812",
        "the confidential admin reply",
        "a reply that fails",
        user,
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}
