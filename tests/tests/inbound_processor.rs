//! The inbound processor handler against DynamoDB Local and the Graph API stand-in: the state
//! machine's replies, idempotency under retried batches, order, the 24-hour window and
//! Graph API failures (docs/architecture.md, docs/bot.md).

mod handler_kit;

use edubot_adapters::content::content;
use edubot_adapters::model::{Author, ConversationState, Direction, MessageError, MessageStatus};
use edubot_app::ports::ConversationStore;
use edubot_e2e::*;
use handler_kit::*;
use serde_json::json;

const ADA: &str = "447700900123";

fn rating_ids() -> Vec<String> {
    ["rating_5", "rating_4", "rating_3", "rating_2", "rating_1"]
        .map(str::to_owned)
        .to_vec()
}

#[tokio::test]
async fn the_first_message_gets_the_welcome_and_the_six_row_main_menu() {
    let h = Harness::new().await;
    user_says(&h, ADA, "hello").await;

    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends.len(), 2, "{sends:#?}");
    assert_eq!(sends[0].text(), Some(content().welcome.as_str()));
    assert_eq!(sends[0].body["type"], "text");
    let rows = sends[1].choice_ids();
    assert_eq!(sends[1].body["interactive"]["type"], "list");
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(rows.contains(&"chat_support".to_owned()));

    let c = conversation(&h, ADA).await.expect("conversation created");
    assert_eq!(c.state, ConversationState::MainMenu);
    assert_eq!(c.name.as_deref(), Some("Ada Student"));
    let stored = history(&h, ADA).await;
    assert_eq!(stored.len(), 3);
    assert!(stored[1..]
        .iter()
        .all(|m| m.author == Author::Bot && m.status == MessageStatus::Sent && m.wamid.is_some()));
}

#[tokio::test]
async fn choosing_chat_support_hands_the_conversation_to_the_desk() {
    let h = Harness::new().await;
    user_says(&h, ADA, "hello").await;
    user_chooses(&h, ADA, "chat_support", "Chat Support").await;

    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends.len(), 3);
    assert_eq!(sends[2].text(), Some(content().support_ack.as_str()));
    assert_eq!(sends[2].body["interactive"]["type"], "button");
    assert_eq!(sends[2].choice_ids(), ["end_chat"]);

    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::ChatSupportActive);
    assert!(c.support_started_at.is_some());
    assert!(
        c.waiting_since.is_some(),
        "asking for a person is waiting for one"
    );
    assert_eq!(c.unread_count, 1);

    // From now on the bot stays silent and messages go to the desk.
    user_says(&h, ADA, "menu").await;
    user_says(&h, ADA, "My fees payment failed").await;
    assert_eq!(h.graph.sends_to(ADA).len(), 3);
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::ChatSupportActive);
    assert_eq!(c.unread_count, 3);
}

#[tokio::test]
async fn a_retried_batch_sends_nothing_twice() {
    let h = Harness::new().await;
    assert_eq!(
        post_webhook(&h, &user_text(ADA, &new_wamid(), now_secs(), "hello")).await,
        200
    );
    let event = h.stream_event_for_unprocessed().await;
    assert_eq!(event.records.len(), 1);

    let first = inbound_processor::handle(&h.ctx, event.clone()).await;
    assert!(first.batch_item_failures.is_empty());
    assert_eq!(h.graph.sends_to(ADA).len(), 2);
    let stored = history(&h, ADA).await;
    let version = conversation(&h, ADA).await.unwrap().version;

    for _ in 0..2 {
        let again = inbound_processor::handle(&h.ctx, event.clone()).await;
        assert!(
            again.batch_item_failures.is_empty(),
            "a retry is not a failure: {again:?}"
        );
    }
    assert_eq!(h.graph.sends_to(ADA).len(), 2, "no second reply");
    assert_eq!(history(&h, ADA).await, stored, "nothing stored twice");
    assert_eq!(
        conversation(&h, ADA).await.unwrap().version,
        version,
        "the conversation is untouched"
    );
}

