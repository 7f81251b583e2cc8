//! The webhook's work: record each inbound message once and apply each status. Never
//! calls the Graph API, so Meta gets its 200 in milliseconds.

use crate::model::new_message_id;
use crate::store::{StatusOutcome, Store, StoreError};
use crate::time::Millis;
use crate::whatsapp::payload::WebhookBatch;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub stored: usize,
    pub duplicates: usize,
    pub statuses_applied: usize,
    pub statuses_stale: usize,
    pub statuses_unknown: usize,
    pub skipped: usize,
    pub foreign_changes: usize,
}

/// Stores the batch in payload order. An error leaves what was stored stored: Meta retries
/// the whole POST and duplicates are recognised by wamid.
pub async fn ingest(
    store: &Store,
    batch: WebhookBatch,
    now: Millis,
) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport {
        skipped: batch.skipped,
        foreign_changes: batch.foreign_changes,
        ..Default::default()
    };
    for m in &batch.messages {
        if store.record_inbound(m, &new_message_id(), now).await? {
            report.stored += 1;
        } else {
            report.duplicates += 1;
        }
    }
    for status in &batch.statuses {
        match store.apply_status(status).await? {
            StatusOutcome::Applied => report.statuses_applied += 1,
            StatusOutcome::Stale => report.statuses_stale += 1,
            StatusOutcome::Unknown => report.statuses_unknown += 1,
        }
    }
    Ok(report)
}
