//! `POST /api/admin/conversations/{phone}/assign` `{"admin": "<username>"|null,
//! "expected_assigned_to"?: "<username>"|null}` → 200 `{"conversation"}` (DESIGN §15).

use edubot_adapters::http::{authenticate, json_body, json_response, path_phone, respond};
use edubot_adapters::time::now_ms;
use edubot_adapters::views;
use edubot_adapters::AppContext;
use edubot_app::assignment::{assign, Assignment};
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignRequest {
    /// Required, null to unassign.
    #[serde(deserialize_with = "nullable")]
    admin: Option<String>,
    /// Absent: assign whoever holds the chat. Present (null included): only if the chat is
    /// held as the page believed.
    #[serde(default, deserialize_with = "present")]
    expected_assigned_to: Option<Option<String>>,
}

/// A string or null, the field itself required.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// A field that is present, even as null, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(assign_chat(ctx, &req).await)
}

async fn assign_chat(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let phone = path_phone(req)?;
    let body: AssignRequest = json_body(req)?;
    let assignment = Assignment {
        to: body.admin.as_deref(),
        expected: body.expected_assigned_to.as_ref().map(Option::as_deref),
    };
    let conversation = assign(ctx, &admin, &phone, assignment, now_ms()).await?;
    Ok(json_response(
        200,
        &serde_json::json!({ "conversation": views::conversation(&conversation) }),
    ))
}
