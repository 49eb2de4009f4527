//! Logon analytics: brute force, password spraying, logons outside working
//! hours, and manual interactive logons on devices meant to log on by themselves.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::profiles::{DeviceProfiles, short_host};
use super::{Finding, MAX_TRACKED_KEYS};
use crate::record::LogRecord;

/// A logon attempt read from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logon {
    /// True for a successful logon.
    pub success: bool,
    /// The account, as logged.
    pub user: Option<String>,
    /// The remote address, when the logon came over the network.
    pub source_ip: Option<String>,
    /// A person at the keyboard or on remote desktop/SSH, not a service or network logon.
    pub interactive: bool,
}

/// Reads a logon attempt from a Windows Security or Linux auth record.
pub fn logon_of(record: &LogRecord) -> Option<Logon> {
    if record.source.product.as_deref() == Some("windows") {
        return windows_logon(record);
    }
    linux_logon(record)
}

fn windows_logon(record: &LogRecord) -> Option<Logon> {
    if !record.source.services.iter().any(|s| s == "security") {
        return None;
    }
    let success = match record.event_id()? {
        4624 => true,
        4625 | 4771 => false,
        4776 => record.int("Status").is_some_and(|s| s == 0),
        _ => return None,
    };
    let user = record.str("TargetUserName").map(str::to_string);
    if success && user.as_deref().is_some_and(is_machine_account) {
        return None;
    }
    let source_ip = record
        .str("IpAddress")
        .map(|ip| ip.trim_start_matches("::ffff:").to_string())
        .filter(|ip| !matches!(ip.as_str(), "" | "-" | "::1" | "127.0.0.1"));
    let interactive = matches!(record.int("LogonType"), Some(2 | 10 | 11));
    Some(Logon {
        success,
        user,
        source_ip,
        interactive,
    })
}

fn is_machine_account(user: &str) -> bool {
    let upper = user.to_ascii_uppercase();
    upper.ends_with('$')
        || matches!(
            upper.as_str(),
            "SYSTEM" | "ANONYMOUS LOGON" | "LOCAL SERVICE" | "NETWORK SERVICE"
        )
        || upper.starts_with("DWM-")
        || upper.starts_with("UMFD-")
}

fn linux_logon(record: &LogRecord) -> Option<Logon> {
    let message = record.str("message")?;
    let program = record.str("program").unwrap_or_default();

    // OpenSSH: "Failed password for [invalid user] X from IP port N ssh2", "Accepted ...".
    if let Some(rest) = message
        .strip_prefix("Failed ")
        .or_else(|| message.strip_prefix("Accepted "))
    {
        let success = message.starts_with("Accepted ");
        let (_method, rest) = rest.split_once(" for ")?;
        let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
        let (user, rest) = rest.split_once(" from ")?;
        let ip = rest.split_whitespace().next().map(str::to_string);
        return Some(Logon {
            success,
            user: Some(user.to_string()),
            source_ip: ip,
            interactive: true,
        });
    }

    // pam_unix as a program tag ("sshd(pam_unix)"): the older format with no sshd "Failed" line.
    if program.contains("(pam_unix)") && message.starts_with("authentication failure;") {
        return Some(Logon {
            success: false,
            user: pam_value(message, "user"),
            source_ip: pam_value(message, "rhost"),
            interactive: true,
        });
    }

    // Sessions opened by PAM for a remote or console logon (not su, not cron).
    if let Some(rest) = message
        .strip_prefix("session opened for user ")
        .or_else(|| {
            let session = message.strip_prefix("pam_unix(login:session): ")?;
            session.strip_prefix("session opened for user ")
        })
    {
        let logon_program = program.starts_with("sshd(") || program.starts_with("login");
        if logon_program {
            let user = rest.split_whitespace().next().map(str::to_string);
            return Some(Logon {
                success: true,
                user,
                source_ip: None,
                interactive: true,
            });
        }
    }

    // Local console logons.
    if program == "login" {
        if let Some(rest) = message.strip_prefix("FAILED LOGIN") {
            let user = rest
                .split("FOR '")
                .nth(1)
                .and_then(|r| r.split('\'').next());
            return Some(Logon {
                success: false,
                user: user.map(str::to_string),
                source_ip: None,
                interactive: true,
            });
        }
        if let Some(rest) = message.strip_prefix("ROOT LOGIN ON ") {
            let _ = rest;
            return Some(Logon {
                success: true,
                user: Some("root".into()),
                source_ip: None,
                interactive: true,
            });
        }
    }
    None
}

