//! Real time (docs/realtime.md) through the local stack over HTTP and real WebSockets: the
//! single-use ticket, the connection it opens, desk events pushed from the table's stream,
//! gone connections forgotten, and a disabled admin's connections closed.

use std::time::Duration;

use edubot_app::ports::{Connection, ConnectionStore, Ticket};
use edubot_e2e::*;
use edubot_local::LocalStack;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const ADA: &str = "447700900123";

async fn desk() -> (GraphStandIn, LocalStack, StackClient) {
    let graph = GraphStandIn::start().await;
    let (_, table) = new_table().await;
    let stack = start_stack(&graph, &table, None, &[]).await;
    let admin = StackClient::signed_in(&stack).await;
    (graph, stack, admin)
}

async fn ticket(admin: &StackClient) -> Value {
    let (status, body) = admin.post("/api/admin/ws-ticket", json!({})).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// Connects with `ticket`; the handshake's HTTP status when refused.
async fn connect_with(url: &str, ticket: &str) -> Result<Socket, u16> {
    match connect_async(format!("{url}?ticket={ticket}")).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("handshake failed otherwise: {e}"),
    }
}

async fn open(admin: &StackClient) -> Socket {
    let t = ticket(admin).await;
    connect_with(t["url"].as_str().unwrap(), t["ticket"].as_str().unwrap())
        .await
        .expect("a fresh ticket opens a connection")
}

/// Reads frames until one satisfies `wanted`; panics after the end-to-end wait.
async fn event_where(socket: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    let read = async {
        while let Some(frame) = socket.next().await {
            if let Frame::Text(text) = frame.expect("frame") {
                let event: Value = serde_json::from_str(&text).expect("events are JSON");
                if wanted(&event) {
                    return event;
                }
            }
        }
        panic!("the socket closed before the event came");
    };
    tokio::time::timeout(E2E_WAIT, read)
        .await
        .expect("the event came in time")
}

