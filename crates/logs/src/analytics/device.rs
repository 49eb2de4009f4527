//! Device hygiene analytics: antivirus disabled or out of date,
//! application-whitelisting blocks, configuration changes, and USB mass
//! storage seen for the first time on a device.

use std::collections::HashSet;

use serde_json::Value;

use super::profiles::{DeviceProfiles, short_host};
use super::{Finding, MAX_TRACKED_KEYS};
use crate::record::LogRecord;

/// State of the device analytics: the USB devices already seen per host.
#[derive(Debug, Default)]
pub struct DeviceAnalytics {
    usb_seen: HashSet<(String, String)>,
}

impl DeviceAnalytics {
    /// Looks at one record; returns the device findings it shows.
    pub fn process(&mut self, record: &LogRecord, profiles: &DeviceProfiles) -> Vec<Finding> {
        let host = record.host.as_deref().map(short_host).unwrap_or_default();
        let mut findings = Vec::new();
        findings.extend(antivirus(record, profiles));
        findings.extend(whitelisting_block(record));
        findings.extend(config_change(record));
        if let Some(finding) = self.usb_storage(record, &host, profiles) {
            findings.push(finding);
        }
        for finding in &mut findings {
            finding
                .evidence
                .insert("record".into(), Value::from(record.origin.to_string()));
        }
        findings
    }

    fn usb_storage(
        &mut self,
        record: &LogRecord,
        host: &str,
        profiles: &DeviceProfiles,
    ) -> Option<Finding> {
        let device = usb_storage_id(record)?;
        if profiles.device(host).is_some_and(|d| d.usb_storage_allowed) {
            return None;
        }
        if self.usb_seen.len() >= MAX_TRACKED_KEYS {
            self.usb_seen.clear();
        }
        if !self.usb_seen.insert((host.to_string(), device.clone())) {
            return None;
        }
        let summary = format!("new USB mass-storage device on {host}: {device}");
        let mut finding = Finding::new("device.usb_storage_new", 50, summary);
        finding.techniques = vec!["T1052.001", "T1091"];
        finding
            .evidence
            .insert("device".into(), Value::from(device));
        Some(finding)
    }
}

fn has_service(record: &LogRecord, service: &str) -> bool {
    record.source.services.iter().any(|s| s == service)
}

fn is_windows(record: &LogRecord) -> bool {
    record.source.product.as_deref() == Some("windows")
}

fn program(record: &LogRecord) -> String {
    let program = record.str("program").unwrap_or_default();
    program
        .split('(')
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase()
}

/// Defender protection turned off, updates failing, or signatures older than allowed.
fn antivirus(record: &LogRecord, profiles: &DeviceProfiles) -> Option<Finding> {
    if has_service(record, "windefend") {
        return defender(record, profiles);
    }
    let program = program(record);
    let message = record.str("message")?;
    if matches!(program.as_str(), "freshclam" | "clamd") && message.contains("OUTDATED") {
        let mut finding = Finding::new(
            "av.signatures_outdated",
            40,
            format!(
                "ClamAV reports outdated signatures: {}",
                truncate(message, 200)
            ),
        );
        finding.techniques = vec!["T1562.001"];
        return Some(finding);
    }
    None
}

fn defender(record: &LogRecord, profiles: &DeviceProfiles) -> Option<Finding> {
    let (kind, severity, what) = match record.event_id()? {
        5001 => (
            "av.disabled",
            80,
            "Defender real-time protection was disabled",
        ),
        5010 => (
            "av.disabled",
            80,
            "Defender scanning for malware and unwanted software was disabled",
        ),
        5012 => ("av.disabled", 80, "Defender virus scanning was disabled"),
        2001 | 2003 | 2004 | 2006 => (
            "av.update_failed",
            40,
            "Defender signature or engine update failed",
        ),
        1151 => return signature_age(record, profiles),
        _ => return None,
    };
    let mut finding = Finding::new(kind, severity, what.to_string());
    finding.techniques = vec!["T1562.001"];
    Some(finding)
}

/// Defender health report (1151): the signature age against the allowed maximum.
fn signature_age(record: &LogRecord, profiles: &DeviceProfiles) -> Option<Finding> {
    let fields = record.fields.as_object()?;
    let age = fields
        .iter()
        .filter(|(name, _)| {
            let name = name.to_ascii_lowercase();
            name.contains("signature age") || name.contains("security intelligence age")
        })
        .filter_map(|(_, value)| {
            value
                .as_i64()
                .or_else(|| value.as_str()?.trim().parse().ok())
        })
        .max()?;
    let limit = i64::from(profiles.defaults.signature_max_age_days);
    if age <= limit {
        return None;
    }
    let summary = format!("Defender signatures are {age} days old (allowed: {limit})");
    let mut finding = Finding::new("av.signatures_outdated", 40, summary);
    finding.techniques = vec!["T1562.001"];
    finding
        .evidence
        .insert("signature_age_days".into(), Value::from(age));
    Some(finding)
}