#[tokio::test]
async fn replies_to_a_message_older_than_24_hours_are_stored_failed_and_not_sent() {
    let h = Harness::new().await;
    let old = now_secs() - 25 * HOUR_SECS;
    user_says_at(&h, ADA, "hello", old).await;

    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        c.state,
        ConversationState::MainMenu,
        "the state machine still runs"
    );
    assert_eq!(c.last_inbound_sent_at, Some(old * 1000));
    let stored = history(&h, ADA).await;
    let replies: Vec<_> = stored
        .iter()
        .filter(|m| m.direction == Direction::Outbound)
        .collect();
    assert_eq!(replies.len(), 2);
    for reply in &replies {
        assert_eq!(reply.status, MessageStatus::Failed);
        assert_eq!(reply.error, Some(MessageError::window_closed()));
        assert_eq!(reply.error.as_ref().unwrap().code, "window_closed");
        assert!(reply.wamid.is_none());
    }
    assert!(
        h.graph.sends().is_empty(),
        "nothing is sent outside the window"
    );

    // The desk sees why.
    let token = h.admin_token().await;
    let (_, json) = admin_history(&h, &token, ADA, "").await;
    assert_eq!(json["messages"][1]["status"], "failed");
    assert_eq!(json["messages"][1]["error"]["code"], "window_closed");
}

#[tokio::test]
async fn a_late_old_message_does_not_close_a_window_a_newer_one_opened() {
    let h = Harness::new().await;
    user_says(&h, ADA, "hello").await;
    // Delivered days late: the window still runs from the newest timestamp seen.
    user_says_at(&h, ADA, "menu", now_secs() - 2 * 24 * HOUR_SECS).await;
    assert_eq!(h.graph.sends_to(ADA).len(), 3);
    let last = history(&h, ADA).await.pop().unwrap();
    assert_eq!(last.status, MessageStatus::Sent);
}

#[tokio::test]
async fn a_permanent_graph_error_leaves_the_reply_failed_with_metas_code() {
    let h = Harness::new().await;
    h.graph.script(Scripted::MetaError {
        status: 400,
        code: 131026,
        details: "Message undeliverable",
    });
    user_says(&h, ADA, "hello").await;

    let stored = history(&h, ADA).await;
    let welcome = &stored[1];
    assert_eq!(welcome.text.as_deref(), Some(content().welcome.as_str()));
    assert_eq!(welcome.status, MessageStatus::Failed);
    assert_eq!(
        welcome.error.as_ref().map(|e| e.code.as_str()),
        Some("131026")
    );

    let token = h.admin_token().await;
    let (status, json) = admin_history(&h, &token, ADA, "").await;
    assert_eq!(status, 200);
    let welcome = &json["messages"][1];
    assert_eq!(welcome["status"], "failed");
    assert_eq!(
        welcome["error"],
        json!({"code": "131026", "title": "Message undeliverable"})
    );
    assert!(welcome["wamid"].is_null());

    // Nothing is pending for a retry: a permanent refusal is final.
    assert!(stored.iter().all(|m| m.status != MessageStatus::Pending));
}

#[tokio::test]
async fn a_transient_graph_error_leaves_the_reply_pending_for_a_retry() {
    let h = Harness::new().await;
    h.graph.script(Scripted::ServerError(503));
    user_says(&h, ADA, "hello").await;
    let welcome = &history(&h, ADA).await[1];
    assert_eq!(welcome.status, MessageStatus::Pending, "never dropped");
    assert_eq!(
        welcome.error.as_ref().map(|e| e.code.as_str()),
        Some("http_503")
    );
}

#[tokio::test]
async fn every_send_carries_our_message_id_and_the_access_token() {
    let h = Harness::new().await;
    user_says(&h, ADA, "hello").await;
    user_says(&h, ADA, "support").await;
    user_says(&h, ADA, "end chat").await;

    let outbound: Vec<_> = history(&h, ADA)
        .await
        .into_iter()
        .filter(|m| m.direction == Direction::Outbound && m.author == Author::Bot)
        .collect();
    let sends = h.graph.sends();
    assert_eq!(sends.len(), 5, "welcome, menu, ack, ended, rating");
    assert_eq!(outbound.len(), sends.len());
    for (send, message) in sends.iter().zip(&outbound) {
        assert_eq!(send.path, format!("/v23.0/{PHONE_NUMBER_ID}/messages"));
        assert_eq!(
            send.authorization.as_deref(),
            Some(format!("Bearer {ACCESS_TOKEN}").as_str())
        );
        assert_eq!(send.body["biz_opaque_callback_data"], message.id.as_str());
        assert_eq!(send.body["messaging_product"], "whatsapp");
        assert_eq!(send.body["recipient_type"], "individual");
        assert_eq!(send.to(), ADA);
        assert_eq!(message.status, MessageStatus::Sent);
        assert!(message
            .wamid
            .as_deref()
            .is_some_and(|w| w.starts_with("wamid.TEST")));
    }
}

