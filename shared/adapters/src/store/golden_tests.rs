//! The stored format, pinned: items as they are stored today (the examples of
//! `docs/storage.md`, in DynamoDB's JSON) must load into the domain values they mean, and
//! writing those values again must give back the same items attribute for attribute. A
//! change of the format has to change these files too, in plain sight.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::items::{AdminItem, ConversationItem, MessageItem};
use super::{from_item, to_item};
use crate::model::{Author, ConversationState, Direction, FlowData, MessageError, MessageStatus};
use crate::whatsapp::{Choice, OutboundBody};
use edubot_domain::activation::Student;
use edubot_domain::media::MediaStatus;

/// DynamoDB's JSON form of an item (`{"attr": {"S": "…"}}`) as the SDK's attribute values.
fn item(json: &str) -> HashMap<String, AttributeValue> {
    fn value(v: &Value) -> AttributeValue {
        let (kind, inner) = v
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("typed value");
        match kind.as_str() {
            "S" => AttributeValue::S(inner.as_str().unwrap().to_owned()),
            "N" => AttributeValue::N(inner.as_str().unwrap().to_owned()),
            "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
            "NULL" => AttributeValue::Null(true),
            "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(value).collect()),
            "M" => AttributeValue::M(
                inner
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), value(v)))
                    .collect(),
            ),
            other => panic!("unexpected attribute type {other}"),
        }
    }
    let parsed: Value = serde_json::from_str(json).expect("golden items are JSON");
    parsed
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), value(v)))
        .collect()
}

#[test]
fn a_stored_conversation_loads_and_is_written_back_the_same() {
    let golden = item(include_str!("golden/conversation.json"));
    let c = from_item::<ConversationItem>(golden.clone())
        .unwrap()
        .into_conversation()
        .unwrap();
    assert_eq!(c.phone.as_str(), "447700900123");
    assert_eq!(c.name.as_deref(), Some("Ada"));
    assert_eq!(c.state, ConversationState::ChatSupportActive);
    assert_eq!(c.version, 7);
    assert_eq!(c.last_inbound_sent_at, Some(1_764_059_262_000));
    assert_eq!(c.unread_count, 2);
    assert_eq!(c.support_started_at, Some(1_764_059_200_000));
    assert_eq!(c.support_ended_at, None);
    assert_eq!(c.waiting_since, Some(1_764_059_200_000));
    assert_eq!(c.queue_notice_for, Some(1_764_059_200_000));
    assert_eq!(c.last_rating, Some(4));
    assert_eq!(c.assigned_to.as_deref(), Some("jane.doe"));
    assert_eq!(c.indexed_words, Some(vec!["ada".to_owned()]));
    assert_eq!(
        c.flow,
        FlowData {
            course: Some("course_web_dev".into()),
            name: Some("Ada Lovelace".into()),
            email: None,
        }
    );
    assert_eq!(c.activation_failures, 1);
    assert_eq!(c.activation_locked_until, Some(1_764_062_800_000));
    assert_eq!(
        c.student,
        Some(Student {
            name: "Jane Doe".into(),
            course: "Web Development".into()
        })
    );
    assert_eq!(
        to_item(&ConversationItem::from_conversation(&c, c.version)),
        golden
    );
}

#[test]
fn every_state_has_its_stored_name() {
    let golden = item(include_str!("golden/conversation.json"));
    let c = from_item::<ConversationItem>(golden)
        .unwrap()
        .into_conversation()
        .unwrap();
    let names = [
        "NEW",
        "MAIN_MENU",
        "COURSE_LIST",
        "COURSE_DETAIL",
        "ADMISSION_NAME",
        "ADMISSION_EMAIL",
        "ADMISSION_CONFIRM",
        "FEES_INFO",
        "TIMETABLE",
        "ACTIVATION_CODE",
        "ACTIVATION_LOCKED",
        "CHAT_SUPPORT_ACTIVE",
        "SUPPORT_FEEDBACK",
        "OPTED_OUT",
    ];
    assert_eq!(names.len(), ConversationState::ALL.len());
    for (state, name) in ConversationState::ALL.into_iter().zip(names) {
        let mut stored = to_item(&ConversationItem::from_conversation(
            &crate::model::Conversation { state, ..c.clone() },
            1,
        ));
        assert_eq!(stored["state"], AttributeValue::S(name.into()), "{state:?}");
        stored.insert("state".into(), AttributeValue::S(name.into()));
        let loaded = from_item::<ConversationItem>(stored)
            .unwrap()
            .into_conversation()
            .unwrap();
        assert_eq!(loaded.state, state);
    }
}

#[test]
fn a_stored_inbound_message_loads_and_is_written_back_the_same() {
    let golden = item(include_str!("golden/message-inbound.json"));
    let stored = from_item::<MessageItem>(golden.clone()).unwrap();
    let m = stored.into_message().unwrap();
    assert_eq!(m.id, "01KAXQ6V5X0M8Q1T3J9R2C4B7D");
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.author, Author::User);
    assert_eq!(m.status, MessageStatus::Received);
    assert_eq!(m.kind, "interactive");
    assert_eq!(m.interactive_id.as_deref(), Some("chat_support"));
    assert_eq!(m.sent_at, Some(1_764_059_199_000));
    assert_eq!(m.profile_name.as_deref(), Some("Ada"));
    // The raw payload and the index keys are the store's own, kept as they were.
    let again = from_item::<MessageItem>(golden.clone()).unwrap();
    assert_eq!(to_item(&again), golden);
    let mut written = MessageItem::from_message(&m);
    written.raw = again.raw;
    written.gsi_unprocessed_pk = again.gsi_unprocessed_pk;
    written.gsi_unprocessed_sk = again.gsi_unprocessed_sk;
    assert_eq!(to_item(&written), golden);
}

