//! The Sigma specification through the plan: each modifier and condition
//! form, checked on a record that must match and one that must not.

use std::path::Path;

use safecare_logs::record::{LogRecord, Origin, RecordSource};
use safecare_logs::sigma::{RulePlan, RuleSet};
use serde_json::{Value, json};

fn plan(detection: &str) -> RulePlan {
    let yaml = format!(
        "title: Spec\nid: 9e0f0000-0000-4000-8000-000000000001\nlogsource: {{product: windows}}\ndetection:\n{detection}"
    );
    plan_yaml(&yaml, &[])
}

fn plan_yaml(yaml: &str, pipelines: &[rsigma_eval::Pipeline]) -> RulePlan {
    let mut set = RuleSet::default();
    set.add_yaml(yaml, Path::new("spec.yml"), pipelines);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    RulePlan::new(&mut set)
}

fn record(fields: Value) -> LogRecord {
    let mut record = LogRecord::new(fields.as_object().cloned().unwrap(), Origin::default());
    record.source = RecordSource::new("windows", Some("security"));
    record
}

fn matches(plan: &RulePlan, fields: Value) -> bool {
    !plan.evaluate(&record(fields)).is_empty()
}

/// (detection YAML, a record that matches, a record that does not).
fn cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "  s:\n    CommandLine|contains: 'mimikatz'\n  condition: s",
            json!({"CommandLine": "C:\\x\\MIMIKATZ.exe"}),
            json!({"CommandLine": "notepad"}),
        ),
        (
            "  s:\n    Image|startswith: 'C:\\Temp\\'\n  condition: s",
            json!({"Image": "c:\\temp\\a.exe"}),
            json!({"Image": "C:\\Windows\\a.exe"}),
        ),
        (
            "  s:\n    Image|endswith:\n      - '\\a.exe'\n      - '\\b.exe'\n  condition: s",
            json!({"Image": "C:\\x\\b.exe"}),
            json!({"Image": "C:\\x\\c.exe"}),
        ),
        (
            "  s:\n    CommandLine|contains|all:\n      - '-enc'\n      - 'hidden'\n  condition: s",
            json!({"CommandLine": "powershell -w hidden -enc AAA"}),
            json!({"CommandLine": "powershell -enc AAA"}),
        ),
        (
            "  s:\n    CommandLine|re: '^cmd\\.exe /c [a-z]+$'\n  condition: s",
            json!({"CommandLine": "cmd.exe /c whoami"}),
            json!({"CommandLine": "cmd.exe /c WHOAMI"}),
        ),
        (
            "  s:\n    CommandLine|re|i: '^cmd\\.exe /c [a-z]+$'\n  condition: s",
            json!({"CommandLine": "CMD.EXE /c WHOAMI"}),
            json!({"CommandLine": "cmd.exe /k x"}),
        ),
        (
            "  s:\n    Payload|re|m: '^evil$'\n  condition: s",
            json!({"Payload": "good\nevil\nok"}),
            json!({"Payload": "good evil"}),
        ),
        (
            "  s:\n    Payload|re|s: 'a.b'\n  condition: s",
            json!({"Payload": "a\nb"}),
            json!({"Payload": "ab"}),
        ),
        (
            "  s:\n    CommandLine|base64|contains: 'http://'\n  condition: s",
            json!({"CommandLine": "x aHR0cDovLw== y"}),
            json!({"CommandLine": "http://"}),
        ),
        (
            "  s:\n    CommandLine|base64offset|contains: 'IEX'\n  condition: s",
            json!({"CommandLine": "-e SUVY"}),
            json!({"CommandLine": "-e QUJD"}),
        ),
        (
            "  s:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: s",
            json!({"CommandLine": "-enc cABpAG4AZwA"}),
            json!({"CommandLine": "-enc cGluZw"}),
        ),
        (
            "  s:\n    CommandLine|utf16be|base64|contains: 'ab'\n  condition: s",
            json!({"CommandLine": "AGEAYg=="}),
            json!({"CommandLine": "YWI="}),
        ),
        (
            "  s:\n    CommandLine|windash|contains: ' -exec '\n  condition: s",
            json!({"CommandLine": "x /exec y"}),
            json!({"CommandLine": "x exec y"}),
        ),
        (
            "  s:\n    IpAddress|cidr: '10.20.0.0/16'\n  condition: s",
            json!({"IpAddress": "10.20.4.21"}),
            json!({"IpAddress": "10.10.4.21"}),
        ),
        (
            "  s:\n    LogonType|gte: 10\n  condition: s",
            json!({"LogonType": 10}),
            json!({"LogonType": 3}),
        ),
        (
            "  s:\n    LogonType|lt: 3\n  condition: s",
            json!({"LogonType": 2}),
            json!({"LogonType": 3}),
        ),
        (
            "  s:\n    Size|gt: 1000\n  condition: s",
            json!({"Size": "4096"}),
            json!({"Size": 12}),
        ),
        (
            "  s:\n    Size|lte: 12\n  condition: s",
            json!({"Size": 12}),
            json!({"Size": 13}),
        ),
        (
            "  s:\n    Debug|exists: true\n  condition: s",
            json!({"Debug": ""}),
            json!({"Other": 1}),
        ),
        (
            "  s:\n    Debug|exists: false\n  condition: s",
            json!({"Other": 1}),
            json!({"Debug": "x"}),
        ),
        (
            "  s:\n    SubjectUserName|fieldref: TargetUserName\n  condition: s",
            json!({"SubjectUserName": "a", "TargetUserName": "a"}),
            json!({"SubjectUserName": "a", "TargetUserName": "b"}),
        ),
        (
            "  s:\n    Image|cased: 'C:\\Temp\\x.exe'\n  condition: s",
            json!({"Image": "C:\\Temp\\x.exe"}),
            json!({"Image": "c:\\temp\\x.exe"}),
        ),
        // A wildcard after a path separator: the separator is written `\\` so that
        // `\*` is not read as an escaped, literal star.
        (
            "  s:\n    Image: 'C:\\Temp\\\\*.exe'\n  condition: s",
            json!({"Image": "C:\\Temp\\dropper.exe"}),
            json!({"Image": "C:\\Temp\\dropper.dll"}),
        ),
        (
            "  s:\n    User: null\n  condition: s",
            json!({"Other": 1}),
            json!({"User": "x"}),
        ),
        // Selections as lists of maps: any map.
        (
            "  s:\n    - EventID: 4624\n      LogonType: 10\n    - EventID: 4625\n  condition: s",
            json!({"EventID": 4625}),
            json!({"EventID": 4624, "LogonType": 3}),
        ),
        // Keywords: any string of the record.
        (
            "  keywords:\n    - 'Invalid user'\n    - 'authentication failure'\n  condition: keywords",
            json!({"message": "sshd: Invalid user admin"}),
            json!({"message": "Accepted"}),
        ),
        (
            "  a:\n    EventID: 1\n  b:\n    User: x\n  condition: a and not b",
            json!({"EventID": 1, "User": "y"}),
            json!({"EventID": 1, "User": "x"}),
        ),
        (
            "  a:\n    EventID: 1\n  b:\n    User: x\n  c:\n    Image: y\n  condition: a and (b or c)",
            json!({"EventID": 1, "Image": "y"}),
            json!({"EventID": 1}),
        ),
        (
            "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  other:\n    C: 1\n  condition: 1 of sel_* and not other",
            json!({"B": 1}),
            json!({"B": 1, "C": 1}),
        ),
        (
            "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  condition: all of sel_*",
            json!({"A": 1, "B": 1}),
            json!({"A": 1}),
        ),
        (
            "  x:\n    A: 1\n  y:\n    B: 1\n  condition: all of them",
            json!({"A": 1, "B": 1}),
            json!({"B": 1}),
        ),
        (
            "  x:\n    A: 1\n  y:\n    B: 1\n  condition: 1 of them",
            json!({"B": 1}),
            json!({"C": 1}),
        ),
    ]
}

