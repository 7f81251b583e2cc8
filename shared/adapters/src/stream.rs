//! Records of the table's stream, read as the desk's events: what the page's WebSocket is
//! told, and which new messages have a file to fetch. Both readers of the second mapping's
//! records (push, and desk-events that push hands files to) apply these, so the filter AWS
//! applies and the one the code applies cannot differ.

use std::collections::HashMap;

use aws_lambda_events::dynamodb::EventRecord;

use crate::model::{Direction, Message};
use crate::store::{conversation_from_item, message_from_item, MESSAGE_SK_PREFIX, META_SK};
use crate::views;

fn new_image(record: &EventRecord) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    record.change.new_image.clone().into()
}

fn sort_key(record: &EventRecord) -> Option<String> {
    match record.change.keys.get("sk") {
        Some(serde_dynamo::AttributeValue::S(sk)) => Some(sk.clone()),
        _ => None,
    }
}

/// The frame the page's WebSocket gets for a record: a new or changed message, or a
/// changed conversation; None for anything else (and for deletions).
pub fn desk_event(record: &EventRecord) -> Option<String> {
    if !matches!(record.event_name.as_str(), "INSERT" | "MODIFY") {
        return None;
    }
    let sk = sort_key(record)?;
    if sk.starts_with(MESSAGE_SK_PREFIX) {
        message_from_item(new_image(record))
            .ok()
            .map(|m| views::message_event(&m))
    } else if sk == META_SK {
        conversation_from_item(new_image(record))
            .ok()
            .map(|c| views::conversation_event(&c))
    } else {
        None
    }
}

/// The message a record inserted, if it is an inbound one whose file is still to be
/// fetched (what push hands to desk-events, and desk-events takes).
pub fn inserted_media_message(record: &EventRecord) -> Option<Message> {
    if record.event_name != "INSERT" {
        return None;
    }
    let message = message_from_item(new_image(record)).ok()?;
    let pending = message.media.as_ref().is_some_and(|m| m.is_pending());
    (message.direction == Direction::Inbound && pending).then_some(message)
}
