//! End to end through `safecare_logs::run`: files in, security events out.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;

use safecare_core::{AssetDirectory, AssetInfo, Location, SecurityEvent};
use safecare_logs::cli::{DetectionOptions, LogsCommand, OutputFormat};

/// A site that knows one device, the CT scanner in radiology.
struct Site(HashMap<String, AssetInfo>);

impl Site {
    fn demo() -> Self {
        let ct = AssetInfo {
            id: "ct-scanner".into(),
            name: "CT scanner".into(),
            asset_type: "medical_device".into(),
            location: Location {
                zone: Some("radiology".into()),
                ..Location::default()
            },
            allowed_peers: Vec::new(),
        };
        Site(HashMap::from([("ct-scanner".to_string(), ct)]))
    }
}

impl AssetDirectory for Site {
    fn by_id(&self, id: &str) -> Option<&AssetInfo> {
        self.0.get(id)
    }
    fn by_ip(&self, _: IpAddr) -> Option<&AssetInfo> {
        None
    }
    fn by_mac(&self, _: &str) -> Option<&AssetInfo> {
        None
    }
    fn by_hostname(&self, name: &str) -> Option<&AssetInfo> {
        self.0.get(&name.to_ascii_lowercase())
    }
}

const RULE: &str = r#"title: Whoami Execution
id: 0d6c0d1e-0000-4000-8000-000000000001
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\whoami.exe'
    condition: selection
level: medium
tags:
    - attack.discovery
    - attack.t1033
"#;

const BROKEN_RULE: &str = "title: Broken\nlogsource: {product: windows}\n\
    detection:\n  sel:\n    CommandLine|re: '(unclosed'\n  condition: sel\n";

fn sysmon_line(image: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"CT-SCANNER.hospital.local","TimeCreated":{{"#attributes":{{"SystemTime":"2026-12-03T02:14:00Z"}}}}}},"EventData":{{"Image":"{image}","User":"HOSPITAL\\n.jansen"}}}}}}"##
    )
}

#[test]
fn scan_emits_valid_events_with_rule_asset_and_zone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("whoami.yml"), RULE).unwrap();
    std::fs::write(dir.path().join("broken.yml"), BROKEN_RULE).unwrap();
    let log = dir.path().join("sysmon.jsonl");
    let mut file = std::fs::File::create(&log).unwrap();
    writeln!(
        file,
        "{}",
        sysmon_line("C:\\\\Windows\\\\System32\\\\whoami.exe")
    )
    .unwrap();
    writeln!(file, "{{ this is not json").unwrap();
    writeln!(
        file,
        "{}",
        sysmon_line("C:\\\\Windows\\\\System32\\\\notepad.exe")
    )
    .unwrap();

    let command = LogsCommand::Scan {
        paths: vec![log],
        input_format: None,
        detection: DetectionOptions {
            rules: vec![dir.path().to_path_buf()],
            pipelines: Vec::new(),
            profiles: None,
            format: OutputFormat::Jsonl,
        },
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = safecare_logs::run(command, &Site::demo(), &mut events).unwrap();

    // The broken rule is reported with its file, the good one loaded.
    assert_eq!(summary.rules_loaded, 1);
    assert_eq!(summary.rule_errors.len(), 1);
    assert!(
        summary.rule_errors[0].contains("broken.yml"),
        "{:?}",
        summary.rule_errors
    );
    // The bad line is counted with its line number, the others scanned.
    assert_eq!(summary.records, 2);
    assert_eq!(summary.record_errors, 1);
    assert!(
        summary.first_errors[0].contains("sysmon.jsonl record 2"),
        "{:?}",
        summary.first_errors
    );

    assert_eq!(events.len(), 1);
    let event = &events[0];
    event.validate().unwrap();
    assert_eq!(event.kind, "log.sigma.medium");
    assert_eq!(event.asset.as_deref(), Some("ct-scanner"));
    assert_eq!(event.zone(), Some("radiology"));
    assert_eq!(event.techniques(), ["T1033"]);
    assert_eq!(
        event.evidence["rule_id"],
        "0d6c0d1e-0000-4000-8000-000000000001"
    );
    assert_eq!(event.evidence["rule_level"], "medium");
    assert_eq!(
        event.evidence["matched_fields"]["Image"],
        "C:\\Windows\\System32\\whoami.exe"
    );
    assert_eq!(event.time.to_rfc3339(), "2026-12-03T02:14:00+00:00");

    // The event survives the platform's JSON round trip.
    let json = serde_json::to_vec(event).unwrap();
    assert_eq!(&SecurityEvent::from_json(&json).unwrap(), event);
}

const CORRELATION: &str = r#"title: Failed logon
id: 5c0e0000-0000-4000-8000-000000000002
name: failed_logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
---
title: Many failed logons from one address
id: 5c0e0000-0000-4000-8000-000000000003
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        gte: 3
level: high
"#;

