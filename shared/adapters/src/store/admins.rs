//! Admin accounts and the counters that rate-limit sign-ins and sends.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::items::*;
use super::*;
use crate::model::Admin;
use edubot_app::ports::AdminAccess;

impl Store {
    /// Creates or replaces an admin account.
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

    /// Answers false when there is no such admin.
    pub async fn set_admin_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(admin_pk(username), SINGLETON_SK.into())))
            // Either way the admin's tokens so far stop working: enabling never revives them.
            .update_expression("SET disabled = :d ADD token_version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
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
}
