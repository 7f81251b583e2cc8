//! DynamoDB calls seen by an SDK interceptor: which operation, when, how many items a
//! Query read, and the input (so the same calls can be replayed on a bare client).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// How the admin gate's GetItem of the admin item is named in the counts.
pub const ADMIN_GATE_READ: &str = "GetItem(admin gate)";

/// A captured input, replayable on another client.
#[derive(Debug, Clone)]
pub enum Replay {
    Get(GetItemInput),
    Query(QueryInput),
    Put(PutItemInput),
    Update(UpdateItemInput),
    Delete(DeleteItemInput),
    TransactWrite(TransactWriteItemsInput),
    TransactGet(TransactGetItemsInput),
    BatchGet(BatchGetItemInput),
    BatchWrite(BatchWriteItemInput),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub op: String,
    pub started: Instant,
    pub ended: Option<Instant>,
    /// Items the call read: Query `ScannedCount`, GetItem 1 when found.
    pub items_read: i64,
    pub failed: bool,
    pub replay: Option<Replay>,
}

#[derive(Debug, Clone, Default)]
pub struct Counter {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[derive(Debug, Clone, Copy)]
struct CallIndex(usize);
impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl Counter {
    /// The calls since the last take.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn update(&self, cfg: &ConfigBag, f: impl FnOnce(&mut Call)) {
        if let Some(CallIndex(i)) = cfg.load::<CallIndex>().copied() {
            if let Some(call) = self.calls.lock().unwrap().get_mut(i) {
                f(call);
            }
        }
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "EdubotBenchCounter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let replay = if let Some(i) = input.downcast_ref::<GetItemInput>() {
            Some(Replay::Get(i.clone()))
        } else if let Some(i) = input.downcast_ref::<QueryInput>() {
            Some(Replay::Query(i.clone()))
        } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
            Some(Replay::Put(i.clone()))
        } else if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            Some(Replay::Update(i.clone()))
        } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            Some(Replay::Delete(i.clone()))
        } else if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
            Some(Replay::TransactWrite(i.clone()))
        } else if let Some(i) = input.downcast_ref::<TransactGetItemsInput>() {
            Some(Replay::TransactGet(i.clone()))
        } else if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
            Some(Replay::BatchGet(i.clone()))
        } else {
            input
                .downcast_ref::<BatchWriteItemInput>()
                .map(|i| Replay::BatchWrite(i.clone()))
        };
        let op = match &replay {
            // The admin gate's read (cached a minute per container), told apart.
            Some(Replay::Get(i))
                if i.key
                    .as_ref()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("ADMIN#")) =>
            {
                ADMIN_GATE_READ
            }
            Some(Replay::Get(_)) => "GetItem",
            Some(Replay::Query(_)) => "Query",
            Some(Replay::Put(_)) => "PutItem",
            Some(Replay::Update(_)) => "UpdateItem",
            Some(Replay::Delete(_)) => "DeleteItem",
            Some(Replay::TransactWrite(_)) => "TransactWriteItems",
            Some(Replay::TransactGet(_)) => "TransactGetItems",
            Some(Replay::BatchGet(_)) => "BatchGetItem",
            Some(Replay::BatchWrite(_)) => "BatchWriteItem",
            // Anything else (a Scan would land here) by its operation name.
            None => cfg.load::<Metadata>().map(|m| m.name()).unwrap_or("other"),
        }
        .to_owned();
        let index = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Call {
                op,
                started: Instant::now(),
                ended: None,
                items_read: 0,
                failed: false,
                replay,
            });
            calls.len() - 1
        };
        cfg.interceptor_state().store_put(CallIndex(index));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let read = match context.output_or_error() {
            Ok(out) => {
                if let Some(q) = out.downcast_ref::<QueryOutput>() {
                    i64::from(q.scanned_count)
                } else if let Some(g) = out.downcast_ref::<GetItemOutput>() {
                    i64::from(g.item.is_some())
                } else {
                    0
                }
            }
            Err(_) => 0,
        };
        self.update(cfg, |c| c.items_read += read);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let failed = !matches!(context.output_or_error(), Some(Ok(_)));
        let now = Instant::now();
        self.update(cfg, |c| {
            c.ended = Some(now);
            c.failed = failed;
        });
        Ok(())
    }
}

fn config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(edubot_adapters::aws::http_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "bench"))
}

/// A client whose every call the counter sees.
pub fn counted_client(endpoint: &str, counter: &Counter) -> Client {
    Client::from_conf(config(endpoint).interceptor(counter.clone()).build())
}

/// A client for the bare side: the same configuration and the same interceptor (counting
/// into a counter nobody reads), so the interceptor's cost is on both sides of a ratio.
pub fn bare_client(endpoint: &str) -> Client {
    counted_client(endpoint, &Counter::default())
}

/// The calls in groups that ran concurrently (overlapping in time), in order.
fn concurrent_groups(calls: &[Call]) -> Vec<Vec<Replay>> {
    let mut sorted: Vec<&Call> = calls.iter().collect();
    sorted.sort_by_key(|c| c.started);
    let mut groups: Vec<(Instant, Vec<Replay>)> = Vec::new();
    for c in sorted {
        let Some(replay) = c.replay.clone() else {
            continue;
        };
        let end = c.ended.unwrap_or(c.started);
        match groups.last_mut() {
            Some((group_end, members)) if c.started < *group_end => {
                members.push(replay);
                *group_end = (*group_end).max(end);
            }
            _ => groups.push((end, vec![replay])),
        }
    }
    groups.into_iter().map(|(_, m)| m).collect()
}

