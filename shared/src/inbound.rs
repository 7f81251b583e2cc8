//! The inbound processor's work: run each unprocessed message of a conversation through
//! the state machine, commit the result in one conditional transaction, then send the
//! replies (DESIGN §1, §5).

use crate::bot::{self, Input, SupportChange, Turn};
use crate::context::AppContext;
use crate::model::{
    new_message_id, Author, Conversation, ConversationState, Message, MessageError, MessageStatus,
};
use crate::outbound::deliver_in_order;
use crate::phone::Phone;
use crate::store::{CommitError, StoreError};
use crate::time::{now_ms, Millis};

/// A conversation changed by someone else while we decided: re-read and decide again.
const MAX_CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProcessReport {
    pub processed: usize,
    pub already_processed: usize,
    pub replies: usize,
}

/// Processes the unprocessed inbound messages of `phone` in storage order. `hinted` are the
/// messages the trigger carried (the index may not show them yet).
pub async fn process_conversation(
    ctx: &AppContext,
    phone: &Phone,
    hinted: Vec<Message>,
) -> Result<ProcessReport, StoreError> {
    let mut pending = ctx.store.unprocessed_messages(phone).await?;
    for m in hinted {
        if !pending.iter().any(|p| p.id == m.id) {
            pending.push(m);
        }
    }
    pending.sort_by(|a, b| a.id.cmp(&b.id));

    let mut report = ProcessReport::default();
    for message in pending {
        match process_message(ctx, &message).await? {
            Some(replies) => {
                report.processed += 1;
                report.replies += replies;
            }
            None => report.already_processed += 1,
        }
    }
    Ok(report)
}

/// Handles one message; answers the number of replies, or None if it was already processed.
async fn process_message(ctx: &AppContext, message: &Message) -> Result<Option<usize>, StoreError> {
    for _ in 0..MAX_CONFLICT_RETRIES {
        let now = now_ms();
        let current = ctx.store.get_conversation(&message.phone).await?;
        let current =
            current.unwrap_or_else(|| Conversation::new(message.phone.clone(), message.created_at));
        let turn = turn_for(&current, message);
        let (next, new_messages) = apply_turn(&current, message, &turn, now);
        match ctx
            .store
            .commit(&next, Some(&message.id), &new_messages, now)
            .await
        {
            Ok(_) => {
                tracing::info!(
                    phone = %message.phone.masked(), message_id = %message.id,
                    from = ?current.state, to = ?next.state, replies = turn.replies.len(),
                    "inbound message processed"
                );
                deliver_in_order(ctx, new_messages, now).await?;
                return Ok(Some(turn.replies.len()));
            }
            Err(CommitError::AlreadyProcessed) => return Ok(None),
            Err(CommitError::Conflict) => continue,
            Err(CommitError::Store(e)) => return Err(e),
        }
    }
    Err(StoreError::Dynamo(format!(
        "conversation kept changing while processing message {}",
        message.id
    )))
}

/// The state machine's answer, except for a message written during a chat support that an
/// admin ended before it was processed: the desk saw it there, so it is only recorded —
/// unless it opts out, which always wins.
fn turn_for(current: &Conversation, m: &Message) -> Turn {
    let turn = bot::react(current.state, input_of(m));
    let written_during_ended_chat = current
        .support_ended_at
        .is_some_and(|ended| m.created_at < ended);
    if written_during_ended_chat
        && !current.is_chat_support()
        && turn.next != ConversationState::OptedOut
    {
        return Turn::silent(current.state);
    }
    turn
}

fn input_of(m: &Message) -> Input<'_> {
    match (&m.interactive_id, m.kind.as_str(), &m.text) {
        (Some(id), _, _) => Input::Choice(id),
        (None, "text", Some(text)) => Input::Text(text),
        _ => Input::Other,
    }
}

