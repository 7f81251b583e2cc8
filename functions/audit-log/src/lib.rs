//! `GET /api/admin/audit?limit=&cursor=&admin=&phone=` (supervisor) → `{"entries",
//! "next_cursor"}`, newest first (DESIGN §15).

use edubot_adapters::http::{
    authenticate_supervisor, json_response, limit_param, query, respond, MAX_PAGE,
};
use edubot_adapters::phone::Phone;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::ports::AuditFilter;
use edubot_app::team::audit_log;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(list(ctx, &req).await)
}

async fn list(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate_supervisor(ctx, req).await?;
    let given = |name| query(req, name).filter(|v| !v.is_empty());
    let phone = match given("phone") {
        Some(p) => Some(
            Phone::parse(p).ok_or_else(|| AppError::invalid("`phone` must be 8 to 15 digits."))?,
        ),
        None => None,
    };
    let filter = AuditFilter {
        admin: given("admin").map(str::to_owned),
        phone,
    };
    let limit = limit_param(req, MAX_PAGE)?;
    let page = audit_log(ctx, &filter, limit, given("cursor")).await?;
    let entries: Vec<_> = page.items.iter().map(views::audit_entry).collect();
    Ok(json_response(
        200,
        &serde_json::json!({ "entries": entries, "next_cursor": page.next_cursor }),
    ))
}
