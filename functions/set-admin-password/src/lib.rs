//! `POST /api/admin/admins/{username}/password` `{"password"}` (supervisor) → 200
//! `{"admin"}`; the account's tokens so far stop working.

use edubot_adapters::http::{
    authenticate_supervisor, json_body, json_response, path_param, respond,
};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::team::set_admin_password;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(set(ctx, &req).await)
}

async fn set(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let session = authenticate_supervisor(ctx, req).await?;
    let body: NewPassword = json_body(req)?;
    let username = path_param(req, "username");
    let admin = set_admin_password(ctx, &session.admin, username, &body.password, now_ms()).await?;
    Ok(json_response(
        200,
        &serde_json::json!({ "admin": views::admin(&admin) }),
    ))
}