#[tokio::test]
async fn several_unprocessed_messages_are_handled_in_order() {
    let h = Harness::new().await;
    let ts = now_secs();
    for text in [
        "hello",
        "support",
        "I have a question about fees",
        "end chat",
    ] {
        assert_eq!(
            post_webhook(&h, &user_text(ADA, &new_wamid(), ts, text)).await,
            200
        );
    }
    // Streams keep order per item, not per conversation: deliver the records backwards.
    let mut event = h.stream_event_for_unprocessed().await;
    assert_eq!(event.records.len(), 4);
    event.records.reverse();
    assert!(inbound_processor::handle(&h.ctx, event)
        .await
        .batch_item_failures
        .is_empty());

    let sends = h.graph.sends_to(ADA);
    let texts: Vec<_> = sends
        .iter()
        .map(|s| s.text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sends.len(), 5, "{texts:#?}");
    assert_eq!(texts[0], content().welcome);
    assert_eq!(sends[1].choice_ids().len(), 6);
    assert_eq!(sends[2].choice_ids(), ["end_chat"]);
    assert_eq!(texts[3], content().support_ended_by_user);
    assert_eq!(sends[4].choice_ids(), rating_ids());
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::SupportFeedback);
    let question = history(&h, ADA)
        .await
        .into_iter()
        .find(|m| m.text.as_deref() == Some("I have a question about fees"));
    assert!(question.is_some(), "the question to the desk is kept");
    assert!(h.stream_event_for_unprocessed().await.records.is_empty());
}

#[tokio::test]
async fn a_batch_of_several_conversations_answers_each_and_reports_only_the_one_that_failed() {
    let h = Harness::new().await;
    let users = [
        "447700900201",
        "447700900202",
        "447700900203",
        "447700900204",
    ];
    let ts = now_secs();
    for text in ["hello", "menu"] {
        for user in users {
            assert_eq!(
                post_webhook(&h, &user_text(user, &new_wamid(), ts, text)).await,
                200
            );
        }
    }
    // The third user's conversation item is unreadable: only its processing fails.
    let broken = users[2];
    h.ctx
        .store
        .client()
        .put_item()
        .table_name(h.ctx.store.table())
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CONV#{broken}")),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("#META".into()),
        )
        .item(
            "state",
            aws_sdk_dynamodb::types::AttributeValue::N("42".into()),
        )
        .send()
        .await
        .unwrap();
    let event = h.stream_event_for_unprocessed().await;
    assert_eq!(event.records.len(), 8);
    let broken_first_sequence = event
        .records
        .iter()
        .find(|r| {
            inbound_processor::inserted_inbound_message(r)
                .unwrap()
                .phone
                .to_string()
                == broken
        })
        .and_then(|r| r.change.sequence_number.clone());

    let failures = inbound_processor::handle(&h.ctx, event)
        .await
        .batch_item_failures;
    let reported: Vec<_> = failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(
        reported,
        vec![broken_first_sequence],
        "only the broken conversation, from its first record"
    );
    for user in users.iter().filter(|u| **u != broken) {
        let sends = h.graph.sends_to(user);
        assert_eq!(sends.len(), 3, "{user}: welcome, menu, menu again");
        assert_eq!(
            sends[0].text(),
            Some(content().welcome.as_str()),
            "{user}: in order"
        );
    }
    assert!(h.graph.sends_to(broken).is_empty());
    let left: Vec<_> = h
        .stream_event_for_unprocessed()
        .await
        .records
        .iter()
        .map(|r| {
            inbound_processor::inserted_inbound_message(r)
                .unwrap()
                .phone
                .to_string()
        })
        .collect();
    assert_eq!(
        left,
        vec![broken.to_owned(); 2],
        "the broken user's messages wait for the retry"
    );
}

