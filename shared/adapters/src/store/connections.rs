//! Real time: WebSocket tickets (`WSTICKET#<ticket>`, taken by a conditional delete) and
//! open connections (partition `WSCONN`, one item per connection, listed by one Query),
//! both forgotten by TTL.

use aws_sdk_dynamodb::types::ReturnValue;
use edubot_app::ports::{Connection, ConnectionStore, Ticket};

use super::items::*;
use super::*;

impl ConnectionStore for Store {
    async fn put_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&TicketItem::from_ticket(ticket))))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// One DeleteItem that answers the deleted item: only the first caller gets it.
    async fn take_ticket(&self, ticket: &str) -> Result<Option<Ticket>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(ticket_pk(ticket), SINGLETON_SK.into())))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        conditional(result)?
            .and_then(|out| out.attributes)
            .map(|item| from_item::<TicketItem>(item).map(TicketItem::into_ticket))
            .transpose()
    }

    async fn put_connection(
        &self,
        connection: &Connection,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&ConnectionItem::from_connection(
                connection, expires_at,
            ))))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn delete_connection(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(CONNECTIONS.into(), id.to_owned())))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(CONNECTIONS));
        query_all(query)
            .await?
            .into_iter()
            .map(|item| Ok(from_item::<ConnectionItem>(item)?.into_connection()))
            .collect()
    }
}
