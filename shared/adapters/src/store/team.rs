//! The team's items: the audit log and the canned replies (docs/storage.md). Every change
//! to a canned reply is one transaction with its audit entry.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::*;
use edubot_app::ports::{AuditFilter, TeamStore};
use edubot_domain::team::{AuditAction, AuditEntry, CannedReply, AUDIT_KEPT_FOR};

/// Partition of the canned replies, by shortcut.
const CANNED: &str = "CANNED";
/// `gsi2` partition of every audit entry, newest last.
const AUDIT_ALL: &str = "AUDIT";

fn audit_admin_pk(admin: &str) -> String {
    format!("AUDIT#ADMIN#{admin}")
}
fn audit_phone_partition(phone: &Phone) -> String {
    format!("AUDIT#CONV#{phone}")
}
/// `<at, 13 digits>#<ulid>`: time order, and one order within a millisecond.
fn audit_sk(at: Millis, id: &str) -> String {
    format!("{at:013}#{id}")
}

/// `AUDIT#ADMIN#<admin>` / `<at>#<ulid>`: one admin's actions; also in `gsi2` (`AUDIT`,
/// every action) and, with a conversation, in `gsi1` (`AUDIT#CONV#<phone>`).
#[derive(Debug, Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    id: String,
    at: Millis,
    admin: String,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    gsi2pk: String,
    gsi2sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    /// Epoch seconds (DynamoDB TTL).
    expires_at: i64,
}

impl AuditItem {
    fn from_entry(e: &AuditEntry) -> Self {
        let sk = audit_sk(e.at, &e.id);
        AuditItem {
            pk: audit_admin_pk(&e.admin),
            id: e.id.clone(),
            at: e.at,
            admin: e.admin.clone(),
            action: e.action.as_str().to_owned(),
            phone: e.phone.as_ref().map(ToString::to_string),
            detail: e.detail.clone(),
            gsi2pk: AUDIT_ALL.into(),
            gsi2sk: sk.clone(),
            gsi1pk: e.phone.as_ref().map(audit_phone_partition),
            gsi1sk: e.phone.as_ref().map(|_| sk.clone()),
            expires_at: (e.at + AUDIT_KEPT_FOR) / SECOND,
            sk,
        }
    }

    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("audit entry with {what}"));
        Ok(AuditEntry {
            action: AuditAction::parse(&self.action).ok_or_else(|| corrupt("an unknown action"))?,
            phone: match self.phone {
                Some(p) => Some(Phone::parse(&p).ok_or_else(|| corrupt("a bad phone"))?),
                None => None,
            },
            id: self.id,
            at: self.at,
            admin: self.admin,
            detail: self.detail,
        })
    }
}

/// The transaction item that records `entry`.
pub(super) fn audit_put(entry: &AuditEntry, table: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(to_item(&AuditItem::from_entry(entry))))
                .build()
                .expect("put"),
        )
        .build()
}

impl Store {
    /// `change` and its audit entry as one transaction, ready to send (its result read by
    /// `unless_first_failed`).
    pub(super) fn audited(
        &self,
        change: TransactWriteItem,
        audit: &AuditEntry,
    ) -> aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder
    {
        self.client
            .transact_write_items()
            .transact_items(change)
            .transact_items(audit_put(audit, &self.table))
    }
}

/// A change and its audit entry, written in one transaction: false when the change's own
/// condition failed (nothing written).
pub(super) fn unless_first_failed<T, R>(
    result: Result<T, SdkError<TransactWriteItemsError, R>>,
) -> Result<bool, StoreError>
where
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => match cancelled_conditions(&e) {
            Some(failed) if failed.first() == Some(&true) => Ok(false),
            _ => Err(sdk_error(e)),
        },
    }
}

/// `CANNED` / `<shortcut>`.
#[derive(Debug, Serialize, Deserialize)]
struct CannedReplyItem {
    pk: String,
    sk: String,
    shortcut: String,
    text: String,
    created_by: String,
    created_at: Millis,
}

/// An audit listing's cursor: the last entry's `<at>#<ulid>#<admin>`, which rebuilds its
/// keys in whichever index the listing reads.
fn audit_cursor(e: &AuditEntry) -> String {
    format!("{}#{}", audit_sk(e.at, &e.id), e.admin)
}

fn parse_audit_cursor(cursor: &str) -> Option<(String, String)> {
    let mut parts = cursor.splitn(3, '#');
    let (at, id, admin) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = at.len() == 13
        && at.bytes().all(|b| b.is_ascii_digit())
        && valid_message_id(id)
        && crate::model::valid_username(admin);
    valid.then(|| (format!("{at}#{id}"), admin.to_owned()))
}

