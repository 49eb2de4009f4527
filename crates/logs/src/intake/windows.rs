//! Windows event records (EVTX or their JSON rendering) as flat Sigma fields.
//!
//! The evtx crate renders a record as `{"Event": {"System": {...},
//! "EventData": {...}}}`. Sigma rules name `EventID`, `Channel`,
//! `Provider_Name` and the `EventData` members directly, so this module lifts
//! them to the top level and derives the Sigma log source from the channel
//! and event id.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::record::{LogRecord, Origin, RecordSource};

/// Most members lifted from one record; the rest are dropped.
const MAX_FIELDS: usize = 512;

/// Turns one rendered Windows event into a record; `None` when it is not one.
pub fn record_from_event_json(value: &Value, origin: Origin) -> Option<LogRecord> {
    let event = value.get("Event")?.as_object()?;
    let system = event.get("System")?.as_object()?;

    let mut fields = Map::new();
    lift_system(system, &mut fields);
    if let Some(data) = event.get("EventData") {
        lift_data(data, &mut fields);
    }
    if let Some(Value::Object(user_data)) = event.get("UserData") {
        for inner in user_data.values() {
            lift_data(inner, &mut fields);
        }
    }
    add_process_creation_aliases(&mut fields);

    let mut record = LogRecord::new(fields, origin);
    record.time = record.str("TimeCreated").and_then(parse_system_time);
    record.host = record.str("Computer").map(str::to_string);
    record.source = windows_source(
        record.str("Channel").unwrap_or_default(),
        record.event_id(),
        record.str("Provider_Name").unwrap_or_default(),
    );
    Some(record)
}

/// Lifts the `System` members Sigma rules refer to.
fn lift_system(system: &Map<String, Value>, fields: &mut Map<String, Value>) {
    for (key, value) in system {
        match key.as_str() {
            "Provider" => {
                if let Some(attrs) = attributes(value) {
                    for (name, v) in attrs {
                        fields.insert(format!("Provider_{name}"), v.clone());
                    }
                }
            }
            "TimeCreated" => {
                if let Some(time) = attributes(value).and_then(|a| a.get("SystemTime")) {
                    fields.insert("TimeCreated".into(), time.clone());
                }
            }
            "Execution" | "Security" | "Correlation" => {
                for (name, v) in attributes(value).into_iter().flatten() {
                    fields.insert(name.clone(), v.clone());
                }
            }
            _ => {
                fields.insert(key.clone(), text_of(value));
            }
        }
    }
}

/// Lifts `EventData` or one `UserData` element: named members, or `Data` items.
fn lift_data(data: &Value, fields: &mut Map<String, Value>) {
    let Value::Object(members) = data else {
        return;
    };
    for (key, value) in members {
        if fields.len() >= MAX_FIELDS {
            return;
        }
        match (key.as_str(), value) {
            ("#attributes", _) => {}
            ("Data", Value::Array(items)) => {
                let items: Vec<Value> = items.iter().map(text_of).collect();
                fields.insert("Data".into(), Value::Array(items));
            }
            _ => {
                fields.insert(key.clone(), text_of(value));
            }
        }
    }
}

/// Security 4688 names the new process differently from Sysmon 1; Sigma
/// process-creation rules use the Sysmon names, so both are offered.
fn add_process_creation_aliases(fields: &mut Map<String, Value>) {
    let is_4688 = fields.get("EventID").and_then(Value::as_i64) == Some(4688);
    if !is_4688 {
        return;
    }
    for (from, to) in [
        ("NewProcessName", "Image"),
        ("ParentProcessName", "ParentImage"),
    ] {
        if let Some(value) = fields.get(from).cloned() {
            fields.entry(to.to_string()).or_insert(value);
        }
    }
}

/// The `#attributes` object of an element, if it has one.
fn attributes(value: &Value) -> Option<&Map<String, Value>> {
    value.get("#attributes")?.as_object()
}

/// An element's value: its `#text` when it has attributes, else itself.
fn text_of(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("#text") => {
            map.get("#text").cloned().unwrap_or(Value::Null)
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("#attributes") => Value::Null,
        other => other.clone(),
    }
}

/// Parses `2019-03-19T23:34:25.2312341Z` and friends.
pub fn parse_system_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// The Sigma log source of a Windows event, from its channel and event id.
pub fn windows_source(channel: &str, event_id: Option<i64>, provider: &str) -> RecordSource {
    let service = channel_service(channel, provider);
    let mut source = RecordSource::new("windows", service);
    let categories: &[&str] = match (service, event_id) {
        (Some("sysmon"), Some(id)) => sysmon_categories(id),
        (Some("security"), Some(4688)) => &["process_creation"],
        (Some("security"), Some(4657)) => &["registry_set", "registry_event"],
        (Some("powershell"), Some(4104)) => &["ps_script"],
        (Some("powershell"), Some(4103)) => &["ps_module"],
        (Some("powershell-classic"), Some(400)) => &["ps_classic_start"],
        (Some("powershell-classic"), Some(600)) => &["ps_classic_provider_start"],
        (Some("powershell-classic"), Some(800)) => &["ps_classic_script"],
        (Some("windefend"), Some(1006 | 1007 | 1008 | 1009 | 1015 | 1116 | 1117 | 1118)) => {
            &["antivirus"]
        }
        _ => &[],
    };
    for category in categories {
        source = source.with_category(category);
    }
    source
}

