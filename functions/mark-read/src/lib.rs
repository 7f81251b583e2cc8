//! `POST /api/admin/conversations/{phone}/read`: the conversation's unread count goes to 0
//! and the user's newest message is marked read on WhatsApp (once per message).

use edubot_adapters::http::{authenticate, json_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::receipts::mark_read;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(read(ctx, &req).await)
}

async fn read(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let conversation = mark_read(ctx, &phone, now_ms()).await?;
    Ok(json_response(
        200,
        &serde_json::json!({ "conversation": views::conversation(&conversation) }),
    ))
}
