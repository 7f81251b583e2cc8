//! Bringing items written before the team desk up to it (docs/team.md): accounts join the
//! team list, conversations get their search entries and, in chat support, their holder
//! keys. An engineer's command (`edubot-admin backfill`), never a request path: it Scans,
//! a page at a time, so its memory stays one page whatever the table's size.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::*;
use super::*;

/// What a backfill did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillProgress {
    pub items_scanned: u64,
    pub admins_listed: u64,
    pub conversations_indexed: u64,
    /// Conversations written meanwhile by someone else: that write indexed them.
    pub conversations_skipped: u64,
}

/// Items a Scan page holds at most.
const BACKFILL_PAGE: i32 = 500;

impl Store {
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
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .limit(BACKFILL_PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in out.items.unwrap_or_default() {
                done.items_scanned += 1;
                let (Some(pk), Some(sk)) = (
                    item.get("pk").and_then(|v| v.as_s().ok()),
                    item.get("sk").and_then(|v| v.as_s().ok()),
                ) else {
                    continue;
                };
                if pk.starts_with("ADMIN#") && sk == SINGLETON_SK && !item.contains_key("gsi2pk") {
                    let username = pk.trim_start_matches("ADMIN#").to_owned();
                    if self.list_account(&username).await? {
                        done.admins_listed += 1;
                    }
                } else if pk.starts_with("CONV#") && sk == META_SK && needs_team_keys(&item) {
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
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(done),
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
