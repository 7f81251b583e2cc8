//! Serves `static-site/` as S3 + CloudFront do in production, with the same security
//! headers as the CloudFront response-headers policy.

use std::path::{Component, Path, PathBuf};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn default_dir() -> PathBuf {
    crate::project_root().join("static-site")
}

/// The simulator's page is part of the local stack, not of the product.
fn simulator_dir() -> PathBuf {
    crate::project_root().join("infra/local/simulator")
}

/// The simulator's page, under `/simulator/`.
pub fn simulator_router() -> Router {
    Router::new()
        .route("/simulator/", get(serve_simulator))
        .route("/simulator/{*path}", get(serve_simulator))
        .with_state(simulator_dir())
}

async fn serve_simulator(State(dir): State<PathBuf>, uri: Uri) -> Response {
    serve_from(&dir, uri.path().trim_start_matches("/simulator")).await
}

pub async fn serve_from(dir: &Path, path: &str) -> Response {
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
        return with_security_headers(StatusCode::NOT_FOUND.into_response());
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
    with_security_headers(response)
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

pub fn with_security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}
