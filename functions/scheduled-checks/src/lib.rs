//! Run by an EventBridge schedule every minute (docs/operations.md): waiting alerts, queue-timeout
//! notices, idle chats, send retries, replay of what the stream missed, due media fetches;
//! then one line of CloudWatch metrics. A run stops within its time budget and leaves the rest to the next.

use std::time::{Duration, Instant};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use edubot_adapters::store::StoreError;
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::checks::{metrics_line, run_checks, CheckReport};

/// Inside the minute between runs and well inside the function's timeout (300 s, room for
/// a file's download), so a slow run ends cleanly before the next begins.
pub const TIME_BUDGET: Duration = Duration::from_secs(40);

pub async fn handle(ctx: &AppContext, event: EventBridgeEvent) -> Result<CheckReport, StoreError> {
    let now = now_ms();
    tracing::debug!(source = %event.source, detail_type = %event.detail_type, "scheduled checks");
    let report = run_checks(ctx, now, Instant::now() + TIME_BUDGET).await?;
    // EMF goes to stdout as a bare JSON line: CloudWatch turns it into metrics.
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
    println!("{}", metrics_line(&report, &function_name, now));
    tracing::info!(?report, "scheduled checks done");
    Ok(report)
}
