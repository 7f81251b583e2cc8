//! `DELETE /api/admin/canned-replies/{shortcut}` → 204; an unknown shortcut is 404.

use edubot_adapters::http::{authenticate, empty_response, path_param, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::team::delete_canned_reply;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(delete(ctx, &req).await)
}

async fn delete(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    delete_canned_reply(ctx, &admin, path_param(req, "shortcut"), now_ms()).await?;
    Ok(empty_response(204))
}
