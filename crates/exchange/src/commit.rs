//! Storing a correlated batch, on a task of its own.
//!
//! The writer correlates the next batch while this one is committed. A batch
//! is retried while the store may recover (locked, full, unreachable), and
//! split when the store refuses it for good, so that each refused event
//! becomes a dead letter with the reason.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use safecare_bus::topics;
use safecare_store::{Batch, CommitOutcome, DeadLetter, QueuedCommit, Store, StoreError};
use tokio::task::JoinHandle;

use crate::feeds::{AckPolicy, Received};
use crate::service::ExchangeHandle;

/// A correlated batch on its way to the store.
pub(crate) struct Pending {
    /// The messages the batch came from (acknowledged once it is stored, with
    /// the after-commit policy).
    pub messages: Vec<Received>,
    pub batch: Batch,
    /// The batch's number: the store writes batches in this order.
    pub seq: u64,
    /// Events skipped because their id was seen moments ago.
    pub redelivered: u64,
    /// When the writer took the batch, for the latency metric.
    pub started: Instant,
}

/// A batch back from the store; `outcome` is `None` when the service stopped first.
pub(crate) struct Stored {
    pub pending: Pending,
    pub outcome: Option<CommitOutcome>,
}

/// Commits the batch on a new task.
///
/// With `queued`, the batch was already handed to the store
/// ([`Store::queue_in_order`]) and `pending.batch` is empty until it comes
/// back; the task waits for that first attempt and retries as usual if it
/// failed. Spawn it only once the previous batch's task has finished, so that
/// the retries, too, keep the batches in order.
pub(crate) fn spawn(
    store: Arc<Store>,
    handle: ExchangeHandle,
    policy: AckPolicy,
    mut pending: Pending,
    queued: Option<QueuedCommit>,
) -> JoinHandle<Stored> {
    tokio::spawn(async move {
        let mut first_failure = None;
        if let Some(queued) = queued {
            let (batch, result) = queued.outcome().await;
            pending.batch = batch;
            match result {
                Ok(outcome) => {
                    let outcome = Some(outcome);
                    return Stored { pending, outcome };
                }
                // Not tried because the batch before it failed: that one is
                // stored by now, so this one is simply tried again.
                Err(StoreError::NotTried) => {}
                Err(err) => first_failure = Some(err),
            }
        }
        let batch = &mut pending.batch;
        let outcome = commit(&store, &handle, policy, batch, pending.seq, first_failure).await;
        Stored { pending, outcome }
    })
}

/// Waits for the batch in flight; never returns when there is none.
///
/// Returns `None` when the commit task failed.
pub(crate) async fn wait(in_flight: &mut Option<JoinHandle<Stored>>) -> Option<Stored> {
    let Some(task) = in_flight else {
        return std::future::pending().await;
    };
    match task.await {
        Ok(stored) => Some(stored),
        Err(err) => {
            tracing::error!(%err, "the commit task failed; its batch was not stored");
            None
        }
    }
}

/// Commits a batch, retrying while the store says it may work later.
///
/// A batch the store refuses for good is split: the parts it takes are
/// stored, and each event it refuses becomes a dead letter with the reason.
/// Returns `None` when the service is stopped before the store took the
/// batch. `first_failure` is how an attempt already made failed.
async fn commit(
    store: &Store,
    handle: &ExchangeHandle,
    policy: AckPolicy,
    batch: &mut Batch,
    seq: u64,
    mut first_failure: Option<StoreError>,
) -> Option<CommitOutcome> {
    let mut backoff = Duration::from_millis(50);
    let mut warned = false;
    loop {
        if *handle.stop.borrow() {
            match policy {
                AckPolicy::AfterCommit => tracing::warn!(
                    events = batch.events.len(),
                    "stopping with an unstored batch; the broker redelivers it"
                ),
                AckPolicy::OnReceipt { .. } => tracing::error!(
                    events = batch.events.len(),
                    "stopping with an unstored batch of acknowledged events: they are lost; \
                     check the database (full disk, locked file, server down)"
                ),
            }
            return None;
        }
        let result = match first_failure.take() {
            Some(err) => Err(err),
            None => {
                let (back, result) = store.commit_in_order(std::mem::take(batch), seq).await;
                *batch = back;
                result
            }
        };
        match result {
            Ok(outcome) => {
                if warned {
                    tracing::info!("store accepts writes again; the held batch is stored");
                }
                return Some(outcome);
            }
            Err(err) if err.is_retryable() => {
                handle.metrics.store_error(err.code());
                handle.metrics.store_retries.fetch_add(1, Ordering::Relaxed);
                if !warned {
                    tracing::warn!(%err, events = batch.events.len(), "holding the batch and retrying");
                    warned = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(err) => {
                handle.metrics.store_error(err.code());
                tracing::error!(%err, "the store refused a batch; storing its parts one by one");
                let outcome = commit_piecewise(store, handle, batch).await;
                store.settle(seq).await;
                return Some(outcome);
            }
        }
    }
}

async fn commit_piecewise(
    store: &Store,
    handle: &ExchangeHandle,
    batch: &mut Batch,
) -> CommitOutcome {
    let mut total = CommitOutcome::default();
    let events = std::mem::take(&mut batch.events);
    let mut kept = Vec::with_capacity(events.len());
    for event in events {
        let single = Batch {
            events: vec![event.clone()],
            ..Batch::default()
        };
        match store.commit(&single).await {
            Ok(outcome) => {
                total.events_inserted += outcome.events_inserted;
                total.events_duplicate += outcome.events_duplicate;
                kept.push(event);
            }
            Err(err) => {
                let payload = serde_json::to_vec(&event).unwrap_or_default();
                let topic = topics::event(event.module.as_str());
                let reason = format!("the store refused the event: {err}");
                let letter = DeadLetter::new(
                    event.module.as_str(),
                    &topic,
                    "store_refused",
                    &reason,
                    &payload,
                );
                handle
                    .metrics
                    .dead_letter(&letter.module, &letter.reason_code);
                batch.dead_letters.push(letter);
            }
        }
    }
    batch.events = kept;

    let rest = Batch {
        events: Vec::new(),
        ..std::mem::take(batch)
    };
    match store.commit(&rest).await {
        Ok(outcome) => {
            total.alerts_written = outcome.alerts_written;
            total.dead_letters_written = outcome.dead_letters_written;
        }
        Err(err) => tracing::error!(
            %err, alerts = rest.alerts.len(), dead_letters = rest.dead_letters.len(),
            "could not store alerts and dead letters; they are lost, check the database"
        ),
    }
    *batch = Batch {
        events: batch.events.clone(),
        ..rest
    };
    total
}
