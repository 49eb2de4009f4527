//! Per-device profiles: what is normal for each device, loaded from YAML.
//!
//! The site model will carry these profiles; until then the analytics take
//! this stand-alone form:
//!
//! ```yaml
//! defaults:
//!   working_hours: { start: "07:00", end: "19:00", days: [mon, tue, wed, thu, fri] }
//!   brute_force: { failures: 10, window_secs: 300 }
//!   spraying: { users: 5, window_secs: 600 }
//!   signature_max_age_days: 3
//! devices:
//!   - host: ct-scanner
//!     auto_logon: true
//!     accounts: [ctsvc]
//!     utc_offset_minutes: 60
//! ```

use std::path::Path;

use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use serde::Deserialize;
use thiserror::Error;

/// A profile file that could not be loaded.
#[derive(Debug, Error)]
#[allow(missing_docs)] // fields: the file and the cause
pub enum ProfileError {
    #[error("could not read device profiles {path}: {source}")]
    /// The file could not be read.
    Read {
        /// The profile file.
        path: String,
        source: std::io::Error,
    },
    #[error("device profiles {path} are invalid: {reason}")]
    /// The YAML does not describe profiles (unknown key, wrong type).
    Invalid { path: String, reason: String },
}

/// Working hours: a daily window on given weekdays, in the device's local time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// `HH:MM`, inclusive.
    pub start: String,
    /// `HH:MM`, exclusive; earlier than `start` for a night shift.
    pub end: String,
    /// Weekdays as `mon` .. `sun`; empty means every day.
    #[serde(default)]
    pub days: Vec<String>,
}

impl WorkingHours {
    /// True when `local` (already shifted to the device's time) is inside the window.
    pub fn contains(&self, local: DateTime<Utc>) -> bool {
        let (Some(start), Some(end)) = (parse_hhmm(&self.start), parse_hhmm(&self.end)) else {
            return true;
        };
        let day_ok = self.days.is_empty()
            || self
                .days
                .iter()
                .filter_map(|d| d.parse::<Weekday>().ok())
                .any(|d| d == local.weekday());
        let time = local.time();
        let time_ok = if start <= end {
            time >= start && time < end
        } else {
            time >= start || time < end
        };
        day_ok && time_ok
    }
}

fn parse_hhmm(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// Threshold for failures from one source within a window.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BruteForce {
    /// Failures that make a finding.
    pub failures: u32,
    /// Length of the sliding window, in seconds.
    pub window_secs: u64,
}

/// Threshold for distinct accounts tried from one source within a window.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spraying {
    /// Distinct accounts that make a finding.
    pub users: u32,
    /// Length of the sliding window, in seconds.
    pub window_secs: u64,
}

/// Settings that apply to every device unless its profile overrides them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    /// Working hours of devices without their own.
    pub working_hours: Option<WorkingHours>,
    /// Brute-force threshold.
    pub brute_force: BruteForce,
    /// Password-spraying threshold.
    pub spraying: Spraying,
    /// Oldest antivirus signatures allowed, in days.
    pub signature_max_age_days: u32,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            working_hours: None,
            brute_force: BruteForce {
                failures: 10,
                window_secs: 300,
            },
            spraying: Spraying {
                users: 5,
                window_secs: 600,
            },
            signature_max_age_days: 3,
        }
    }
}

/// What is normal for one device.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    /// Host name as the device logs it (case-insensitive, domain ignored).
    pub host: String,
    /// The device logs on by itself (kiosk, modality console): a person's
    /// interactive logon on it is a finding.
    #[serde(default)]
    pub auto_logon: bool,
    /// Accounts expected on the device (service and auto-logon accounts).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// This device's working hours, instead of the defaults.
    #[serde(default)]
    pub working_hours: Option<WorkingHours>,
    /// Offset of the device's clock from UTC, for working hours.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// USB mass storage is expected on this device (no finding for new ones).
    #[serde(default)]
    pub usb_storage_allowed: bool,
}

