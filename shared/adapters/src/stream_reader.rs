//! The table's stream read directly, outside Lambda's event source mappings (feature
//! `stream-reader`; no function links it): the local stack's poller plays the mappings with
//! it, and `edubot-admin recount` reads again a batch push's mapping gave up on.
//!
//! Lambda's on-failure message holds where the batch lies in the stream, not its records
//! (`DDBStreamBatchInfo`: stream, shard, first and last sequence numbers). The stream keeps
//! records 24 hours: within that, the batch can be read again and its figures counted —
//! once, as push counts them, so a batch counted in part before is completed, not doubled.

use aws_lambda_events::dynamodb::{EventRecord, StreamRecord, StreamViewType};
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use serde::Deserialize;

use crate::store::Store;
use crate::stream::desk_change;
use edubot_app::ports::ReportStore;

/// A streams client. `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local, which serves
/// the stream on the table's own endpoint.
pub async fn streams_client() -> Client {
    let mut config =
        aws_sdk_dynamodbstreams::config::Builder::from(&crate::aws::sdk_config().await);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

/// A stream record in the shape Lambda delivers it (`aws_lambda_events`).
pub fn to_event_record(r: &Record, stream_arn: &str) -> EventRecord {
    let mut record = EventRecord::default();
    record.event_id = r.event_id().unwrap_or_default().to_owned();
    record.event_name = r
        .event_name()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    record.event_source = Some("aws:dynamodb".into());
    record.event_version = r.event_version().map(str::to_owned);
    record.aws_region = r.aws_region().unwrap_or("us-east-1").to_owned();
    record.event_source_arn = Some(stream_arn.to_owned());
    if let Some(d) = r.dynamodb() {
        let mut change = StreamRecord::default();
        change.keys = d.keys().cloned().unwrap_or_default().into();
        change.new_image = d.new_image().cloned().unwrap_or_default().into();
        change.old_image = d.old_image().cloned().unwrap_or_default().into();
        change.sequence_number = d.sequence_number().map(str::to_owned);
        change.size_bytes = d.size_bytes().unwrap_or_default();
        change.stream_view_type = Some(StreamViewType::NewAndOldImages);
        if let Some(t) = d.approximate_creation_date_time() {
            change.approximate_creation_date_time =
                chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default();
        }
        record.change = change;
    }
    record
}

/// Where a batch a mapping gave up on lies: the `DDBStreamBatchInfo` of the message Lambda
/// sends to the mapping's on-failure queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedBatch {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
}

#[derive(Deserialize)]
struct FailureMessage {
    #[serde(rename = "DDBStreamBatchInfo")]
    batch: FailedBatch,
}

impl FailedBatch {
    /// The batch an on-failure message (the SQS message's body) names.
    pub fn from_failure_message(body: &str) -> Result<FailedBatch, String> {
        serde_json::from_str::<FailureMessage>(body)
            .map(|m| m.batch)
            .map_err(not_a_failure_message)
    }

    /// The same, from a body already read as JSON.
    pub fn from_failure_value(body: &serde_json::Value) -> Result<FailedBatch, String> {
        FailureMessage::deserialize(body)
            .map(|m| m.batch)
            .map_err(not_a_failure_message)
    }

    /// Whether a record read from the batch's start is still in it.
    fn holds(&self, sequence_number: &str) -> bool {
        as_number(sequence_number) <= as_number(&self.end_sequence_number)
    }
}

fn not_a_failure_message(e: serde_json::Error) -> String {
    format!("not a DynamoDB stream on-failure message (DDBStreamBatchInfo with streamArn, shardId, startSequenceNumber, endSequenceNumber): {e}")
}

/// A sequence number in an order that compares as its number: its digits without leading
/// zeros, shorter first.
fn as_number(sequence_number: &str) -> (usize, &str) {
    let digits = sequence_number.trim_start_matches('0');
    (digits.len(), digits)
}

/// Empty reads in a row after which an open shard is taken to hold nothing more of the
/// batch (a read of an open shard may come back empty before its next records).
const EMPTY_READS: usize = 5;

