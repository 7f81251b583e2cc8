//! `GET /api/admin/dashboard` → `{"active_chats","waiting_chats","oldest_waiting_since",…}`.

use edubot_adapters::http::{authenticate, json_response, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(dashboard(ctx, &req).await)
}

async fn dashboard(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    Ok(json_response(
        200,
        &edubot_app::desk::dashboard(ctx, now_ms()).await?,
    ))
}