#[tokio::test]
async fn a_message_whose_stream_record_is_missing_is_still_picked_up_first() {
    let h = Harness::new().await;
    for text in ["hello", "support"] {
        assert_eq!(
            post_webhook(&h, &user_text(ADA, &new_wamid(), now_secs(), text)).await,
            200
        );
    }
    // Only the second message's record arrives; the first is still handled, and first.
    let mut event = h.stream_event_for_unprocessed().await;
    assert_eq!(event.records.len(), 2);
    event.records.remove(0);
    assert!(inbound_processor::handle(&h.ctx, event)
        .await
        .batch_item_failures
        .is_empty());

    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends.len(), 3);
    assert_eq!(sends[0].text(), Some(content().welcome.as_str()));
    assert_eq!(sends[2].choice_ids(), ["end_chat"]);
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::ChatSupportActive
    );
}

#[tokio::test]
async fn stop_in_chat_support_ends_it_confirms_once_and_silences_until_start() {
    let h = Harness::new().await;
    user_says(&h, ADA, "hello").await;
    user_says(&h, ADA, "support").await;
    assert_eq!(h.graph.sends_to(ADA).len(), 3);

    user_says(&h, ADA, "STOP").await;
    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends.len(), 4, "confirmed once");
    assert_eq!(sends[3].text(), Some(content().opted_out.as_str()));
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::OptedOut);
    assert!(!c.is_chat_support());
    assert_eq!(
        (c.support_started_at, c.waiting_since, c.unread_count),
        (None, None, 0)
    );
    let notes: Vec<_> = history(&h, ADA)
        .await
        .into_iter()
        .filter(|m| m.author == Author::System)
        .collect();
    assert_eq!(notes.len(), 2, "entering chat support, then opting out");
    assert!(notes[1].text.as_deref().unwrap().contains("STOP"));
    let in_support = h.ctx.store.conversations_in_support().await.unwrap();
    assert!(in_support.is_empty(), "no longer on the desk");

    for text in ["hello", "support", "stop", "menu", "end chat"] {
        user_says(&h, ADA, text).await;
    }
    user_chooses(&h, ADA, "chat_support", "Chat Support").await;
    assert_eq!(
        h.graph.sends_to(ADA).len(),
        4,
        "nothing is sent while opted out"
    );
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::OptedOut
    );

    user_says(&h, ADA, "START").await;
    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends.len(), 6);
    assert_eq!(sends[4].text(), Some(content().welcome.as_str()));
    assert_eq!(sends[5].choice_ids().len(), 6);
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::MainMenu
    );
}

#[tokio::test]
async fn the_user_ends_chat_support_and_rates_it() {
    let h = Harness::new().await;
    user_says(&h, ADA, "support").await;
    user_chooses(&h, ADA, "end_chat", "End chat").await;
    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends.len(), 3);
    assert_eq!(
        sends[1].text(),
        Some(content().support_ended_by_user.as_str())
    );
    assert_eq!(sends[2].choice_ids(), rating_ids());
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(c.state, ConversationState::SupportFeedback);
    assert!(h
        .ctx
        .store
        .conversations_in_support()
        .await
        .unwrap()
        .is_empty());

    user_chooses(&h, ADA, "rating_4", "⭐⭐⭐⭐ Good").await;
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        (c.state, c.last_rating),
        (ConversationState::MainMenu, Some(4))
    );
    let sends = h.graph.sends_to(ADA);
    assert_eq!(sends[3].text(), Some(content().rating_thanks.as_str()));
    assert_eq!(sends[4].choice_ids().len(), 6);
}

#[tokio::test]
async fn a_message_written_during_a_chat_the_admin_ended_is_only_recorded() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says(&h, ADA, "support").await;
    // Written while the chat was open, but the admin ends it before it is processed.
    assert_eq!(
        post_webhook(&h, &user_text(ADA, &new_wamid(), now_secs(), "thanks, bye")).await,
        200
    );
    assert_eq!(admin_end(&h, &token, ADA).await.0, 200);
    let sends = h.graph.sends_to(ADA).len();
    assert!(process(&h).await.batch_item_failures.is_empty());

    assert_eq!(
        h.graph.sends_to(ADA).len(),
        sends,
        "no help text or menu for it"
    );
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::SupportFeedback
    );
    assert!(history(&h, ADA)
        .await
        .iter()
        .any(|m| m.text.as_deref() == Some("thanks, bye")));
    assert!(
        h.stream_event_for_unprocessed().await.records.is_empty(),
        "recorded as processed"
    );

    // What the user writes afterwards is handled as usual.
    user_chooses(&h, ADA, "rating_5", "⭐⭐⭐⭐⭐ Excellent").await;
    let c = conversation(&h, ADA).await.unwrap();
    assert_eq!(
        (c.state, c.last_rating),
        (ConversationState::MainMenu, Some(5))
    );
    assert_eq!(
        h.graph.sends_to(ADA)[sends].text(),
        Some(content().rating_thanks.as_str())
    );
}