impl TeamStore for Store {
    async fn put_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&AuditItem::from_entry(entry))))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// One Query, newest first: on the admin's own partition, the conversation's `gsi1`
    /// partition (filtered to the admin when both are given), or `gsi2`'s `AUDIT`.
    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let (index_name, pk_attr, sk_attr, partition) = match (&filter.phone, &filter.admin) {
            (Some(phone), _) => (
                Some(index::RECENCY),
                "gsi1pk",
                "gsi1sk",
                audit_phone_partition(phone),
            ),
            (None, Some(admin)) => (None, "pk", "sk", audit_admin_pk(admin)),
            (None, None) => (Some(index::TEAM), "gsi2pk", "gsi2sk", AUDIT_ALL.to_owned()),
        };
        let start_key = match cursor {
            None => None,
            Some(c) => {
                let (sk, admin) = parse_audit_cursor(c).ok_or(StoreError::InvalidCursor)?;
                // Read by the admin's own partition, the cursor must be one of its entries.
                if pk_attr == "pk" && Some(&admin) != filter.admin.as_ref() {
                    return Err(StoreError::InvalidCursor);
                }
                let mut k = key(audit_admin_pk(&admin), sk.clone());
                if pk_attr != "pk" {
                    k.insert(pk_attr.into(), s(partition.clone()));
                    k.insert(sk_attr.into(), s(sk));
                }
                Some(k)
            }
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_name.map(str::to_owned))
            .key_condition_expression("#pk = :p")
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":p", s(partition))
            .scan_index_forward(false)
            .limit(limit + 1)
            .set_exclusive_start_key(start_key);
        if let (Some(_), Some(admin)) = (&filter.phone, &filter.admin) {
            query = query
                .filter_expression("admin = :admin")
                .expression_attribute_values(":admin", s(admin));
        }
        let out = query.send().await.map_err(sdk_error)?;
        let mut items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| from_item::<AuditItem>(i)?.into_entry())
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(audit_cursor)
        } else {
            // Filtered to an admin, a page may stop short with more to read: go on from
            // the last item read, kept or not.
            out.last_evaluated_key
                .as_ref()
                .and_then(|k| Some((k.get("sk")?.as_s().ok()?, k.get("pk")?.as_s().ok()?)))
                .and_then(|(sk, pk)| Some(format!("{sk}#{}", pk.strip_prefix("AUDIT#ADMIN#")?)))
        };
        Ok(Page { items, next_cursor })
    }

    /// One Query on `CANNED` (the desk keeps at most a couple of hundred).
    async fn canned_replies(&self) -> Result<Vec<CannedReply>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(CANNED));
        query_all(query)
            .await?
            .into_iter()
            .map(|item| {
                let item: CannedReplyItem = from_item(item)?;
                Ok(CannedReply {
                    shortcut: item.shortcut,
                    text: item.text,
                })
            })
            .collect()
    }

    async fn create_canned_reply(
        &self,
        reply: &CannedReply,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let item = CannedReplyItem {
            pk: CANNED.into(),
            sk: reply.shortcut.clone(),
            shortcut: reply.shortcut.clone(),
            text: reply.text.clone(),
            created_by: audit.admin.clone(),
            created_at: audit.at,
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("put");
        let change = TransactWriteItem::builder().put(put).build();
        let result = self.audited(change, audit).send().await;
        unless_first_failed(result)
    }

    async fn delete_canned_reply(
        &self,
        shortcut: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(CANNED.into(), shortcut.to_owned())))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("delete");
        let change = TransactWriteItem::builder().delete(delete).build();
        let result = self.audited(change, audit).send().await;
        unless_first_failed(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_cursor_reads_back_and_nothing_else_does() {
        let entry = AuditEntry::new("jane.doe", AuditAction::Assign, None, 1_700_000_000_123);
        let cursor = audit_cursor(&entry);
        let (sk, admin) = parse_audit_cursor(&cursor).expect("a cursor reads back");
        assert_eq!(sk, audit_sk(entry.at, &entry.id));
        assert_eq!(admin, "jane.doe");
        for bad in [
            "",
            "1#2#3",
            "170000000012#01ARZ3NDEKTSV4RRFFQ69G5FAV#ann",
            &format!("{cursor}#x"),
        ] {
            assert!(parse_audit_cursor(bad).is_none(), "{bad:?}");
        }
    }
}
