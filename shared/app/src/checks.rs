//! The scheduled checks (docs/operations.md), run every minute by EventBridge: nobody waits unseen,
//! no chat stays open for ever, no message is lost. Each works only through Queries on
//! sparse indexes, re-reads what it acts on (indexes are eventually consistent), acts
//! through the same conditional writes as everything else, and so is idempotent: a second
//! run in the same minute changes nothing more.

use std::time::Instant;

use serde::Serialize;

use crate::conflict::{retry_on_conflict, Attempt};
use crate::context::Ports;
use crate::delivery::{deliver_any, deliver_in_order, Delivery};
use crate::media::{fetch_media, Fetched};
use crate::ports::{CommitError, StoreError};
use crate::ports::{ConversationStore, MediaStore, OutboxStore};
use crate::processor::process_conversation;
use crate::realtime::close_revoked_connections;
use edubot_domain::content::content;
use edubot_domain::desk::{claimed_outbound, end_support, may_send, may_send_body, Waiting};
use edubot_domain::model::{new_message_id, Author, Conversation, ConversationState, Message};
use edubot_domain::phone::Phone;
use edubot_domain::time::{Millis, MINUTE};
use edubot_domain::whatsapp::OutboundBody;

/// An inbound message still unprocessed this long after it was stored was missed by the
/// stream (a batch that failed for good, or records past the stream's 24 hours).
pub const REPLAY_AFTER: Millis = MINUTE;
/// Items one run reads from an index; the rest waits for the next minute.
const PAGE: i32 = 100;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub active_chats: usize,
    /// Chats whose user has waited past the SLA.
    pub waiting_chats: usize,
    pub oldest_wait_seconds: i64,
    pub queue_notices: usize,
    pub idle_closed: usize,
    pub retries: usize,
    pub retries_sent: usize,
    pub permanent_failures: usize,
    pub replayed_conversations: usize,
    /// Users' files whose fetch was due (retries, and those the stream's fetcher missed).
    pub media_fetches: usize,
    pub media_stored: usize,
    /// WebSocket connections of admins disabled (or whose password changed) since they
    /// connected, closed.
    pub revoked_connections_closed: usize,
    /// The time budget ran out before everything was looked at.
    pub incomplete: bool,
}

/// Runs every check once, stopping early (work left for the next run) at `deadline`.
pub async fn run_checks(
    ctx: &impl Ports,
    now: Millis,
    deadline: Instant,
) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport {
        revoked_connections_closed: close_revoked_connections(ctx).await?,
        ..CheckReport::default()
    };
    support_checks(ctx, now, deadline, &mut report).await?;
    retry_due_sends(ctx, now, deadline, &mut report).await?;
    replay_unprocessed(ctx, now, deadline, &mut report).await?;
    fetch_due_media(ctx, now, deadline, &mut report).await?;
    Ok(report)
}

/// Waiting alert (counted for the metrics; the dashboard computes the same at read time),
/// queue-timeout notice, idle close.
async fn support_checks(
    ctx: &impl Ports,
    now: Millis,
    deadline: Instant,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    let config = ctx.settings();
    let in_support = ctx.store().conversations_in_support().await?;
    report.active_chats = in_support.len();
    let waiting = Waiting::of(&in_support, config.support_sla, now);
    report.waiting_chats = waiting.past_sla;
    report.oldest_wait_seconds = waiting.oldest_wait_seconds(now);
    for listed in in_support {
        if Instant::now() >= deadline {
            report.incomplete = true;
            break;
        }
        let idle = now - listed.last_message_at >= config.support_idle;
        let queue_timed_out = listed.waiting_since.is_some_and(|w| {
            now - w >= config.support_queue_timeout && listed.queue_notice_for != Some(w)
        });
        if idle {
            report.idle_closed += usize::from(close_idle_chat(ctx, &listed.phone, now).await?);
        } else if queue_timed_out {
            report.queue_notices += usize::from(send_queue_notice(ctx, &listed.phone, now).await?);
        }
    }
    Ok(())
}