/// Replays the calls on `client` the way they ran (concurrent ones together); answers the
/// wall time. Writes are replayed without their conditions: the handler's write already
/// happened, and a write whose condition fails costs DynamoDB (Local) less than one that
/// lands, so a conditional replay would flatter the bare side. Unconditioned, each write
/// lands again with the same content — the same work the handler's did.
pub async fn replay(client: &Client, calls: &[Call]) -> Duration {
    let groups = concurrent_groups(calls);
    let started = Instant::now();
    for group in groups {
        let futures = group
            .into_iter()
            .map(|r| replay_one(client, unconditional(r)));
        futures::future::join_all(futures).await;
    }
    started.elapsed()
}

type Names = Option<HashMap<String, String>>;
type Values = Option<HashMap<String, AttributeValue>>;

/// Only the `#names` and `:values` the remaining expressions use (DynamoDB refuses unused ones).
fn used_only(expressions: &[Option<&str>], names: Names, values: Values) -> (Names, Values) {
    let text: String = expressions
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let used = |token: &str| {
        text.match_indices(token).any(|(at, _)| {
            text[at + token.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
    };
    let names = names
        .map(|m| {
            m.into_iter()
                .filter(|(k, _)| used(k))
                .collect::<HashMap<_, _>>()
        })
        .filter(|m| !m.is_empty());
    let values = values
        .map(|m| {
            m.into_iter()
                .filter(|(k, _)| used(k))
                .collect::<HashMap<_, _>>()
        })
        .filter(|m| !m.is_empty());
    (names, values)
}

/// The same write without its condition (reads are unchanged; a transaction's condition
/// checks are dropped).
fn unconditional(r: Replay) -> Replay {
    match r {
        // A put or delete has no expression but its condition: nothing else names anything.
        Replay::Put(mut i) => {
            i.condition_expression = None;
            i.expression_attribute_names = None;
            i.expression_attribute_values = None;
            Replay::Put(i)
        }
        Replay::Update(mut i) => {
            i.condition_expression = None;
            (i.expression_attribute_names, i.expression_attribute_values) = used_only(
                &[i.update_expression.as_deref()],
                i.expression_attribute_names.take(),
                i.expression_attribute_values.take(),
            );
            Replay::Update(i)
        }
        Replay::Delete(mut i) => {
            i.condition_expression = None;
            i.expression_attribute_names = None;
            i.expression_attribute_values = None;
            Replay::Delete(i)
        }
        Replay::TransactWrite(mut i) => {
            i.transact_items = i.transact_items.map(|items| {
                items
                    .into_iter()
                    .filter(|t| t.condition_check.is_none())
                    .map(unconditional_item)
                    .collect()
            });
            Replay::TransactWrite(i)
        }
        other => other,
    }
}

fn unconditional_item(mut t: TransactWriteItem) -> TransactWriteItem {
    if let Some(p) = t.put.take() {
        t.put = Some(
            Put::builder()
                .table_name(p.table_name)
                .set_item(Some(p.item))
                .build()
                .expect("put"),
        );
    }
    if let Some(u) = t.update.take() {
        let (names, values) = used_only(
            &[Some(u.update_expression.as_str())],
            u.expression_attribute_names,
            u.expression_attribute_values,
        );
        t.update = Some(
            Update::builder()
                .table_name(u.table_name)
                .set_key(Some(u.key))
                .update_expression(u.update_expression)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .expect("update"),
        );
    }
    if let Some(d) = t.delete.take() {
        t.delete = Some(
            Delete::builder()
                .table_name(d.table_name)
                .set_key(Some(d.key))
                .build()
                .expect("delete"),
        );
    }
    t
}

async fn replay_one(client: &Client, r: Replay) {
    match r {
        Replay::Get(i) => {
            let _ = client
                .get_item()
                .set_table_name(i.table_name)
                .set_key(i.key)
                .set_consistent_read(i.consistent_read)
                .set_projection_expression(i.projection_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .send()
                .await;
        }
        Replay::Query(i) => {
            let _ = client
                .query()
                .set_table_name(i.table_name)
                .set_index_name(i.index_name)
                .set_select(i.select)
                .set_limit(i.limit)
                .set_consistent_read(i.consistent_read)
                .set_scan_index_forward(i.scan_index_forward)
                .set_exclusive_start_key(i.exclusive_start_key)
                .set_projection_expression(i.projection_expression)
                .set_filter_expression(i.filter_expression)
                .set_key_condition_expression(i.key_condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .send()
                .await;
        }
        Replay::Put(i) => {
            let _ = client
                .put_item()
                .set_table_name(i.table_name)
                .set_item(i.item)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .set_return_values(i.return_values)
                .send()
                .await;
        }
        Replay::Update(i) => {
            let _ = client
                .update_item()
                .set_table_name(i.table_name)
                .set_key(i.key)
                .set_update_expression(i.update_expression)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .set_return_values(i.return_values)
                .send()
                .await;
        }
        Replay::Delete(i) => {
            let _ = client
                .delete_item()
                .set_table_name(i.table_name)
                .set_key(i.key)
                .set_condition_expression(i.condition_expression)
                .set_expression_attribute_names(i.expression_attribute_names)
                .set_expression_attribute_values(i.expression_attribute_values)
                .send()
                .await;
        }
        Replay::TransactWrite(i) => {
            let _ = client
                .transact_write_items()
                .set_transact_items(i.transact_items)
                .send()
                .await;
        }
        Replay::TransactGet(i) => {
            let _ = client
                .transact_get_items()
                .set_transact_items(i.transact_items)
                .send()
                .await;
        }
        Replay::BatchGet(i) => {
            let _ = client
                .batch_get_item()
                .set_request_items(i.request_items)
                .send()
                .await;
        }
        Replay::BatchWrite(i) => {
            let _ = client
                .batch_write_item()
                .set_request_items(i.request_items)
                .send()
                .await;
        }
    }
}
