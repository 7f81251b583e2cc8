//! The support desk's use cases behind the admin API (docs/architecture.md): sign-in, the
//! conversation list, the history, replying, ending a chat, the dashboard.

use serde::Serialize;

use crate::attachments::file_reply;
use crate::auth::{burn_password_check, verify_password};
use crate::conflict::{retry_on_conflict, Attempt};
use crate::context::Ports;
use crate::conversations::{conversation_or_404, desk_commit};
use crate::delivery::{deliver_any, deliver_in_order};
use crate::error::{AppError, ErrorCode};
use crate::ports::{AdminStore, ConversationStore, OutboxStore, TeamStore};
use crate::ports::{ListFilter, Page, RelatedWrite};
use crate::sending::{
    limit_sends, refuse_held_by_other, refuse_opted_out, send_audit, send_outcome,
    store_admin_message, window, SendOutcome,
};
use crate::templates::feedback_question;
use edubot_domain::content::content;
use edubot_domain::desk::{claimed_outbound, end_support, may_send, SendRefusal, Waiting};
use edubot_domain::media::check_caption;
use edubot_domain::model::{
    new_message_id, valid_username, Author, Conversation, ConversationState, Message, MessageStatus,
};
use edubot_domain::phone::Phone;
use edubot_domain::search::Query;
use edubot_domain::team::{AuditAction, AuditEntry, Role};
use edubot_domain::time::{serde_rfc3339, Millis, MINUTE};
use edubot_domain::whatsapp::{OutboundBody, MAX_TEXT_CHARS};

/// Sign-in attempts allowed, in one window, per username from one source address (a
/// guesser), and per source address whatever the username (a sprayer). Per username alone
/// nothing is refused: a stranger failing on purpose elsewhere never locks its admin out.
pub const LOGIN_ATTEMPTS_PER_USER_AND_SOURCE: u32 = 5;
pub const LOGIN_ATTEMPTS_PER_SOURCE: u32 = 20;
pub const LOGIN_WINDOW: Millis = 15 * MINUTE;
/// Past this many attempts on one username in a window, from anywhere (guessers spread
/// over many addresses), each answer for that username is slowed down, never refused.
pub const LOGIN_ATTEMPTS_PER_USER_BEFORE_SLOWDOWN: u32 = 10;
/// The slow-down grows by this much per attempt past the threshold, up to the cap: the
/// real admin waits a few seconds at worst; a spread guesser gets one check per that time
/// per connection.
pub const LOGIN_SLOWDOWN_STEP: Millis = 250;
pub const LOGIN_SLOWDOWN_MAX: Millis = 3_000;

/// How long the answer to the `attempts`-th sign-in on one username in a window waits.
pub fn login_slowdown(attempts: u32) -> Millis {
    let past = attempts.saturating_sub(LOGIN_ATTEMPTS_PER_USER_BEFORE_SLOWDOWN);
    (Millis::from(past) * LOGIN_SLOWDOWN_STEP).min(LOGIN_SLOWDOWN_MAX)
}

