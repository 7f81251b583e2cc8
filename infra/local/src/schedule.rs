//! EventBridge's schedule in miniature: every `LOCAL_SCHEDULE_SECONDS` (default 60) the
//! scheduled-checks handler gets the same `Scheduled Event` it gets in AWS.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use edubot_adapters::AppContext;

pub const DEFAULT_INTERVAL_SECONDS: u64 = 60;

/// The event an EventBridge schedule rule delivers.
pub fn scheduled_event() -> EventBridgeEvent {
    let mut event = EventBridgeEvent::default();
    event.version = Some("0".into());
    event.id = Some(edubot_adapters::model::new_message_id());
    event.detail_type = "Scheduled Event".into();
    event.source = "aws.events".into();
    event.account = Some("000000000000".into());
    event.time = Some(chrono::Utc::now());
    event.region = Some("us-east-1".into());
    event.resources = Some(vec![
        "arn:aws:events:us-east-1:000000000000:rule/edubot-local-schedule".into(),
    ]);
    event.detail = serde_json::json!({});
    event
}

/// Runs the checks every `interval`, one run at a time (reserved concurrency 1 in AWS).
pub async fn run(ctx: Arc<AppContext>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate: wait a whole interval first
    loop {
        ticks.tick().await;
        if let Err(e) = scheduled_checks::handle(&ctx, scheduled_event()).await {
            tracing::error!(error = %e, "scheduled checks failed");
        }
    }
}
