//! `POST /api/admin/conversations/{phone}/notes` `{"text"}` → 201 `{"message"}`: an
//! internal note (kind `note`), never sent to WhatsApp (DESIGN §15).

use edubot_adapters::http::{authenticate, json_body, json_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::assignment::add_note;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteRequest {
    text: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(note(ctx, &req).await)
}

async fn note(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let body: NoteRequest = json_body(req)?;
    let note = add_note(ctx, &admin, &phone, &body.text, now_ms()).await?;
    Ok(json_response(
        201,
        &serde_json::json!({ "message": views::message(&note) }),
    ))
}
