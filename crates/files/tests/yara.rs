//! YARA through yara-x (only with `--features yara`): built-in rules, shared rule set, refusals.

#![cfg(feature = "yara")]

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use safecare_files::{AnalysisConfig, Analyzer, VerdictLevel, yara};
use support::*;

/// A ransom note as the built-in rules know them.
const RANSOM_NOTE: &[u8] = b"YOUR FILES HAVE BEEN ENCRYPTED!\n\
    Pay 2 bitcoin to get the decryption key.\nContact: xyz.onion\n";

fn shared_rules() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/yara"
    ))
}

fn builtin_analyzer() -> Analyzer {
    let (rules, refused) = yara::load(&[]);
    assert!(refused.is_empty(), "built-in rules refused: {refused:?}");
    Analyzer::new(AnalysisConfig {
        yara: Some(Arc::new(rules)),
        ..AnalysisConfig::default()
    })
}

#[test]
fn builtin_rules_catch_a_preamble_polyglot_and_a_ransom_note() {
    let analyzer = builtin_analyzer();

    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let verdict = analyzer.analyze_bytes("polyglot.dcm", &polyglot);
    let hit = verdict
        .findings
        .iter()
        .find(|f| f.kind == "yara.match")
        .expect("a YARA match");
    assert!(
        hit.detail.contains("SafeCare_DICOM_Preamble_Executable"),
        "{}",
        hit.detail
    );

    let note = RANSOM_NOTE;
    let verdict = analyzer.analyze_bytes("README_RESTORE.txt", note);
    assert_has(&verdict, "yara.ransom_note");
    assert_eq!(verdict.verdict, VerdictLevel::Malicious);
}

#[test]
fn builtin_rules_leave_the_pydicom_samples_clean() {
    let analyzer = builtin_analyzer();
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/dicom/pydicom"
    );
    for entry in std::fs::read_dir(dir).unwrap() {
        let verdict = analyzer.analyze_path(&entry.unwrap().path()).unwrap();
        assert_eq!(
            verdict.verdict,
            VerdictLevel::Clean,
            "{}",
            verdict.to_json_line()
        );
    }
}

#[test]
fn the_shared_rule_set_loads_and_refusals_name_file_and_reason() {
    let (rules, refused) = yara::load(&[shared_rules()]);
    println!(
        "loaded {} rule files, refused {}",
        rules.files_loaded,
        refused.len()
    );
    for r in &refused {
        println!("refused {}: {}", r.file, r.reason);
    }
    assert!(
        rules.files_loaded > 100,
        "only {} rule files loaded",
        rules.files_loaded
    );
    for r in &refused {
        assert!(
            r.file.ends_with(".yar") || r.file.ends_with(".yara"),
            "{}",
            r.file
        );
        assert!(!r.reason.is_empty());
    }
    // The compiled set scans without failing.
    let analyzer = Analyzer::new(AnalysisConfig {
        yara: Some(Arc::new(rules)),
        ..AnalysisConfig::default()
    });
    let verdict = analyzer.analyze_bytes("ct.dcm", &sample("CT_small.dcm"));
    assert!(
        !verdict.has("yara.scan_failed"),
        "{}",
        verdict.to_json_line()
    );
}

#[test]
fn rules_run_over_the_members_of_a_zip_and_the_content_of_a_gzip() {
    let analyzer = builtin_analyzer();
    let note = RANSOM_NOTE;

    let zipped = zip_of(&[("notes/README_RESTORE.txt", note)]);
    let verdict = analyzer.analyze_bytes("restore.zip", &zipped);
    assert_malicious_member(&verdict, "yara.ransom_note", "notes/README_RESTORE.txt");

    // A gzip of that ZIP: the rules reach two levels down.
    let wrapped = analyzer.analyze_bytes("restore.zip.gz", &gzip_of(Some("restore.zip"), &zipped));
    let hit = finding_of(&wrapped, "yara.ransom_note");
    assert!(
        hit.detail
            .starts_with("in restore.zip/notes/README_RESTORE.txt:"),
        "{}",
        hit.detail
    );
}
