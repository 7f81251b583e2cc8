//! Fetches the file of each new inbound media message into the media bucket, off the
//! webhook's path and beside the bot's reply (docs/media.md). Its events are the stream
//! records of those messages, handed over by `push` (the stream's second reader) with an
//! asynchronous invoke: AWS advises at most two readers per shard, and a download of up to
//! 100 MB must never hold up the desk's real-time events (docs/realtime.md).

use aws_lambda_events::dynamodb::Event;
use edubot_adapters::stream::inserted_media_message;
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::media::fetch_media;
use edubot_app::ports::StoreError;
use futures_util::future::join_all;

/// Fetches each record's file, side by side. A fetch that fails is recorded on its message
/// and left to the scheduled checks' backoff; only a failure to read or record (storage)
/// fails the invocation, so that Lambda retries it (twice, then desk-events' on-failure
/// queue: an asynchronous invoke reads no batch-item failures).
pub async fn handle(ctx: &AppContext, event: Event) -> Result<(), StoreError> {
    let now = now_ms();
    let fetches = event.records.iter().filter_map(|record| {
        let message = inserted_media_message(record)?;
        Some(async move {
            let result = fetch_media(ctx, &message.phone, &message.id, now).await;
            (message, result)
        })
    });
    let mut failed = None;
    for (message, result) in join_all(fetches).await {
        if let Err(e) = result {
            tracing::error!(phone = %message.phone.masked(), message_id = %message.id, error = %e, "media not fetched; the invocation will be retried");
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}
