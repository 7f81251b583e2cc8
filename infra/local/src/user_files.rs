//! The files on the simulated user's phone. What the user sends is held as Meta holds it:
//! the Graph stand-in's media endpoints answer for it with the bearer token required —
//! `GET /simulator/graph/{id}` (the lookup: URL, type, SHA-256, size) and
//! `GET /simulator/media/{id}` (the bytes). What admins send is fetched from its link and
//! held here too. The phone's own view of every file, sent or received, is
//! `GET /simulator/files/{id}`: same origin as the page, no token (it is the phone's own
//! storage), served with its type and never as a page of ours (see [`phone_copy`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

/// WhatsApp's largest file (a document).
pub const MAX_FILE_BYTES: usize = 100 * 1024 * 1024;

struct File {
    /// Cheap to clone: a 100 MB file is served without being copied.
    bytes: Bytes,
    mime_type: String,
    /// A document's name, for the phone's download.
    filename: Option<String>,
}

/// A held file, as the simulator's record and its tests see it.
#[derive(Debug, Clone)]
pub struct HeldFile {
    pub bytes: Bytes,
    pub mime_type: String,
    pub filename: Option<String>,
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
        self.hold_named(bytes.into(), mime_type, None)
    }

    /// Holds a file under a new id (a media id's shape), with a document's name.
    pub fn hold_named(&self, bytes: Bytes, mime_type: &str, filename: Option<&str>) -> String {
        let mut files = self.files.lock().expect("files lock");
        let id = loop {
            let id = format!("{}", 9_000_000_000_000u64 + rand::random::<u32>() as u64);
            if !files.contains_key(&id) {
                break id;
            }
        };
        files.insert(
            id.clone(),
            File {
                bytes,
                mime_type: mime_type.to_owned(),
                filename: filename.map(str::to_owned),
            },
        );
        id
    }

    /// The file an id names.
    pub fn get(&self, id: &str) -> Option<HeldFile> {
        let files = self.files.lock().expect("files lock");
        files.get(id).map(|f| HeldFile {
            bytes: f.bytes.clone(),
            mime_type: f.mime_type.clone(),
            filename: f.filename.clone(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/simulator/graph/{media_id}", get(lookup))
            .route("/simulator/media/{media_id}", get(download))
            .route("/simulator/files/{id}", get(phone_copy))
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

/// The page's address of a held file.
pub fn phone_url(id: &str) -> String {
    format!("/simulator/files/{id}")
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
    match files.get(&id) {
        Some(file) => ([("content-type", file.mime_type)], file.bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Whether the page shows a file of this type in place (an image, a player); anything else
/// is a download.
fn shown_inline(mime_type: &str) -> bool {
    let essence = mime_type.split(';').next().unwrap_or("").trim();
    matches!(
        essence.split('/').next(),
        Some("image") | Some("audio") | Some("video")
    )
}

/// `GET /simulator/files/{id}`: the phone's copy of a file, for the page. Whatever the
/// file holds (a user may send an HTML page or an SVG with a script), it is never run as
/// part of this origin: it is sandboxed by its own CSP, never sniffed, and anything not
/// an image, audio or video is a download (under its own name, RFC 6266). Byte ranges are
/// answered, so the players can seek.
async fn phone_copy(
    State(files): State<Arc<UserFiles>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(file) = files.get(&id) else {
        return (StatusCode::NOT_FOUND, "No such file on this phone").into_response();
    };
    let total = file.bytes.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|h| h.to_str().ok())
        .map(|r| byte_range(r, total));
    let (status, body, content_range) = match range {
        Some(Some(Ok((start, end)))) => (
            StatusCode::PARTIAL_CONTENT,
            file.bytes.slice(start..=end),
            Some(format!("bytes {start}-{end}/{total}")),
        ),
        Some(Some(Err(()))) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
        // No range, or one we do not read (several, another unit): the whole file.
        _ => (StatusCode::OK, file.bytes.clone(), None),
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.mime_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    if let Some(range) = content_range.and_then(|r| HeaderValue::from_str(&r).ok()) {
        h.insert(header::CONTENT_RANGE, range);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // An id is never given to other bytes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if !shown_inline(&file.mime_type) {
        let name = file.filename.as_deref().unwrap_or("file");
        h.insert(header::CONTENT_DISPOSITION, attachment(name));
    }
    response
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback and the
/// name itself, percent-encoded.
fn attachment(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// One `bytes=` range of a file of `total` bytes, inclusive: None when it is not one we
/// read (several ranges, another unit, malformed), `Err` when it is past the end.
fn byte_range(header: &str, total: usize) -> Option<Result<(usize, usize), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        let suffix: usize = last.parse().ok()?;
        if suffix == 0 || total == 0 {
            return Some(Err(()));
        }
        (total.saturating_sub(suffix), total - 1)
    } else {
        let start: usize = first.parse().ok()?;
        let end = if last.is_empty() {
            total.saturating_sub(1)
        } else {
            let end: usize = last.parse().ok()?;
            if end < start {
                return None;
            }
            end.min(total.saturating_sub(1))
        };
        if start >= total {
            return Some(Err(()));
        }
        (start, end)
    };
    Some(Ok(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_read_as_browsers_send_them() {
        assert_eq!(byte_range("bytes=0-", 10), Some(Ok((0, 9))));
        assert_eq!(byte_range("bytes=2-4", 10), Some(Ok((2, 4))));
        assert_eq!(byte_range("bytes=5-100", 10), Some(Ok((5, 9))));
        assert_eq!(byte_range("bytes=-3", 10), Some(Ok((7, 9))));
        assert_eq!(byte_range("bytes=-30", 10), Some(Ok((0, 9))));
        assert_eq!(byte_range("bytes=10-", 10), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,4-5", 10), None);
        assert_eq!(byte_range("items=0-1", 10), None);
        assert_eq!(byte_range("bytes=4-2", 10), None);
    }

    #[test]
    fn a_downloads_name_is_kept_and_cannot_break_the_header() {
        let v = attachment("Timetable \"autumn\" é.pdf");
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"Timetable _autumn_ _.pdf\"; filename*=UTF-8''Timetable%20%22autumn%22%20%C3%A9.pdf"
        );
        assert!(HeaderValue::from_str("a\r\nb").is_err());
        assert!(attachment("a\r\nb.pdf").to_str().is_ok());
    }
}