fn failed_logon(second: u32, ip: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"EventID":4625,"Channel":"Security","Computer":"pacs-server","TimeCreated":{{"#attributes":{{"SystemTime":"2026-12-03T02:14:{second:02}Z"}}}}}},"EventData":{{"TargetUserName":"admin","IpAddress":"{ip}"}}}}}}"##
    )
}

#[test]
fn correlation_rule_fires_on_the_third_failure_from_one_address() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corr.yml"), CORRELATION).unwrap();
    let log = dir.path().join("security.jsonl");
    let lines: Vec<String> = [
        (1, "10.10.5.11"),
        (2, "10.10.1.11"),
        (3, "10.10.5.11"),
        (4, "10.10.5.11"),
    ]
    .iter()
    .map(|(s, ip)| failed_logon(*s, ip))
    .collect();
    std::fs::write(&log, lines.join("\n")).unwrap();

    let command = LogsCommand::Scan {
        paths: vec![log],
        input_format: None,
        detection: DetectionOptions {
            rules: vec![dir.path().to_path_buf()],
            pipelines: Vec::new(),
            profiles: None,
            format: OutputFormat::Jsonl,
        },
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = safecare_logs::run(command, &safecare_core::EmptyDirectory, &mut events).unwrap();

    assert_eq!(summary.correlations_loaded, 1, "{:?}", summary.rule_errors);
    let correlations: Vec<_> = events
        .iter()
        .filter(|e| e.kind.starts_with("log.sigma_correlation"))
        .collect();
    assert_eq!(correlations.len(), 1, "{events:#?}");
    assert_eq!(correlations[0].evidence["group"]["IpAddress"], "10.10.5.11");
    assert_eq!(correlations[0].evidence["correlation_type"], "event_count");
}

#[test]
fn follow_reads_a_growing_auth_log_and_emits_analytics_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let lines: String = (0..12)
        .map(|s| format!("Dec  3 02:14:{s:02} ct-scanner sshd[77]: Failed password for root from 10.10.5.11 port 4022 ssh2\n"))
        .collect();
    std::fs::write(&log, lines).unwrap();

    let command = LogsCommand::Follow {
        files: vec![log],
        input_format: safecare_logs::intake::Format::Syslog,
        from_start: true,
        poll_ms: 50,
        duration: Some(1),
        detection: DetectionOptions {
            rules: Vec::new(),
            pipelines: Vec::new(),
            profiles: None,
            format: OutputFormat::Jsonl,
        },
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = safecare_logs::run(command, &Site::demo(), &mut events).unwrap();

    assert_eq!(summary.records, 12);
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    event.validate().unwrap();
    assert_eq!(event.kind, "auth.brute_force");
    assert_eq!(event.asset.as_deref(), Some("ct-scanner"));
    assert_eq!(event.zone(), Some("radiology"));
    assert_eq!(
        event.source.as_ref().unwrap().ip.as_deref(),
        Some("10.10.5.11")
    );
    assert_eq!(event.user.as_ref().unwrap().name.as_deref(), Some("root"));
    assert_eq!(event.techniques(), ["T1110.001"]);
}

#[test]
fn receive_scans_syslog_pushed_over_tcp() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sender = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut stream = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => break stream,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }
                Err(err) => panic!("receiver never listened: {err}"),
            }
        };
        for s in 0..12 {
            writeln!(stream, "<38>Dec  3 02:14:{s:02} ct-scanner sshd[77]: Failed password for admin from 10.10.5.11 port 4022 ssh2").unwrap();
        }
    });

    let command = LogsCommand::Receive {
        bind: "127.0.0.1".parse().unwrap(),
        udp: None,
        tcp: Some(port),
        duration: Some(20),
        max_messages: Some(12),
        detection: DetectionOptions {
            rules: Vec::new(),
            pipelines: Vec::new(),
            profiles: None,
            format: OutputFormat::Jsonl,
        },
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = safecare_logs::run(command, &Site::demo(), &mut events).unwrap();
    sender.join().unwrap();

    assert_eq!(summary.records, 12);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].kind, "auth.brute_force");
    assert_eq!(events[0].zone(), Some("radiology"));
}

#[test]
fn scan_walks_folders_of_evtx_files() {
    let samples = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/evtx/attack-samples/Lateral Movement"
    );
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/sigma/rules/windows/builtin/security"
    );
    let command = LogsCommand::Scan {
        paths: vec![samples.into()],
        input_format: None,
        detection: DetectionOptions {
            rules: vec![rules.into()],
            pipelines: Vec::new(),
            profiles: None,
            format: OutputFormat::Jsonl,
        },
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let summary = safecare_logs::run(command, &safecare_core::EmptyDirectory, &mut events).unwrap();

    assert!(summary.files > 10, "{summary}");
    assert!(summary.file_errors.is_empty(), "{summary}");
    assert!(summary.sigma_detections > 0, "{summary}");
    assert!(events.iter().all(|e| e.validate().is_ok()));
}
