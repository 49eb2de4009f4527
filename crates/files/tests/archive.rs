//! ZIP recursion under limits: bombs end in a finding, nested threats are found.

mod support;

use std::io::Write;

use safecare_files::archive::ArchiveLimits;
use safecare_files::hash::{self, Blocklist};
use safecare_files::{AnalysisConfig, Analyzer, VerdictLevel};
use support::*;
use zip::write::SimpleFileOptions;

/// A ZIP of the given members, deflated.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_ends_in_a_finding() {
    // 64 MiB of zeros deflates to about 64 KiB: a ratio near 1000.
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = zip_of(&[("zeros.bin", &zeros)]);
    assert!(bomb.len() < 1024 * 1024);

    let verdict = Analyzer::default().analyze_bytes("bomb.zip", &bomb);
    assert_eq!(verdict.file_type, "zip");
    assert_eq!(
        verdict.verdict,
        VerdictLevel::Malicious,
        "{}",
        verdict.to_json_line()
    );
    assert!(
        verdict.has("archive.ratio_exceeded"),
        "{}",
        verdict.to_json_line()
    );
}

#[test]
fn the_total_size_limit_holds_across_members() {
    let sample = sample("CT_small.dcm");
    let members: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| (format!("ct{i}.dcm"), sample.clone()))
        .collect();
    let refs: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let archive = zip_of(&refs);

    let config = AnalysisConfig {
        archive: ArchiveLimits {
            max_total: 3 * sample.len() as u64,
            ..ArchiveLimits::default()
        },
        ..AnalysisConfig::default()
    };
    let verdict = Analyzer::new(config).analyze_bytes("many.zip", &archive);
    assert!(
        verdict.has("archive.total_exceeded"),
        "{}",
        verdict.to_json_line()
    );

    let relaxed = Analyzer::default().analyze_bytes("many.zip", &archive);
    assert_eq!(
        relaxed.verdict,
        VerdictLevel::Clean,
        "{}",
        relaxed.to_json_line()
    );
}

#[test]
fn archives_nested_past_the_depth_limit_end_in_a_finding() {
    let mut nested = zip_of(&[("inner.txt", b"hello")]);
    for level in 0..6 {
        nested = zip_of(&[(&format!("level{level}.zip"), &nested)]);
    }
    let verdict = Analyzer::default().analyze_bytes("nested.zip", &nested);
    assert!(
        verdict.has("archive.too_deep"),
        "{}",
        verdict.to_json_line()
    );
    assert_eq!(verdict.verdict, VerdictLevel::Malicious);
}

#[test]
fn a_polyglot_inside_a_zip_is_found_and_named() {
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let archive = zip_of(&[("readme.txt", b"scan results"), ("study/ct.dcm", &polyglot)]);
    let verdict = Analyzer::default().analyze_bytes("study.zip", &archive);
    assert_eq!(verdict.verdict, VerdictLevel::Malicious);
    let finding = verdict
        .findings
        .iter()
        .find(|f| f.kind == "dicom.preamble_code")
        .unwrap();
    assert!(
        finding.detail.starts_with("in study/ct.dcm:"),
        "{}",
        finding.detail
    );
}

#[test]
fn blocklisted_hashes_are_malicious_in_files_and_members() {
    let payload = b"pretend this is a known ransomware dropper";
    let list =
        Blocklist::parse(&format!("# test list\n{}\n", hash::hashes(payload).sha256)).unwrap();
    let analyzer = Analyzer::new(AnalysisConfig {
        blocklist: list,
        ..AnalysisConfig::default()
    });

    let direct = analyzer.analyze_bytes("dropper", payload);
    assert!(direct.has("hash.blocklisted"));
    assert_eq!(direct.verdict, VerdictLevel::Malicious);

    let zipped = analyzer.analyze_bytes("dropper.zip", &zip_of(&[("d.bin", payload)]));
    assert!(zipped.has("hash.blocklisted"), "{}", zipped.to_json_line());

    let other = analyzer.analyze_bytes("other", b"something else");
    assert_eq!(other.verdict, VerdictLevel::Clean);
}

#[test]
fn encrypted_looking_unknown_data_is_suspicious() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let random: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect();
    let verdict = Analyzer::default().analyze_bytes("locked.bin", &random);
    assert!(
        verdict.has("entropy.encrypted_like"),
        "{}",
        verdict.to_json_line()
    );
    assert!(verdict.entropy[0].bits_per_byte > 7.9);
}
