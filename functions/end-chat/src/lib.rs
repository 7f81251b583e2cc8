//! `POST /api/admin/conversations/{phone}/chat-support/end`: ends chat support, keeps the
//! history; ending an ended chat is 409 `not_in_chat_support`.

use edubot_adapters::http::{authenticate, json_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::desk::end_chat_support;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(end(ctx, &req).await)
}

async fn end(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let conversation = end_chat_support(ctx, &admin, &phone, now_ms()).await?;
    Ok(json_response(
        200,
        &serde_json::json!({ "conversation": views::conversation(&conversation) }),
    ))
}