/// Signs an admin in; the same answer, in similar time, for an unknown user and a wrong
/// password. The attempt is counted before the password is checked (atomic counters, read
/// back from the increment), so a burst of parallel guesses gets no more checks than the
/// same guesses one by one; a sign-in that works gives its attempt back. Many attempts on
/// one username slow its answers down ([`login_slowdown`]), before the check, so a slow
/// answer says nothing about the password. Each checked attempt is in the audit log.
pub async fn login(
    ctx: &impl Ports,
    username: &str,
    password: &str,
    source: &str,
    now: Millis,
) -> Result<SignedIn, AppError> {
    let bad_credentials = || AppError::new(ErrorCode::Unauthorized, "Wrong username or password.");
    // No account has such a name, and it may not even fit in a key: refused before any
    // read, in the time a real check takes.
    if !valid_username(username) {
        burn_password_check(password);
        return Err(bad_credentials());
    }
    let (window_key, window_end) = window(now, LOGIN_WINDOW);
    let pair = format!("{username}#{source}");
    let store = ctx.store();
    let (pair_attempts, source_attempts, user_attempts, admin) = futures_util::future::join4(
        store.count_use(LOGIN_PAIR, &pair, &window_key, window_end),
        store.count_use(LOGIN_SOURCE, source, &window_key, window_end),
        store.count_use(LOGIN_USER, username, &window_key, window_end),
        store.get_admin(username),
    )
    .await;
    let (pair_attempts, source_attempts, user_attempts, admin) =
        (pair_attempts?, source_attempts?, user_attempts?, admin?);
    if pair_attempts > LOGIN_ATTEMPTS_PER_USER_AND_SOURCE
        || source_attempts > LOGIN_ATTEMPTS_PER_SOURCE
    {
        return Err(AppError::rate_limited(((window_end - now) / 1000) as u64));
    }
    let slowdown = login_slowdown(user_attempts);
    if slowdown > 0 {
        tracing::info!(slowdown_ms = slowdown, "admin login slowed down");
        ctx.pause(slowdown).await;
    }
    let valid = match &admin {
        Some(a) => verify_password(password, &a.password_hash) && !a.disabled,
        None => {
            burn_password_check(password);
            false
        }
    };
    if !valid {
        tracing::info!(source = %source, "failed admin login");
        store
            .put_audit(&AuditEntry::new(
                username,
                AuditAction::LoginFailed,
                None,
                now,
            ))
            .await?;
        return Err(bad_credentials());
    }
    let (pair, source, user) = futures_util::future::join3(
        store.uncount_use(LOGIN_PAIR, &pair, &window_key),
        store.uncount_use(LOGIN_SOURCE, source, &window_key),
        store.uncount_use(LOGIN_USER, username, &window_key),
    )
    .await;
    pair?;
    source?;
    user?;
    let (version, role) = admin.map_or((0, Role::Admin), |a| (a.token_version, a.role));
    store
        .put_audit(&AuditEntry::new(username, AuditAction::Login, None, now))
        .await?;
    let (token, expires_at) = ctx.tokens().issue(username, role, version, now);
    Ok(SignedIn {
        token,
        expires_at,
        role,
    })
}

/// A sign-in that worked: the token, when it expires, and the account's role (the page
/// shows what the role may do).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: Millis,
    pub role: Role,
}

/// The sign-in counters' scopes (`RATE#<scope>#<key>` items).
const LOGIN_PAIR: &str = "login-pair";
const LOGIN_SOURCE: &str = "login-source";
const LOGIN_USER: &str = "login-user";

#[derive(Debug, Serialize)]
pub struct Dashboard {
    /// Conversations in chat support.
    pub active_chats: usize,
    /// Of those, the ones whose user has waited longer than the SLA for an answer.
    pub waiting_chats: usize,
    /// Since when the longest-waiting user has waited (answered or not yet past the SLA).
    #[serde(with = "serde_rfc3339::option")]
    pub oldest_waiting_since: Option<Millis>,
    /// Chats whose user waits for an answer, past the SLA or not.
    pub unanswered_chats: usize,
    /// Unread user messages across the chats in support (the page's title count).
    pub total_unread: u32,
    pub sla_seconds: i64,
    /// The average of the ratings users gave after chat support in the last 7 days
    /// (two decimals), null when there were none.
    pub average_rating_7d: Option<f64>,
    pub ratings_7d: usize,
}

/// The mean of `ratings` to two decimals; None for none.
pub fn average_rating(ratings: &[u8]) -> Option<f64> {
    let sum: u32 = ratings.iter().map(|r| u32::from(*r)).sum();
    (!ratings.is_empty()).then(|| (f64::from(sum) * 100.0 / ratings.len() as f64).round() / 100.0)
}

