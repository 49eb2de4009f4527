//! The committer task: stores correlated batches, then acknowledges them.
//!
//! The writer task correlates a batch and hands it over here, so that it can
//! decode and correlate the next batch while this one is being committed.
//! Batches are committed one after the other, in the order they were
//! correlated; a message is acknowledged to the broker only once its batch is
//! stored, so nothing accepted is lost.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use safecare_bus::client::Qos;
use safecare_bus::{BusClient, topics};
use safecare_store::{Batch, CommitOutcome, DeadLetter, Store};
use tokio::sync::{mpsc, oneshot};

use crate::feeds::Received;
use crate::service::{CommitReport, ExchangeHandle};

/// Batches correlated ahead of the one being committed.
///
/// One is enough to keep both stages busy; more would only hold more
/// unacknowledged events in memory.
pub(crate) const BATCHES_AHEAD: usize = 1;

/// A correlated batch on its way to the store.
pub(crate) struct Pending {
    /// The messages the batch came from, acknowledged once it is stored.
    pub messages: Vec<Received>,
    pub batch: Batch,
    /// Events skipped because their id was seen moments ago.
    pub redelivered: u64,
    /// When the writer took the batch, for the latency metric.
    pub started: Instant,
}

/// What the writer asks of the committer.
pub(crate) enum Stage {
    Commit(Box<Pending>),
    /// Answered once every batch sent before it is stored.
    Barrier(oneshot::Sender<()>),
}

/// Starts the committer task; it ends when the writer drops its sender or the
/// service stops.
pub(crate) fn spawn(
    store: Arc<Store>,
    connections: Vec<BusClient>,
    handle: ExchangeHandle,
) -> mpsc::Sender<Stage> {
    let (stages, stages_rx) = mpsc::channel(BATCHES_AHEAD);
    let committer = Committer {
        store,
        connections,
        handle,
    };
    tokio::spawn(committer.run(stages_rx));
    stages
}

struct Committer {
    store: Arc<Store>,
    /// The exchange's broker connections, indexed like [`Received::connection`].
    connections: Vec<BusClient>,
    handle: ExchangeHandle,
}

impl Committer {
    async fn run(self, mut stages: mpsc::Receiver<Stage>) {
        while let Some(stage) = stages.recv().await {
            match stage {
                Stage::Commit(pending) => {
                    if !self.store_batch(*pending).await {
                        break;
                    }
                }
                Stage::Barrier(reply) => {
                    let _ = reply.send(());
                }
            }
        }
    }

    /// Commits, acknowledges and announces one batch; false when the service
    /// stopped before the store took it.
    async fn store_batch(&self, pending: Pending) -> bool {
        let Pending {
            messages,
            mut batch,
            redelivered,
            started,
        } = pending;

        let Some(outcome) = self.commit(&mut batch).await else {
            return false;
        };
        for message in &messages {
            self.acknowledge(message).await;
        }

        self.count(&outcome, redelivered, started, batch.events.len());
        self.publish_dead_letters(&batch.dead_letters).await;
        for alert in &batch.alerts {
            self.handle.publish_alert(alert).await;
        }
        let report = CommitReport {
            event_ids: batch.events.iter().map(|e| e.id).collect(),
            outcome,
            committed_at: Instant::now(),
        };
        let _ = self.handle.commits.send(Arc::new(report));
        true
    }

    async fn acknowledge(&self, message: &Received) {
        if let Some(client) = self.connections.get(message.connection) {
            let _ = client.ack(&message.publish).await;
        }
    }

    fn count(&self, outcome: &CommitOutcome, redelivered: u64, started: Instant, events: usize) {
        let metrics = &self.handle.metrics;
        let duplicates = outcome.events_duplicate + redelivered;
        metrics
            .events_stored
            .fetch_add(outcome.events_inserted, Ordering::Relaxed);
        metrics
            .events_duplicate
            .fetch_add(duplicates, Ordering::Relaxed);
        metrics.batches_committed.fetch_add(1, Ordering::Relaxed);
        metrics.observe_latency(started.elapsed(), events as u64);
    }

    /// Commits a batch, retrying while the store says it may work later.
    ///
    /// A batch the store refuses for good is split: the parts it takes are
    /// stored, and each event it refuses becomes a dead letter with the reason.
    /// Returns `None` when the service is stopped before the store took the batch.
    async fn commit(&self, batch: &mut Batch) -> Option<CommitOutcome> {
        let metrics = &self.handle.metrics;
        let mut backoff = Duration::from_millis(50);
        let mut warned = false;
        loop {
            if *self.handle.stop.borrow() {
                tracing::warn!(
                    events = batch.events.len(),
                    "stopping with an unstored batch; the broker redelivers it"
                );
                return None;
            }
            match self.store.commit(batch).await {
                Ok(outcome) => {
                    if warned {
                        tracing::info!("store accepts writes again; the held batch is stored");
                    }
                    return Some(outcome);
                }
                Err(err) if err.is_retryable() => {
                    metrics.store_error(err.code());
                    metrics.store_retries.fetch_add(1, Ordering::Relaxed);
                    if !warned {
                        tracing::warn!(%err, events = batch.events.len(), "holding the batch and retrying");
                        warned = true;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(err) => {
                    metrics.store_error(err.code());
                    tracing::error!(%err, "the store refused a batch; storing its parts one by one");
                    return Some(self.commit_piecewise(batch).await);
                }
            }
        }
    }

    async fn commit_piecewise(&self, batch: &mut Batch) -> CommitOutcome {
        let mut total = CommitOutcome::default();
        let events = std::mem::take(&mut batch.events);
        let mut kept = Vec::with_capacity(events.len());
        for event in events {
            let single = Batch {
                events: vec![event.clone()],
                ..Batch::default()
            };
            match self.store.commit(&single).await {
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
                    self.handle
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
        match self.store.commit(&rest).await {
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

    async fn publish_dead_letters(&self, letters: &[DeadLetter]) {
        for letter in letters {
            let topic = topics::deadletter(&letter.module);
            let _ = self
                .handle
                .bus
                .publish_json(&topic, Qos::AtLeastOnce, false, letter)
                .await;
        }
    }
}