/// Every device profile, with the defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfiles {
    /// Settings for every device.
    #[serde(default)]
    pub defaults: Defaults,
    /// One profile per device.
    #[serde(default)]
    pub devices: Vec<DeviceProfile>,
}

impl DeviceProfiles {
    /// The profiles the site model gives its devices (`asset.profile`), for
    /// every asset with a host name: auto-logon account, expected accounts, and
    /// working hours from the named schedule.
    ///
    /// A schedule of several periods keeps its first one; schedules are local
    /// time, converted with the site's time zone offset at `now` (a daylight
    /// saving change needs a reload).
    pub fn from_site(site: &safecare_core::site::Site, now: DateTime<Utc>) -> DeviceProfiles {
        let model = site.model();
        let offset = utc_offset_minutes(model.timezone.as_deref(), now);
        let devices = model
            .assets
            .iter()
            .filter_map(|asset| {
                let profile = asset.profile.as_ref()?;
                let host = asset.identities.hostname.clone()?;
                let mut accounts = profile.accounts.clone();
                accounts.extend(profile.auto_logon_account.iter().cloned());
                let working_hours = profile
                    .working_hours
                    .as_deref()
                    .and_then(|id| model.schedules.iter().find(|s| s.id == id))
                    .and_then(|schedule| schedule.open.first())
                    .and_then(working_hours_of);
                Some(DeviceProfile {
                    host,
                    auto_logon: profile.auto_logon_account.is_some(),
                    accounts,
                    working_hours,
                    utc_offset_minutes: offset,
                    usb_storage_allowed: false,
                })
            })
            .collect();
        DeviceProfiles {
            defaults: Defaults::default(),
            devices,
        }
    }

    /// Parses profiles from YAML text; `path` only names the source in errors.
    pub fn from_yaml(text: &str, path: &str) -> Result<Self, ProfileError> {
        serde_yaml_ng::from_str(text).map_err(|err| ProfileError::Invalid {
            path: path.to_string(),
            reason: err.to_string(),
        })
    }

    /// Loads profiles from a YAML file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: name.clone(),
            source,
        })?;
        Self::from_yaml(&text, &name)
    }

    /// The profile of a host, matched without case and domain.
    pub fn device(&self, host: &str) -> Option<&DeviceProfile> {
        let short = short_host(host);
        self.devices.iter().find(|d| short_host(&d.host) == short)
    }

    /// The working hours that apply to a host, if any are set.
    pub fn working_hours(&self, host: &str) -> Option<(&WorkingHours, i32)> {
        match self.device(host) {
            Some(device) => device
                .working_hours
                .as_ref()
                .or(self.defaults.working_hours.as_ref())
                .map(|hours| (hours, device.utc_offset_minutes)),
            None => self.defaults.working_hours.as_ref().map(|hours| (hours, 0)),
        }
    }
}

