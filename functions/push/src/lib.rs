//! The table's second stream reader (AWS advises at most two per shard; the inbound
//! processor is the other): every new or changed message and conversation goes to every
//! open WebSocket of the desk, one event per text frame; what changes the desk's figures is
//! counted (once per event, docs/reports.md); a user's new file is handed to desk-events
//! with an asynchronous invoke, so a long download never delays an event
//! (docs/realtime.md).

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use edubot_adapters::stream::desk_change;
use edubot_adapters::AppContext;
use edubot_app::realtime::broadcast;
use edubot_app::reports;

/// Pushes the batch's events in stream order and counts its figures side by side, then
/// hands the new files on. Only a storage failure (listing the connections, counting)
/// makes Lambda retry the batch: the page applies an event twice as once, and a figure
/// event already counted counts once. A hand-off that fails is logged; the scheduled checks
/// fetch every pending file two minutes after it arrived in any case.
pub async fn handle(ctx: &AppContext, event: Event) -> DynamoDbEventResponse {
    // Each record decoded once, for its frame, its figures and its file.
    let changes: Vec<_> = event
        .records
        .iter()
        .filter_map(|record| Some((record, desk_change(record)?)))
        .collect();
    let frames: Vec<String> = changes.iter().filter_map(|(_, c)| c.page_event()).collect();
    let figures: Vec<_> = changes
        .iter()
        .flat_map(|(_, c)| c.figure_events())
        .collect();
    let hand_off = async {
        for (record, change) in &changes {
            let Some(message) = change.media_to_fetch() else {
                continue;
            };
            let mut single = Event::default();
            single.records = vec![(*record).clone()];
            let payload = serde_json::to_vec(&single).expect("stream events serialise");
            if let Err(why) = ctx
                .invoker()
                .invoke_async(&ctx.config.desk_events_function, payload)
                .await
            {
                tracing::warn!(phone = %message.phone.masked(), message_id = %message.id, reason = %why, "file not handed to desk-events; the scheduled checks will fetch it");
            }
        }
    };
    let (pushed, counted, ()) = futures_util::future::join3(
        broadcast(ctx, &frames),
        reports::count(ctx, &figures),
        hand_off,
    )
    .await;
    let mut failed = false;
    match pushed {
        Ok(report) => tracing::debug!(events = frames.len(), ?report, "desk events pushed"),
        Err(e) => {
            tracing::error!(error = %e, "desk events not pushed; the batch will be retried");
            failed = true;
        }
    }
    match counted {
        Ok(new) => tracing::debug!(events = figures.len(), new, "figures counted"),
        Err(e) => {
            tracing::error!(error = %e, "figures not counted; the batch will be retried");
            failed = true;
        }
    }
    let mut response = DynamoDbEventResponse::default();
    if failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = event
            .records
            .first()
            .and_then(|r| r.change.sequence_number.clone());
        response.batch_item_failures.push(failure);
    }
    response
}
