//! Reacts to the table's stream: for each conversation with new inbound messages, runs the
//! state machine over its unprocessed messages and sends the replies (docs/architecture.md).
//! Failures are reported per record, so Lambda retries from the first failed one.

use std::collections::HashMap;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use edubot_adapters::model::{Direction, Message};
use edubot_adapters::store::{message_from_item, UNPROCESSED_KEY};
use edubot_adapters::AppContext;
use edubot_app::processor::process_conversation;
use futures_util::future::join_all;

/// The inbound message a record inserted, if it is one still to be processed (the filter
/// the event source mapping applies in AWS, applied again here): a reaction is stored
/// already off the unprocessed index, never a turn.
pub fn inserted_inbound_message(record: &EventRecord) -> Option<Message> {
    if record.event_name != "INSERT" {
        return None;
    }
    let item: HashMap<_, _> = record.change.new_image.clone().into();
    if !item.contains_key(UNPROCESSED_KEY) {
        return None;
    }
    let message = message_from_item(item).ok()?;
    (message.direction == Direction::Inbound).then_some(message)
}

pub async fn handle(ctx: &AppContext, event: Event) -> DynamoDbEventResponse {
    // Conversations in order of first appearance, each with its records' messages.
    let mut groups: Vec<(Message, Option<String>, Vec<Message>)> = Vec::new();
    for record in &event.records {
        let Some(message) = inserted_inbound_message(record) else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|(first, _, _)| first.phone == message.phone)
        {
            Some((_, _, messages)) => messages.push(message),
            None => groups.push((
                message.clone(),
                record.change.sequence_number.clone(),
                vec![message],
            )),
        }
    }
    // Conversations are independent: they are processed side by side (each one's messages
    // stay in order inside `process_conversation`). A batch is at most the mapping's
    // BatchSize records, so this is at most that many at once.
    let outcomes = join_all(groups.into_iter().map(
        |(first, sequence_number, messages)| async move {
            let result = process_conversation(ctx, &first.phone, messages).await;
            (first, sequence_number, result)
        },
    ))
    .await;
    let mut failures = Vec::new();
    for (first, sequence_number, result) in outcomes {
        match result {
            Ok(report) => {
                tracing::debug!(phone = %first.phone.masked(), ?report, "conversation processed")
            }
            Err(e) => {
                tracing::error!(phone = %first.phone.masked(), error = %e, "conversation not processed; will be retried");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = sequence_number;
                failures.push(failure);
            }
        }
    }
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failures;
    response
}
