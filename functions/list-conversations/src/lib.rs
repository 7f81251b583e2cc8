//! `GET /api/admin/conversations?limit=&cursor=&filter=support`: most recent activity first.

use edubot_adapters::http::{authenticate, json_response, limit_param, query, respond};
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::desk::list_conversations;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(list(ctx, &req).await)
}

async fn list(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let support_only = match query(req, "filter") {
        None | Some("") | Some("all") => false,
        Some("support") => true,
        Some(_) => return Err(AppError::invalid("filter must be \"support\" or absent.")),
    };
    let limit = limit_param(req, 50, 200)?;
    let page = list_conversations(
        ctx,
        support_only,
        limit,
        query(req, "cursor").filter(|c| !c.is_empty()),
    )
    .await?;
    let conversations: Vec<_> = page.items.iter().map(views::conversation).collect();
    Ok(json_response(
        200,
        &serde_json::json!({ "conversations": conversations, "next_cursor": page.next_cursor }),
    ))
}