/// Re-reads the conversation, and if `change` still wants to act on it, commits the change
/// with its messages and sends them. Answers whether it acted.
async fn act_on_conversation(
    ctx: &impl Ports,
    phone: &Phone,
    now: Millis,
    change: impl Fn(&Conversation) -> Option<(Conversation, Vec<Message>)>,
) -> Result<bool, StoreError> {
    let change = &change;
    let messages = retry_on_conflict(move || async move {
        let Some(current) = ctx.store().get_conversation(phone).await? else {
            return Ok(Attempt::Done(None));
        };
        let Some((next, messages)) = change(&current) else {
            return Ok(Attempt::Done(None));
        };
        match ctx.store().commit(&next, None, &messages, now).await {
            Ok(_) => Ok(Attempt::Done(Some(messages))),
            Err(CommitError::Conflict) => Ok(Attempt::Conflict),
            Err(CommitError::AlreadyProcessed) => Ok(Attempt::Done(None)),
            Err(CommitError::Store(e)) => Err(e),
        }
    })
    .await?;
    let Some(messages) = messages else {
        return Ok(false);
    };
    deliver_in_order(ctx, messages, now).await?;
    Ok(true)
}

/// A bot message to the user, claimed for sending now, or nothing when the 24-hour window
/// is closed (it could not be delivered).
fn bot_text(c: &Conversation, text: &str, now: Millis) -> Option<Message> {
    may_send(c, now)
        .is_ok()
        .then(|| claimed_outbound(c.phone.clone(), Author::Bot, OutboundBody::text(text), now))
}

async fn close_idle_chat(ctx: &impl Ports, phone: &Phone, now: Millis) -> Result<bool, StoreError> {
    let idle = ctx.settings().support_idle;
    let closed = act_on_conversation(ctx, phone, now, |c| {
        if !c.is_chat_support() || now - c.last_message_at < idle {
            return None;
        }
        let mut next = c.clone();
        next.state = ConversationState::MainMenu; // no rating after an idle close
        end_support(&mut next, now);
        let note = format!(
            "Chat support closed automatically after {} minutes without messages.",
            idle / MINUTE
        );
        next.touch(now, &note);
        let mut messages = vec![Message::system_note(
            c.phone.clone(),
            new_message_id(),
            note,
            now,
        )];
        messages.extend(bot_text(c, &content().support_closed_idle, now));
        Some((next, messages))
    })
    .await?;
    if closed {
        tracing::info!(phone = %phone.masked(), "idle chat support closed");
    }
    Ok(closed)
}

async fn send_queue_notice(
    ctx: &impl Ports,
    phone: &Phone,
    now: Millis,
) -> Result<bool, StoreError> {
    let timeout = ctx.settings().support_queue_timeout;
    act_on_conversation(ctx, phone, now, |c| {
        let wait = c.waiting_since?;
        if !c.is_chat_support() || now - wait < timeout || c.queue_notice_for == Some(wait) {
            return None;
        }
        let mut next = c.clone();
        next.queue_notice_for = Some(wait);
        let messages: Vec<Message> = bot_text(c, &content().support_queue_timeout, now)
            .into_iter()
            .collect();
        Some((next, messages))
    })
    .await
}

