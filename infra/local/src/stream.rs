//! The table's stream delivered to its two readers as Lambda's event source mappings would
//! (each with its own position): shard by shard, parents before children, filtered as the
//! mapping filters, retried from the first failed record. Each mapping's BatchSize and
//! ParallelizationFactor are read from `infra/cloudformation/wiring.yaml`, the template
//! AWS deploys, so the local figures are the deployed mapping's: up to ParallelizationFactor
//! batches of a shard at once, the records of one partition key (one conversation) always
//! in the same lane, so in order, as Lambda keeps them.
//! The position (last sequence number per shard) is kept in the data folder, so a restart
//! neither replays nor skips; refused iterators and ended shards are re-listed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::{Record, Shard, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use edubot_adapters::stream_reader::to_event_record;
use edubot_adapters::AppContext;
use serde::{Deserialize, Serialize};

/// The template whose event source mappings the poller plays (read, never copied).
pub const WIRING: &str = include_str!("../../cloudformation/wiring.yaml");

/// What a deployed mapping is set to (its properties in wiring.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingSettings {
    /// Records per invocation at most.
    pub batch_size: usize,
    /// Batches of one shard in flight at once (Lambda: 1 to 10).
    pub parallelization_factor: usize,
}

/// Records read per GetRecords call: as many as one call gives (DynamoDB Streams' most,
/// as Lambda's poller reads). The filter keeps a fraction of them (an inbound message
/// brings its conversation's change, its replies and their statuses, and more), so a read
/// of BatchSize × ParallelizationFactor records filled far fewer batches than the lanes
/// could run, and each read waits for its slowest lane.
const READ_LIMIT: i32 = 1000;

/// The table's stream readers (event source mappings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// New inbound messages, to the inbound processor.
    InboundProcessor,
    /// Desk changes (new and changed messages and conversations), to push.
    Push,
}

impl Mapping {
    /// Its position's file in the data folder.
    fn checkpoint_name(self) -> &'static str {
        match self {
            Mapping::InboundProcessor => "stream-position.json",
            Mapping::Push => "stream-position-push.json",
        }
    }

    /// Its resource in wiring.yaml.
    pub fn resource(self) -> &'static str {
        match self {
            Mapping::InboundProcessor => "InboundStream",
            Mapping::Push => "PushStream",
        }
    }

    /// Its BatchSize and ParallelizationFactor, as wiring.yaml sets them.
    pub fn settings(self) -> Result<MappingSettings, String> {
        let template: serde_yaml::Value =
            serde_yaml::from_str(WIRING).map_err(|e| format!("wiring.yaml: {e}"))?;
        let props = &template["Resources"][self.resource()]["Properties"];
        let number = |key: &str| {
            props[key]
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| format!("wiring.yaml: {} has no {key}", self.resource()))
        };
        Ok(MappingSettings {
            batch_size: number("BatchSize")?,
            parallelization_factor: number("ParallelizationFactor")?,
        })
    }

    /// The mapping's filter.
    fn accepts(self, record: &EventRecord) -> bool {
        match self {
            Mapping::InboundProcessor => {
                inbound_processor::inserted_inbound_message(record).is_some()
            }
            Mapping::Push => edubot_adapters::stream::desk_change(record).is_some(),
        }
    }

    /// Hands a batch to the function; false if any record must be retried.
    async fn handle(self, ctx: &AppContext, event: Event) -> bool {
        let response = match self {
            Mapping::InboundProcessor => inbound_processor::handle(ctx, event).await,
            Mapping::Push => push::handle(ctx, event).await,
        };
        response.batch_item_failures.is_empty()
    }
}
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How long the shard list is trusted. DescribeStream costs DynamoDB Local more as the
/// stream grows (it rebuilds the description on each call), and shards change rarely: the
/// list is also refreshed at once when a shard ends or a read fails.
const SHARD_LIST_TTL: Duration = Duration::from_secs(5);
const RETRY_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    stream_arn: String,
    /// Last delivered sequence number per shard.
    positions: HashMap<String, String>,
    /// Shards read to their end.
    finished: HashSet<String>,
}

pub struct StreamPoller {
    client: Client,
    stream_arn: String,
    checkpoint: Checkpoint,
    checkpoint_file: Option<PathBuf>,
    iterators: HashMap<String, String>,
    shards: Option<(std::time::Instant, Vec<Shard>)>,
    ctx: Arc<AppContext>,
    mapping: Mapping,
    settings: MappingSettings,
}

