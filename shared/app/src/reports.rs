//! Reports (DESIGN §17): counting the figures the table's stream tells of, and reading a
//! range of days back as a report. What counts is the domain's (`edubot_domain::reports`).

use crate::context::Ports;
use crate::error::AppError;
use crate::ports::{ReportStore, StoreError};
use edubot_domain::reports::{report_range, FigureEvent, Report};

/// Counts the events once each; answers how many were new.
pub async fn count(ctx: &impl Ports, events: &[FigureEvent]) -> Result<usize, StoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    ctx.store().count_figures(events).await
}

/// The report of `from`–`to` (`YYYY-MM-DD`, UTC days, both included, at most 92 days).
pub async fn report(ctx: &impl Ports, from: &str, to: &str) -> Result<Report, AppError> {
    let (from, to) = report_range(from, to).map_err(|p| AppError::invalid(p.to_string()))?;
    let figures = ctx.store().figures(from, to).await?;
    Ok(edubot_domain::reports::report(
        from,
        to,
        &figures.days,
        &figures.admin_days,
    ))
}
