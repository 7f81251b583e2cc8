//! `POST /api/admin/conversations/{phone}/messages/{id}/retry`: sends a failed admin reply
//! again — a new attempt on the same message — answered like a send: 201 sent, 202 retry
//! scheduled, 502 with the failed message.

use edubot_adapters::http::{authenticate, path_message_id, path_phone, respond, send_response};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::desk::retry_admin_message;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(retry(ctx, &req).await)
}

async fn retry(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let id = path_message_id(req)?;
    Ok(send_response(
        retry_admin_message(ctx, &admin, &phone, id, now_ms()).await?,
    ))
}
