//! `POST /api/admin/conversations/{phone}/chat-support/send` `{"text"}`: 201 when sent,
//! 202 while a retry is scheduled, 502 with the failed message on a permanent refusal.

use edubot_adapters::http::{authenticate, json_body, json_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::desk::{send_admin_message, SendOutcome};
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reply {
    text: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(send(ctx, &req).await)
}

async fn send(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let reply: Reply = json_body(req)?;
    Ok(
        match send_admin_message(ctx, &admin, &phone, &reply.text, now_ms()).await? {
            SendOutcome::Sent(m) => {
                json_response(201, &serde_json::json!({ "message": views::message(&m) }))
            }
            SendOutcome::Retrying(m) => {
                json_response(202, &serde_json::json!({ "message": views::message(&m) }))
            }
        },
    )
}
