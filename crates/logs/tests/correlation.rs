//! Sigma correlation rules through the scanner: value_count and temporal_ordered.

use std::path::Path;

use safecare_logs::Hit;
use safecare_logs::analytics::DeviceProfiles;
use safecare_logs::intake::json;
use safecare_logs::record::Origin;
use safecare_logs::scan::Scanner;
use safecare_logs::sigma::RuleSet;

const RULES: &str = r#"title: Failed logon
name: failed_logon
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
---
title: Successful logon
name: good_logon
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4624
    condition: selection
level: low
---
title: One address tries many accounts
correlation:
    type: value_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 10m
    condition:
        field: TargetUserName
        gte: 3
level: high
---
title: Logon succeeds after failures
correlation:
    type: temporal_ordered
    rules: [failed_logon, good_logon]
    group-by: [TargetUserName]
    timespan: 5m
level: high
"#;

fn logon(id: u32, second: u32, user: &str, ip: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"EventID":{id},"Channel":"Security","Computer":"ehr-server","TimeCreated":{{"#attributes":{{"SystemTime":"2026-12-03T02:14:{second:02}Z"}}}}}},"EventData":{{"TargetUserName":"{user}","IpAddress":"{ip}"}}}}}}"##
    )
}

fn correlations(lines: &[String]) -> Vec<String> {
    let mut set = RuleSet::default();
    set.add_yaml(RULES, Path::new("corr.yml"), &[]);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let mut scanner = Scanner::new(set, DeviceProfiles::default());

    let mut fired = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let origin = Origin {
            source: "t".into(),
            record: n as u64 + 1,
        };
        let record = json::parse_record(line.as_bytes(), origin).unwrap();
        for hit in scanner.process(&record) {
            if let Hit::Sigma(d) = hit
                && matches!(
                    d.kind,
                    safecare_logs::sigma::DetectionKind::Correlation { .. }
                )
            {
                fired.push(format!("{} @ {}", d.title, n + 1));
            }
        }
    }
    fired
}

#[test]
fn value_count_fires_on_the_third_distinct_account() {
    let lines = [
        logon(4625, 1, "alice", "10.10.5.11"),
        logon(4625, 2, "alice", "10.10.5.11"),
        logon(4625, 3, "bob", "10.10.5.11"),
        logon(4625, 4, "carol", "10.10.1.11"),
        logon(4625, 5, "dave", "10.10.5.11"),
    ];
    assert_eq!(
        correlations(&lines),
        ["One address tries many accounts @ 5"]
    );
}

#[test]
fn temporal_ordered_needs_failure_then_success() {
    let success_first = [
        logon(4624, 1, "erin", "10.10.5.11"),
        logon(4625, 2, "erin", "10.10.5.11"),
    ];
    assert!(correlations(&success_first).is_empty());

    let failure_first = [
        logon(4625, 1, "erin", "10.10.5.11"),
        logon(4624, 2, "erin", "10.10.5.11"),
    ];
    assert_eq!(
        correlations(&failure_first),
        ["Logon succeeds after failures @ 2"]
    );
}
