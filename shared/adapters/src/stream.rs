//! Records of the table's stream, read as the desk's events: what the page's WebSocket is
//! told, which new messages have a file to fetch, and what changes the desk's figures. Both readers of the second mapping's
//! records (push, and desk-events that push hands files to) apply these, so the filter AWS
//! applies and the one the code applies cannot differ.

use std::collections::HashMap;

use aws_lambda_events::dynamodb::EventRecord;

use crate::model::{Conversation, Direction, Message};
use crate::store::{conversation_from_item, message_from_item, MESSAGE_SK_PREFIX, META_SK};
use crate::views;
use edubot_domain::reports::{conversation_events, message_events, FigureEvent};

type Image = HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// A message or a conversation, as a stream image holds it.
#[derive(Debug, Clone)]
pub enum DeskItem {
    Message(Message),
    Conversation(Conversation),
}

/// A record push reads, decoded once: the item after, and before when it was changed.
#[derive(Debug, Clone)]
pub struct DeskChange {
    pub inserted: bool,
    pub before: Option<DeskItem>,
    pub after: DeskItem,
}

fn sort_key(record: &EventRecord) -> Option<String> {
    match record.change.keys.get("sk") {
        Some(serde_dynamo::AttributeValue::S(sk)) => Some(sk.clone()),
        _ => None,
    }
}

/// The record as a change of a message (sort key `MSG#…`) or a conversation (`#META`),
/// inserted or modified: exactly the records push's filter in wiring.yaml lets through
/// (the local stack filters with this too). None for anything else — removals (a TTL
/// expiry is not an event), other items, or an image that does not read as its item.
pub fn desk_change(record: &EventRecord) -> Option<DeskChange> {
    let sk = sort_key(record)?;
    let inserted = match record.event_name.as_str() {
        "INSERT" => true,
        "MODIFY" => false,
        _ => return None,
    };
    let decode = |image: Image| -> Option<DeskItem> {
        if sk.starts_with(MESSAGE_SK_PREFIX) {
            message_from_item(image).ok().map(DeskItem::Message)
        } else if sk == META_SK {
            conversation_from_item(image)
                .ok()
                .map(DeskItem::Conversation)
        } else {
            None
        }
    };
    let after = decode(record.change.new_image.clone().into())?;
    let before: Image = record.change.old_image.clone().into();
    let before = (!before.is_empty()).then(|| decode(before)).flatten();
    Some(DeskChange {
        inserted,
        before,
        after,
    })
}

fn page_event(item: &DeskItem) -> String {
    match item {
        DeskItem::Message(m) => views::message_event(m),
        DeskItem::Conversation(c) => views::conversation_event(c),
    }
}

impl DeskChange {
    /// The frame the page's WebSocket gets: a new message or conversation, or a change the
    /// page can see; None for changes only the system reads (a claim, a processed mark, a
    /// lease), which would be the same frame again.
    pub fn page_event(&self) -> Option<String> {
        let event = page_event(&self.after);
        (self.before.as_ref().map(page_event) != Some(event.clone())).then_some(event)
    }

    /// What the change does to the desk's figures (DESIGN §17).
    pub fn figure_events(&self) -> Vec<FigureEvent> {
        match (&self.before, &self.after) {
            (Some(DeskItem::Message(before)), DeskItem::Message(after)) => {
                message_events(Some(before), after)
            }
            (_, DeskItem::Message(after)) => message_events(None, after),
            (Some(DeskItem::Conversation(before)), DeskItem::Conversation(after)) => {
                conversation_events(Some(before), after)
            }
            (_, DeskItem::Conversation(after)) => conversation_events(None, after),
        }
    }

    /// The message inserted, if it is an inbound one whose file is still to be fetched
    /// (what push hands to desk-events).
    pub fn media_to_fetch(&self) -> Option<&Message> {
        match &self.after {
            DeskItem::Message(m) if self.inserted && m.direction == Direction::Inbound => m
                .media
                .as_ref()
                .is_some_and(|f| f.is_pending())
                .then_some(m),
            _ => None,
        }
    }
}

/// The message a record inserted, if it is an inbound one whose file is still to be
/// fetched (what desk-events takes from the record push hands it).
pub fn inserted_media_message(record: &EventRecord) -> Option<Message> {
    desk_change(record)?.media_to_fetch().cloned()
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
        let page_event = |r: EventRecord| desk_change(&r).and_then(|c| c.page_event());
        let event = page_event(record("INSERT", None, new.clone())).expect("a new message");
        let event: Value = serde_json::from_str(&event).unwrap();
        assert_eq!(event["type"], "message");
        assert_eq!(event["phone"], "447700900123");
        assert_eq!(event["message"]["status"], "read");

        let mut delivered = golden();
        delivered["status"] = json!({"S": "delivered"});
        delivered["status_rank"] = json!({"N": "2"});
        assert!(page_event(record("MODIFY", Some(delivered), new.clone())).is_some());

        let mut claimed = golden();
        claimed["claim_until"] = json!({"N": "1764059360000"});
        let claim_taken_off = record("MODIFY", Some(claimed), new.clone());
        assert!(
            desk_change(&claim_taken_off).is_some(),
            "push's filter lets every change of a message through, as wiring.yaml's does"
        );
        assert_eq!(
            page_event(claim_taken_off),
            None,
            "a claim taken off changes nothing the page shows"
        );
        assert!(desk_change(&record("REMOVE", None, new)).is_none());
    }
}
