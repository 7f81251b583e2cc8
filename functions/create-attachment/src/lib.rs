//! `POST /api/admin/conversations/{phone}/attachments` `{"filename","mime_type","size"}`:
//! 201 `{"attachment_id","upload_url","upload_headers"}` — a 5-minute presigned PUT for the
//! file, refused at once (400) when WhatsApp would refuse it (docs/media.md).

use edubot_adapters::http::{authenticate, json_body, json_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::attachments::create_attachment;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct Declared {
    filename: String,
    mime_type: String,
    size: u64,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(create(ctx, &req).await)
}

async fn create(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let declared: Declared = json_body(req)?;
    let created = create_attachment(
        ctx,
        &admin,
        &phone,
        &declared.filename,
        &declared.mime_type,
        declared.size,
        now_ms(),
    )
    .await?;
    Ok(json_response(201, &created))
}
