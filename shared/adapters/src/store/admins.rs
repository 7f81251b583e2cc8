//! Admin accounts and the counters that rate-limit sign-ins and sends.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, TransactWriteItem, Update,
};
use serde::Deserialize;

use super::items::*;
use super::team::{audit_put, unless_first_failed};
use super::*;
use crate::model::Admin;
use edubot_app::ports::{AccountChange, AdminAccess, AdminSummary};
use edubot_domain::team::AuditEntry;

impl Store {
    /// Creates or replaces an admin account (the `edubot-admin` command, the local stack).
    pub async fn put_admin(&self, admin: &Admin) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&AdminItem::from_admin(admin))))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

/// The attributes of an account the team list shows (never the hash).
#[derive(Debug, Deserialize)]
struct AdminSummaryItem {
    username: String,
    role: String,
    disabled: bool,
    created_at: Millis,
}

impl AdminSummaryItem {
    fn into_summary(self) -> AdminSummary {
        AdminSummary {
            role: role_of(&self.role),
            username: self.username,
            disabled: self.disabled,
            created_at: self.created_at,
        }
    }
}

const SUMMARY_ATTRIBUTES: &str = "username, #role, disabled, created_at";

impl Store {
    /// Sets an account's attributes in one transaction with its audit entry (and, when
    /// disabling a supervisor, the check that `keep_enabled` still is): the updated account.
    async fn change_account(
        &self,
        username: &str,
        update: Update,
        keep_enabled: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<AccountChange, StoreError> {
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(keep) = keep_enabled {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(admin_pk(keep), SINGLETON_SK.into())))
                .condition_expression("disabled = :false")
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .build()
                .expect("condition check");
            items.push(TransactWriteItem::builder().condition_check(check).build());
        }
        items.push(audit_put(audit, &self.table));
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => {
                return match cancelled_conditions(&e) {
                    Some(failed) if failed.first() == Some(&true) => Ok(AccountChange::NoSuchAdmin),
                    Some(failed) if failed.get(1) == Some(&true) && keep_enabled.is_some() => {
                        Ok(AccountChange::SupervisorGone)
                    }
                    _ => Err(sdk_error(e)),
                }
            }
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(admin_pk(username), SINGLETON_SK.into())))
            .projection_expression(SUMMARY_ATTRIBUTES)
            .expression_attribute_names("#role", "role")
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?
            .item;
        match item {
            Some(i) => Ok(AccountChange::Done(
                from_item::<AdminSummaryItem>(i)?.into_summary(),
            )),
            None => Ok(AccountChange::NoSuchAdmin),
        }
    }

    /// An update of the account, on the condition that it exists; it also (re)writes the
    /// team list's keys, so an account made before the list existed joins it on any change.
    fn account_update(
        &self,
        username: &str,
        set: &str,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(admin_pk(username), SINGLETON_SK.into())))
            .update_expression(format!(
                "SET {set}, gsi2pk = :admins, gsi2sk = :username ADD token_version :one"
            ))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":admins", s(ADMINS))
            .expression_attribute_values(":username", s(username))
            .expression_attribute_values(":one", n(1))
    }
}

impl AdminStore for Store {
    async fn get_admin(&self, username: &str) -> Result<Option<Admin>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(admin_pk(username), SINGLETON_SK.into())))
            .send()
            .await
            .map_err(sdk_error)?
            .item;
        item.map(|i| from_item::<AdminItem>(i).map(AdminItem::into_admin))
            .transpose()
    }

    /// Reads only the attributes the token check needs: the roles of the functions that
    /// check tokens may read no others of an `ADMIN#` item (`dynamodb:Attributes`).
    async fn admin_access(&self, username: &str) -> Result<Option<AdminAccess>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(admin_pk(username), SINGLETON_SK.into())))
            .projection_expression("username, #role, disabled, token_version")
            .expression_attribute_names("#role", "role")
            .send()
            .await
            .map_err(sdk_error)?
            .item;
        item.map(|i| from_item::<AdminAccessItem>(i).map(AdminAccessItem::into_access))
            .transpose()
    }

    /// Counts one use of `scope`/`key` in `window` and answers the count so far (one update).
    async fn count_use(
        &self,
        scope: &str,
        key_: &str,
        window: &str,
        expires_at: Millis,
    ) -> Result<u32, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(rate_pk(scope, key_), window.to_owned())))
            .update_expression("ADD #count :one SET expires_at = :exp")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires_at / SECOND))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(match out.attributes.as_ref().and_then(|a| a.get("count")) {
            Some(AttributeValue::N(c)) => c.parse().unwrap_or(u32::MAX),
            _ => u32::MAX,
        })
    }

    /// One conditional write on `RATE#<scope>#<key>` / `#NEXT`: taken when the next allowed
    /// use is due, moved `every` on. Parallel callers: exactly one wins.
    async fn throttle(
        &self,
        scope: &str,
        key_: &str,
        now: Millis,
        every: Millis,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(rate_pk(scope, key_), THROTTLE_SK.into())))
            .update_expression("SET next_at = :next, expires_at = :exp")
            .condition_expression("attribute_not_exists(next_at) OR next_at <= :now")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":next", n(now + every))
            .expression_attribute_values(":exp", n((now + every) / SECOND + 1))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    async fn uncount_use(&self, scope: &str, key_: &str, window: &str) -> Result<(), StoreError> {
        // Never below zero: a counter gone (its window expired) stays gone.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(rate_pk(scope, key_), window.to_owned())))
            .update_expression("ADD #count :minus_one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        conditional(result).map(|_| ())
    }

    /// One Query on `gsi2` (`ADMINS`), projected to what the list shows: the roles of the
    /// functions that call this may read no other attribute of an `ADMIN#` item.
    async fn list_admins(&self) -> Result<Vec<AdminSummary>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::TEAM)
            .key_condition_expression("gsi2pk = :p")
            .expression_attribute_values(":p", s(ADMINS))
            .projection_expression(SUMMARY_ATTRIBUTES)
            .expression_attribute_names("#role", "role");
        query_all(query)
            .await?
            .into_iter()
            .map(|item| Ok(from_item::<AdminSummaryItem>(item)?.into_summary()))
            .collect()
    }

    async fn create_admin(&self, admin: &Admin, audit: &AuditEntry) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&AdminItem::from_admin(admin))))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("put");
        let change = TransactWriteItem::builder().put(put).build();
        let result = self.audited(change, audit).send().await;
        unless_first_failed(result)
    }

    async fn set_admin_disabled(
        &self,
        username: &str,
        disabled: bool,
        keep_enabled: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<AccountChange, StoreError> {
        // Either way the tokens so far stop working: enabling never revives them.
        let update = self
            .account_update(username, "disabled = :d")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
            .build()
            .expect("update");
        self.change_account(username, update, keep_enabled.filter(|_| disabled), audit)
            .await
    }

    async fn set_admin_password(
        &self,
        username: &str,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> Result<AccountChange, StoreError> {
        let update = self
            .account_update(username, "password_hash = :h")
            .expression_attribute_values(":h", s(password_hash))
            .build()
            .expect("update");
        self.change_account(username, update, None, audit).await
    }
}
