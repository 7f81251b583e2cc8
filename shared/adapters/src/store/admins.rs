//! Admin accounts and the counters that rate-limit sign-ins and sends.

use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, TransactWriteItem, Update,
};

use super::items::*;
use super::*;
use crate::model::Admin;

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
            .update_expression("SET disabled = :d")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
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

    /// The login's one read: the admin and the failure counters of the current window for
    /// the username and the source address (one BatchGetItem).
    async fn login_read(
        &self,
        username: &str,
        source: &str,
        window: &str,
    ) -> Result<(Option<Admin>, u32, u32), StoreError> {
        let admin_key = key(admin_pk(username), SINGLETON_SK.into());
        let user_key = key(rate_pk("login-user", username), window.to_owned());
        let source_key = key(rate_pk("login-source", source), window.to_owned());
        let keys = KeysAndAttributes::builder()
            .keys(admin_key)
            .keys(user_key.clone())
            .keys(source_key.clone())
            .consistent_read(true)
            .build()
            .expect("keys");
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut admin = None;
        let (mut user_failures, mut source_failures) = (0, 0);
        for item in out
            .responses
            .unwrap_or_default()
            .remove(&self.table)
            .unwrap_or_default()
        {
            let pk = match item.get("pk") {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => continue,
            };
            let count = || match item.get("count") {
                Some(AttributeValue::N(c)) => c.parse().unwrap_or(0),
                _ => 0,
            };
            if pk
                == user_key["pk"]
                    .as_s()
                    .map(String::as_str)
                    .unwrap_or_default()
            {
                user_failures = count();
            } else if pk
                == source_key["pk"]
                    .as_s()
                    .map(String::as_str)
                    .unwrap_or_default()
            {
                source_failures = count();
            } else {
                admin = Some(from_item::<AdminItem>(item)?.into_admin());
            }
        }
        Ok((admin, user_failures, source_failures))
    }

    /// Counts a failed login against the username and the source address (one transaction).
    async fn record_login_failure(
        &self,
        username: &str,
        source: &str,
        window: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let bump = |pk: String| {
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(pk, window.to_owned())))
                        .update_expression("ADD #count :one SET expires_at = :exp")
                        .expression_attribute_names("#count", "count")
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":exp", n(expires_at / SECOND))
                        .build()
                        .expect("update"),
                )
                .build()
        };
        self.client
            .transact_write_items()
            .transact_items(bump(rate_pk("login-user", username)))
            .transact_items(bump(rate_pk("login-source", source)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
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
}