impl StreamPoller {
    /// The reader `mapping` of `table`'s stream, its position kept in `data_dir` (none: it
    /// starts at the stream's oldest record every time).
    pub async fn new(
        mapping: Mapping,
        client: Client,
        ddb: &aws_sdk_dynamodb::Client,
        table: &str,
        data_dir: Option<&Path>,
        ctx: Arc<AppContext>,
    ) -> Result<Self, String> {
        let checkpoint_file = data_dir.map(|d| d.join(mapping.checkpoint_name()));
        let described = ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| format!("DescribeTable: {e}"))?;
        let stream_arn = described
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or("the table has no stream")?;
        let saved: Option<Checkpoint> = checkpoint_file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        // A checkpoint of another stream (the table was recreated) is worthless.
        let checkpoint = match saved {
            Some(c) if c.stream_arn == stream_arn => c,
            _ => Checkpoint {
                stream_arn: stream_arn.clone(),
                ..Default::default()
            },
        };
        Ok(StreamPoller {
            settings: mapping.settings()?,
            client,
            stream_arn,
            checkpoint,
            checkpoint_file,
            iterators: HashMap::new(),
            shards: None,
            ctx,
            mapping,
        })
    }

    /// Plays the mapping with another ParallelizationFactor (the bench's before and after;
    /// everything else keeps wiring.yaml's).
    pub fn with_parallelization_factor(mut self, factor: usize) -> Self {
        self.settings.parallelization_factor = factor.clamp(1, 10);
        self
    }

    /// Polls until the task is cancelled.
    pub async fn run(mut self) {
        loop {
            let delivered = match self.poll_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "stream poll failed; retrying");
                    self.iterators.clear();
                    self.shards = None;
                    0
                }
            };
            if delivered == 0 {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    async fn shards(&self) -> Result<Vec<Shard>, String> {
        let mut shards = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "DescribeStream: {}",
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                    )
                })?;
            let description = out.stream_description.ok_or("no stream description")?;
            shards.extend(description.shards.unwrap_or_default());
            match description.last_evaluated_shard_id {
                Some(id) => start = Some(id),
                None => return Ok(shards),
            }
        }
    }

    /// One pass over the open shards; answers how many records were read.
    pub async fn poll_once(&mut self) -> Result<usize, String> {
        let shards = match &self.shards {
            Some((listed, shards)) if listed.elapsed() < SHARD_LIST_TTL => shards.clone(),
            _ => {
                let shards = self.shards().await?;
                self.shards = Some((std::time::Instant::now(), shards.clone()));
                shards
            }
        };
        let ids: HashSet<&str> = shards.iter().filter_map(|s| s.shard_id()).collect();
        let mut read = 0;
        for shard in &shards {
            let Some(id) = shard.shard_id() else { continue };
            if self.checkpoint.finished.contains(id) {
                continue;
            }
            // Parents first: a child waits until its parent is read to the end.
            if let Some(parent) = shard.parent_shard_id() {
                if ids.contains(parent) && !self.checkpoint.finished.contains(parent) {
                    continue;
                }
            }
            read += self.read_shard(id).await?;
        }
        Ok(read)
    }

    async fn iterator(&mut self, shard: &str) -> Result<String, String> {
        if let Some(it) = self.iterators.get(shard) {
            return Ok(it.clone());
        }
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard);
        let request = match self.checkpoint.positions.get(shard) {
            Some(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let out = request.send().await.map_err(|e| {
            format!(
                "GetShardIterator: {}",
                aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
            )
        })?;
        let it = out.shard_iterator.ok_or("no shard iterator")?;
        self.iterators.insert(shard.to_owned(), it.clone());
        Ok(it)
    }

    async fn read_shard(&mut self, shard: &str) -> Result<usize, String> {
        let iterator = self.iterator(shard).await?;
        let out = match self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(READ_LIMIT)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                // Expired or trimmed iterator: forget it and start again from the checkpoint.
                tracing::debug!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e), "iterator refused; re-listing");
                self.iterators.remove(shard);
                self.shards = None;
                return Ok(0);
            }
        };
        let records = out.records.unwrap_or_default();
        let count = records.len();
        if !records.is_empty() {
            if !self.deliver(&records).await {
                // Like Lambda: the batch is retried from its start; nothing is skipped.
                self.iterators.remove(shard);
                tokio::time::sleep(RETRY_DELAY).await;
                return Ok(0);
            }
            if let Some(last) = records
                .last()
                .and_then(|r| r.dynamodb())
                .and_then(|d| d.sequence_number())
            {
                self.checkpoint
                    .positions
                    .insert(shard.to_owned(), last.to_owned());
            }
        }
        match out.next_shard_iterator {
            Some(next) => {
                self.iterators.insert(shard.to_owned(), next);
            }
            None => {
                // Its children (if any) are in a fresh list.
                self.iterators.remove(shard);
                self.checkpoint.finished.insert(shard.to_owned());
                self.shards = None;
            }
        }
        if count > 0 || !self.iterators.contains_key(shard) {
            self.save();
        }
        Ok(count)
    }

    /// Hands the records to the mapping's function, filtered then batched as the event
    /// source mapping does: the lanes side by side (each its own task, as each batch is its
    /// own Lambda instance), each lane's batches one after another; false if any must be
    /// retried (then the whole read is delivered again, which the functions take as Lambda's
    /// own redeliveries: at least once).
    async fn deliver(&self, records: &[Record]) -> bool {
        let accepted: Vec<EventRecord> = records
            .iter()
            .map(|r| to_event_record(r, &self.stream_arn))
            .filter(|r| self.mapping.accepts(r))
            .collect();
        // In a JoinSet: a poller stopped (its task aborted) stops its lanes with it.
        let mut running = tokio::task::JoinSet::new();
        for batches in lanes(accepted, self.settings) {
            let (ctx, mapping) = (self.ctx.clone(), self.mapping);
            running.spawn(async move {
                for records in batches {
                    let mut event = Event::default();
                    event.records = records;
                    if !mapping.handle(&ctx, event).await {
                        return false;
                    }
                }
                true
            });
        }
        let mut delivered = true;
        while let Some(lane) = running.join_next().await {
            delivered &= lane.unwrap_or(false);
        }
        delivered
    }

    fn save(&self) {
        if let Some(file) = &self.checkpoint_file {
            let tmp = file.with_extension("tmp");
            let json = serde_json::to_vec(&self.checkpoint).expect("checkpoint serialises");
            if let Err(e) = std::fs::write(&tmp, json).and_then(|_| std::fs::rename(&tmp, file)) {
                tracing::warn!(error = %e, "could not save the stream position");
            }
        }
    }
}

