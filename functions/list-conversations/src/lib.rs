//! `GET /api/admin/conversations?limit=&cursor=&filter=support|mine|unassigned`: most
//! recent activity first; `?q=` searches the whole desk instead (DESIGN §15).

use edubot_adapters::http::{
    authenticate, json_response, limit_param, query, respond, MAX_PAGE, MAX_SEARCH_PAGE,
};
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::desk::{list_conversations, search_conversations};
use edubot_app::ports::ListFilter;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(list(ctx, &req).await)
}

async fn list(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let filter = match query(req, "filter") {
        None | Some("") | Some("all") => ListFilter::All,
        Some("support") => ListFilter::Support,
        Some("mine") => ListFilter::AssignedTo(admin),
        Some("unassigned") => ListFilter::Unassigned,
        Some(_) => {
            return Err(AppError::invalid(
                "filter must be \"support\", \"mine\", \"unassigned\" or absent.",
            ))
        }
    };
    let cursor = query(req, "cursor").filter(|c| !c.is_empty());
    let page = match query(req, "q") {
        Some(q) => {
            if filter != ListFilter::All {
                return Err(AppError::invalid("`q` cannot be combined with `filter`."));
            }
            let limit = limit_param(req, MAX_SEARCH_PAGE)?;
            search_conversations(ctx, q, limit, cursor).await?
        }
        None => list_conversations(ctx, &filter, limit_param(req, MAX_PAGE)?, cursor).await?,
    };
    let conversations: Vec<_> = page.items.iter().map(views::conversation).collect();
    Ok(json_response(
        200,
        &serde_json::json!({ "conversations": conversations, "next_cursor": page.next_cursor }),
    ))
}
