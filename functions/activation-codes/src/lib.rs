//! `POST /api/admin/activation-codes` `{"student_name","course"}` → 201
//! `{"code","expires_at","student_name","course"}`: a single-use code, valid 7 days, that
//! links the WhatsApp conversation of whoever types it to the student. Only its hash is
//! stored: the code is shown this once.

use edubot_adapters::http::{authenticate, json_body, json_response, respond};
use edubot_adapters::time::{now_ms, rfc3339};
use edubot_adapters::AppContext;
use edubot_app::activation::{issue_code, student_of};
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
struct IssueRequest {
    student_name: String,
    course: String,
}

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(issue(ctx, &req).await)
}

async fn issue(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    let admin = authenticate(ctx, req).await?;
    let request: IssueRequest = json_body(req)?;
    let student = student_of(&request.student_name, &request.course).map_err(AppError::invalid)?;
    let (code, expires_at) = issue_code(ctx, &admin, student.clone(), now_ms()).await?;
    Ok(json_response(
        201,
        &serde_json::json!({
            "code": code,
            "expires_at": rfc3339(expires_at),
            "student_name": student.name,
            "course": student.course,
        }),
    ))
}
