//! The files the simulated user sends, held as Meta holds them: the Graph stand-in's media
//! endpoints answer for them with the bearer token required — `GET /simulator/graph/{id}`
//! (the lookup: URL, type, SHA-256, size) and `GET /simulator/media/{id}` (the bytes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

/// WhatsApp's largest file (a document).
pub const MAX_FILE_BYTES: usize = 100 * 1024 * 1024;

struct File {
    bytes: Vec<u8>,
    mime_type: String,
}

pub struct UserFiles {
    access_token: String,
    /// Where the stack is reached (`http://127.0.0.1:<port>`), for the download URLs.
    origin: String,
    files: Mutex<HashMap<String, File>>,
}

impl UserFiles {
    pub fn new(access_token: &str, origin: &str) -> Arc<UserFiles> {
        Arc::new(UserFiles {
            access_token: access_token.to_owned(),
            origin: origin.to_owned(),
            files: Mutex::new(HashMap::new()),
        })
    }

    /// Holds a file the user sends; answers its media id.
    pub fn hold(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        let id = format!("{}", 9_000_000_000_000u64 + rand::random::<u32>() as u64);
        self.files.lock().expect("files lock").insert(
            id.clone(),
            File {
                bytes,
                mime_type: mime_type.to_owned(),
            },
        );
        id
    }

    /// The file a media id names, for the simulator's own view of what the user sent.
    pub fn bytes_of(&self, id: &str) -> Option<(Vec<u8>, String)> {
        let files = self.files.lock().expect("files lock");
        files
            .get(id)
            .map(|f| (f.bytes.clone(), f.mime_type.clone()))
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/simulator/graph/{media_id}", get(lookup))
            .route("/simulator/media/{media_id}", get(download))
            .with_state(self.clone())
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            == Some(self.access_token.as_str())
    }
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": "GraphMethodException", "code": code, "fbtrace_id": "simulator" } });
    (status, Json(body)).into_response()
}

/// `GET /{media_id}`, answered as Meta does: where to download it and what it is.
async fn lookup(
    State(files): State<Arc<UserFiles>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !files.authorised(&headers) {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token.");
    }
    let held = files.files.lock().expect("files lock");
    let Some(file) = held.get(&id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported get request. Object with ID does not exist.",
        );
    };
    let digest = Sha256::digest(&file.bytes);
    Json(json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/simulator/media/{id}", files.origin),
        "mime_type": file.mime_type,
        "sha256": base64::engine::general_purpose::STANDARD.encode(digest),
        "file_size": file.bytes.len().to_string(),
        "id": id,
    }))
    .into_response()
}

async fn download(
    State(files): State<Arc<UserFiles>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !files.authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match files.bytes_of(&id) {
        Some((bytes, mime_type)) => ([("content-type", mime_type)], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
