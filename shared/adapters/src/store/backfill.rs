//! Bringing items written before a change up to it, an engineer's command
//! (`edubot-admin backfill`), never a request path: it Scans, a page at a time, so its
//! memory stays one page whatever the table's size.
//! - the team desk (docs/team.md): accounts join the team list, conversations get their
//!   search entries and, in chat support, their holder keys;
//! - reports (docs/reports.md): the figures of what is stored are counted, each event
//!   once, by the same keys the stream counts them by.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::*;
use super::turn_writes::rating_figure_event;
use super::*;
use edubot_app::ports::ReportStore;
use edubot_domain::reports::{conversation_events, message_events, FIGURES_KEPT_FOR};

/// What a backfill did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillProgress {
    pub items_scanned: u64,
    pub admins_listed: u64,
    pub conversations_indexed: u64,
    /// Conversations written meanwhile by someone else: that write indexed them.
    pub conversations_skipped: u64,
}

/// What a figures backfill did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FiguresBackfillProgress {
    pub items_scanned: u64,
    /// Events found in the items (within the figures' keeping time).
    pub events_found: u64,
    /// Of those, the ones not counted before (by the stream or an earlier backfill).
    pub events_counted: u64,
}

/// Items a Scan page holds at most.
const BACKFILL_PAGE: i32 = 500;

type Item = std::collections::HashMap<String, AttributeValue>;

impl Store {
    /// One page of a Scan of the whole table from `start`: its items, and where the next
    /// page starts (None after the last).
    async fn scan_page(
        &self,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .limit(BACKFILL_PAGE)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }

    /// Scans the table once and brings every item written before the team desk up to
    /// it; calls `progress` after each page. Safe to run again and while the desk works:
    /// an item already up to date is left alone, and a conversation is rewritten through
    /// its usual conditional commit.
    pub async fn backfill_team(
        &self,
        mut progress: impl FnMut(&BackfillProgress),
    ) -> Result<BackfillProgress, StoreError> {
        let mut done = BackfillProgress::default();
        let mut start = None;
        loop {
            let (items, next) = self.scan_page(start).await?;
            for item in items {
                done.items_scanned += 1;
                let (Some(pk), Some(sk)) = (
                    item.get("pk").and_then(|v| v.as_s().ok()),
                    item.get("sk").and_then(|v| v.as_s().ok()),
                ) else {
                    continue;
                };
                if pk.starts_with(ADMIN_PK_PREFIX)
                    && sk == SINGLETON_SK
                    && !item.contains_key("gsi2pk")
                {
                    let username = pk.trim_start_matches(ADMIN_PK_PREFIX).to_owned();
                    if self.list_account(&username).await? {
                        done.admins_listed += 1;
                    }
                } else if pk.starts_with(CONVERSATION_PK_PREFIX)
                    && sk == META_SK
                    && needs_team_keys(&item)
                {
                    let conversation = conversation_from_item(item)?;
                    let now = crate::time::now_ms();
                    match self.commit(&conversation, None, &[], now).await {
                        Ok(_) => done.conversations_indexed += 1,
                        Err(CommitError::Conflict) => done.conversations_skipped += 1,
                        Err(CommitError::AlreadyProcessed) => {}
                        Err(CommitError::Store(e)) => return Err(e),
                    }
                }
            }
            progress(&done);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(done),
            }
        }
    }

    /// Scans the table once and counts the figures its items tell of: users' messages in,
    /// messages Meta accepted, ratings (their holder unknown), and the chat-support session
    /// a conversation is in. Sessions that ended before reports are not in the items and
    /// are not counted. Calls `progress` after each page; safe to run again, and while the
    /// stream counts: an event counts once whoever sees it first.
    pub async fn backfill_figures(
        &self,
        now: Millis,
        mut progress: impl FnMut(&FiguresBackfillProgress),
    ) -> Result<FiguresBackfillProgress, StoreError> {
        let mut done = FiguresBackfillProgress::default();
        let mut start = None;
        loop {
            let (items, next) = self.scan_page(start).await?;
            let mut events = Vec::new();
            for item in items {
                done.items_scanned += 1;
                let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned();
                match sk.as_deref() {
                    Some(sk) if sk.starts_with(MESSAGE_SK_PREFIX) => {
                        if let Ok(m) = message_from_item(item) {
                            events.extend(message_events(None, &m));
                        }
                    }
                    Some(META_SK) => {
                        if let Ok(c) = conversation_from_item(item) {
                            events.extend(conversation_events(None, &c));
                        }
                    }
                    _ => events.extend(rating_figure_event(item)),
                }
            }
            // Older events would expire at once with the figures they count into.
            events.retain(|e| e.day.starts_at() + FIGURES_KEPT_FOR > now);
            done.events_found += events.len() as u64;
            done.events_counted += self.count_figures(&events).await? as u64;
            progress(&done);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(done),
            }
        }
    }

    /// Puts an account on the team list; false when it is gone or already there.
    async fn list_account(&self, username: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(admin_pk(username), SINGLETON_SK.into())))
            .update_expression("SET gsi2pk = :admins, gsi2sk = :username")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(gsi2pk)")
            .expression_attribute_values(":admins", s(ADMINS))
            .expression_attribute_values(":username", s(username))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }
}

/// A conversation item without search entries, or in chat support without holder keys.
fn needs_team_keys(item: &std::collections::HashMap<String, AttributeValue>) -> bool {
    !item.contains_key("search_words")
        || (item.contains_key("gsi_support_pk") && !item.contains_key("gsi2pk"))
}
