//! Counters of the exchange service, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// What the exchange service has done since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    pub messages_received: AtomicU64,
    pub events_stored: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub alerts_raised: AtomicU64,
    pub alert_updates: AtomicU64,
    pub incidents_changed: AtomicU64,
    pub batches_committed: AtomicU64,
    pub store_retries: AtomicU64,
    /// Events the embedded broker dropped before the exchange read them.
    pub broker_dropped: AtomicU64,
    /// Correlation: events older than the engine's lateness allowance.
    pub correlation_late_events: AtomicU64,
    /// Correlation: groups dropped to stay within memory bounds.
    pub correlation_evicted_groups: AtomicU64,
    /// Correlation: groups tracked now.
    pub correlation_tracked_groups: AtomicU64,
    dead_letters: Mutex<BTreeMap<(String, String), u64>>,
    store_errors: Mutex<BTreeMap<String, u64>>,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts one dead letter by module and reason code.
    pub fn dead_letter(&self, module: &str, reason_code: &str) {
        let mut map = self.dead_letters.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((module.to_string(), reason_code.to_string()))
            .or_default() += 1;
    }

    /// Total dead letters of every module and reason.
    pub fn dead_letters_total(&self) -> u64 {
        self.dead_letters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }

    /// Counts one failed commit by error code.
    pub fn store_error(&self, code: &str) {
        let mut map = self.store_errors.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(code.to_string()).or_default() += 1;
    }

    /// Records the time from receiving a message to having it stored and evaluated.
    pub fn observe_latency(&self, latency: Duration, count: u64) {
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.latency.buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(count, Ordering::Relaxed);
            }
        }
        self.latency.count.fetch_add(count, Ordering::Relaxed);
        let micros = latency.as_micros().min(u64::MAX as u128) as u64;
        self.latency
            .sum_micros
            .fetch_add(micros.saturating_mul(count), Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "safecare_messages_received_total",
                "Event messages received from the bus.",
                &self.messages_received,
            ),
            (
                "safecare_events_stored_total",
                "Events newly stored.",
                &self.events_stored,
            ),
            (
                "safecare_events_duplicate_total",
                "Events skipped because their id was already stored.",
                &self.events_duplicate,
            ),
            (
                "safecare_alerts_raised_total",
                "Alerts created by correlation.",
                &self.alerts_raised,
            ),
            (
                "safecare_alert_updates_total",
                "Alert changes (new events, workflow).",
                &self.alert_updates,
            ),
            (
                "safecare_incident_changes_total",
                "Incident creations and changes.",
                &self.incidents_changed,
            ),
            (
                "safecare_store_batches_total",
                "Batches committed to the store.",
                &self.batches_committed,
            ),
            (
                "safecare_broker_dropped_events_total",
                "Events the embedded broker dropped before the exchange read them.",
                &self.broker_dropped,
            ),
            (
                "safecare_store_retries_total",
                "Commits retried after a store error.",
                &self.store_retries,
            ),
        ];
        for (name, help, value) in counters {
            counter(&mut out, name, help, value.load(Ordering::Relaxed));
        }
        counter(
            &mut out,
            "safecare_correlation_late_events_total",
            "Events older than the correlation lateness allowance.",
            self.correlation_late_events.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "safecare_correlation_evicted_groups_total",
            "Correlation groups dropped to stay within memory bounds (correlation lost).",
            self.correlation_evicted_groups.load(Ordering::Relaxed),
        );
        let tracked = self.correlation_tracked_groups.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP safecare_correlation_tracked_groups Groups tracked now."
        );
        let _ = writeln!(out, "# TYPE safecare_correlation_tracked_groups gauge");
        let _ = writeln!(out, "safecare_correlation_tracked_groups {tracked}");

        let _ = writeln!(
            out,
            "# HELP safecare_dead_letters_total Messages refused, by module and reason."
        );
        let _ = writeln!(out, "# TYPE safecare_dead_letters_total counter");
        for ((module, reason), n) in self
            .dead_letters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "safecare_dead_letters_total{{module=\"{module}\",reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP safecare_store_errors_total Failed commits, by error code."
        );
        let _ = writeln!(out, "# TYPE safecare_store_errors_total counter");
        for (code, n) in self
            .store_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "safecare_store_errors_total{{code=\"{code}\"}} {n}");
        }

        self.render_latency(&mut out);
        out
    }

    fn render_latency(&self, out: &mut String) {
        let name = "safecare_pipeline_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From receiving an event to having it stored and evaluated."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bucket, bound) in self.latency.buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency.count.load(Ordering::Relaxed);
        let sum = self.latency.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_labels_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.messages_received.fetch_add(3, Ordering::Relaxed);
        metrics.dead_letter("net", "malformed_json");
        metrics.observe_latency(Duration::from_millis(3), 2);
        let text = metrics.render();
        assert!(text.contains("safecare_messages_received_total 3"));
        assert!(
            text.contains(
                "safecare_dead_letters_total{module=\"net\",reason=\"malformed_json\"} 1"
            )
        );
        assert!(text.contains("safecare_pipeline_latency_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("safecare_pipeline_latency_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("safecare_pipeline_latency_seconds_count 2"));
    }
}