/// The conversation after `turn`, and the messages to store with it: replies (pending, or
/// failed when the 24-hour window is closed) and history notes.
pub fn apply_turn(
    current: &Conversation,
    m: &Message,
    turn: &Turn,
    now: Millis,
) -> (Conversation, Vec<Message>) {
    let mut c = current.clone();
    if let Some(name) = &m.profile_name {
        c.name = Some(name.clone());
    }
    if let Some(sent_at) = m.sent_at {
        c.last_inbound_sent_at = Some(c.last_inbound_sent_at.map_or(sent_at, |t| t.max(sent_at)));
    }
    c.touch(m.created_at, m.text.as_deref().unwrap_or(&m.kind));
    c.state = turn.next;
    let mut new_messages = Vec::new();
    match turn.support {
        SupportChange::Started => {
            c.support_started_at = Some(m.created_at);
            // Asking for a person is itself a request waiting for an answer.
            c.waiting_since = Some(m.created_at);
            c.unread_count += 1;
        }
        SupportChange::EndedByUser | SupportChange::EndedByOptOut => {
            let why = if turn.support == SupportChange::EndedByUser {
                "Chat support ended by the user."
            } else {
                "Chat support ended: the user opted out (STOP)."
            };
            new_messages.push(Message::system_note(
                c.phone.clone(),
                new_message_id(),
                why.into(),
                now,
            ));
            c.support_started_at = None;
            c.support_ended_at = Some(m.created_at);
            c.waiting_since = None;
            c.unread_count = 0;
        }
        SupportChange::None => {}
    }
    if turn.to_desk {
        c.unread_count += 1;
        c.waiting_since.get_or_insert(m.created_at);
    }
    if let Some(rating) = turn.rating {
        c.last_rating = Some(rating);
    }
    let window_open = c.window_open(now);
    for body in &turn.replies {
        let mut reply = Message::outbound(
            c.phone.clone(),
            new_message_id(),
            Author::Bot,
            body.clone(),
            now,
        );
        if window_open {
            reply.attempts = 1;
        } else {
            reply.status = MessageStatus::Failed;
            reply.error = Some(MessageError::window_closed());
        }
        c.touch(now, reply.text.as_deref().unwrap_or_default());
        new_messages.push(reply);
    }
    (c, new_messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Direction;
    use crate::time::{DAY, HOUR};

    fn inbound(text: &str, sent_at: Millis, created_at: Millis) -> Message {
        Message {
            phone: Phone::parse("447700900123").unwrap(),
            id: new_message_id(),
            direction: Direction::Inbound,
            author: Author::User,
            admin: None,
            kind: "text".into(),
            text: Some(text.into()),
            status: MessageStatus::Received,
            error: None,
            wamid: Some("wamid.x".into()),
            created_at,
            sent_at: Some(sent_at),
            interactive_id: None,
            body: None,
            attempts: 0,
            profile_name: Some("Ada".into()),
        }
    }

    #[test]
    fn entering_support_flags_the_conversation_for_the_desk() {
        let now = 10 * DAY;
        let c = Conversation {
            state: ConversationState::MainMenu,
            ..Conversation::new(Phone::parse("447700900123").unwrap(), 0)
        };
        let m = inbound("support", now - 1_000, now);
        let turn = bot::react(c.state, input_of(&m));
        let (next, msgs) = apply_turn(&c, &m, &turn, now);
        assert!(next.is_chat_support());
        assert_eq!(next.name.as_deref(), Some("Ada"));
        assert_eq!(
            (
                next.unread_count,
                next.waiting_since,
                next.support_started_at
            ),
            (1, Some(now), Some(now))
        );
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            (msgs[0].status, msgs[0].attempts),
            (MessageStatus::Pending, 1)
        );
    }

    #[test]
    fn a_chat_message_processed_after_the_admin_ended_the_chat_is_only_recorded() {
        let now = 10 * DAY;
        let c = Conversation {
            state: ConversationState::SupportFeedback,
            support_ended_at: Some(now - 10),
            last_inbound_sent_at: Some(now - 1_000),
            ..Conversation::new(Phone::parse("447700900123").unwrap(), 0)
        };
        let written_before = inbound("thanks!", now - 1_000, now - 20);
        assert_eq!(
            turn_for(&c, &written_before),
            Turn::silent(ConversationState::SupportFeedback)
        );
        let stop = inbound("STOP", now - 1_000, now - 20);
        assert_eq!(
            turn_for(&c, &stop).next,
            ConversationState::OptedOut,
            "opting out always wins"
        );
        let written_after = inbound("5", now - 1_000, now);
        assert_eq!(turn_for(&c, &written_after).rating, Some(5));
    }

    #[test]
    fn replies_to_a_late_message_obey_the_window() {
        let now = 10 * DAY;
        let c = Conversation::new(Phone::parse("447700900123").unwrap(), 0);
        let late = inbound("hello", now - DAY - HOUR, now);
        let turn = bot::react(c.state, input_of(&late));
        let (next, msgs) = apply_turn(&c, &late, &turn, now);
        assert_eq!(
            next.state,
            ConversationState::MainMenu,
            "the state machine still runs"
        );
        assert!(!msgs.is_empty());
        assert!(msgs
            .iter()
            .all(|m| m.status == MessageStatus::Failed
                && m.error == Some(MessageError::window_closed())));
    }

    #[test]
    fn the_window_runs_from_the_latest_user_timestamp_not_the_last_seen() {
        let now = 10 * DAY;
        let c = Conversation {
            last_inbound_sent_at: Some(now - HOUR),
            ..Conversation::new(Phone::parse("447700900123").unwrap(), 0)
        };
        let older = inbound("menu", now - 2 * DAY, now);
        let turn = bot::react(c.state, input_of(&older));
        let (next, msgs) = apply_turn(&c, &older, &turn, now);
        assert_eq!(
            next.last_inbound_sent_at,
            Some(now - HOUR),
            "an older timestamp never moves it back"
        );
        assert!(msgs.iter().all(|m| m.status == MessageStatus::Pending));
    }
}
