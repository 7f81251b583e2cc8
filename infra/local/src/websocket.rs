//! API Gateway's WebSocket API in miniature, and the two AWS calls the functions behind it
//! make, so they run here unchanged (docs/realtime.md):
//! - `GET /ws?ticket=…` upgrades only when `$connect` (ws-connect) answers 200, with the
//!   event API Gateway would send; a closed socket sends `$disconnect` (ws-disconnect);
//! - `POST`/`GET`/`DELETE /@connections/{id}`: the management API
//!   (`WEBSOCKET_CALLBACK_URL` points here), 410 for a connection that is gone;
//! - `POST /2015-03-31/functions/{name}/invocations`: Lambda's invoke API, for push's
//!   asynchronous hand-off of users' files to desk-events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::{
    ApiGatewayWebsocketProxyRequest, ApiGatewayWebsocketProxyRequestContext,
};
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use edubot_adapters::AppContext;
use tokio::sync::mpsc;

/// What the management API asks of an open socket.
enum Command {
    Frame(String),
    Close,
}

/// The open sockets by connection id.
#[derive(Default)]
pub struct Sockets {
    open: Mutex<HashMap<String, mpsc::UnboundedSender<Command>>>,
}

impl Sockets {
    fn send(&self, id: &str, command: Command) -> bool {
        let open = self.open.lock().expect("sockets lock");
        open.get(id).is_some_and(|tx| tx.send(command).is_ok())
    }

    /// How many sockets are open now.
    pub fn count(&self) -> usize {
        self.open.lock().expect("sockets lock").len()
    }
}

struct Gateway {
    context: Arc<AppContext>,
    sockets: Arc<Sockets>,
}

/// The routes: `/ws`, `/@connections/{id}` and Lambda's invoke API.
pub fn router(context: Arc<AppContext>, sockets: Arc<Sockets>) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route(
            "/@connections/{id}",
            post(post_to_connection)
                .get(get_connection)
                .delete(delete_connection),
        )
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(Arc::new(Gateway { context, sockets }))
}

/// A connection id shaped as API Gateway makes them (12 random bytes, base64).
fn new_connection_id() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The event API Gateway sends a route's function.
fn route_event(
    route: &str,
    event_type: &str,
    connection_id: &str,
    query: &HashMap<String, String>,
) -> ApiGatewayWebsocketProxyRequest {
    let mut context = ApiGatewayWebsocketProxyRequestContext::default();
    context.route_key = Some(route.to_owned());
    context.event_type = Some(event_type.to_owned());
    context.connection_id = Some(connection_id.to_owned());
    context.stage = Some("local".to_owned());
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.query_string_parameters = query
        .iter()
        .map(|(k, v)| (k.clone(), vec![v.clone()]))
        .collect::<HashMap<_, _>>()
        .into();
    event.request_context = context;
    event
}

async fn upgrade(
    State(gateway): State<Arc<Gateway>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let id = new_connection_id();
    // Registered before `$connect` answers: a frame pushed meanwhile waits in the channel.
    let (tx, rx) = mpsc::unbounded_channel();
    gateway
        .sockets
        .open
        .lock()
        .expect("sockets lock")
        .insert(id.clone(), tx);
    let connect = route_event("$connect", "CONNECT", &id, &query);
    let status = match ws_connect::handle(&gateway.context, connect).await {
        Ok(response) => response.status_code,
        Err(never) => match never {},
    };
    if status != 200 {
        gateway
            .sockets
            .open
            .lock()
            .expect("sockets lock")
            .remove(&id);
        return StatusCode::from_u16(status as u16)
            .unwrap_or(StatusCode::FORBIDDEN)
            .into_response();
    }
    ws.on_upgrade(move |socket| serve(socket, gateway, id, rx))
}

/// Frames from the management API out; the client's frames are read only to notice the
/// close (there is no `$default` route).
async fn serve(
    mut socket: WebSocket,
    gateway: Arc<Gateway>,
    id: String,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Frame(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Command::Close) | None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    gateway
        .sockets
        .open
        .lock()
        .expect("sockets lock")
        .remove(&id);
    let disconnect = route_event("$disconnect", "DISCONNECT", &id, &HashMap::new());
    if let Err(e) = ws_disconnect::handle(&gateway.context, disconnect).await {
        tracing::warn!(error = %e, "$disconnect failed; the connection's TTL forgets it");
    }
}

fn gone() -> Response {
    (
        StatusCode::GONE,
        [("x-amzn-errortype", "GoneException")],
        axum::Json(serde_json::json!({"message": null})),
    )
        .into_response()
}

async fn post_to_connection(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    if gateway.sockets.send(&id, Command::Frame(text)) {
        StatusCode::OK.into_response()
    } else {
        gone()
    }
}

async fn get_connection(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    if gateway
        .sockets
        .open
        .lock()
        .expect("sockets lock")
        .contains_key(&id)
    {
        axum::Json(serde_json::json!({"connectedAt": chrono::Utc::now().to_rfc3339()}))
            .into_response()
    } else {
        gone()
    }
}

async fn delete_connection(
    State(gateway): State<Arc<Gateway>>,
    Path(id): Path<String>,
) -> Response {
    if gateway.sockets.send(&id, Command::Close) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        gone()
    }
}

/// An asynchronous invoke (`X-Amz-Invocation-Type: Event`): 202 at once, the function runs
/// beside. Only desk-events is invoked so.
async fn invoke(
    State(gateway): State<Arc<Gateway>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let ctx = gateway.context.clone();
    if name != ctx.config.desk_events_function {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            axum::Json(serde_json::json!({"Type": "User", "Message": format!("Function not found: {name}")})),
        )
            .into_response();
    }
    let Ok(event) = serde_json::from_slice(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    tokio::spawn(async move {
        if let Err(e) = desk_events::handle(&ctx, event).await {
            tracing::warn!(error = %e, "desk-events failed; the scheduled checks fetch what is still pending");
        }
    });
    StatusCode::ACCEPTED.into_response()
}