#[test]
fn a_stored_media_message_keeps_its_file_as_described_and_kept() {
    let golden = item(include_str!("golden/message-inbound-media.json"));
    let m = from_item::<MessageItem>(golden.clone())
        .unwrap()
        .into_message()
        .unwrap();
    let media = m.media.as_ref().expect("media");
    assert_eq!(media.status, MediaStatus::Stored);
    assert_eq!(media.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(media.size, Some(48_213));
    assert_eq!(media.filename.as_deref(), Some("receipt.pdf"));
    assert_eq!(media.caption.as_deref(), Some("my fee receipt"));
    assert_eq!(media.media_id.as_deref(), Some("1234567890"));
    assert_eq!(
        media.object_key.as_deref(),
        Some("media/447700900123/01KAXQ7A2B3C4D5E6F7G8H9J0K")
    );
    assert_eq!(media.attempts, 2);
    assert_eq!(to_item(&MessageItem::from_message(&m)), golden);
}

#[test]
fn a_stored_outbound_message_keeps_its_body_error_and_schedule() {
    let golden = item(include_str!("golden/message-outbound.json"));
    let again = from_item::<MessageItem>(golden.clone()).unwrap();
    assert_eq!(to_item(&again), golden);
    let m = from_item::<MessageItem>(golden.clone())
        .unwrap()
        .into_message()
        .unwrap();
    assert_eq!(m.direction, Direction::Outbound);
    assert_eq!(m.author, Author::Bot);
    assert_eq!(m.status, MessageStatus::Pending);
    assert_eq!(m.attempts, 1);
    assert_eq!(
        m.error,
        Some(MessageError {
            code: "130429".into(),
            title: "Rate limit hit".into()
        })
    );
    assert_eq!(
        m.body,
        Some(OutboundBody::List {
            body: "Menu".into(),
            button: "Choose".into(),
            rows: vec![
                Choice {
                    id: "courses".into(),
                    title: "Courses".into(),
                    description: Some("What we teach".into()),
                },
                Choice {
                    id: "chat_support".into(),
                    title: "Chat Support".into(),
                    description: None,
                },
            ],
        })
    );
    let mut written = MessageItem::from_message(&m);
    written.claim_until = again.claim_until;
    written.gsi_pending_pk = again.gsi_pending_pk;
    written.gsi_pending_sk = again.gsi_pending_sk;
    assert_eq!(to_item(&written), golden);
}

#[test]
fn a_read_admin_reply_keeps_its_rank_and_author() {
    let golden = item(include_str!("golden/message-admin-read.json"));
    let m = from_item::<MessageItem>(golden.clone())
        .unwrap()
        .into_message()
        .unwrap();
    assert_eq!(m.author, Author::Admin);
    assert_eq!(m.admin.as_deref(), Some("jane.doe"));
    assert_eq!(m.status, MessageStatus::Read);
    assert_eq!(
        m.body,
        Some(OutboundBody::text("Not yet: a few places are left."))
    );
    assert_eq!(to_item(&MessageItem::from_message(&m)), golden);
}

#[test]
fn a_stored_admin_loads_and_is_written_back_the_same() {
    let golden = item(include_str!("golden/admin.json"));
    let admin = from_item::<AdminItem>(golden.clone()).unwrap().into_admin();
    assert_eq!(admin.username, "jane.doe");
    assert_eq!(admin.role, edubot_domain::team::Role::Admin);
    assert!(!admin.disabled);
    assert_eq!(to_item(&AdminItem::from_admin(&admin)), golden);
    // Stored before the team list existed (no `gsi2` keys): it loads the same and joins
    // the list when written back.
    let mut before = golden.clone();
    before.remove("gsi2pk");
    before.remove("gsi2sk");
    let old = from_item::<AdminItem>(before).unwrap().into_admin();
    assert_eq!(old, admin);
}

#[test]
fn a_stored_template_reply_loads_and_is_written_back_the_same() {
    let golden = item(include_str!("golden/message-template-reply.json"));
    let m = from_item::<MessageItem>(golden.clone())
        .unwrap()
        .into_message()
        .unwrap();
    assert_eq!(m.kind, "template");
    assert_eq!(m.reply_to.as_deref(), Some("01KAXQ7A2B3C4D5E6F7G8H9J0K"));
    assert_eq!(
        m.body,
        Some(OutboundBody::Template {
            name: "support_followup".into(),
            language: "en_US".into(),
            parameters: vec!["Ada".into(), "the fees".into()],
            payloads: vec![None, Some("rating_2".into())],
            text: "Hi Ada, about your question on the fees: our team has an update for you.".into(),
        })
    );
    assert_eq!(to_item(&MessageItem::from_message(&m)), golden);
}
