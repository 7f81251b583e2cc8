//! `POST /api/admin/conversations/{phone}/template` `{"name","language","parameters"}`: an
//! approved template to the user, whether or not the 24-hour window is open. 201 when
//! sent, 202 while a retry is scheduled, 502 with the failed message on a refusal.

use edubot_adapters::http::{authenticate, json_body, path_phone, respond, send_response};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::templates::{send_template, TemplateRequest};
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

/// Meta's template names and language codes: lower-case letters, digits and `_`.
const MAX_NAME_BYTES: usize = 512;
/// A template body has at most 1024 characters, so no more parameters than that can fit.
const MAX_PARAMETERS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendTemplateRequest {
    name: String,
    language: String,
    #[serde(default)]
    parameters: Vec<String>,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(send(ctx, &req).await)
}

fn well_formed(value: &str) -> bool {
    (1..=MAX_NAME_BYTES).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

async fn send(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let request: SendTemplateRequest = json_body(req)?;
    if !well_formed(&request.name) || !well_formed(&request.language) {
        return Err(AppError::invalid(
            "`name` and `language` are a template's name and Meta's language code (letters, digits, _).",
        ));
    }
    if request.parameters.len() > MAX_PARAMETERS {
        return Err(AppError::invalid("Too many parameters."));
    }
    let template = TemplateRequest {
        name: &request.name,
        language: &request.language,
        parameters: &request.parameters,
    };
    Ok(send_response(
        send_template(ctx, &admin, &phone, template, now_ms()).await?,
    ))
}
