//! The core chat-support journey, end to end through the local stack — driven over HTTP
//! exactly as WhatsApp (signed webhooks) and an admin client (the admin API) would, with a
//! real HTTP stand-in for the Graph API.

use std::time::{Duration, Instant};

use edubot_adapters::content::content;
use edubot_adapters::whatsapp::{graph_request, signature, OutboundBody};
use edubot_e2e::*;
use edubot_local::{LocalStack, Settings};
use serde_json::{json, Value};

const WAIT: Duration = E2E_WAIT;

/// The bot's replies are exactly these messages of the content, in this order: the Graph
/// requests for them, texts, choices, ids and titles.
#[track_caller]
fn assert_replies(sends: &[RecordedSend], expected: &[OutboundBody]) {
    assert_eq!(sends.len(), expected.len(), "{sends:#?}");
    for (i, (send, expected)) in sends.iter().zip(expected).enumerate() {
        let callback = send.body["biz_opaque_callback_data"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            send.body,
            graph_request(expected, send.to(), callback, None, None),
            "reply {i}"
        );
    }
}

#[tokio::test]
async fn a_user_is_helped_by_an_admin_from_chat_support_to_the_end() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[]).await;
    let mut admin = StackClient::new(&stack);
    let user = "447700900123";

    // Meta's verification handshake.
    let verify = admin.http.get(format!("{}/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444", stack.url())).send().await.unwrap();
    assert_eq!(verify.status(), 200);
    assert_eq!(verify.text().await.unwrap(), "1158201444");

    // The user says hello: welcome and the main menu, with Chat Support in it.
    assert_eq!(
        admin
            .webhook(&user_text(user, "wamid.u1", now_secs(), "Hello"))
            .await,
        200
    );
    let sends = graph.wait_for(user, 2, WAIT).await;
    assert_replies(
        &sends,
        &[
            OutboundBody::text(&content().welcome),
            content().main_menu(),
        ],
    );
    assert!(sends[1].choice_ids().contains(&"chat_support".to_owned()));
    assert_eq!(
        sends[1].authorization.as_deref(),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );

    // They pick Chat Support: an acknowledgement with an End chat button.
    assert_eq!(
        admin
            .webhook(&user_choice(
                user,
                "wamid.u2",
                now_secs(),
                "chat_support",
                "Chat Support"
            ))
            .await,
        200
    );
    let sends = graph.wait_for(user, 3, WAIT).await;
    assert_eq!(sends[2].choice_ids(), ["end_chat"]);
    assert_replies(&sends[2..], &[content().support_ack()]);

    // The same delivery again (Meta retries): stored once, no second acknowledgement.
    assert_eq!(
        admin
            .webhook(&user_choice(
                user,
                "wamid.u2",
                now_secs(),
                "chat_support",
                "Chat Support"
            ))
            .await,
        200
    );

    // The admin signs in and sees the conversation flagged, with the user's profile name.
    admin.sign_in().await;
    let (status, list) = admin.get("/api/admin/conversations?filter=support").await;
    assert_eq!(status, 200);
    let conversation = &list["conversations"][0];
    assert_eq!(conversation["phone"], user);
    assert_eq!(conversation["name"], "Ada Student");
    assert_eq!(conversation["is_chat_support"], true);
    assert_eq!(conversation["state"], "CHAT_SUPPORT_ACTIVE");
    assert_eq!(conversation["unread_count"], 1);
    assert!(conversation["window_expires_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let (_, dashboard) = admin.get("/api/admin/dashboard").await;
    assert_eq!(dashboard["active_chats"], 1);
    assert!(dashboard["oldest_waiting_since"].is_string());

    // The user writes to the desk: the bot stays silent.
    assert_eq!(
        admin
            .webhook(&user_text(
                user,
                "wamid.u3",
                now_secs(),
                "How do I pay the fees?"
            ))
            .await,
        200
    );
    let history = admin
        .wait_messages(user, |m| {
            m.iter().any(|m| m["text"] == "How do I pay the fees?")
        })
        .await;
    assert_eq!(
        history.iter().filter(|m| m["wamid"] == "wamid.u2").count(),
        1,
        "duplicate stored once"
    );
    // Stored by the webhook is not yet processed: silence only counts once the processor
    // has handled the message, which it records on the conversation (its preview and time,
    // and a message for the desk).
    let question = history
        .iter()
        .find(|m| m["wamid"] == "wamid.u3")
        .unwrap()
        .clone();
    let question_id = question["id"].as_str().unwrap().to_owned();
    // RFC 3339 in UTC with milliseconds, always the same width: the text sorts as the time.
    let stored_at = question["created_at"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let conversation = loop {
        let body = admin.history(user).await;
        let conversation = body["conversation"].clone();
        let touched_at = conversation["last_message_at"].as_str().unwrap();
        if touched_at >= stored_at.as_str() {
            break conversation;
        }
        assert!(
            started.elapsed() < WAIT,
            "the processor never handled the message: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (
            conversation["last_message_preview"].as_str(),
            conversation["unread_count"].as_u64(),
            conversation["state"].as_str()
        ),
        (
            Some("How do I pay the fees?"),
            Some(2),
            Some("CHAT_SUPPORT_ACTIVE")
        ),
        "processed as a message for the desk: {conversation:#}"
    );
    assert!(
        conversation["waiting_since"].is_string(),
        "{conversation:#}"
    );
    // Replies would have been stored with the processing, before any send.
    let history = admin.messages(user).await;
    let after: Vec<&Value> = history
        .iter()
        .filter(|m| m["id"].as_str().unwrap() > question_id.as_str())
        .collect();
    assert_eq!(after, Vec::<&Value>::new(), "no bot reply in chat support");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        graph.sends_to(user).len(),
        3,
        "no bot reply in chat support"
    );
    let last_id = history.last().unwrap()["id"].as_str().unwrap().to_owned();

    // The admin replies; it is delivered over the Graph API with our id as callback data.
    let (status, sent) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/send"),
            json!({"text": "Hi Ada, use the portal."}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let message = &sent["message"];
    assert_eq!(
        (
            message["status"].as_str(),
            message["author"].as_str(),
            message["admin"].as_str()
        ),
        (Some("sent"), Some("admin"), Some(ADMIN))
    );
    let sends = graph.wait_for(user, 4, WAIT).await;
    assert_eq!(
        sends[3].body["text"],
        json!({"body": "Hi Ada, use the portal.", "preview_url": false})
    );
    assert_eq!(sends[3].body["biz_opaque_callback_data"], message["id"]);
    let wamid = message["wamid"].as_str().unwrap().to_owned();

    // Meta reports it read, then a late "delivered" arrives: it stays read.
    assert_eq!(
        admin
            .webhook(&edubot_e2e::status(
                &wamid,
                "read",
                user,
                message["id"].as_str()
            ))
            .await,
        200
    );
    assert_eq!(
        admin
            .webhook(&edubot_e2e::status(
                &wamid,
                "delivered",
                user,
                message["id"].as_str()
            ))
            .await,
        200
    );
    let history = admin.messages(user).await;
    let reply = history.iter().find(|m| m["id"] == message["id"]).unwrap();
    assert_eq!(reply["status"], "read");

    // Polling with after= brings only what is new: the user's answer.
    assert_eq!(
        admin
            .webhook(&user_text(user, "wamid.u4", now_secs(), "Thanks!"))
            .await,
        200
    );
    let started = Instant::now();
    let new = loop {
        let (_, page) = admin
            .get(&format!(
                "/api/admin/conversations/{user}/messages?after={last_id}"
            ))
            .await;
        let texts: Vec<Value> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].clone())
            .collect();
        if texts.contains(&json!("Thanks!")) {
            break texts;
        }
        assert!(
            started.elapsed() < WAIT,
            "poll never saw the answer: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(new, [json!("Hi Ada, use the portal."), json!("Thanks!")]);

    // The admin ends the chat: the user gets a closing message and the rating question.
    let before_end = admin.messages(user).await.len();
    let (status, ended) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/end"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["conversation"]["is_chat_support"], false);
    assert_eq!(ended["conversation"]["state"], "SUPPORT_FEEDBACK");
    let sends = graph.wait_for(user, 6, WAIT).await;
    assert_replies(
        &sends[4..],
        &[
            OutboundBody::text(&content().support_ended_by_admin),
            content().rating_question(),
        ],
    );
    assert!(sends[5].choice_ids().contains(&"rating_5".to_owned()));
    let (status, again) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/end"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("not_in_chat_support"))
    );

    // History kept: everything before, plus the note and the closing messages.
    let history = admin.messages(user).await;
    assert_eq!(history.len(), before_end + 3, "{history:#?}");
    assert!(history.iter().any(|m| m["author"] == "system"));
    let (status, refused) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/send"),
            json!({"text": "one more thing"}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("not_in_chat_support"))
    );

    // The user rates and is back at the menu.
    assert_eq!(
        admin
            .webhook(&user_choice(
                user,
                "wamid.u5",
                now_secs(),
                "rating_5",
                "Excellent"
            ))
            .await,
        200
    );
    let sends = graph.wait_for(user, 8, WAIT).await;
    assert_replies(
        &sends[6..],
        &[
            OutboundBody::text(&content().rating_thanks),
            content().main_menu(),
        ],
    );
    let (_, list) = admin.get("/api/admin/conversations").await;
    assert_eq!(list["conversations"][0]["state"], "MAIN_MENU");
    assert_eq!(list["conversations"][0]["last_rating"], 5, "{list:#}");
}