/// The value of `key=` in a pam_unix message (`rhost=1.2.3.4  user=root`).
fn pam_value(message: &str, key: &str) -> Option<String> {
    message
        .split_whitespace()
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Failed accounts with their times, oldest first.
type TriedUsers = VecDeque<(DateTime<Utc>, String)>;

/// State of the logon analytics.
#[derive(Debug, Default)]
pub struct AuthAnalytics {
    /// Failure times per (host, source).
    failures: HashMap<(String, String), VecDeque<DateTime<Utc>>>,
    /// Failed accounts with times per (host, source ip).
    tried_users: HashMap<(String, String), TriedUsers>,
}

impl AuthAnalytics {
    /// Looks at one record; returns the logon findings it completes.
    pub fn process(&mut self, record: &LogRecord, profiles: &DeviceProfiles) -> Vec<Finding> {
        let Some(logon) = logon_of(record) else {
            return Vec::new();
        };
        let host = record.host.as_deref().map(short_host).unwrap_or_default();
        let time = record.time.unwrap_or_else(Utc::now);

        let mut findings = Vec::new();
        if logon.success {
            findings.extend(off_hours(record, &logon, &host, time, profiles));
            findings.extend(manual_logon(&logon, &host, profiles));
        } else {
            findings.extend(self.brute_force(&logon, &host, time, profiles));
            findings.extend(self.spraying(&logon, &host, time, profiles));
        }
        for finding in &mut findings {
            finding.user = finding.user.take().or_else(|| logon.user.clone());
            finding.source_ip = finding.source_ip.take().or_else(|| logon.source_ip.clone());
        }
        findings
    }

    fn brute_force(
        &mut self,
        logon: &Logon,
        host: &str,
        time: DateTime<Utc>,
        profiles: &DeviceProfiles,
    ) -> Option<Finding> {
        let limit = profiles.defaults.brute_force;
        let source = logon.source_ip.clone().or_else(|| logon.user.clone())?;
        cap(&mut self.failures);
        let window = self
            .failures
            .entry((host.to_string(), source.clone()))
            .or_default();
        push_in_window(window, time, limit.window_secs, |t| *t);
        if window.len() < limit.failures as usize {
            return None;
        }
        let count = window.len();
        window.clear();

        let summary = format!(
            "{count} failed logons from {source} on {} within {} s",
            display_host(host),
            limit.window_secs
        );
        let mut finding = Finding::new("auth.brute_force", 60, summary);
        finding.techniques = vec!["T1110.001"];
        finding
            .evidence
            .insert("failures".into(), Value::from(count));
        finding
            .evidence
            .insert("window_secs".into(), Value::from(limit.window_secs));
        Some(finding)
    }

    fn spraying(
        &mut self,
        logon: &Logon,
        host: &str,
        time: DateTime<Utc>,
        profiles: &DeviceProfiles,
    ) -> Option<Finding> {
        let limit = profiles.defaults.spraying;
        let ip = logon.source_ip.clone()?;
        let user = logon.user.clone()?;
        cap(&mut self.tried_users);
        let window = self
            .tried_users
            .entry((host.to_string(), ip.clone()))
            .or_default();
        window.push_back((time, user));
        let oldest = window_start(time, limit.window_secs);
        while window.front().is_some_and(|(t, _)| *t < oldest) {
            window.pop_front();
        }
        let users: HashSet<&str> = window.iter().map(|(_, u)| u.as_str()).collect();
        if users.len() < limit.users as usize {
            return None;
        }
        let mut sample: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        sample.sort();
        sample.truncate(20);
        let distinct = users.len();
        window.clear();

        let summary = format!(
            "{distinct} different accounts tried from {ip} on {} within {} s (password spraying)",
            display_host(host),
            limit.window_secs
        );
        let mut finding = Finding::new("auth.password_spraying", 70, summary);
        finding.techniques = vec!["T1110.003"];
        finding
            .evidence
            .insert("accounts".into(), Value::from(distinct));
        finding
            .evidence
            .insert("sample_accounts".into(), Value::from(sample));
        finding
            .evidence
            .insert("window_secs".into(), Value::from(limit.window_secs));
        Some(finding)
    }
}

fn off_hours(
    record: &LogRecord,
    logon: &Logon,
    host: &str,
    time: DateTime<Utc>,
    profiles: &DeviceProfiles,
) -> Option<Finding> {
    if !logon.interactive || record.time.is_none() {
        return None;
    }
    let (hours, offset) = profiles.working_hours(host)?;
    let local = time
        .checked_add_signed(Duration::minutes(i64::from(offset)))
        .unwrap_or(time);
    if hours.contains(local) {
        return None;
    }
    let user = logon.user.as_deref().unwrap_or("an unknown account");
    let summary = format!(
        "{user} logged on to {} at {} local time, outside working hours {}-{}",
        display_host(host),
        local.format("%a %H:%M"),
        hours.start,
        hours.end
    );
    let mut finding = Finding::new("auth.logon_off_hours", 40, summary);
    finding.techniques = vec!["T1078"];
    finding.evidence.insert(
        "local_time".into(),
        Value::from(local.format("%Y-%m-%dT%H:%M:%S").to_string()),
    );
    Some(finding)
}

fn manual_logon(logon: &Logon, host: &str, profiles: &DeviceProfiles) -> Option<Finding> {
    let device = profiles.device(host)?;
    if !device.auto_logon || !logon.interactive {
        return None;
    }
    let user = logon.user.as_deref().unwrap_or_default();
    let expected = device.accounts.iter().any(|a| a.eq_ignore_ascii_case(user));
    if expected {
        return None;
    }
    let summary = format!(
        "interactive logon by {user} on {}, a device that should only log on automatically",
        display_host(host)
    );
    let mut finding = Finding::new("auth.manual_logon", 60, summary);
    finding.techniques = vec!["T1078"];
    finding.evidence.insert(
        "expected_accounts".into(),
        Value::from(device.accounts.clone()),
    );
    Some(finding)
}

fn display_host(host: &str) -> &str {
    if host.is_empty() {
        "an unnamed host"
    } else {
        host
    }
}

/// The start of a window of `secs` seconds ending at `end`; saturates instead of overflowing.
fn window_start(end: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    let span =
        Duration::try_seconds(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(Duration::MAX);
    end.checked_sub_signed(span)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Adds `time` to a window of times and drops those older than the window.
fn push_in_window<T>(
    window: &mut VecDeque<T>,
    item: T,
    secs: u64,
    time: impl Fn(&T) -> DateTime<Utc>,
) where
    T: Clone,
{
    let newest = time(&item);
    window.push_back(item);
    let oldest = window_start(newest, secs);
    while window.front().is_some_and(|t| time(t) < oldest) {
        window.pop_front();
    }
}

/// Keeps a table under [`MAX_TRACKED_KEYS`] by forgetting everything when full.
fn cap<K, V>(table: &mut HashMap<K, V>) {
    if table.len() >= MAX_TRACKED_KEYS {
        tracing::warn!(
            keys = table.len(),
            "logon analytics table full, state reset"
        );
        table.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::syslog::parse_syslog_line;
    use crate::record::Origin;
    use chrono::TimeZone;

    fn line(text: &str) -> LogRecord {
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        parse_syslog_line(text.as_bytes(), Origin::default(), now).unwrap()
    }

    #[test]
    fn reads_openssh_and_pam_failures() {
        let failed = logon_of(&line("Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2")).unwrap();
        assert!(!failed.success);
        assert_eq!(failed.user.as_deref(), Some("webmaster"));
        assert_eq!(failed.source_ip.as_deref(), Some("173.234.31.186"));

        let pam = logon_of(&line("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root")).unwrap();
        assert_eq!(pam.user.as_deref(), Some("root"));
        assert_eq!(pam.source_ip.as_deref(), Some("218.188.2.4"));

        let accepted = logon_of(&line("Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2")).unwrap();
        assert!(accepted.success && accepted.interactive);
    }

    #[test]
    fn brute_force_fires_once_at_the_threshold() {
        let mut analytics = AuthAnalytics::default();
        let profiles = DeviceProfiles::default();
        let mut findings = Vec::new();
        for second in 0..15 {
            let text = format!(
                "Dec 10 06:55:{second:02} pacs-server sshd[1]: Failed password for root from 10.10.5.11 port 22 ssh2"
            );
            findings.extend(analytics.process(&line(&text), &profiles));
        }
        let brute: Vec<_> = findings
            .iter()
            .filter(|f| f.kind == "auth.brute_force")
            .collect();
        assert_eq!(brute.len(), 1);
        assert_eq!(brute[0].source_ip.as_deref(), Some("10.10.5.11"));
        assert_eq!(brute[0].evidence["failures"], 10);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_fire() {
        let mut analytics = AuthAnalytics::default();
        let profiles = DeviceProfiles::default();
        let mut findings = Vec::new();
        for minute in 0..30 {
            let text = format!(
                "Dec 10 06:{minute:02}:00 pacs-server sshd[1]: Failed password for root from 10.10.5.11 port 22 ssh2"
            );
            findings.extend(analytics.process(&line(&text), &profiles));
        }
        assert!(
            findings.iter().all(|f| f.kind != "auth.brute_force"),
            "{findings:?}"
        );
    }
}
