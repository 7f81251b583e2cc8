//! `POST /api/admin/conversations/{phone}/typing`: 204, and the user sees that an admin is
//! typing (at most once every 20 s per conversation, only while the window is open).

use edubot_adapters::http::{authenticate, empty_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::receipts::show_typing;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(typing(ctx, &req).await)
}

async fn typing(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let shown = show_typing(ctx, &phone, now_ms()).await?;
    tracing::debug!(phone = %phone.masked(), shown, "typing");
    Ok(empty_response(204))
}