pub async fn dashboard(ctx: &impl Ports, now: Millis) -> Result<Dashboard, AppError> {
    let (active, ratings) = futures_util::future::join(
        ctx.store().conversations_in_support(),
        ctx.store()
            .ratings_since(now - 7 * edubot_domain::time::DAY),
    )
    .await;
    let (active, ratings) = (active?, ratings?);
    let sla = ctx.settings().support_sla;
    let waiting = Waiting::of(&active, sla, now);
    Ok(Dashboard {
        active_chats: active.len(),
        waiting_chats: waiting.past_sla,
        oldest_waiting_since: waiting.oldest_since,
        unanswered_chats: waiting.unanswered,
        total_unread: active.iter().map(|c| c.unread_count).sum(),
        sla_seconds: sla / 1000,
        average_rating_7d: average_rating(&ratings),
        ratings_7d: ratings.len(),
    })
}

pub async fn list_conversations(
    ctx: &impl Ports,
    filter: &ListFilter,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Conversation>, AppError> {
    Ok(ctx
        .store()
        .list_conversations(filter, limit, cursor)
        .await?)
}

/// Conversations across the whole desk whose phone or name `q` finds (DESIGN §15).
pub async fn search_conversations(
    ctx: &impl Ports,
    q: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Conversation>, AppError> {
    let query = Query::parse(q).ok_or_else(|| {
        AppError::invalid(format!(
            "`q` must hold digits or words, at most {} characters.",
            edubot_domain::search::MAX_QUERY_CHARS
        ))
    })?;
    Ok(ctx
        .store()
        .search_conversations(&query, limit, cursor)
        .await?)
}

/// Message text: 1 to 4096 characters after trimming.
pub fn validate_text(text: &str) -> Result<&str, AppError> {
    let trimmed = text.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err(AppError::invalid("The message is empty."));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(AppError::invalid(format!(
            "The message has {chars} characters; at most {MAX_TEXT_CHARS} are allowed."
        )));
    }
    Ok(trimmed)
}

/// Whether `admin` may write to the user now, refused in the order of docs/architecture.md
/// (after 404): opted_out, not_in_chat_support, assigned_to_other, window_closed.
fn check_admin_may_reply(c: &Conversation, admin: &str, now: Millis) -> Result<(), AppError> {
    refuse_opted_out(c)?;
    let refusal = may_send(c, now).err();
    if !c.is_chat_support() {
        return Err(AppError::new(
            ErrorCode::NotInChatSupport,
            "This conversation is not in chat support.",
        ));
    }
    refuse_held_by_other(c, admin)?;
    if refusal == Some(SendRefusal::WindowClosed) {
        return Err(AppError::new(
            ErrorCode::WindowClosed,
            "More than 24 hours have passed since the user's last message: WhatsApp allows no free-form reply.",
        ));
    }
    Ok(())
}

/// Sends a failed admin reply again, as a new attempt on the same message, under the same
/// rules as a new reply.
pub async fn retry_admin_message(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    id: &str,
    now: Millis,
) -> Result<SendOutcome, AppError> {
    limit_sends(ctx, admin, now).await?;
    let current = conversation_or_404(ctx, phone).await?;
    let message = ctx
        .store()
        .get_message(phone, id)
        .await?
        .ok_or_else(|| AppError::not_found("No message with this id in the conversation."))?;
    // A template goes out whatever the window and state, as when it was first sent.
    match &message.body {
        Some(body) if !body.needs_open_window() => {
            refuse_opted_out(&current)?;
            refuse_held_by_other(&current, admin)?;
        }
        _ => check_admin_may_reply(&current, admin, now)?,
    }
    let not_retryable = || {
        AppError::new(
            ErrorCode::Conflict,
            "Only a failed reply from an admin can be retried.",
        )
    };
    if message.author != Author::Admin || message.status != MessageStatus::Failed {
        return Err(not_retryable());
    }
    let audit = send_audit(&message, now);
    let audit = AuditEntry {
        admin: admin.to_owned(),
        detail: audit.detail.map(|d| format!("{d}, retried")),
        ..audit
    };
    let reopened = ctx
        .store()
        .reopen_failed_admin_message(&message, &audit, now)
        .await?
        .ok_or_else(not_retryable)?;
    tracing::info!(phone = %phone.masked(), admin = %admin, message_id = %id, attempts = reopened.attempts, "admin reply retried");
    send_outcome(deliver_any(ctx, reopened, now).await?)
}

/// An admin's reply: refused in the order 404, opted_out, not_in_chat_support,
/// window_closed (docs/architecture.md); otherwise stored pending, then sent.
/// What an admin sends: text, or an attachment with an optional caption.
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    Text(&'a str),
    File {
        attachment_id: &'a str,
        caption: Option<&'a str>,
    },
}

/// The message a reply answers: one of this conversation's with a wamid (WhatsApp quotes
/// it by its wamid), else 400.
async fn reply_target(
    ctx: &impl Ports,
    phone: &Phone,
    id: &str,
) -> Result<(String, String), AppError> {
    let target = ctx.store().get_message(phone, id).await?;
    match target.and_then(|m| m.wamid) {
        Some(wamid) => Ok((id.to_owned(), wamid)),
        None => Err(AppError::invalid(
            "`reply_to` names no message of this conversation that WhatsApp knows.",
        )),
    }
}

pub async fn send_admin_message(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    reply: Reply<'_>,
    reply_to: Option<&str>,
    now: Millis,
) -> Result<SendOutcome, AppError> {
    // Refused before anything counts or moves: bad text, a caption too long.
    match reply {
        Reply::Text(text) => {
            validate_text(text)?;
        }
        Reply::File {
            caption: Some(caption),
            ..
        } => check_caption(caption).map_err(AppError::invalid)?,
        Reply::File { caption: None, .. } => {}
    }
    limit_sends(ctx, admin, now).await?;
    // The conversation's rules come first, then the message it answers.
    let target = match reply_to {
        Some(id) => {
            check_admin_may_reply(&conversation_or_404(ctx, phone).await?, admin, now)?;
            Some(reply_target(ctx, phone, id).await?)
        }
        None => None,
    };
    let mut message = match reply {
        Reply::Text(text) => {
            let text = validate_text(text)?;
            let mut message =
                claimed_outbound(phone.clone(), Author::Admin, OutboundBody::text(text), now);
            message.admin = Some(admin.to_owned());
            message
        }
        Reply::File {
            attachment_id,
            caption,
        } => {
            // The conversation's rules first: no copy for a reply that may not be sent.
            check_admin_may_reply(&conversation_or_404(ctx, phone).await?, admin, now)?;
            file_reply(ctx, admin, phone, attachment_id, caption, now).await?
        }
    };
    if let Some((id, wamid)) = target {
        message.reply_to = Some(id);
        message.reply_to_wamid = Some(wamid);
    }
    store_admin_message(
        ctx,
        phone,
        &message,
        now,
        |c| check_admin_may_reply(c, admin, now),
        |_| {},
    )
    .await?;
    tracing::info!(phone = %phone.masked(), admin = %admin, message_id = %message.id, kind = %message.kind, "admin reply stored");
    send_outcome(deliver_any(ctx, message, now).await?)
}

/// Ends chat support from the desk: a note in the history, a closing message and the
/// rating question to the user (when the 24-hour window allows), history kept.
pub async fn end_chat_support(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    now: Millis,
) -> Result<Conversation, AppError> {
    // Outside the window the rating question can only be a template: looked up on the
    // first attempt that needs it and kept, so a conflict retry never calls Meta again.
    let feedback: std::sync::Mutex<Option<Result<Message, String>>> = Default::default();
    let feedback = &feedback;
    let (next, messages) = retry_on_conflict(move || async move {
        let current = conversation_or_404(ctx, phone).await?;
        if !current.is_chat_support() {
            return Err(AppError::new(
                ErrorCode::NotInChatSupport,
                "This conversation is not in chat support.",
            ));
        }
        let mut next = current.clone();
        end_support(&mut next, now);
        let note = format!("Chat support ended by {admin}.");
        let mut messages = vec![Message::system_note(
            phone.clone(),
            new_message_id(),
            note.clone(),
            now,
        )];
        next.touch(now, &note);
        if current.window_open(now) {
            // Only ask for a rating the user can actually receive.
            next.state = ConversationState::SupportFeedback;
            for body in [
                OutboundBody::text(&content().support_ended_by_admin),
                content().rating_question(),
            ] {
                let m = claimed_outbound(phone.clone(), Author::Bot, body, now);
                next.touch(now, m.text.as_deref().unwrap_or_default());
                messages.push(m);
            }
        } else {
            let known = feedback.lock().expect("feedback lock").clone();
            let asked = match known {
                Some(asked) => asked,
                None => {
                    let asked = feedback_question(ctx, phone, now).await;
                    *feedback.lock().expect("feedback lock") = Some(asked.clone());
                    asked
                }
            };
            match asked {
                Ok(question) => {
                    next.state = ConversationState::SupportFeedback;
                    next.touch(now, question.text.as_deref().unwrap_or_default());
                    messages.push(question);
                }
                Err(why) => {
                    next.state = ConversationState::MainMenu;
                    messages.push(Message::system_note(
                        phone.clone(),
                        new_message_id(),
                        format!(
                            "No rating asked: the chat ended outside the 24-hour window and {why}."
                        ),
                        now,
                    ));
                }
            }
        }
        let audit = AuditEntry::new(admin, AuditAction::EndChat, Some(phone), now);
        let committed = ctx
            .store()
            .commit_with(&next, None, &messages, &[RelatedWrite::Audit(audit)], now)
            .await;
        Ok(match desk_commit(committed)? {
            Attempt::Done(version) => {
                next.version = version;
                Attempt::Done((next, messages))
            }
            Attempt::Conflict => Attempt::Conflict,
        })
    })
    .await?;
    tracing::info!(phone = %phone.masked(), admin = %admin, "chat support ended by admin");
    deliver_in_order(ctx, messages, now).await?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sign_in_slow_down_starts_past_the_threshold_and_is_capped() {
        assert_eq!(login_slowdown(0), 0);
        assert_eq!(login_slowdown(LOGIN_ATTEMPTS_PER_USER_BEFORE_SLOWDOWN), 0);
        assert_eq!(
            login_slowdown(LOGIN_ATTEMPTS_PER_USER_BEFORE_SLOWDOWN + 1),
            LOGIN_SLOWDOWN_STEP
        );
        assert_eq!(login_slowdown(u32::MAX), LOGIN_SLOWDOWN_MAX);
    }

    proptest! {
        #[test]
        fn any_text_is_accepted_exactly_when_1_to_4096_characters_remain_after_trimming(
            text in "\\s{0,3}\\PC{0,20}\\s{0,3}|\\PC{4090,4100}"
        ) {
            let trimmed = text.trim();
            let expected = (1..=MAX_TEXT_CHARS).contains(&trimmed.chars().count());
            match validate_text(&text) {
                Ok(accepted) => {
                    prop_assert!(expected);
                    prop_assert_eq!(accepted, trimmed);
                }
                Err(e) => {
                    prop_assert!(!expected);
                    prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
                }
            }
        }
    }

    #[test]
    fn text_is_validated_after_trimming_in_code_points() {
        assert_eq!(validate_text("  hi \n").unwrap(), "hi");
        assert_eq!(
            validate_text("   ").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let max = "é".repeat(MAX_TEXT_CHARS);
        assert!(
            validate_text(&max).is_ok(),
            "4096 two-byte characters are allowed"
        );
        assert!(validate_text(&format!("{max}x")).is_err());
        let emoji = "💬".repeat(MAX_TEXT_CHARS);
        assert!(validate_text(&emoji).is_ok());
    }

    #[test]
    fn ratings_average_to_two_decimals() {
        assert_eq!(average_rating(&[]), None);
        assert_eq!(average_rating(&[5, 4, 4]), Some(4.33));
        assert_eq!(average_rating(&[1]), Some(1.0));
    }

    #[test]
    fn windows_are_fixed() {
        assert_eq!(window(61_000, MINUTE), ("1".to_owned(), 120_000));
    }
}
