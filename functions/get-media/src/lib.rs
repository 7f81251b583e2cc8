//! `GET /api/admin/conversations/{phone}/messages/{id}/media`: a link to the message's
//! stored file, valid 5 minutes (docs/media.md); 404 without one, 409 while it is fetched.

use edubot_adapters::http::{authenticate, json_response, path_message_id, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::media::media_link;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(link(ctx, &req).await)
}

async fn link(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let id = path_message_id(req)?;
    let link = media_link(ctx, &phone, id, now_ms()).await?;
    Ok(json_response(200, &link))
}