#[tokio::test]
async fn bad_input_is_refused_with_clear_errors_and_loses_nothing() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[]).await;
    let mut admin = StackClient::new(&stack);
    let user = "447700900124";

    // Unsigned, wrongly signed, and malformed webhooks.
    let body = user_text(user, "wamid.x1", now_secs(), "hi").to_string();
    let post = |sig: Option<String>, body: String| {
        let mut r = admin
            .http
            .post(format!("{}/webhook", stack.url()))
            .body(body);
        if let Some(s) = sig {
            r = r.header("x-hub-signature-256", s);
        }
        r.send()
    };
    assert_eq!(post(None, body.clone()).await.unwrap().status(), 401);
    assert_eq!(
        post(
            Some(signature::sign(b"wrong-secret", body.as_bytes())),
            body.clone()
        )
        .await
        .unwrap()
        .status(),
        401
    );
    let garbage = "{not json".to_owned();
    assert_eq!(
        post(
            Some(signature::sign(APP_SECRET.as_bytes(), garbage.as_bytes())),
            garbage
        )
        .await
        .unwrap()
        .status(),
        400
    );
    // A signed webhook over the function's 3 MB (API Gateway passes up to 10 MB) is
    // refused by the function, in the API's error shape.
    let huge = format!("{{\"padding\":\"{}\"}}", "x".repeat(4 * 1024 * 1024));
    let response = post(
        Some(signature::sign(APP_SECRET.as_bytes(), huge.as_bytes())),
        huge,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 413);
    let refused: serde_json::Value = response.json().await.expect("a JSON error");
    assert_eq!(refused["error"]["code"], "too_large");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(graph.sends().is_empty(), "nothing stored, nothing answered");

    // Admin API without a token, with a tampered one, and with bad input.
    assert_eq!(admin.get("/api/admin/conversations").await.0, 401);
    admin.token = Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.".into());
    let (status, body) = admin.get("/api/admin/dashboard").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = admin
        .post(
            "/api/admin/login",
            json!({"username": ADMIN, "password": "nope"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    admin.sign_in().await;
    assert_eq!(
        admin.get("/api/admin/conversations/12ab/messages").await.1["error"]["code"],
        "invalid_request"
    );
    assert_eq!(
        admin
            .get("/api/admin/conversations/447700900999/messages")
            .await
            .0,
        404
    );
    assert_eq!(admin.get("/api/admin/conversations?limit=500").await.0, 400);
    let send = format!("/api/admin/conversations/{user}/chat-support/send");
    let (status, _) = admin.post(&send, json!({"text": "x".repeat(20_000)})).await;
    assert_eq!(status, 400, "over 4096 characters");
    let (status, _) = admin.post(&send, json!({"text": "x".repeat(70_000)})).await;
    assert_eq!(status, 413, "over 64 KiB");
    assert_eq!(admin.get("/api/admin/nothing-here").await.0, 404);

    // A user whose last message is 25 hours old: the bot's replies are not sent, and an
    // admin cannot reply either (the window runs from the user's own timestamp).
    let late = now_secs() - 25 * 3600;
    assert_eq!(
        admin
            .webhook(&user_text(user, "wamid.x2", late, "support"))
            .await,
        200
    );
    let history = admin
        .wait_messages(user, |m| m.iter().any(|m| m["author"] == "bot"))
        .await;
    let bot = history.iter().find(|m| m["author"] == "bot").unwrap();
    assert_eq!(
        (bot["status"].as_str(), bot["error"]["code"].as_str()),
        (Some("failed"), Some("window_closed"))
    );
    let (status, body) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/send"),
            json!({"text": "hello?"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("window_closed"))
    );
    assert!(
        graph.sends().is_empty(),
        "nothing was sent outside the window"
    );
}

#[tokio::test]
async fn a_restart_neither_replays_nor_skips_messages() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let data_dir = std::env::temp_dir().join(format!("edubot-restart-{table}"));
    let user = "447700900125";

    let stack = start_stack(&graph, &table, Some(data_dir.clone()), &[]).await;
    let client = StackClient::new(&stack);
    assert_eq!(
        client
            .webhook(&user_text(user, "wamid.r1", now_secs(), "hi"))
            .await,
        200
    );
    graph.wait_for(user, 2, WAIT).await;
    drop(stack);

    // Written while the stack was down would be lost if the poller restarted from "now";
    // answered twice if it restarted from the beginning.
    let stack = start_stack(&graph, &table, Some(data_dir.clone()), &[]).await;
    let client = StackClient::new(&stack);
    assert_eq!(
        client
            .webhook(&user_text(user, "wamid.r2", now_secs(), "menu"))
            .await,
        200
    );
    graph.wait_for(user, 3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        graph.sends_to(user).len(),
        3,
        "the first message was not replayed"
    );
    let _ = std::fs::remove_dir_all(data_dir);
}

/// The stack with its own default Graph API: the simulator's stand-in, as `make run` has it.
async fn stack_with_the_simulators_graph() -> LocalStack {
    let (_, table) = new_table().await;
    let mut env = test_env(&table, "unused");
    env.remove("WHATSAPP_API_BASE_URL");
    LocalStack::start(Settings {
        port: 0,
        data_dir: None,
        dynamodb_endpoint: Some(dynamodb_endpoint().await),
        s3_endpoint: Some(edubot_e2e::object_store_endpoint().await),
        env,
        static_dir: edubot_local::static_site::default_dir(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_simulator_plays_the_user_against_its_own_graph_api() {
    let stack = stack_with_the_simulators_graph().await;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{}/simulator/", stack.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let sent: Value = http
        .post(format!("{}/simulator/api/send", stack.url()))
        .json(&json!({"phone": "447700900126", "name": "Sim", "text": "hi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["webhook_status"], 200);
    let started = Instant::now();
    loop {
        let view: Value = http
            .get(format!(
                "{}/simulator/api/messages?phone=447700900126",
                stack.url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let from_business = view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["from"] == "business")
            .count();
        if from_business >= 2 {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the simulated user got no reply: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn with_short_intervals_the_checks_can_be_watched_through_the_admin_api() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let intervals = [
        ("LOCAL_SCHEDULE_SECONDS", "1"),
        ("SUPPORT_QUEUE_TIMEOUT_SECONDS", "1"),
        ("SUPPORT_IDLE_SECONDS", "4"),
    ];
    let stack = start_stack(&graph, &table, None, &intervals).await;
    let mut admin = StackClient::new(&stack);
    admin.sign_in().await;
    let user = "447700900127";
    assert_eq!(
        admin
            .webhook(&user_text(user, "wamid.c1", now_secs(), "support"))
            .await,
        200
    );

    // The queue-timeout notice arrives once, then the idle chat is closed.
    let notice = content().support_queue_timeout.clone();
    let history = admin
        .wait_messages(user, |m| m.iter().any(|m| m["text"] == notice.as_str()))
        .await;
    assert_eq!(
        history
            .iter()
            .filter(|m| m["text"] == notice.as_str())
            .count(),
        1
    );
    let started = Instant::now();
    loop {
        let (_, body) = admin
            .get(&format!("/api/admin/conversations/{user}/messages"))
            .await;
        if body["conversation"]["state"] == "MAIN_MENU" {
            assert_eq!(body["conversation"]["is_chat_support"], false);
            let notes: Vec<&Value> = body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["author"] == "system")
                .collect();
            assert_eq!(notes.len(), 1, "{notes:?}");
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the idle chat was never closed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        graph
            .sends_to(user)
            .iter()
            .filter(|s| s.text() == Some(notice.as_str()))
            .count(),
        1,
        "told once"
    );
}

/// Restarting the stack with `ADMIN_PASSWORD` sets that admin's password again, and
/// nothing else: an admin disabled meanwhile stays disabled.
#[tokio::test]
async fn a_password_reset_at_start_never_re_enables_a_disabled_admin() {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[]).await;
    StackClient::signed_in(&stack).await;
    assert!(edubot_e2e::set_admin_disabled(&stack.context.store, ADMIN, true).await);
    drop(stack);

    let stack = start_stack(&graph, &table, None, &[]).await;
    let client = StackClient::new(&stack);
    let (status, body) = client
        .post(
            "/api/admin/login",
            json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_photo_from_the_simulated_user_is_kept_by_the_desk_and_shown_to_the_admin() {
    use base64::Engine;
    let s3_endpoint = edubot_e2e::object_store_endpoint().await;
    let stack = stack_with_the_simulators_graph().await;
    let admin = StackClient::signed_in(&stack).await;
    let user = "447700900127";
    let photo: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let sent: Value = admin
        .http
        .post(format!("{}/simulator/api/send", stack.url()))
        .json(
            &json!({"phone": user, "name": "Sim", "caption": "my fee receipt", "file": {
            "filename": "receipt.jpg", "mime_type": "image/jpeg",
            "data_base64": base64::engine::general_purpose::STANDARD.encode(&photo)}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["webhook_status"], 200, "{sent}");

    // desk-events, on the stack's second stream reader, keeps the file.
    let history = admin
        .wait_messages(user, |m| m.iter().any(|m| m["media"]["status"] == "stored"))
        .await;
    let image = history.iter().find(|m| m["kind"] == "image").unwrap();
    assert_eq!(image["media"]["caption"], "my fee receipt");
    assert_eq!(image["media"]["size"], photo.len());
    let (status, link) = admin
        .get(&format!(
            "/api/admin/conversations/{user}/messages/{}/media",
            image["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&s3_endpoint), "{url}");
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    assert!(
        bytes.as_ref() == photo.as_slice(),
        "the admin gets the user's bytes"
    );

    // The page may load files from that server, and from nowhere else.
    let page = admin
        .http
        .get(format!("{}/", stack.url()))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains(&format!("img-src 'self' data: {s3_endpoint};")),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("media-src 'self' {s3_endpoint};")),
        "{csp}"
    );
    assert!(!csp.contains("{media_origin}"), "{csp}");
}

#[tokio::test]
async fn an_admins_pdf_reaches_the_simulated_user_byte_exact() {
    let stack = stack_with_the_simulators_graph().await;
    let admin = StackClient::signed_in(&stack).await;
    let user = "447700900128";
    let simulator = |body: Value| {
        let http = admin.http.clone();
        let url = format!("{}/simulator/api/send", stack.url());
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        simulator(json!({"phone": user, "name": "Sim", "text": "support"})).await,
        200
    );
    admin
        .wait_messages(user, |m| m.iter().any(|m| m["author"] == "bot"))
        .await;

    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain((0..30_000u32).map(|i| (i % 253) as u8))
        .collect();
    let (status, declared) = admin
        .post(
            &format!("/api/admin/conversations/{user}/attachments"),
            json!({"filename": "Fees 2027.pdf", "mime_type": "application/pdf", "size": pdf.len()}),
        )
        .await;
    assert_eq!(status, 201, "{declared}");
    let put = admin
        .http
        .put(declared["upload_url"].as_str().unwrap())
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let (status, sent) = admin
        .post(
            &format!("/api/admin/conversations/{user}/chat-support/send"),
            json!({"attachment_id": declared["attachment_id"], "text": "This year's fees"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    let started = Instant::now();
    let file = loop {
        let delivered = stack.simulator.delivered();
        if let Some(file) = delivered.iter().find_map(|d| d.file.clone()) {
            break file;
        }
        assert!(
            started.elapsed() < WAIT,
            "the user got no file: {delivered:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(file.filename.as_deref(), Some("Fees 2027.pdf"));
    assert_eq!(file.mime_type, "application/pdf");
    assert!(
        file.bytes.as_ref() == pdf.as_slice(),
        "the user gets the admin's bytes"
    );
}