#[test]
fn every_modifier_and_condition_form_matches_and_rejects() {
    let mut failures = Vec::new();
    for (detection, hit, miss) in cases() {
        let plan = plan(detection);
        if !matches(&plan, hit.clone()) {
            failures.push(format!("should match {hit}:\n{detection}"));
        }
        if matches(&plan, miss.clone()) {
            failures.push(format!("should not match {miss}:\n{detection}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn expand_takes_its_placeholders_from_a_pipeline() {
    let pipeline = rsigma_eval::parse_pipeline(
        "name: site\nvars:\n  admins:\n    - it-admin\n    - root\ntransformations:\n  - type: value_placeholders\n",
    )
    .unwrap();
    let yaml = "title: Admin logon\nlogsource: {product: windows}\n\
        detection:\n  s:\n    TargetUserName|expand: '%admins%'\n  condition: s\n";
    let plan = plan_yaml(yaml, &[pipeline]);

    assert!(matches(&plan, json!({"TargetUserName": "it-admin"})));
    assert!(matches(&plan, json!({"TargetUserName": "root"})));
    assert!(!matches(&plan, json!({"TargetUserName": "n.jansen"})));
}

#[test]
fn a_rule_for_another_product_or_service_never_sees_the_record() {
    let plan = plan_yaml(
        "title: Sysmon only\nlogsource: {product: windows, service: sysmon}\n\
         detection:\n  s:\n    EventID: 1\n  condition: s\n",
        &[],
    );
    assert!(
        !matches(&plan, json!({"EventID": 1})),
        "a Security record must not reach a Sysmon rule"
    );
}