#[tokio::test]
async fn stop_written_during_a_chat_the_admin_ended_still_opts_out() {
    let h = Harness::new().await;
    let token = h.admin_token().await;
    user_says(&h, ADA, "support").await;
    assert_eq!(
        post_webhook(&h, &user_text(ADA, &new_wamid(), now_secs(), "STOP")).await,
        200
    );
    assert_eq!(admin_end(&h, &token, ADA).await.0, 200);
    let sends = h.graph.sends_to(ADA).len();
    assert!(process(&h).await.batch_item_failures.is_empty());
    assert_eq!(
        conversation(&h, ADA).await.unwrap().state,
        ConversationState::OptedOut
    );
    let after = h.graph.sends_to(ADA);
    assert_eq!(after.len(), sends + 1, "confirmed once");
    assert_eq!(after[sends].text(), Some(content().opted_out.as_str()));
}

#[tokio::test]
async fn records_other_than_inserted_inbound_messages_are_ignored() {
    let h = Harness::new().await;
    user_says(&h, ADA, "hello").await;
    let sends = h.graph.sends().len();
    let items = h
        .ctx
        .store
        .client()
        .query()
        .table_name(h.ctx.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CONV#{ADA}")),
        )
        .expression_attribute_values(
            ":msg",
            aws_sdk_dynamodb::types::AttributeValue::S("MSG#".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 3);
    // The outbound replies as INSERTs, the (processed) inbound message as a MODIFY.
    let mut event = stream_event(items);
    event.records[0].event_name = "MODIFY".into();
    let response = inbound_processor::handle(&h.ctx, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(h.graph.sends().len(), sends);
    assert_eq!(history(&h, ADA).await.len(), 3);
}

/// Four users each write the same four turns, interleaved as a busy stream carries them.
async fn four_users_four_turns_each(
    h: &Harness,
) -> (Vec<&'static str>, aws_lambda_events::dynamodb::Event) {
    let users = vec![
        "447700900301",
        "447700900302",
        "447700900303",
        "447700900304",
    ];
    let ts = now_secs();
    for text in [
        "hello",
        "support",
        "I have a question about fees",
        "end chat",
    ] {
        for user in &users {
            assert_eq!(
                post_webhook(h, &user_text(user, &new_wamid(), ts, text)).await,
                200
            );
        }
    }
    // Stream order is arrival order: by sort key (MSG#<ULID>), across conversations.
    let mut event = h.stream_event_for_unprocessed().await;
    let sk = |r: &aws_lambda_events::dynamodb::EventRecord| {
        let keys: std::collections::HashMap<String, serde_dynamo::AttributeValue> =
            r.change.keys.clone().into();
        format!("{:?}", keys.get("sk"))
    };
    event.records.sort_by_key(sk);
    assert_eq!(event.records.len(), 16);
    (users, event)
}

/// The bot's turns, in the order they were committed (their replies' storage order), each
/// reply by its text's first line (the choices follow it).
async fn bot_turns(h: &Harness, user: &str) -> Vec<String> {
    history(h, user)
        .await
        .into_iter()
        .filter(|m| m.author == Author::Bot)
        .map(|m| {
            m.text
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn expected_turns() -> Vec<String> {
    let c = content();
    vec![
        c.welcome.clone(),
        c.menu.body.clone(),
        c.support_ack.clone(),
        c.support_ended_by_user.clone(),
        c.rating.body.clone(),
    ]
}

#[tokio::test]
async fn parallel_batches_keep_each_conversations_turns_and_sends_in_order() {
    let h = Harness::new().await;
    // Meta's own time, so the lanes' sends overlap.
    h.graph.set_latency(
        std::time::Duration::from_millis(20),
        std::time::Duration::from_millis(15),
    );
    let (users, event) = four_users_four_turns_each(&h).await;
    // Split as the deployed mapping splits a shard (wiring.yaml's ParallelizationFactor and
    // BatchSize, with batches of 2 so each lane holds several): lanes side by side, each
    // lane's batches one after another.
    let mut settings = edubot_local::stream::Mapping::InboundProcessor
        .settings()
        .unwrap();
    settings.batch_size = 2;
    let lanes = edubot_local::stream::lanes(event.records, settings);
    assert!(lanes.len() > 1, "the four conversations spread over lanes");
    let lane_of_each: Vec<std::collections::BTreeSet<String>> = lanes
        .iter()
        .map(|batches| {
            batches
                .iter()
                .flatten()
                .map(|r| format!("{:?}", r.change.new_image.get("pk")))
                .collect()
        })
        .collect();
    let keys: usize = lane_of_each.iter().map(|l| l.len()).sum();
    assert_eq!(keys, users.len(), "each conversation in one lane only");
    let outcomes = futures_util::future::join_all(lanes.into_iter().map(|batches| {
        let ctx = &h.ctx;
        async move {
            let mut failures = 0;
            for records in batches {
                let mut event = aws_lambda_events::dynamodb::Event::default();
                event.records = records;
                failures += inbound_processor::handle(ctx, event)
                    .await
                    .batch_item_failures
                    .len();
            }
            failures
        }
    }))
    .await;
    assert_eq!(outcomes.iter().sum::<usize>(), 0);
    for user in users {
        assert_eq!(
            bot_turns(&h, user).await,
            expected_turns(),
            "{user}'s turns"
        );
        let sent: Vec<String> = h
            .graph
            .sends_to(user)
            .iter()
            .map(|s| {
                s.body["biz_opaque_callback_data"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let stored: Vec<String> = history(&h, user)
            .await
            .into_iter()
            .filter(|m| m.author == Author::Bot)
            .map(|m| m.id)
            .collect();
        assert_eq!(
            sent, stored,
            "{user}'s replies reach them once each, in order"
        );
    }
    assert!(h.stream_event_for_unprocessed().await.records.is_empty());
}

#[tokio::test]
async fn the_unprocessed_index_keeps_turns_in_order_even_when_one_conversation_is_split_across_batches(
) {
    let h = Harness::new().await;
    h.graph.set_latency(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_millis(10),
    );
    let (users, event) = four_users_four_turns_each(&h).await;
    // Worse than Lambda ever does (it keeps a key in one lane): every record its own batch,
    // all at once, later records first. Each handler takes the conversation's messages
    // from the index in order, and each commit holds only if the message is still
    // unprocessed and the conversation unchanged; failures are retried as Lambda would.
    let mut batches: Vec<_> = event.records.into_iter().rev().map(|r| vec![r]).collect();
    for _ in 0..5 {
        let failed = futures_util::future::join_all(batches.into_iter().map(|records| {
            let ctx = &h.ctx;
            async move {
                let mut event = aws_lambda_events::dynamodb::Event::default();
                event.records = records.clone();
                let failed = !inbound_processor::handle(ctx, event)
                    .await
                    .batch_item_failures
                    .is_empty();
                failed.then_some(records)
            }
        }))
        .await;
        batches = failed.into_iter().flatten().collect();
        if batches.is_empty() {
            break;
        }
    }
    assert!(batches.is_empty(), "every batch went through");
    for user in users {
        assert_eq!(
            bot_turns(&h, user).await,
            expected_turns(),
            "{user}'s turns"
        );
        let stored = history(&h, user).await;
        let sent = h.graph.sends_to(user);
        assert_eq!(sent.len(), 5, "each reply sent once");
        assert!(stored
            .iter()
            .filter(|m| m.author == Author::Bot)
            .all(|m| sent
                .iter()
                .filter(|s| s.body["biz_opaque_callback_data"] == m.id.as_str())
                .count()
                == 1));
    }
    assert!(h.stream_event_for_unprocessed().await.records.is_empty());
}

#[tokio::test]
async fn a_send_meta_throttles_is_sent_again_after_a_short_wait_not_left_for_the_retries() {
    let h = Harness::new().await;
    for code in [130429, 131056] {
        h.graph.script(Scripted::MetaError {
            status: 400,
            code,
            details: "Rate limit hit",
        });
    }
    user_says(&h, ADA, "hello").await;
    let sends = h.graph.sends_to(ADA);
    assert_eq!(
        sends.len(),
        4,
        "the welcome three times (twice refused), then the menu"
    );
    assert_eq!(sends[0].body, sends[2].body);
    let bot: Vec<_> = history(&h, ADA)
        .await
        .into_iter()
        .filter(|m| m.author == Author::Bot)
        .collect();
    assert!(bot
        .iter()
        .all(|m| m.status == MessageStatus::Sent && m.attempts == 1));
}