/// The records split as Lambda splits a shard's records with a ParallelizationFactor: by a
/// hash of the partition key into that many lanes (one key, one lane, so its records stay
/// in order), each lane cut into batches of at most BatchSize. Empty lanes are left out.
pub fn lanes(records: Vec<EventRecord>, s: MappingSettings) -> Vec<Vec<Vec<EventRecord>>> {
    use std::hash::{Hash, Hasher};
    let mut lanes: Vec<Vec<EventRecord>> = vec![Vec::new(); s.parallelization_factor.max(1)];
    for r in records {
        let keys: HashMap<String, serde_dynamo::AttributeValue> = r.change.keys.clone().into();
        let mut h = std::hash::DefaultHasher::new();
        format!("{:?}", keys.get("pk")).hash(&mut h);
        let n = lanes.len();
        lanes[(h.finish() % n as u64) as usize].push(r);
    }
    lanes
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.chunks(s.batch_size.max(1))
                .map(<[EventRecord]>::to_vec)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pk: &str, n: usize) -> EventRecord {
        let mut r = EventRecord::default();
        let keys: HashMap<String, serde_dynamo::AttributeValue> = HashMap::from([(
            "pk".to_owned(),
            serde_dynamo::AttributeValue::S(pk.to_owned()),
        )]);
        r.change.keys = keys.into();
        r.change.sequence_number = Some(format!("{n:06}"));
        r
    }

    #[test]
    fn the_mappings_are_read_from_the_template() {
        let inbound = Mapping::InboundProcessor.settings().unwrap();
        assert!((1..=10).contains(&inbound.parallelization_factor));
        assert!((1..=10_000).contains(&inbound.batch_size));
        assert!(Mapping::Push.settings().unwrap().batch_size > 0);
    }

    #[test]
    fn one_key_keeps_one_lane_and_its_order() {
        let settings = MappingSettings {
            batch_size: 3,
            parallelization_factor: 4,
        };
        let records: Vec<EventRecord> = (0..60)
            .map(|n| record(&format!("CONV#{}", n % 12), n))
            .collect();
        let lanes = lanes(records, settings);
        assert!(lanes.len() > 1 && lanes.len() <= 4, "spread over lanes");
        let mut seen: HashMap<String, (usize, Vec<String>)> = HashMap::new();
        for (lane, batches) in lanes.iter().enumerate() {
            assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 3));
            for r in batches.iter().flatten() {
                let keys: HashMap<String, serde_dynamo::AttributeValue> =
                    r.change.keys.clone().into();
                let key = format!("{:?}", keys["pk"]);
                let entry = seen.entry(key).or_insert((lane, Vec::new()));
                assert_eq!(entry.0, lane, "a key's records all in one lane");
                entry.1.push(r.change.sequence_number.clone().unwrap());
            }
        }
        assert_eq!(seen.len(), 12);
        for (_, order) in seen.values() {
            assert!(order.windows(2).all(|w| w[0] < w[1]), "in stream order");
        }
    }
}
