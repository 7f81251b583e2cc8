//! `POST /api/admin/login` `{"username","password"}` → `{"token","expires_at","username","role"}`.

use edubot_adapters::http::{json_body, json_response, respond, source_address};
use edubot_adapters::team::PASSWORD_MAX_CHARS;
use edubot_adapters::time::{now_ms, rfc3339};
use edubot_adapters::AppContext;
use edubot_app::desk::login;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(sign_in(ctx, &req).await)
}

async fn sign_in(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let creds: Credentials = json_body(req)?;
    // The account's own limit, in characters: a password it took always signs in.
    let too_long = creds.password.chars().count() > PASSWORD_MAX_CHARS;
    if creds.username.is_empty() || creds.password.is_empty() || too_long {
        return Err(AppError::invalid("username and password are required."));
    }
    let username = creds.username.trim().to_lowercase();
    let signed_in = login(
        ctx,
        &username,
        &creds.password,
        &source_address(ctx, req),
        now_ms(),
    )
    .await?;
    Ok(json_response(
        200,
        &serde_json::json!({
            "token": signed_in.token,
            "expires_at": rfc3339(signed_in.expires_at),
            "username": username,
            "role": signed_in.role.as_str(),
        }),
    ))
}
