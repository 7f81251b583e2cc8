//! `POST /api/admin/canned-replies` `{"shortcut","text"}` → 201 `{"canned_reply"}`; a
//! taken shortcut is 409 `conflict`.

use edubot_adapters::http::{authenticate, json_body, json_response, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::team::create_canned_reply;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCannedReply {
    shortcut: String,
    text: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(create(ctx, &req).await)
}

async fn create(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let body: NewCannedReply = json_body(req)?;
    let reply = create_canned_reply(ctx, &admin, &body.shortcut, &body.text, now_ms()).await?;
    Ok(json_response(
        201,
        &serde_json::json!({ "canned_reply": views::canned_reply(&reply) }),
    ))
}