fn message_with_text(text: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == "message" && e["message"]["text"] == text
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < E2E_WAIT, "{what}: not within the wait");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_ticket_opens_one_connection_once_and_nothing_else_opens_one() {
    let (_graph, stack, admin) = desk().await;
    let t = ticket(&admin).await;
    let url = t["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("ws://{}/ws", stack.url().trim_start_matches("http://"))
    );
    let ticket = t["ticket"].as_str().unwrap();
    assert_eq!(ticket.len(), 64);
    let expires = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap()).unwrap();
    let ahead = expires.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    assert!(
        (25_000..=30_000).contains(&ahead),
        "valid for 30 s: {ahead} ms"
    );

    let _socket = connect_with(url, ticket)
        .await
        .expect("the ticket opens one");
    assert_eq!(connect_with(url, ticket).await.err(), Some(401), "used");
    assert_eq!(
        connect_with(url, &"ab".repeat(32)).await.err(),
        Some(401),
        "unknown"
    );
    assert_eq!(
        connect_with(url, "not-a-ticket").await.err(),
        Some(401),
        "malformed"
    );
    assert_eq!(
        connect_async(url).await.err().map(
            |e| matches!(e, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 401)
        ),
        Some(true),
        "no ticket"
    );
    assert_eq!(stack.sockets.count(), 1);
    assert_eq!(stack.context.store.connections().await.unwrap().len(), 1);

    // A ticket needs a valid admin token.
    let (status, _) = StackClient::new(&stack)
        .post("/api/admin/ws-ticket", json!({}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_expired_ticket_opens_nothing_even_before_its_item_is_gone() {
    let (_graph, stack, admin) = desk().await;
    let url = ticket(&admin).await["url"].as_str().unwrap().to_owned();
    let stale = "cd".repeat(32);
    stack
        .context
        .store
        .put_ticket(&Ticket {
            ticket: stale.clone(),
            admin: ADMIN.into(),
            token_version: 0,
            expires_at: edubot_adapters::time::now_ms() - 1,
        })
        .await
        .unwrap();
    assert_eq!(connect_with(&url, &stale).await.err(), Some(401));
    assert!(stack.context.store.connections().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_users_message_and_its_conversation_arrive_on_every_open_socket() {
    let (_graph, _stack, admin) = desk().await;
    let mut first = open(&admin).await;
    let mut second = open(&admin).await;
    assert_eq!(
        admin
            .webhook(&user_text(ADA, "wamid.RT1", now_secs(), "Hello there"))
            .await,
        200
    );
    for socket in [&mut first, &mut second] {
        let event = event_where(socket, message_with_text("Hello there")).await;
        assert_eq!(event["phone"], ADA);
        assert_eq!(event["message"]["direction"], "inbound");
        assert_eq!(event["message"]["wamid"], "wamid.RT1");
        let conversation = event_where(socket, |e| e["type"] == "conversation").await;
        assert_eq!(conversation["conversation"]["phone"], ADA);
    }
}

#[tokio::test]
async fn a_status_change_arrives_as_the_changed_message() {
    let (graph, _stack, admin) = desk().await;
    assert_eq!(
        admin
            .webhook(&user_text(ADA, "wamid.RT2", now_secs(), "support"))
            .await,
        200
    );
    graph.wait_for(ADA, 1, E2E_WAIT).await;
    let mut socket = open(&admin).await;
    let (code, body) = admin
        .post(
            &format!("/api/admin/conversations/{ADA}/chat-support/send"),
            json!({"text": "How can I help?"}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let id = body["message"]["id"].as_str().unwrap().to_owned();
    let wamid = body["message"]["wamid"].as_str().unwrap().to_owned();
    event_where(&mut socket, |e| {
        e["message"]["id"] == id.as_str() && e["message"]["status"] == "sent"
    })
    .await;
    assert_eq!(
        admin
            .webhook(&status(&wamid, "delivered", ADA, Some(&id)))
            .await,
        200
    );
    let delivered = event_where(&mut socket, |e| {
        e["message"]["id"] == id.as_str() && e["message"]["status"] == "delivered"
    })
    .await;
    assert_eq!(delivered["message"]["text"], "How can I help?");
}

#[tokio::test]
async fn a_gone_connection_is_forgotten_when_an_event_finds_it_gone() {
    let (_graph, stack, admin) = desk().await;
    let mut live = open(&admin).await;
    // A connection API Gateway no longer has (its $disconnect was lost).
    stack
        .context
        .store
        .put_connection(
            &Connection {
                id: "GoneConnId=".into(),
                admin: ADMIN.into(),
                token_version: 0,
                connected_at: 0,
            },
            edubot_adapters::time::now_ms() + 60_000,
        )
        .await
        .unwrap();
    assert_eq!(stack.context.store.connections().await.unwrap().len(), 2);
    admin
        .webhook(&user_text(ADA, "wamid.RT3", now_secs(), "Anyone?"))
        .await;
    event_where(&mut live, message_with_text("Anyone?")).await;
    wait_until("the gone connection forgotten", async || {
        let ids: Vec<String> = stack
            .context
            .store
            .connections()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        !ids.contains(&"GoneConnId=".to_owned()) && ids.len() == 1
    })
    .await;

    // A socket closed by the page is forgotten through $disconnect.
    live.close(None).await.unwrap();
    wait_until("the closed socket forgotten", async || {
        stack.context.store.connections().await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn an_admins_connections_are_closed_by_the_scheduled_checks_after_a_password_change() {
    let (_graph, stack, admin) = desk().await;
    let mut socket = open(&admin).await;
    let store = &stack.context.store;
    // Through the Team view's route: a supervisor (here, the admin itself) sets a new
    // password, which ends the tokens and so the sockets opened with them (disabling moves
    // the same token version).
    let (status, body) = admin
        .post(
            &format!("/api/admin/admins/{ADMIN}/password"),
            json!({"password": "a new password for the test"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let report =
        edubot_app::checks::run_checks(&*stack.context, edubot_adapters::time::now_ms(), deadline)
            .await
            .unwrap();
    assert_eq!(report.revoked_connections_closed, 1);
    let closed = tokio::time::timeout(E2E_WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("closed in time");
    assert!(closed);
    wait_until("its item forgotten", async || {
        store.connections().await.unwrap().is_empty()
    })
    .await;
}
