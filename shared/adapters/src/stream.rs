//! Records of the table's stream, read as the desk's events: what the page's WebSocket is
//! told, which new messages have a file to fetch, and what changes the desk's figures. Both readers of the second mapping's
//! records (push, and desk-events that push hands files to) apply these, so the filter AWS
//! applies and the one the code applies cannot differ.

use std::collections::HashMap;

use aws_lambda_events::dynamodb::EventRecord;

use crate::model::{Direction, Message};
use crate::store::{conversation_from_item, message_from_item, MESSAGE_SK_PREFIX, META_SK};
use crate::views;
use edubot_domain::reports::{conversation_events, message_events, FigureEvent};

type Image = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

fn new_image(record: &EventRecord) -> Image {
    record.change.new_image.clone().into()
}

fn old_image(record: &EventRecord) -> Image {
    record.change.old_image.clone().into()
}

/// An item's event as the page would see it, or None when it is neither a message nor a
/// conversation (or does not read as one).
fn event_of(sk: &str, image: Image) -> Option<String> {
    if sk.starts_with(MESSAGE_SK_PREFIX) {
        message_from_item(image)
            .ok()
            .map(|m| views::message_event(&m))
    } else if sk == META_SK {
        conversation_from_item(image)
            .ok()
            .map(|c| views::conversation_event(&c))
    } else {
        None
    }
}

fn sort_key(record: &EventRecord) -> Option<String> {
    match record.change.keys.get("sk") {
        Some(serde_dynamo::AttributeValue::S(sk)) => Some(sk.clone()),
        _ => None,
    }
}

/// The frame the page's WebSocket gets for a record: a new message or conversation, or a
/// change the page can see; None for anything else — deletions, and changes only the
/// system reads (a claim, a processed mark, a lease), which would be the same frame again.
pub fn desk_event(record: &EventRecord) -> Option<String> {
    let sk = sort_key(record)?;
    let event = event_of(&sk, new_image(record))?;
    match record.event_name.as_str() {
        "INSERT" => Some(event),
        "MODIFY" => (event_of(&sk, old_image(record)).as_ref() != Some(&event)).then_some(event),
        _ => None,
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

/// What a record changes in the desk's figures (DESIGN §17), from a conversation's or a
/// message's before and after. Removals change nothing (a TTL expiry is not an event).
pub fn figure_events(record: &EventRecord) -> Vec<FigureEvent> {
    let (Some(sk), "INSERT" | "MODIFY") = (sort_key(record), record.event_name.as_str()) else {
        return Vec::new();
    };
    let before = old_image(record);
    let before = (!before.is_empty()).then_some(before);
    if sk.starts_with(MESSAGE_SK_PREFIX) {
        let Ok(after) = message_from_item(new_image(record)) else {
            return Vec::new();
        };
        let before = before.and_then(|b| message_from_item(b).ok());
        message_events(before.as_ref(), &after)
    } else if sk == META_SK {
        let Ok(after) = conversation_from_item(new_image(record)) else {
            return Vec::new();
        };
        let before = before.and_then(|b| conversation_from_item(b).ok());
        conversation_events(before.as_ref(), &after)
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A stream record of the golden admin reply: `old` and `new` images as DynamoDB JSON.
    fn record(event_name: &str, old: Option<Value>, new: Value) -> EventRecord {
        let mut change = json!({"Keys": {"pk": new["pk"], "sk": new["sk"]}, "NewImage": new,
            "SequenceNumber": "1", "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"});
        if let Some(old) = old {
            change["OldImage"] = old;
        }
        serde_json::from_value(json!({"eventID": "1", "eventName": event_name,
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change}))
        .expect("a stream record")
    }

    fn golden() -> Value {
        serde_json::from_str(include_str!("store/golden/message-admin-read.json")).unwrap()
    }

    #[test]
    fn a_change_the_page_can_see_is_an_event_and_one_it_cannot_is_none() {
        let new = golden();
        let event = desk_event(&record("INSERT", None, new.clone())).expect("a new message");
        let event: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(event["type"], "message");
        assert_eq!(event["phone"], "447700900123");
        assert_eq!(event["message"]["status"], "read");

        let mut delivered = golden();
        delivered["status"] = json!({"S": "delivered"});
        delivered["status_rank"] = json!({"N": "2"});
        assert!(desk_event(&record("MODIFY", Some(delivered), new.clone())).is_some());

        let mut claimed = golden();
        claimed["claim_until"] = json!({"N": "1764059360000"});
        assert_eq!(
            desk_event(&record("MODIFY", Some(claimed), new.clone())),
            None,
            "a claim taken off changes nothing the page shows"
        );
        assert_eq!(desk_event(&record("REMOVE", None, new)), None);
    }
}
