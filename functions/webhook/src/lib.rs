//! `GET /webhook` (Meta's verification) and `POST /webhook` (messages and statuses).
//! Verifies and records only: it never calls the Graph API (docs/architecture.md).

use edubot_adapters::http::{body_bytes, constant_time_eq, error_response, header, query};
use edubot_adapters::ingest::ingest;
use edubot_adapters::time::now_ms;
use edubot_adapters::whatsapp::payload::WebhookPayload;
use edubot_adapters::whatsapp::signature;
use edubot_adapters::AppContext;
use edubot_app::{AppError, ErrorCode};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

/// Webhook bodies over this are refused with 413 before anything else is read.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 3 * 1024 * 1024;

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    match *req.method() {
        Method::GET => verify_subscription(ctx, &req),
        Method::POST => receive(ctx, &req).await,
        _ => error_response(&AppError::invalid("Use GET or POST.")),
    }
}

fn plain(status: u16, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::from(body.to_owned()))
        .expect("static response parts")
}

/// `hub.mode=subscribe&hub.verify_token=T&hub.challenge=C` → 200 `C` when T matches.
fn verify_subscription(ctx: &AppContext, req: &Request) -> Response<Body> {
    let expected = ctx.config.whatsapp_verify_token.expose().as_bytes();
    let given = query(req, "hub.verify_token")
        .unwrap_or_default()
        .as_bytes();
    let token_ok = !expected.is_empty() && constant_time_eq(expected, given);
    match (query(req, "hub.mode"), query(req, "hub.challenge")) {
        (Some("subscribe"), Some(challenge)) if token_ok => plain(200, challenge),
        _ => {
            tracing::warn!("webhook verification refused");
            plain(403, "Forbidden")
        }
    }
}

async fn receive(ctx: &AppContext, req: &Request) -> Response<Body> {
    let body = body_bytes(req);
    if body.len() > MAX_WEBHOOK_BODY_BYTES {
        return error_response(&AppError::new(
            ErrorCode::TooLarge,
            "The webhook body is larger than 3 MB.",
        ));
    }
    let secret = ctx.config.whatsapp_app_secret.expose().as_bytes();
    if !signature::verify(secret, body, header(req, "x-hub-signature-256")) {
        tracing::warn!("webhook signature missing or wrong; nothing stored");
        return error_response(&AppError::new(
            ErrorCode::Unauthorized,
            "Missing or invalid X-Hub-Signature-256.",
        ));
    }
    let payload = match WebhookPayload::parse(body) {
        Ok(p) => p,
        Err(_) => {
            return error_response(&AppError::invalid(
                "The body is not a WhatsApp webhook payload.",
            ))
        }
    };
    let batch = payload.into_batch(&ctx.config.whatsapp_phone_number_id);
    match ingest(&ctx.store, batch, now_ms()).await {
        Ok(report) => {
            tracing::info!(
                stored = report.stored,
                duplicates = report.duplicates,
                statuses = report.statuses_applied,
                stale_statuses = report.statuses_stale,
                unknown_statuses = report.statuses_unknown,
                skipped = report.skipped,
                foreign = report.foreign_changes,
                "webhook recorded"
            );
            plain(200, "EVENT_RECEIVED")
        }
        // Not a 200: Meta retries, and what was stored is recognised by wamid.
        Err(e) => error_response(&AppError::internal(e)),
    }
}
