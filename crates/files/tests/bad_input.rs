//! Bad input ends in a finding or a clear error: never a panic, never unbounded work.

mod support;

use safecare_files::{Analyzer, VerdictLevel};
use support::*;

fn kinds(verdict: &safecare_files::Verdict) -> Vec<&str> {
    verdict.findings.iter().map(|f| f.kind.as_str()).collect()
}

#[test]
fn every_truncation_of_a_real_sample_is_handled() {
    let analyzer = Analyzer::default();
    for name in [
        "CT_small.dcm",
        "MR_small_implicit.dcm",
        "JPEG2000.dcm",
        "nested_priv_SQ.dcm",
        "image_dfl.dcm",
    ] {
        let full = sample(name);
        let mut flagged = 0;
        let cuts: Vec<usize> = (0..full.len()).step_by(7).collect();
        for &cut in &cuts {
            let verdict = analyzer.analyze_bytes(name, &full[..cut]);
            if verdict.findings.iter().any(|f| {
                f.kind.starts_with("dicom.truncated")
                    || f.kind == "dicom.length_overrun"
                    || f.kind == "dicom.deflate_corrupt"
            }) {
                flagged += 1;
            }
        }
        // Cuts inside the dataset (past the meta header, short of the end) must be noticed.
        let inside = cuts.iter().filter(|&&c| c > 300 && c < full.len()).count();
        assert!(
            flagged * 10 >= inside * 9,
            "{name}: only {flagged} of {inside} cuts flagged"
        );
    }
}

#[test]
fn a_lying_length_is_suspicious() {
    let mut dataset = small_dataset();
    dataset.extend(long_element(
        0x0009,
        0x1000,
        b"OB",
        0x7FFF_FFF0,
        b"only a few bytes",
    ));
    let verdict = Analyzer::default().analyze_bytes("lying", &part10(&dataset));
    assert_eq!(
        verdict.verdict,
        VerdictLevel::Suspicious,
        "{}",
        verdict.to_json_line()
    );
    assert!(kinds(&verdict).contains(&"dicom.length_overrun"));
}

#[test]
fn undefined_length_on_a_text_element_is_refused() {
    let mut dataset = small_dataset();
    dataset.extend(long_element(
        0x0008,
        0x2111,
        b"UT",
        0xFFFF_FFFF,
        b"derivation text",
    ));
    let verdict = Analyzer::default().analyze_bytes("undefined", &part10(&dataset));
    assert!(
        kinds(&verdict).contains(&"dicom.undefined_length"),
        "{}",
        verdict.to_json_line()
    );
    assert_eq!(verdict.verdict, VerdictLevel::Suspicious);
}

#[test]
fn sequences_nested_thousands_deep_stop_at_the_cap() {
    // 10,000 undefined-length sequences, each in an undefined-length item.
    let mut dataset = small_dataset();
    for _ in 0..10_000 {
        dataset.extend(long_element(0x0040, 0xA730, b"SQ", 0xFFFF_FFFF, &[]));
        dataset.extend(item_tag(0xE000, 0xFFFF_FFFF));
    }
    let verdict = Analyzer::default().analyze_bytes("deep", &part10(&dataset));
    assert!(
        kinds(&verdict).contains(&"dicom.nesting_too_deep"),
        "{}",
        verdict.to_json_line()
    );
    assert_eq!(verdict.verdict, VerdictLevel::Suspicious);
}

#[test]
fn a_well_nested_sequence_is_clean() {
    let mut dataset = small_dataset();
    dataset.extend(long_element(0x0040, 0xA730, b"SQ", 0xFFFF_FFFF, &[]));
    dataset.extend(item_tag(0xE000, 0xFFFF_FFFF));
    dataset.extend(short_element(0x0040, 0xA010, b"CS", b"CONTAINS"));
    dataset.extend(item_tag(0xE00D, 0));
    dataset.extend(item_tag(0xE0DD, 0));
    let verdict = Analyzer::default().analyze_bytes("nested", &part10(&dataset));
    assert_eq!(
        verdict.verdict,
        VerdictLevel::Clean,
        "{}",
        verdict.to_json_line()
    );
    assert!(verdict.findings.is_empty(), "{}", verdict.to_json_line());
}

#[test]
fn garbage_after_dicm_and_random_bytes_do_not_panic() {
    let analyzer = Analyzer::default();
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    for len in [0usize, 1, 3, 131, 132, 133, 140, 200, 1000, 5000] {
        for _ in 0..50 {
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 132 {
                bytes[..128].fill(0);
                bytes[128..132].copy_from_slice(b"DICM");
            }
            let verdict = analyzer.analyze_bytes("random", &bytes);
            assert_eq!(verdict.size, len as u64);
        }
    }
}

#[test]
fn unreadable_paths_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.dcm"), sample("CT_small.dcm")).unwrap();
    let missing = dir.path().join("missing.dcm");
    let paths = vec![dir.path().to_path_buf(), missing.clone()];

    let mut events = Vec::new();
    let mut out = Vec::new();
    let summary = safecare_files::cli::scan(
        &paths,
        &Analyzer::default(),
        None,
        &safecare_core::EmptyDirectory,
        &mut events,
        &mut out,
    )
    .unwrap();
    assert_eq!(summary.files, 1);
    assert_eq!(summary.unreadable.len(), 1);
    assert!(summary.unreadable[0].0.contains("missing.dcm"));
    assert!(summary.to_string().contains("missing.dcm"));
}

#[cfg(unix)]
#[test]
fn symbolic_links_inside_folders_are_reported_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::os::unix::fs::symlink(dir.path(), inbox.join("loop")).unwrap();
    std::fs::write(inbox.join("a.dcm"), sample("CT_small.dcm")).unwrap();

    let mut skipped = Vec::new();
    let files = safecare_files::scan::collect_files(&[inbox], &mut skipped);
    assert_eq!(files.len(), 1);
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].1.contains("symbolic link"));
}