/// The batch's records, from its first sequence number to its last (sequence numbers are
/// decimal numbers as text, DynamoDB Local's with leading zeros: compared as numbers).
pub async fn read_batch(client: &Client, batch: &FailedBatch) -> Result<Vec<EventRecord>, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} ({}): {e}", batch.shard_id);
    let mut iterator = client
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start_sequence_number)
        .send()
        .await
        .map_err(|e| {
            let gone = e.as_service_error().is_some_and(|e| {
                e.is_resource_not_found_exception() || e.is_trimmed_data_access_exception()
            });
            let what = if gone {
                "the stream no longer holds this batch or never did (records are kept 24 hours)"
            } else {
                "the stream could not be read"
            };
            fail(what, &DisplayErrorContext(e))
        })?
        .shard_iterator
        .ok_or_else(|| fail("the stream gave no iterator", &"none"))?;
    let mut records = Vec::new();
    let mut empty_reads = 0;
    loop {
        let out = client
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .map_err(|e| fail("the stream could not be read", &DisplayErrorContext(e)))?;
        let read = out.records.unwrap_or_default();
        empty_reads = if read.is_empty() { empty_reads + 1 } else { 0 };
        for record in &read {
            let seq = record
                .dynamodb()
                .and_then(|d| d.sequence_number())
                .unwrap_or_default();
            if !batch.holds(seq) {
                return Ok(records);
            }
            records.push(to_event_record(record, &batch.stream_arn));
            if seq == batch.end_sequence_number {
                return Ok(records);
            }
        }
        match out.next_shard_iterator {
            // The shard ended: the batch ended with it.
            None => return Ok(records),
            Some(_) if empty_reads >= EMPTY_READS => return Ok(records),
            Some(next) => iterator = next,
        }
    }
}

/// What a recount did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recounted {
    /// Records read from the stream (of every kind, as the mapping's filter sees them).
    pub records: usize,
    /// Figure events those records carry (push's filter and decoding).
    pub figure_events: usize,
    /// Events counted now; the rest were counted before.
    pub counted: usize,
}

/// Reads the batch again and counts its figures as push would have: an event already
/// counted (by push before it gave up, or by an earlier recount) counts nothing.
pub async fn recount(
    client: &Client,
    store: &Store,
    batch: &FailedBatch,
) -> Result<Recounted, String> {
    let records = read_batch(client, batch).await?;
    let events: Vec<_> = records
        .iter()
        .filter_map(desk_change)
        .flat_map(|change| change.figure_events())
        .collect();
    let counted = if events.is_empty() {
        0
    } else {
        store
            .count_figures(&events)
            .await
            .map_err(|e| e.to_string())?
    };
    Ok(Recounted {
        records: records.len(),
        figure_events: events.len(),
        counted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Lambda writes it (docs.aws.amazon.com, "Retaining discarded records for a DynamoDB
    /// event source").
    const MESSAGE: &str = r#"{
        "requestContext": {"requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:edubot-push",
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": "2026-11-28T10:01:02.021Z",
        "DDBStreamBatchInfo": {"shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": "800000000003126276362", "endSequenceNumber": "800000000003126276399",
            "approximateArrivalOfFirstRecord": "2026-11-28T10:01:01Z",
            "approximateArrivalOfLastRecord": "2026-11-28T10:01:01Z", "batchSize": 3,
            "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/edubot/stream/2026-11-01T00:00:00.000"}
    }"#;

    #[test]
    fn an_on_failure_message_names_its_batch() {
        let batch = FailedBatch::from_failure_message(MESSAGE).unwrap();
        assert_eq!(batch.shard_id, "shardId-00000001573689847184-864758bb");
        assert_eq!(batch.start_sequence_number, "800000000003126276362");
        assert_eq!(batch.end_sequence_number, "800000000003126276399");
        assert!(batch
            .stream_arn
            .ends_with("/stream/2026-11-01T00:00:00.000"));
    }

    #[test]
    fn anything_else_is_refused_with_what_was_expected() {
        for body in [
            "{",
            "{}",
            r#"{"DDBStreamBatchInfo": {"shardId": "s"}}"#,
            "[1]",
        ] {
            let problem = FailedBatch::from_failure_message(body).unwrap_err();
            assert!(problem.contains("DDBStreamBatchInfo"), "{body}: {problem}");
        }
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        let batch = FailedBatch::from_failure_message(MESSAGE).unwrap();
        assert!(batch.holds("800000000003126276399"));
        assert!(batch.holds("99999999999999999999"), "shorter is smaller");
        assert!(!batch.holds("800000000003126276400"));
        assert!(!batch.holds("1000000000000000000000"), "longer is larger");
        assert!(
            batch.holds("0000800000000003126276399"),
            "leading zeros count for nothing"
        );
        assert!(!batch.holds("0000800000000003126276400"));
    }
}
