//! `GET /api/admin/admins` (supervisor): every account, by username, without hashes.

use edubot_adapters::http::{authenticate_supervisor, json_response, respond};
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::team::list_admins;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(list(ctx, &req).await)
}

async fn list(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate_supervisor(ctx, req).await?;
    let admins = list_admins(ctx).await?;
    let admins: Vec<_> = admins.iter().map(views::admin).collect();
    Ok(json_response(200, &serde_json::json!({ "admins": admins })))
}
