//! Regression snapshot: per-file detection counts over the EVTX attack samples.
//!
//! Every file under `evtx/attack-samples` is scanned with the full SigmaHQ
//! rule set and the default device analytics, and the counts are compared
//! with `tests/snapshots/attack_samples.tsv`. A change in the engine, the
//! field mapping or the rules shows up as a diff to review; after reviewing
//! it, regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p safecare-logs --test attack_samples`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use safecare_logs::Hit;
use safecare_logs::analytics::DeviceProfiles;
use safecare_logs::intake::Format;
use safecare_logs::scan::Scanner;
use safecare_logs::sigma::load_rules;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");
const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/attack_samples.tsv"
);

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            evtx_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        {
            out.push(path);
        }
    }
}

#[test]
fn attack_sample_detection_counts_match_the_snapshot() {
    let root = Path::new(DATA).join("evtx/attack-samples");
    let mut files = Vec::new();
    evtx_files(&root, &mut files);
    files.sort();
    let rules = load_rules(&[Path::new(DATA).join("sigma/rules")], &[]);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let mut scanner = Scanner::new(rules, DeviceProfiles::default());

    let mut table = String::from("# file\trecords\tunreadable\tsigma\tanalytics\n");
    let (mut total_sigma, mut detected_files) = (0u64, 0);
    for file in &files {
        let (mut sigma, mut analytics) = (0u64, 0u64);
        scanner
            .scan_file(file, Some(Format::Evtx), &mut |hit, _| match hit {
                Hit::Sigma(_) => sigma += 1,
                Hit::Analytic(_) => analytics += 1,
            })
            .unwrap();
        let summary = scanner.take_summary();
        let name = file.strip_prefix(&root).unwrap().display();
        writeln!(
            table,
            "{name}\t{}\t{}\t{sigma}\t{analytics}",
            summary.records, summary.record_errors
        )
        .unwrap();
        total_sigma += sigma;
        detected_files += usize::from(sigma > 0);
    }
    println!(
        "{detected_files}/{} attack samples raise a Sigma detection ({total_sigma} in all)",
        files.len()
    );

    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &table).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(SNAPSHOT).expect("snapshot missing: run with UPDATE_SNAPSHOTS=1");
    let diff: Vec<String> = expected
        .lines()
        .zip(table.lines())
        .filter(|(want, got)| want != got)
        .map(|(want, got)| format!("- {want}\n+ {got}"))
        .collect();
    assert!(
        diff.is_empty() && expected.lines().count() == table.lines().count(),
        "attack sample counts changed:\n{}",
        diff.join("\n")
    );
}
