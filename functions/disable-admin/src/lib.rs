//! `POST /api/admin/admins/{username}/disable` (supervisor) → 200 `{"admin"}`; the
//! account's tokens so far stop working (the last enabled supervisor cannot be disabled: 409).

use edubot_adapters::http::{authenticate_supervisor, json_response, path_param, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::team::disable_admin;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(disable(ctx, &req).await)
}

async fn disable(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let session = authenticate_supervisor(ctx, req).await?;
    let username = path_param(req, "username");
    let admin = disable_admin(ctx, &session.admin, username, now_ms()).await?;
    Ok(json_response(
        200,
        &serde_json::json!({ "admin": views::admin(&admin) }),
    ))
}