/// Sends whose next attempt is due: claimed one by one (a send in flight is never raced),
/// refused if the user can no longer receive them, otherwise attempted again.
async fn retry_due_sends(
    ctx: &impl Ports,
    now: Millis,
    deadline: Instant,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    for due in ctx.store().due_sends(now, PAGE).await? {
        if Instant::now() >= deadline {
            report.incomplete = true;
            break;
        }
        let Some(message) = ctx.store().claim_send(&due, now).await? else {
            continue;
        };
        report.retries += 1;
        let conversation = ctx.store().get_conversation(&message.phone).await?;
        let refusal = conversation.as_ref().and_then(|c| match &message.body {
            Some(body) => may_send_body(c, body, now).err(),
            None => may_send(c, now).err(),
        });
        if let Some(refusal) = refusal {
            ctx.store()
                .mark_failed(&message, &refusal.message_error())
                .await?;
            report.permanent_failures += 1;
            continue;
        }
        match deliver_any(ctx, message, now).await? {
            Delivery::Sent(_) => report.retries_sent += 1,
            Delivery::Failed(_) => report.permanent_failures += 1,
            Delivery::Retrying(_) => {}
        }
    }
    Ok(())
}

/// Inbound messages the stream never got processed: through the same code path, in order.
async fn replay_unprocessed(
    ctx: &impl Ports,
    now: Millis,
    deadline: Instant,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    let stale = ctx.store().unprocessed_anywhere(PAGE).await?;
    let mut phones: Vec<Phone> = Vec::new();
    for m in stale.iter().filter(|m| now - m.created_at >= REPLAY_AFTER) {
        if !phones.contains(&m.phone) {
            phones.push(m.phone.clone());
        }
    }
    for phone in phones {
        if Instant::now() >= deadline {
            report.incomplete = true;
            break;
        }
        let processed = process_conversation(ctx, &phone, Vec::new()).await?;
        if processed.processed > 0 {
            tracing::warn!(phone = %phone.masked(), messages = processed.processed, "replayed messages the stream missed");
            report.replayed_conversations += 1;
        }
    }
    Ok(())
}

/// Fetches the users' files whose next attempt is due (docs/media.md).
async fn fetch_due_media(
    ctx: &impl Ports,
    now: Millis,
    deadline: Instant,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    for (phone, id) in ctx.store().due_media_fetches(now, PAGE).await? {
        if Instant::now() >= deadline {
            report.incomplete = true;
            break;
        }
        report.media_fetches += 1;
        if let Fetched::Stored(_) = fetch_media(ctx, &phone, &id, now).await? {
            report.media_stored += 1;
        }
    }
    Ok(())
}

/// The run's figures as one CloudWatch Embedded Metric Format line (namespace `EduBot`,
/// dimension `FunctionName`, so two stacks in one account keep apart): metrics and alarms
/// with no extra API call.
pub fn metrics_line(report: &CheckReport, function_name: &str, now: Millis) -> String {
    let metrics = [
        ("ActiveChats", report.active_chats as i64, "Count"),
        ("WaitingChats", report.waiting_chats as i64, "Count"),
        ("OldestWaitSeconds", report.oldest_wait_seconds, "Seconds"),
        ("Retries", report.retries as i64, "Count"),
        (
            "PermanentFailures",
            report.permanent_failures as i64,
            "Count",
        ),
    ];
    let mut line = serde_json::json!({
        "FunctionName": function_name,
        "_aws": {
            "Timestamp": now,
            "CloudWatchMetrics": [{
                "Namespace": "EduBot",
                "Dimensions": [["FunctionName"]],
                "Metrics": metrics.iter().map(|(name, _, unit)| serde_json::json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        },
    });
    for (name, value, _) in metrics {
        line[name] = value.into();
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_embedded_metric_format() {
        let report = CheckReport {
            active_chats: 3,
            waiting_chats: 1,
            oldest_wait_seconds: 420,
            ..Default::default()
        };
        let line: serde_json::Value =
            serde_json::from_str(&metrics_line(&report, "prod-scheduled-checks", 1_000)).unwrap();
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["FunctionName"]])
        );
        assert_eq!(line["FunctionName"], "prod-scheduled-checks");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "EduBot");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Name"],
            "WaitingChats"
        );
        assert_eq!(
            (
                line["ActiveChats"].as_i64(),
                line["WaitingChats"].as_i64(),
                line["OldestWaitSeconds"].as_i64()
            ),
            (Some(3), Some(1), Some(420))
        );
    }
}
