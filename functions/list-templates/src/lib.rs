//! `GET /api/admin/templates`: the approved templates the desk may send after the 24-hour
//! window, as Meta lists them (cached at most 5 minutes).

use edubot_adapters::http::{authenticate, json_response, respond};
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::templates::approved_templates;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(list(ctx, &req).await)
}

async fn list(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let templates = approved_templates(ctx).await?;
    let templates: Vec<_> = templates.iter().map(views::template).collect();
    Ok(json_response(
        200,
        &serde_json::json!({ "templates": templates }),
    ))
}
