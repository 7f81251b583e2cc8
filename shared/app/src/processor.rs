//! The inbound processor's work: run each unprocessed message of a conversation through
//! the state machine, commit the result in one conditional transaction, then send the
//! replies (docs/architecture.md, docs/bot.md).

use crate::conflict::{retry_on_conflict, Attempt};
use crate::context::Ports;
use crate::delivery::deliver_in_order;
use crate::ports::{ActivationStore, ConversationStore};
use crate::ports::{CommitError, RelatedWrite, StoreError};
use edubot_domain::activation::code_hash;
use edubot_domain::bot::{self, ActivationChange, Facts, Input, SupportChange, Turn};
use edubot_domain::desk::{claimed_outbound, end_support};
use edubot_domain::enquiry::Enquiry;
use edubot_domain::model::{
    new_message_id, Author, Conversation, ConversationState, InboundRef, Message, MessageError,
    MessageStatus,
};
use edubot_domain::phone::Phone;
use edubot_domain::time::{now_ms, Millis};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProcessReport {
    pub processed: usize,
    pub already_processed: usize,
    pub replies: usize,
}

/// Processes the unprocessed inbound messages of `phone` in storage order. `hinted` are the
/// messages the trigger carried (the index may not show them yet).
pub async fn process_conversation(
    ctx: &impl Ports,
    phone: &Phone,
    hinted: Vec<Message>,
) -> Result<ProcessReport, StoreError> {
    let mut pending = ctx.store().unprocessed_messages(phone).await?;
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
async fn process_message(ctx: &impl Ports, message: &Message) -> Result<Option<usize>, StoreError> {
    retry_on_conflict(move || async move {
        let now = now_ms();
        let current = ctx.store().get_conversation(&message.phone).await?;
        let current =
            current.unwrap_or_else(|| Conversation::new(message.phone.clone(), message.created_at));
        // The machine is pure: the code an attempt names is read before it runs.
        let code = match bot::code_attempt(&current, input_of(message), now) {
            Some(text) => ctx.store().get_activation_code(&code_hash(text)).await?,
            None => None,
        };
        let facts = Facts {
            now,
            activation_lock: ctx.settings().activation_lock,
            code: code.as_ref(),
        };
        let turn = turn_for(&current, message, &facts);
        let (next, new_messages, related) = apply_turn(&current, message, &turn, now);
        match ctx
            .store()
            .commit_with(&next, Some(&message.id), &new_messages, &related, now)
            .await
        {
            Ok(_) => {
                tracing::info!(
                    phone = %message.phone.masked(), message_id = %message.id,
                    from = ?current.state, to = ?next.state, replies = turn.replies.len(),
                    "inbound message processed"
                );
                deliver_in_order(ctx, new_messages, now).await?;
                Ok(Attempt::Done(Some(turn.replies.len())))
            }
            Err(CommitError::AlreadyProcessed) => Ok(Attempt::Done(None)),
            Err(CommitError::Conflict) => Ok(Attempt::Conflict),
            Err(CommitError::Store(e)) => Err(e),
        }
    })
    .await
}

/// The state machine's answer, except for a message written during a chat support that an
/// admin ended before it was processed: the desk saw it there, so it is only recorded —
/// unless it opts out, which always wins.
fn turn_for(current: &Conversation, m: &Message, facts: &Facts<'_>) -> Turn {
    let turn = bot::react(current, input_of(m), facts);
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

/// The conversation after `turn`, the messages to store with it — replies (pending, or
/// failed when the 24-hour window is closed), then one history note saying where the user
/// went and what happened — and the turn's other writes (enquiry, code, rating).
pub fn apply_turn(
    current: &Conversation,
    m: &Message,
    turn: &Turn,
    now: Millis,
) -> (Conversation, Vec<Message>, Vec<RelatedWrite>) {
    let mut c = current.clone();
    if let Some(name) = &m.profile_name {
        c.name = Some(name.clone());
    }
    if let Some(sent_at) = m.sent_at {
        c.last_inbound_sent_at = Some(c.last_inbound_sent_at.map_or(sent_at, |t| t.max(sent_at)));
        let newer = c.last_inbound.as_ref().is_none_or(|l| l.sent_at <= sent_at);
        if let (true, Some(wamid)) = (newer, &m.wamid) {
            c.last_inbound = Some(InboundRef {
                id: m.id.clone(),
                wamid: wamid.clone(),
                sent_at,
            });
        }
    }
    c.touch(m.created_at, m.text.as_deref().unwrap_or(&m.kind));
    c.state = turn.next;
    let mut new_messages = Vec::new();
    let mut events: Vec<&str> = Vec::new();
    match turn.support {
        SupportChange::Started => {
            c.support_started_at = Some(m.created_at);
            // Asking for a person is itself a request waiting for an answer.
            c.waiting_since = Some(m.created_at);
            c.first_reply = None;
            c.unread_count += 1;
        }
        SupportChange::EndedByUser | SupportChange::EndedByOptOut => {
            let why = if turn.support == SupportChange::EndedByUser {
                "Chat support ended by the user."
            } else {
                "Chat support ended: the user opted out (STOP)."
            };
            events.push(why);
            end_support(&mut c, m.created_at);
        }
        SupportChange::None => {}
    }
    if turn.to_desk {
        c.unread_count += 1;
        c.waiting_since.get_or_insert(m.created_at);
    }
    if let Some(flow) = &turn.flow {
        c.flow = flow.clone();
    }
    let mut related = Vec::new();
    if let Some(rating) = turn.rating {
        c.last_rating = Some(rating);
        c.rated_at = Some(now);
        related.push(RelatedWrite::Rating {
            phone: c.phone.clone(),
            rating,
            id: m.id.clone(),
            at: now,
        });
    }
    match &turn.activation {
        Some(ActivationChange::WrongCode { failures }) => c.activation_failures = *failures,
        Some(ActivationChange::Locked { until }) => {
            c.activation_locked_until = Some(*until);
            c.activation_failures = 0;
        }
        Some(ActivationChange::Linked { code_hash, student }) => {
            c.student = Some(student.clone());
            c.activation_failures = 0;
            c.activation_locked_until = None;
            related.push(RelatedWrite::RedeemCode {
                code_hash: code_hash.clone(),
                phone: c.phone.clone(),
            });
        }
        None => {}
    }
    if let Some(request) = &turn.enquiry {
        related.push(RelatedWrite::Enquiry(Enquiry {
            id: new_message_id(),
            phone: c.phone.clone(),
            request: request.clone(),
            created_at: now,
        }));
    }
    // By the window alone: the opt-out's own confirmation is sent to a user now opted out.
    let window_open = c.window_open(now);
    for body in &turn.replies {
        let reply = if window_open {
            claimed_outbound(c.phone.clone(), Author::Bot, body.clone(), now)
        } else {
            let mut failed = Message::outbound(
                c.phone.clone(),
                new_message_id(),
                Author::Bot,
                body.clone(),
                now,
            );
            failed.status = MessageStatus::Failed;
            failed.error = Some(MessageError::window_closed());
            failed
        };
        c.touch(now, reply.text.as_deref().unwrap_or_default());
        new_messages.push(reply);
    }
    if let Some(event) = &turn.event {
        events.push(event.as_str());
    }
    // The first message's welcome needs no note; every later change of state gets one.
    let moved = (current.state != c.state && current.state != ConversationState::New)
        .then(|| format!("{} → {}", state_name(current.state), state_name(c.state)));
    let note = match (moved, events.is_empty()) {
        (None, true) => None,
        (None, false) => Some(events.join(" ")),
        (Some(moved), true) => Some(moved),
        (Some(moved), false) => Some(format!("{moved}: {}", events.join(" "))),
    };
    if let Some(note) = note {
        new_messages.push(Message::system_note(
            c.phone.clone(),
            new_message_id(),
            note,
            now,
        ));
    }
    (c, new_messages, related)
}

/// A state as the API names it (`COURSE_LIST`).
fn state_name(state: ConversationState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use edubot_domain::model::Direction;
    use edubot_domain::time::{DAY, HOUR};

    fn facts(now: Millis) -> Facts<'static> {
        Facts {
            now,
            activation_lock: HOUR,
            code: None,
        }
    }

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
            media: None,
            reply_to: None,
            reply_to_wamid: None,
            reactions: Vec::new(),
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
        let turn = bot::react(&c, input_of(&m), &facts(now));
        let (next, msgs, _) = apply_turn(&c, &m, &turn, now);
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
        assert_eq!(msgs.len(), 2, "the acknowledgement, then the note");
        assert_eq!(
            (msgs[0].status, msgs[0].attempts),
            (MessageStatus::Pending, 1)
        );
        assert_eq!(msgs[1].author, Author::System);
        assert_eq!(
            msgs[1].text.as_deref(),
            Some("MAIN_MENU → CHAT_SUPPORT_ACTIVE")
        );
    }

    #[test]
    fn each_turn_leaves_at_most_one_compact_note_and_its_related_writes() {
        use edubot_domain::activation::{ActivationCode, Student};
        let now = 10 * DAY;
        let phone = Phone::parse("447700900123").unwrap();
        let at = |state| Conversation {
            state,
            last_inbound_sent_at: Some(now - 1_000),
            ..Conversation::new(phone.clone(), 0)
        };
        let notes = |msgs: &[Message]| -> Vec<String> {
            msgs.iter()
                .filter(|m| m.author == Author::System)
                .map(|m| m.text.clone().unwrap())
                .collect()
        };

        // Staying put says nothing; the first message's welcome needs no note.
        let menu = at(ConversationState::MainMenu);
        let m = inbound("menu", now - 1_000, now);
        let (_, msgs, related) = apply_turn(
            &menu,
            &m,
            &bot::react(&menu, input_of(&m), &facts(now)),
            now,
        );
        assert!(notes(&msgs).is_empty() && related.is_empty());
        let new = Conversation::new(phone.clone(), 0);
        let m = inbound("hello", now - 1_000, now);
        let (_, msgs, _) = apply_turn(&new, &m, &bot::react(&new, input_of(&m), &facts(now)), now);
        assert!(notes(&msgs).is_empty());

        // A rating: the note, the rating on the conversation and a rating item.
        let feedback = at(ConversationState::SupportFeedback);
        let m = inbound("4", now - 1_000, now);
        let (next, msgs, related) = apply_turn(
            &feedback,
            &m,
            &bot::react(&feedback, input_of(&m), &facts(now)),
            now,
        );
        assert_eq!(next.last_rating, Some(4));
        assert_eq!(
            notes(&msgs),
            ["SUPPORT_FEEDBACK → MAIN_MENU: Rated the chat support 4/5."]
        );
        assert!(matches!(
            &related[..],
            [RelatedWrite::Rating { rating: 4, .. }]
        ));
        assert_eq!(
            msgs.last().unwrap().author,
            Author::System,
            "the note follows the replies"
        );

        // A good code: linked, code redeemed in the same commit.
        let code = ActivationCode {
            code_hash: "h".into(),
            student: Student {
                name: "Jane Doe".into(),
                course: "Web".into(),
            },
            created_by: "admin".into(),
            created_at: now,
            valid_until: now + DAY,
            used_at: None,
        };
        let waiting = Conversation {
            activation_failures: 2,
            ..at(ConversationState::ActivationCode)
        };
        let m = inbound("ABCD-2345", now - 1_000, now);
        let with_code = Facts {
            code: Some(&code),
            ..facts(now)
        };
        let (next, msgs, related) = apply_turn(
            &waiting,
            &m,
            &bot::react(&waiting, input_of(&m), &with_code),
            now,
        );
        assert_eq!(next.student, Some(code.student.clone()));
        assert_eq!(next.activation_failures, 0);
        assert_eq!(
            related,
            [RelatedWrite::RedeemCode {
                code_hash: "h".into(),
                phone: phone.clone()
            }]
        );
        assert!(notes(&msgs)[0].starts_with("ACTIVATION_CODE → MAIN_MENU: Account activated"));

        // The third wrong code locks, and the lock is stored on the conversation.
        let (next, msgs, related) = apply_turn(
            &waiting,
            &m,
            &bot::react(&waiting, input_of(&m), &facts(now)),
            now,
        );
        assert_eq!(next.state, ConversationState::ActivationLocked);
        assert_eq!(next.activation_locked_until, Some(now + HOUR));
        assert_eq!(next.activation_failures, 0);
        assert!(related.is_empty());
        assert!(notes(&msgs)[0].contains("activation locked until"));
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
            turn_for(&c, &written_before, &facts(now)),
            Turn::silent(ConversationState::SupportFeedback)
        );
        let stop = inbound("STOP", now - 1_000, now - 20);
        assert_eq!(
            turn_for(&c, &stop, &facts(now)).next,
            ConversationState::OptedOut,
            "opting out always wins"
        );
        let written_after = inbound("5", now - 1_000, now);
        assert_eq!(turn_for(&c, &written_after, &facts(now)).rating, Some(5));
    }

    #[test]
    fn replies_to_a_late_message_obey_the_window() {
        let now = 10 * DAY;
        let c = Conversation::new(Phone::parse("447700900123").unwrap(), 0);
        let late = inbound("hello", now - DAY - HOUR, now);
        let turn = bot::react(&c, input_of(&late), &facts(now));
        let (next, msgs, _) = apply_turn(&c, &late, &turn, now);
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
        let turn = bot::react(&c, input_of(&older), &facts(now));
        let (next, msgs, _) = apply_turn(&c, &older, &turn, now);
        assert_eq!(
            next.last_inbound_sent_at,
            Some(now - HOUR),
            "an older timestamp never moves it back"
        );
        assert!(msgs.iter().all(|m| m.status == MessageStatus::Pending));
    }
}