/// The Sigma `service` of a Windows channel, after the SigmaHQ Windows log source list.
fn channel_service(channel: &str, provider: &str) -> Option<&'static str> {
    let lower = channel.to_ascii_lowercase();
    let service = match lower.as_str() {
        "security" => "security",
        "system" => "system",
        "application" => "application",
        "microsoft-windows-sysmon/operational" => "sysmon",
        "microsoft-windows-powershell/operational" => "powershell",
        "windows powershell" => "powershell-classic",
        "microsoft-windows-windows defender/operational" => "windefend",
        "microsoft-windows-taskscheduler/operational" => "taskscheduler",
        "microsoft-windows-wmi-activity/operational" => "wmi",
        "microsoft-windows-dns-client/operational" => "dns-client",
        "dns server" => "dns-server",
        "microsoft-windows-bits-client/operational" => "bits-client",
        "microsoft-windows-codeintegrity/operational" => "codeintegrity-operational",
        "microsoft-windows-windows firewall with advanced security/firewall" => "firewall-as",
        "microsoft-windows-driverframeworks-usermode/operational" => "driver-framework",
        "microsoft-windows-printservice/admin" => "printservice-admin",
        "microsoft-windows-printservice/operational" => "printservice-operational",
        "microsoft-windows-terminalservices-localsessionmanager/operational" => {
            "terminalservices-localsessionmanager"
        }
        "microsoft-windows-smbclient/security" => "smbclient-security",
        "microsoft-windows-ntlm/operational" => "ntlm",
        "microsoft-windows-shell-core/operational" => "shell-core",
        "openssh/operational" => "openssh",
        "microsoft-windows-ldap-client/debug" => "ldap_debug",
        "microsoft-windows-appxpackaging-om/operational" => "appxpackaging-om",
        "microsoft-windows-appmodel-runtime/admin" => "appmodel-runtime",
        "microsoft-windows-capi2/operational" => "capi2",
        "microsoft-windows-certificateservicesclient-lifecycle-system/operational" => {
            "certificateservicesclient-lifecycle-system"
        }
        "microsoft-windows-diagnosis-scripted/operational" => "diagnosis-scripted",
        "microsoft-windows-kernel-shimengine/operational" => "shimengine",
        "microsoft-windows-msexchange management" | "msexchange management" => {
            "msexchange-management"
        }
        "microsoft-windows-security-mitigations/kernel mode"
        | "microsoft-windows-security-mitigations/user mode" => "security-mitigations",
        "microsoft-windows-vhdmp/operational" => "vhdmp",
        "microsoft-windows-hyper-v-worker-admin" => "hyper-v-worker",
        _ if lower.starts_with("microsoft-windows-applocker/") => "applocker",
        _ => return provider_service(provider),
    };
    Some(service)
}

/// Services keyed by provider rather than channel.
fn provider_service(provider: &str) -> Option<&'static str> {
    match provider {
        "Microsoft-Windows-Sysmon" => Some("sysmon"),
        _ => None,
    }
}

/// Sigma categories of a Sysmon event id.
fn sysmon_categories(event_id: i64) -> &'static [&'static str] {
    match event_id {
        1 => &["process_creation"],
        2 => &["file_change"],
        3 => &["network_connection"],
        4 | 16 => &["sysmon_status"],
        5 => &["process_termination"],
        6 => &["driver_load"],
        7 => &["image_load"],
        8 => &["create_remote_thread"],
        9 => &["raw_access_thread"],
        10 => &["process_access"],
        11 => &["file_event"],
        12 => &["registry_add", "registry_delete", "registry_event"],
        13 => &["registry_set", "registry_event"],
        14 => &["registry_rename", "registry_event"],
        15 => &["create_stream_hash"],
        17 | 18 => &["pipe_created"],
        19..=21 => &["wmi_event"],
        22 => &["dns_query"],
        23 | 26 => &["file_delete"],
        24 => &["clipboard_capture"],
        25 => &["process_tampering"],
        27..=29 => &["file_block"],
        255 => &["sysmon_error"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifts_system_and_event_data_to_the_top() {
        let value = json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "radiology-ws-1.hospital.local",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-12-03T02:14:00.123Z"}}
            },
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami"}
        }});

        let record = record_from_event_json(&value, Origin::default()).unwrap();

        assert_eq!(record.event_id(), Some(1));
        assert_eq!(record.str("Image"), Some("C:\\Windows\\System32\\cmd.exe"));
        assert_eq!(
            record.str("Provider_Name"),
            Some("Microsoft-Windows-Sysmon")
        );
        assert_eq!(
            record.host.as_deref(),
            Some("radiology-ws-1.hospital.local")
        );
        assert_eq!(record.source.services, ["sysmon"]);
        assert_eq!(record.source.categories, ["process_creation"]);
        assert!(record.time.is_some());
    }

    #[test]
    fn event_id_with_qualifiers_is_its_text() {
        let value = json!({"Event": {"System": {
            "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
            "Channel": "System"
        }}});

        let record = record_from_event_json(&value, Origin::default()).unwrap();

        assert_eq!(record.event_id(), Some(7045));
        assert_eq!(record.source.services, ["system"]);
    }

    #[test]
    fn security_4688_offers_sysmon_names() {
        let value = json!({"Event": {"System": {"EventID": 4688, "Channel": "Security"},
            "EventData": {"NewProcessName": "C:\\x.exe", "ParentProcessName": "C:\\p.exe"}}});

        let record = record_from_event_json(&value, Origin::default()).unwrap();

        assert_eq!(record.str("Image"), Some("C:\\x.exe"));
        assert_eq!(record.str("ParentImage"), Some("C:\\p.exe"));
        assert_eq!(record.source.categories, ["process_creation"]);
    }

    #[test]
    fn json_without_an_event_root_is_not_windows() {
        assert!(record_from_event_json(&json!({"msg": "x"}), Origin::default()).is_none());
    }
}
