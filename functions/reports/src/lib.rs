//! `GET /api/admin/reports?from=&to=[&format=csv[&table=admins]]` (both roles) → `{"days",
//! "admins"}`: the desk's figures per UTC day and per admin (DESIGN §17), or one of the two
//! tables as CSV (`format=csv` or `Accept: text/csv`).

use edubot_adapters::http::{authenticate_session, header, json_response, query, respond};
use edubot_adapters::views::{self, REPORT_ADMIN_COLUMNS, REPORT_DAY_COLUMNS};
use edubot_adapters::AppContext;
use edubot_app::reports::report;
use edubot_app::AppError;
use lambda_http::{Body, Request, Response};

pub async fn handle(ctx: &AppContext, req: Request) -> Response<Body> {
    respond(reports(ctx, &req).await)
}

/// Which answer the caller asked for.
enum Format {
    Json,
    Csv { admins: bool },
}

fn format_of(req: &Request) -> Result<Format, AppError> {
    let admins = match query(req, "table") {
        None | Some("days") => false,
        Some("admins") => true,
        Some(_) => return Err(AppError::invalid("`table` must be days or admins.")),
    };
    let accepts_csv = header(req, "accept").is_some_and(|a| a.contains("text/csv"));
    match query(req, "format") {
        Some("csv") => Ok(Format::Csv { admins }),
        Some("json") => Ok(Format::Json),
        None if accepts_csv => Ok(Format::Csv { admins }),
        None => Ok(Format::Json),
        Some(_) => Err(AppError::invalid("`format` must be json or csv.")),
    }
}

async fn reports(ctx: &AppContext, req: &Request) -> Result<Response<Body>, AppError> {
    authenticate_session(ctx, req).await?;
    let format = format_of(req)?;
    let (from, to) = (
        query(req, "from").unwrap_or_default(),
        query(req, "to").unwrap_or_default(),
    );
    let report = report(ctx, from, to).await?;
    let view = views::report(&report);
    Ok(match format {
        Format::Json => json_response(200, &view),
        Format::Csv { admins } => {
            let (table, body) = if admins {
                ("admins", views::csv(&REPORT_ADMIN_COLUMNS, &view.admins))
            } else {
                ("days", views::csv(&REPORT_DAY_COLUMNS, &view.days))
            };
            Response::builder()
                .status(200)
                .header("content-type", "text/csv; charset=utf-8")
                .header(
                    "content-disposition",
                    format!("attachment; filename=\"edubot-report-{table}-{from}-{to}.csv\""),
                )
                .header("cache-control", "no-store")
                .header("x-content-type-options", "nosniff")
                .body(Body::from(body))
                .expect("static response parts")
        }
    })
}
