//! Serves `static-site/` as S3 + CloudFront do in production, with the same security
//! headers as the CloudFront response-headers policy.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The policy CloudFront sends (wiring.yaml; infra/check_infra.py holds the two equal),
/// with `{media_origin}` where CloudFront names the media bucket's host and
/// `{websocket_origins}` where it names the WebSocket API's (DESIGN §16).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: {media_origin}; media-src 'self' {media_origin}; connect-src 'self' {media_origin} {websocket_origins}; \
font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page's WebSocket (`ws://127.0.0.1:$PORT/ws`, and `ws://localhost:$PORT/ws` when the
/// page is opened there) by name: `'self'` covers `ws:` on the page's own origin only in
/// browsers that follow CSP Level 3. Any port: this function is not told the stack's.
pub const LOCAL_WEBSOCKET_ORIGINS: &str = "ws://127.0.0.1:* ws://localhost:*";

/// The policy for a stack whose files are served from `media_origin` (its S3 server).
pub fn content_security_policy(media_origin: &str) -> String {
    CONTENT_SECURITY_POLICY
        .replace("{media_origin}", media_origin.trim_end_matches('/'))
        .replace("{websocket_origins}", LOCAL_WEBSOCKET_ORIGINS)
}

pub fn default_dir() -> PathBuf {
    crate::project_root().join("static-site")
}

/// The simulator's page is part of the local stack, not of the product.
fn simulator_dir() -> PathBuf {
    crate::project_root().join("infra/local/simulator")
}

/// The simulator's page, under `/simulator/`.
pub fn simulator_router(csp: Arc<str>) -> Router {
    Router::new()
        .route("/simulator/", get(serve_simulator))
        .route("/simulator/{*path}", get(serve_simulator))
        .with_state((simulator_dir(), csp))
}

async fn serve_simulator(State((dir, csp)): State<(PathBuf, Arc<str>)>, uri: Uri) -> Response {
    serve_from(&dir, uri.path().trim_start_matches("/simulator"), &csp).await
}

pub async fn serve_from(dir: &Path, path: &str, csp: &str) -> Response {
    let relative = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let relative = Path::new(relative.trim_start_matches('/'));
    // Nothing outside the folder: no `..`, no absolute parts.
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return with_security_headers(StatusCode::NOT_FOUND.into_response(), csp);
    }
    let file = dir.join(relative);
    let response = match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut r = bytes.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&file)),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(_) => (StatusCode::NOT_FOUND, "Not found").into_response(),
    };
    with_security_headers(response, csp)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

pub fn with_security_headers(mut response: Response, csp: &str) -> Response {
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(csp) {
        h.insert("content-security-policy", csp);
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}
