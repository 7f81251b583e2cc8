//! The table's second stream reader, shared by whatever reacts to desk changes (DESIGN §12:
//! AWS advises at most two readers per shard; the inbound processor is the other). Today it
//! fetches the file of each new inbound media message into the media bucket, off the
//! webhook's path and beside the bot's reply (docs/media.md).

use std::collections::HashMap;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use edubot_adapters::model::{Direction, Message};
use edubot_adapters::store::message_from_item;
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::media::fetch_media;
use futures_util::future::join_all;

/// The message a record inserted, if it is an inbound one whose file is still to be
/// fetched (the filter the event source mapping applies in AWS, applied again here).
pub fn inserted_media_message(record: &EventRecord) -> Option<Message> {
    if record.event_name != "INSERT" {
        return None;
    }
    let item: HashMap<_, _> = record.change.new_image.clone().into();
    let message = message_from_item(item).ok()?;
    let pending = message.media.as_ref().is_some_and(|m| m.is_pending());
    (message.direction == Direction::Inbound && pending).then_some(message)
}

/// Fetches each record's file, side by side. A fetch that fails is recorded on its message
/// and left to the scheduled checks' backoff; only a failure to read or record (storage)
/// makes Lambda retry the record.
pub async fn handle(ctx: &AppContext, event: Event) -> DynamoDbEventResponse {
    let now = now_ms();
    let fetches = event.records.iter().filter_map(|record| {
        let message = inserted_media_message(record)?;
        let sequence_number = record.change.sequence_number.clone();
        Some(async move {
            let result = fetch_media(ctx, &message.phone, &message.id, now).await;
            (message, sequence_number, result)
        })
    });
    let mut response = DynamoDbEventResponse::default();
    for (message, sequence_number, result) in join_all(fetches).await {
        if let Err(e) = result {
            tracing::error!(phone = %message.phone.masked(), message_id = %message.id, error = %e, "media not fetched; the record will be retried");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence_number;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
