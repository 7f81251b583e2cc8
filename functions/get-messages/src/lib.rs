//! `GET /api/admin/conversations/{phone}/messages?limit=&before=&after=`: the history,
//! oldest first; `before` pages back, `after` polls for what is new. The first page (no
//! `before` or `after`) also holds `enquiries`, the conversation's newest admission
//! enquiries, newest first; paging and polling stay at one Query and one GetItem.

use edubot_adapters::http::{
    authenticate, json_response, limit_param, path_phone, query, respond, MAX_PAGE,
};
use edubot_adapters::store::valid_message_id;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::conversations::conversation_or_404;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(history(ctx, &req).await)
}

fn message_id_param<'a>(req: &'a Request, name: &str) -> Result<Option<&'a str>, AppError> {
    match query(req, name).filter(|v| !v.is_empty()) {
        Some(id) if !valid_message_id(id) => {
            Err(AppError::invalid(format!("{name} must be a message id.")))
        }
        other => Ok(other),
    }
}

async fn history(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let limit = limit_param(req, MAX_PAGE)?;
    let before = message_id_param(req, "before")?;
    let after = message_id_param(req, "after")?;
    if before.is_some() && after.is_some() {
        return Err(AppError::invalid("Use before or after, not both."));
    }
    let first_page = before.is_none() && after.is_none();
    // The reads are independent: run them together.
    let (conversation, page, enquiries) = tokio::join!(
        conversation_or_404(ctx, &phone),
        ctx.store.messages_page(&phone, limit, before, after),
        async {
            match first_page {
                true => ctx.store.enquiries(&phone).await.map(Some),
                false => Ok(None),
            }
        }
    );
    let (conversation, page, enquiries) = (conversation?, page?, enquiries?);
    let messages: Vec<_> = page.items.iter().map(views::message).collect();
    let mut body = serde_json::json!({
        "conversation": views::conversation(&conversation),
        "messages": messages,
        "next_cursor": page.next_cursor,
    });
    if let Some(enquiries) = enquiries {
        let views: Vec<_> = enquiries.iter().map(views::enquiry).collect();
        body["enquiries"] = serde_json::to_value(views).expect("views serialise");
    }
    Ok(json_response(200, &body))
}
