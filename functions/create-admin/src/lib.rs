//! `POST /api/admin/admins` `{"username","password","role"}` (supervisor) → 201
//! `{"admin"}`; a taken username is 409 `conflict`.

use edubot_adapters::http::{authenticate_supervisor, json_body, json_response, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::team::{create_admin, NewAccount};
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAdmin {
    username: String,
    password: String,
    role: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(create(ctx, &req).await)
}

async fn create(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let session = authenticate_supervisor(ctx, req).await?;
    let body: NewAdmin = json_body(req)?;
    let account = NewAccount {
        username: &body.username,
        password: &body.password,
        role: &body.role,
    };
    let created = create_admin(ctx, &session.admin, account, now_ms()).await?;
    Ok(json_response(
        201,
        &serde_json::json!({ "admin": views::admin(&created) }),
    ))
}