/// A host name lowercased and without its domain.
pub fn short_host(host: &str) -> String {
    host.split('.').next().unwrap_or(host).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn loads_and_finds_devices_without_domain() {
        let yaml = "defaults:\n  working_hours: {start: '07:00', end: '19:00', days: [mon, tue, wed, thu, fri]}\n\
            devices:\n  - host: CT-Scanner\n    auto_logon: true\n    accounts: [ctsvc]\n";
        let profiles = DeviceProfiles::from_yaml(yaml, "p.yml").unwrap();

        let device = profiles.device("ct-scanner.hospital.local").unwrap();
        assert!(device.auto_logon);
        assert!(profiles.working_hours("ct-scanner").is_some());
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file() {
        let err =
            DeviceProfiles::from_yaml("devices:\n  - host: x\n    autologon: true\n", "p.yml")
                .unwrap_err()
                .to_string();
        assert!(err.contains("p.yml") && err.contains("autologon"), "{err}");
    }

    #[test]
    fn working_hours_handle_weekends_and_night_shifts() {
        let day = WorkingHours {
            start: "07:00".into(),
            end: "19:00".into(),
            days: vec![
                "mon".into(),
                "tue".into(),
                "wed".into(),
                "thu".into(),
                "fri".into(),
            ],
        };
        let thursday_noon = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let thursday_night = Utc.with_ymd_and_hms(2026, 12, 3, 2, 14, 0).unwrap();
        let saturday_noon = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
        assert!(day.contains(thursday_noon));
        assert!(!day.contains(thursday_night));
        assert!(!day.contains(saturday_noon));

        let night = WorkingHours {
            start: "22:00".into(),
            end: "06:00".into(),
            days: vec![],
        };
        assert!(night.contains(thursday_night));
        assert!(!night.contains(thursday_noon));
    }
}

/// A site schedule period (`days: mon-fri`, `hours: "07:00-19:00"`) as working
/// hours; `None` for a period that covers the whole day (no off-hours).
fn working_hours_of(period: &safecare_core::site::Period) -> Option<WorkingHours> {
    let (start, end) = period.hours.split_once('-')?;
    let (start, end) = (start.trim().to_string(), end.trim().to_string());
    if start == end || (start == "00:00" && end == "24:00") {
        return None;
    }
    Some(WorkingHours {
        start,
        end,
        days: expand_days(&period.days),
    })
}

/// `mon-fri` -> [mon, tue, wed, thu, fri]; `sat,sun` as is; `daily` -> every day.
fn expand_days(days: &str) -> Vec<String> {
    const WEEK: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut out = Vec::new();
    for part in days.split(',').map(str::trim) {
        if part == "daily" {
            return Vec::new();
        }
        match part.split_once('-') {
            Some((from, to)) => {
                let (Some(a), Some(b)) = (
                    WEEK.iter().position(|d| *d == from),
                    WEEK.iter().position(|d| *d == to),
                ) else {
                    continue;
                };
                let mut i = a;
                loop {
                    out.push(WEEK[i].to_string());
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => out.push(part.to_string()),
        }
    }
    out
}

/// The time zone's offset from UTC at `now`, in minutes; 0 when unknown.
fn utc_offset_minutes(timezone: Option<&str>, now: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    let Some(tz) = timezone.and_then(|name| name.parse::<chrono_tz::Tz>().ok()) else {
        return 0;
    };
    now.with_timezone(&tz).offset().fix().local_minus_utc() / 60
}

#[cfg(test)]
mod site_profile_tests {
    use super::*;

    #[test]
    fn the_demo_site_gives_its_workstations_profiles() {
        let site = safecare_core::site::Site::demo();
        let now: DateTime<Utc> = "2026-12-03T12:00:00Z".parse().unwrap();
        let profiles = DeviceProfiles::from_site(&site, now);

        let pharmacy = profiles
            .devices
            .iter()
            .find(|d| d.host == "pharmacy-ws-1")
            .unwrap();
        assert!(!pharmacy.auto_logon);
        assert_eq!(pharmacy.accounts, ["n.jansen"]);
        let hours = pharmacy
            .working_hours
            .as_ref()
            .expect("pharmacy-staffed hours");
        assert_eq!(
            (hours.start.as_str(), hours.end.as_str()),
            ("07:00", "22:00")
        );

        let radiology = profiles
            .devices
            .iter()
            .find(|d| d.host == "radiology-ws-1")
            .unwrap();
        assert!(
            radiology.auto_logon,
            "reading workstations log on by themselves"
        );
        assert!(radiology.accounts.contains(&"rad-reading".to_string()));
    }

    #[test]
    fn day_ranges_expand_and_daily_means_every_day() {
        assert_eq!(expand_days("mon-fri"), ["mon", "tue", "wed", "thu", "fri"]);
        assert_eq!(expand_days("fri-mon"), ["fri", "sat", "sun", "mon"]);
        assert!(expand_days("daily").is_empty());
    }
}
