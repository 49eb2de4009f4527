//! Device analytics beyond single Sigma rules.
//!
//! Each analytic reads one kind of fact out of a record ([`auth`] logons,
//! [`device`] antivirus, whitelisting, configuration and USB events) and
//! keeps what it needs to see a pattern over time, driven by the device's
//! [`DeviceProfiles`]. State is bounded: windows drop old entries and each
//! table is capped.

pub mod auth;
pub mod device;
pub mod profiles;

use serde_json::{Map, Value};

pub use profiles::{DeviceProfile, DeviceProfiles, ProfileError, WorkingHours};

use crate::record::LogRecord;

/// Most keys each analytic tracks at once; older ones are dropped beyond it.
pub const MAX_TRACKED_KEYS: usize = 50_000;

/// A pattern an analytic saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Dotted kind from the event catalogue, e.g. `auth.brute_force`.
    pub kind: &'static str,
    /// 0-100.
    pub severity: u8,
    /// One sentence for a person.
    pub summary: String,
    /// The account concerned, when known.
    pub user: Option<String>,
    /// The remote address concerned, when known.
    pub source_ip: Option<String>,
    /// ATT&CK technique ids.
    pub techniques: Vec<&'static str>,
    /// The facts behind the finding (counts, window, fields of the record).
    pub evidence: Map<String, Value>,
}

impl Finding {
    fn new(kind: &'static str, severity: u8, summary: String) -> Self {
        Finding {
            kind,
            severity,
            summary,
            user: None,
            source_ip: None,
            techniques: Vec::new(),
            evidence: Map::new(),
        }
    }
}

/// All device analytics with their state.
#[derive(Debug, Default)]
pub struct Analytics {
    profiles: DeviceProfiles,
    auth: auth::AuthAnalytics,
    device: device::DeviceAnalytics,
}

impl Analytics {
    /// Analytics driven by the given profiles.
    pub fn new(profiles: DeviceProfiles) -> Self {
        Analytics {
            profiles,
            auth: auth::AuthAnalytics::default(),
            device: device::DeviceAnalytics::default(),
        }
    }

    /// Looks at one record; returns what it completes.
    pub fn process(&mut self, record: &LogRecord) -> Vec<Finding> {
        let mut findings = self.auth.process(record, &self.profiles);
        findings.extend(self.device.process(record, &self.profiles));
        findings
    }
}
