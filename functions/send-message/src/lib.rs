//! `POST /api/admin/conversations/{phone}/chat-support/send` `{"text"}` or
//! `{"attachment_id","text"?}` (the text is then the file's caption), either with an
//! optional `reply_to` (the message it answers): 201 when sent, 202
//! while a retry is scheduled, 502 with the failed message on a permanent refusal.

use edubot_adapters::http::{authenticate, json_body, path_phone, respond, send_response};
use edubot_adapters::store::valid_message_id;
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::desk::{send_admin_message, Reply};
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct SendRequest {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachment_id: Option<String>,
    /// The id of the message this one answers (WhatsApp shows it quoted).
    #[serde(default)]
    reply_to: Option<String>,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(send(ctx, &req).await)
}

async fn send(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let request: SendRequest = json_body(req)?;
    let reply = match (&request.attachment_id, &request.text) {
        (Some(attachment_id), _) if !valid_message_id(attachment_id) => {
            return Err(AppError::invalid("The attachment id is not valid."))
        }
        (Some(attachment_id), caption) => Reply::File {
            attachment_id,
            caption: caption.as_deref(),
        },
        (None, Some(text)) => Reply::Text(text),
        (None, None) => {
            return Err(AppError::invalid(
                "The field `text` is required (or `attachment_id`, to send a file).",
            ))
        }
    };
    if request
        .reply_to
        .as_deref()
        .is_some_and(|id| !valid_message_id(id))
    {
        return Err(AppError::invalid("`reply_to` is not a message id."));
    }
    let reply_to = request.reply_to.as_deref();
    Ok(send_response(
        send_admin_message(ctx, &admin, &phone, reply, reply_to, now_ms()).await?,
    ))
}
