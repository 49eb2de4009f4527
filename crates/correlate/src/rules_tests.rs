//! Tests of rule-file parsing: the defaults, and every error with its line.

use super::*;

/// A valid file; the tests break one line of it at a time.
const GOOD: &str = "\
version: 1
rules:
  - id: scan
    type: single
    title: Port scan
    summary: \"{source.ip} scanned\"
    window: 1h
    match:
      kind: network.*
    group_by: [source.ip]

  - id: dc-entry-then-device
    type: sequence
    title: Entry then device
    summary: \"{zone}\"
    window: 2h
    join: zone
    steps:
      - kind: access.after_hours
      - kind: network.new_device
";

fn parse(text: &str) -> Result<RuleSet, RuleError> {
    RuleSet::from_yaml(text, "test.yaml")
}

/// The error for `GOOD` with `from` replaced by `to`.
fn broken(from: &str, to: &str) -> RuleError {
    assert!(GOOD.contains(from), "{from:?} is not in the sample");
    parse(&GOOD.replacen(from, to, 1)).unwrap_err()
}

#[test]
fn sample_parses() {
    let rules = parse(GOOD).unwrap();
    assert_eq!(rules.len(), 2);
    let sequence = rules.get("dc-entry-then-device").unwrap();
    assert_eq!(sequence.rule_type(), RuleType::Sequence);
    assert_eq!(sequence.window(), Duration::from_secs(7_200));
    assert_eq!(sequence.severity(), SeveritySpec::FromEvents);
}

#[test]
fn default_rules_load_and_cover_every_type() {
    let rules = RuleSet::from_yaml(RuleSet::default_yaml(), "default.yaml").unwrap();
    assert_eq!(rules.len(), RuleSet::defaults().len());
    for id in [
        "high-severity-event",
        "brute-force-login",
        "port-scan",
        "after-hours-entry-then-new-device",
        "targeted-theft-chain",
        "ransomware-chain",
        "bms-command-then-process-alarm",
    ] {
        assert!(rules.get(id).is_some(), "default rule {id} missing");
    }
    for kind in [RuleType::Single, RuleType::Threshold, RuleType::Sequence] {
        assert!(
            rules.rules().iter().any(|r| r.rule_type() == kind),
            "{kind:?}"
        );
    }
}

#[test]
fn syntax_error_points_at_its_line() {
    let err = broken("      kind: network.*", "      kind: [network.*");
    assert_eq!(err.file, "test.yaml");
    assert!((9..=11).contains(&err.line), "{err}");
    assert!(err.column > 0, "{err}");
}

#[test]
fn unknown_rule_type_points_at_the_type() {
    let err = broken("type: single", "type: singel");
    assert_eq!(err.line, 4, "{err}");
    assert!(err.reason.contains("singel"), "{err}");
}

#[test]
fn misspelt_setting_points_at_it() {
    let err = broken("    group_by: [source.ip]", "    group_bi: [source.ip]");
    assert_eq!(err.line, 10, "{err}");
    assert!(err.reason.contains("group_bi"), "{err}");
}

#[test]
fn duplicate_id_points_at_the_second_rule() {
    let err = broken("id: dc-entry-then-device", "id: scan");
    assert_eq!(err.line, 12, "{err}");
    assert!(
        err.reason.contains("duplicate") && err.reason.contains("line 3"),
        "{err}"
    );
}

#[test]
fn empty_sequence_points_at_steps() {
    let text = GOOD.replace(
        "    steps:\n      - kind: access.after_hours\n      - kind: network.new_device\n",
        "    steps: []\n",
    );
    let err = parse(&text).unwrap_err();
    assert_eq!(err.line, 18, "{err}");
    assert!(err.reason.contains("at least two steps"), "{err}");
}

#[test]
fn zero_window_points_at_the_window() {
    let err = broken("    window: 2h", "    window: 0s");
    assert_eq!((err.line, err.column), (16, 5), "{err}");
    assert!(err.reason.contains("zero"), "{err}");
}

#[test]
fn window_without_unit_points_at_the_window() {
    let err = broken("    window: 1h", "    window: \"60\"");
    assert_eq!(err.line, 7, "{err}");
    assert!(err.reason.contains("unit"), "{err}");
}

#[test]
fn bad_glob_points_at_the_pattern() {
    let err = broken(
        "      - kind: network.new_device",
        "      - kind: Network.New",
    );
    assert_eq!(err.line, 20, "{err}");
    assert!(
        err.reason.contains("step 2") && err.reason.contains("Network.New"),
        "{err}"
    );
}

#[test]
fn unknown_module_and_field_path_are_refused() {
    let err = broken("      kind: network.*", "      module: toaster");
    assert_eq!(err.line, 9, "{err}");
    assert!(err.reason.contains("toaster"), "{err}");

    let err = broken("    join: zone", "    join: room.zone");
    assert_eq!(err.line, 17, "{err}");
    assert!(err.reason.contains("room"), "{err}");
}

#[test]
fn settings_of_the_wrong_type_are_refused() {
    let err = broken(
        "    group_by: [source.ip]",
        "    group_by: [source.ip]\n    join: zone",
    );
    assert_eq!(err.line, 11, "{err}");

    let err = broken("    type: single", "    type: threshold");
    assert_eq!(err.line, 3, "missing count points at the rule: {err}");
    assert!(err.reason.contains("count"), "{err}");

    let err = broken(
        "    group_by: [source.ip]",
        "    group_by: [source.ip]\n    count: 1",
    );
    assert!(err.reason.contains("threshold rules"), "{err}");
}

#[test]
fn summary_and_severity_mistakes_are_refused() {
    let err = broken("\"{source.ip} scanned\"", "\"{source.ip scanned\"");
    assert_eq!(err.line, 6, "{err}");
    assert!(err.reason.contains("unclosed"), "{err}");

    let err = broken("    window: 1h", "    window: 1h\n    severity: Critical");
    assert_eq!(err.line, 8, "{err}");
    assert!(err.reason.contains("Extreme"), "{err}");
}

#[test]
fn empty_matcher_is_refused() {
    let err = broken("      kind: network.*", "      fields: {}");
    assert_eq!(err.line, 3, "{err}");
    assert!(err.reason.contains("at least one"), "{err}");
}

#[test]
fn unsupported_version_is_refused() {
    let err = broken("version: 1", "version: 2");
    assert_eq!(err.line, 1, "{err}");
}

#[test]
fn error_message_names_file_and_line() {
    let err = broken("type: single", "type: singel");
    assert!(err.to_string().starts_with("test.yaml:4:"), "{err}");
}

#[test]
fn missing_file_is_a_read_error() {
    let err = RuleSet::load("/nonexistent/safecare/rules.yaml").unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/safecare/rules.yaml"),
        "{err}"
    );
}