/// AppLocker, WDAC (Code Integrity), Software Restriction Policies and fapolicyd denials.
fn whitelisting_block(record: &LogRecord) -> Option<Finding> {
    let blocked = if has_service(record, "applocker") {
        matches!(record.event_id()?, 8004 | 8007 | 8022 | 8025 | 8029)
    } else if has_service(record, "codeintegrity-operational") {
        matches!(record.event_id()?, 3033 | 3077)
    } else if is_windows(record)
        && record.str("Provider_Name") == Some("Microsoft-Windows-SoftwareRestrictionPolicies")
    {
        matches!(record.event_id()?, 865..=868 | 882)
    } else {
        program(record) == "fapolicyd" && record.str("message")?.contains("dec=deny")
    };
    if !blocked {
        return None;
    }
    let target = [
        "FilePath",
        "FullFilePath",
        "File Name",
        "PolicyName",
        "message",
    ]
    .iter()
    .find_map(|name| record.text(name))
    .unwrap_or_default();
    let summary = format!(
        "application whitelisting blocked {}",
        truncate(&target, 200)
    );
    let mut finding = Finding::new("app.whitelisting_block", 50, summary);
    finding
        .evidence
        .insert("target".into(), Value::from(target));
    Some(finding)
}

/// Changes to audit policy, services, firewall, Defender settings, logs and accounts.
fn config_change(record: &LogRecord) -> Option<Finding> {
    let what = if is_windows(record) {
        windows_config_change(record)?
    } else {
        linux_config_change(record)?
    };
    let (what, technique) = what;
    let mut finding = Finding::new("config.change", 40, what);
    if let Some(technique) = technique {
        finding.techniques = vec![technique];
    }
    if let Some(user) = record
        .str("SubjectUserName")
        .or_else(|| record.str("AccountName"))
    {
        finding.user = Some(user.to_string());
    }
    Some(finding)
}

fn windows_config_change(record: &LogRecord) -> Option<(String, Option<&'static str>)> {
    let id = record.event_id()?;
    let security = has_service(record, "security");
    let system = has_service(record, "system");
    let (text, technique) = match id {
        4719 if security => ("audit policy changed", Some("T1562.002")),
        4739 if security => ("domain policy changed", None),
        4946..=4948 | 4950 if security => (
            "Windows Firewall rule or setting changed",
            Some("T1562.004"),
        ),
        4697 if security => ("service installed", Some("T1543.003")),
        1102 if security => ("Security audit log cleared", Some("T1070.001")),
        7045 if system => ("service installed", Some("T1543.003")),
        7040 if system => ("service start type changed", None),
        104 if system => ("event log cleared", Some("T1070.001")),
        5007 if has_service(record, "windefend") => {
            ("Defender configuration changed", Some("T1562.001"))
        }
        _ => return None,
    };
    let detail = ["ServiceName", "param1", "Channel", "RuleName", "CategoryId"]
        .iter()
        .find_map(|name| record.text(name))
        .unwrap_or_default();
    Some((
        format!("configuration change: {text} ({detail})"),
        technique,
    ))
}

fn linux_config_change(record: &LogRecord) -> Option<(String, Option<&'static str>)> {
    let program = program(record);
    let message = record.str("message")?;
    let technique = match program.as_str() {
        "useradd" | "adduser" => Some("T1136.001"),
        "usermod" | "userdel" | "groupadd" | "groupdel" | "groupmod" | "chpasswd" | "passwd"
        | "gpasswd" | "chage" => None,
        _ => return None,
    };
    Some((
        format!(
            "account configuration change by {program}: {}",
            truncate(message, 200)
        ),
        technique,
    ))
}

/// The identity of a USB mass-storage device in a record, if it reports one.
fn usb_storage_id(record: &LogRecord) -> Option<String> {
    if is_windows(record) {
        let id = record.event_id()?;
        let candidates = [
            "DeviceId",
            "DeviceInstanceId",
            "DeviceInstanceID",
            "InstanceId",
            "CompatibleIds",
            "DeviceDescription",
        ];
        let relevant = match id {
            6416 => has_service(record, "security"),
            400 | 410 | 430 => record.str("Provider_Name") == Some("Microsoft-Windows-Kernel-PnP"),
            2003 | 2100 | 2102 => has_service(record, "driver-framework"),
            20001 | 20003 => has_service(record, "system"),
            _ => false,
        };
        if !relevant {
            return None;
        }
        let text = candidates
            .iter()
            .filter_map(|name| record.text(name))
            .collect::<Vec<_>>()
            .join(" ");
        let class_is_disk = record
            .str("ClassName")
            .is_some_and(|c| c.eq_ignore_ascii_case("DiskDrive"));
        if !text.to_ascii_uppercase().contains("USBSTOR") && !class_is_disk {
            return None;
        }
        return candidates.iter().find_map(|name| record.text(name));
    }

    let message = record.str("message")?;
    if program(record) == "kernel" && message.contains("USB Mass Storage device detected") {
        let device = message
            .split(": USB Mass Storage")
            .next()
            .unwrap_or(message)
            .trim();
        return Some(device.to_string());
    }
    None
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => text.get(..at).unwrap_or(text),
        None => text,
    }
}
