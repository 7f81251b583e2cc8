//! The desk's figures (DESIGN §17): one aggregate item per UTC day (`REPORT#DAY` /
//! `<date>`) and per day and admin (`REPORT#ADMIN` / `<date>#<admin>`), whose attributes
//! are counters added to with `ADD`; and one marker item per counted event
//! (`COUNTED#<event key>`), written in the same transaction on the condition that it is
//! not there yet, so an event seen again counts once. A report is two Queries over the
//! range's sort keys: one item per day and admin, never the messages.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use edubot_app::ports::{Figures, ReportStore};
use edubot_domain::reports::{Day, Field, FigureEvent, Tally, FIGURES_KEPT_FOR};

use super::*;

const DAYS: &str = "REPORT#DAY";
const ADMIN_DAYS: &str = "REPORT#ADMIN";

fn marker_pk(event_key: &str) -> String {
    format!("COUNTED#{event_key}")
}

fn admin_day_sk(day: Day, admin: &str) -> String {
    format!("{day}#{admin}")
}

/// Events per transaction: a marker each and at most two aggregates each (the day's and
/// an admin's) stay within DynamoDB's 100 items per transaction.
const EVENTS_PER_TRANSACTION: usize = 33;
/// Tries of one transaction that another writer of the same day item got in the way of.
const CONFLICT_TRIES: u32 = 6;

/// An aggregate item's key: its day, and its admin for a day-and-admin item.
type Aggregate = (Day, Option<String>);

/// Epoch seconds when the items of `day` expire (markers and aggregates alike, so a marker
/// never outlives the count it guards, nor the other way round for long).
fn expiry(day: Day) -> i64 {
    (day.starts_at() + FIGURES_KEPT_FOR) / SECOND
}

impl Store {
    /// One transaction: each event's marker (only if absent) and the sums of their
    /// increments on the aggregates they touch.
    fn figures_transaction(&self, events: &[&FigureEvent]) -> Vec<TransactWriteItem> {
        let mut items = Vec::new();
        let mut sums: BTreeMap<Aggregate, BTreeMap<Field, u64>> = BTreeMap::new();
        for event in events {
            let mut marker = key(marker_pk(&event.key), SINGLETON_SK.into());
            marker.insert("expires_at".into(), n(expiry(event.day)));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put has table and item");
            items.push(TransactWriteItem::builder().put(put).build());
            for i in &event.increments {
                *sums
                    .entry((event.day, i.admin.clone()))
                    .or_default()
                    .entry(i.field)
                    .or_default() += i.by;
            }
        }
        for ((day, admin), fields) in sums {
            let (pk, sk) = match &admin {
                Some(admin) => (ADMIN_DAYS.to_owned(), admin_day_sk(day, admin)),
                None => (DAYS.to_owned(), day.to_string()),
            };
            let adds: Vec<String> = (0..fields.len()).map(|i| format!("#f{i} :v{i}")).collect();
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .update_expression(format!("SET expires_at = :ttl ADD {}", adds.join(", ")))
                .expression_attribute_values(":ttl", n(expiry(day)));
            for (i, (field, by)) in fields.iter().enumerate() {
                update = update
                    .expression_attribute_names(format!("#f{i}"), field.name())
                    .expression_attribute_values(format!(":v{i}"), n(by));
            }
            items.push(
                TransactWriteItem::builder()
                    .update(
                        update
                            .build()
                            .expect("update has table, key and expression"),
                    )
                    .build(),
            );
        }
        items
    }

    /// Counts `events` (distinct keys, at most [`EVENTS_PER_TRANSACTION`]): those already
    /// counted are dropped and the rest tried again; a conflict with another writer of the
    /// same aggregate is tried again after a pause. Answers how many were counted.
    async fn count_chunk(&self, mut events: Vec<&FigureEvent>) -> Result<usize, StoreError> {
        let mut conflicts = 0;
        while !events.is_empty() {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(self.figures_transaction(&events)))
                .send()
                .await;
            let Err(e) = result else {
                return Ok(events.len());
            };
            let Some(reasons) = cancellation_codes(&e) else {
                return Err(sdk_error(e));
            };
            let counted_before: HashSet<usize> = reasons
                .iter()
                .take(events.len())
                .enumerate()
                .filter(|(_, code)| code.as_deref() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            if !counted_before.is_empty() {
                events = events
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !counted_before.contains(i))
                    .map(|(_, e)| e)
                    .collect();
                continue;
            }
            let conflict = reasons
                .iter()
                .any(|code| code.as_deref() == Some("TransactionConflict"));
            conflicts += 1;
            if !conflict || conflicts >= CONFLICT_TRIES {
                return Err(sdk_error(e));
            }
            let pause = 20u64 << conflicts;
            let jitter = rand::random::<u64>() % pause;
            tokio::time::sleep(Duration::from_millis(pause + jitter)).await;
        }
        Ok(0)
    }

    /// Every aggregate item of `partition` whose sort key is within `from`..=`to`.
    async fn aggregates(
        &self,
        partition: &str,
        from: String,
        to: String,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        query_all(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":to", s(to)),
        )
        .await
    }
}

/// An aggregate item's counters and sketch buckets; other attributes are ignored.
fn tally_of(item: &HashMap<String, AttributeValue>) -> Tally {
    let mut tally = Tally::default();
    for (name, value) in item {
        if let (Some(field), AttributeValue::N(number)) = (Field::parse(name), value) {
            tally.add(field, number.parse().unwrap_or_default());
        }
    }
    tally
}

fn sort_key_of(item: &HashMap<String, AttributeValue>) -> Option<&str> {
    match item.get("sk") {
        Some(AttributeValue::S(sk)) => Some(sk),
        _ => None,
    }
}

impl ReportStore for Store {
    async fn count_figures(&self, events: &[FigureEvent]) -> Result<usize, StoreError> {
        let mut seen = HashSet::new();
        let distinct: Vec<&FigureEvent> = events.iter().filter(|e| seen.insert(&e.key)).collect();
        let mut counted = 0;
        for chunk in distinct.chunks(EVENTS_PER_TRANSACTION) {
            counted += self.count_chunk(chunk.to_vec()).await?;
        }
        Ok(counted)
    }

    async fn figures(&self, from: Day, to: Day) -> Result<Figures, StoreError> {
        let (days, admin_days) = tokio::try_join!(
            self.aggregates(DAYS, from.to_string(), to.to_string()),
            // `#` sorts before every username character: `<to>#~` is past `to`'s admins.
            self.aggregates(ADMIN_DAYS, format!("{from}#"), format!("{to}#~")),
        )?;
        let days = days
            .iter()
            .filter_map(|item| Some((Day::parse(sort_key_of(item)?)?, tally_of(item))))
            .collect();
        let admin_days = admin_days
            .iter()
            .filter_map(|item| {
                let (day, admin) = sort_key_of(item)?.split_once('#')?;
                Some((Day::parse(day)?, admin.to_owned(), tally_of(item)))
            })
            .collect();
        Ok(Figures { days, admin_days })
    }
}
