//! Capture timestamps.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// When a packet was captured, in nanoseconds since the Unix epoch.
///
/// Sensors reason in capture time, not wall time, so that a file replays the same
/// way on any machine and at any speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// A timestamp from seconds and nanoseconds since the epoch.
    pub fn from_parts(secs: u64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(u64::from(nanos)),
        )
    }

    /// A timestamp a whole number of seconds after the epoch.
    pub fn from_secs(secs: u64) -> Self {
        Timestamp::from_parts(secs, 0)
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// Nanoseconds past the whole second.
    pub fn subsec_nanos(self) -> u32 {
        (self.0 % 1_000_000_000) as u32
    }

    /// Seconds since the epoch as a float, for statistics.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The time elapsed since `earlier`, zero when `earlier` is later (clocks in
    /// captures do step backwards).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The timestamp as a UTC date and time, for events; the epoch when out of range.
    pub fn to_datetime(self) -> DateTime<Utc> {
        let secs = i64::try_from(self.secs()).unwrap_or(i64::MAX);
        DateTime::from_timestamp(secs, self.subsec_nanos()).unwrap_or_default()
    }

    /// This timestamp moved forward by `d`.
    pub fn plus(self, d: Duration) -> Timestamp {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }
}
