//! `GET /api/admin/canned-replies` → `{"canned_replies":[{"shortcut","text"}]}`, by shortcut.

use edubot_adapters::http::{authenticate, json_response, respond};
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::team::canned_replies;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(list(ctx, &req).await)
}

async fn list(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let replies = canned_replies(ctx).await?;
    let replies: Vec<_> = replies.iter().map(views::canned_reply).collect();
    Ok(json_response(
        200,
        &serde_json::json!({ "canned_replies": replies }),
    ))
}
