//! `POST /api/admin/ws-ticket`: a single-use ticket, valid 30 s, that opens the page's
//! WebSocket (`url?ticket=…`), so no long-lived token ever sits in a URL or an access log.

use edubot_adapters::http::{authenticate_session, json_response, respond};
use edubot_adapters::time::{now_ms, rfc3339};
use edubot_adapters::AppContext;
use edubot_app::realtime::issue_ticket;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(ticket(ctx, &req).await)
}

async fn ticket(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let session = authenticate_session(ctx, req).await?;
    let ticket = issue_ticket(ctx, &session.admin, session.token_version, now_ms()).await?;
    Ok(json_response(
        201,
        &serde_json::json!({
            "ticket": ticket.ticket,
            "expires_at": rfc3339(ticket.expires_at),
            "url": ctx.config.websocket_url,
        }),
    ))
}
