//! Fetches the file of each new inbound media message into the media bucket, off the
//! webhook's path and beside the bot's reply (docs/media.md). Its events are the stream
//! records of those messages, handed over by `push` (the stream's second reader) with an
//! asynchronous invoke: AWS advises at most two readers per shard, and a download of up to
//! 100 MB must never hold up the desk's real-time events (docs/realtime.md).

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use edubot_adapters::stream::inserted_media_message;
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::media::fetch_media;
use futures_util::future::join_all;

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
