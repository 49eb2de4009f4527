//! `files scan` end to end: verdict lines, events for bad files, quarantine.

mod support;

use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_files::Analyzer;
use safecare_files::cli::{FilesCommand, scan};
use support::*;

#[test]
fn scan_writes_one_verdict_line_per_file_and_events_for_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("sub")).unwrap();
    std::fs::write(inbox.join("clean.dcm"), sample("CT_small.dcm")).unwrap();
    std::fs::write(
        inbox.join("sub/image.dcm"),
        with_preamble(sample("CT_small.dcm"), &pe_header()),
    )
    .unwrap();
    let quarantine = dir.path().join("quarantine");

    let mut events: Vec<SecurityEvent> = Vec::new();
    let mut out = Vec::new();
    let summary = scan(
        &[inbox],
        &Analyzer::default(),
        Some(&quarantine),
        &EmptyDirectory,
        &mut events,
        &mut out,
    )
    .unwrap();

    // One JSON verdict per file.
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let bad = lines
        .iter()
        .find(|v| v["path"].as_str().unwrap().ends_with("image.dcm"))
        .unwrap();
    assert_eq!(bad["verdict"], "malicious");
    assert_eq!(bad["type"], "dicom");
    assert_eq!(bad["hashes"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(summary.malicious, 1);
    assert_eq!(summary.clean, 1);

    // Events: the polyglot and its quarantine, valid against the data model.
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"file.dicom.polyglot"), "{kinds:?}");
    assert!(kinds.contains(&"file.quarantined"), "{kinds:?}");
    for event in &events {
        event.validate().unwrap();
        SecurityEvent::from_json(&serde_json::to_vec(event).unwrap()).unwrap();
    }

    // Quarantine: the copy, not executable, with its verdict beside it.
    let sha = bad["hashes"]["sha256"].as_str().unwrap();
    let copy = quarantine.join(format!("{sha}.bin"));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        with_preamble(sample("CT_small.dcm"), &pe_header())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&copy).unwrap().permissions().mode() & 0o111,
            0
        );
    }
    let beside: serde_json::Value = serde_json::from_slice(
        &std::fs::read(quarantine.join(format!("{sha}.verdict.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(beside["verdict"], "malicious");
    assert_eq!(
        std::fs::read_dir(&quarantine).unwrap().count(),
        2,
        "clean files stay out"
    );
}

#[test]
fn the_subcommand_parses_with_clap() {
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        files: FilesCommand,
    }
    let cli = Cli::try_parse_from([
        "files",
        "scan",
        "a.dcm",
        "dir",
        "--blocklist",
        "bad.txt",
        "--max-ratio",
        "50",
    ])
    .unwrap();
    let FilesCommand::Scan {
        paths, detection, ..
    } = cli.files
    else {
        panic!("not a scan: {:?}", cli.files);
    };
    assert_eq!(paths.len(), 2);
    assert_eq!(detection.blocklist.unwrap().to_str(), Some("bad.txt"));
    assert_eq!(detection.max_ratio, 50);
}
