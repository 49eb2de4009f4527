//! ZIP, gzip and tar recursion under limits: bombs end in a finding, nested threats are
//! found.

mod support;

use safecare_files::archive::ArchiveLimits;
use safecare_files::hash::{self, Blocklist};
use safecare_files::{AnalysisConfig, Analyzer, VerdictLevel};
use support::*;

/// An analyzer that knows `payload`'s SHA-256 as bad.
fn blocking(payload: &[u8]) -> Analyzer {
    let list =
        Blocklist::parse(&format!("# test list\n{}\n", hash::hashes(payload).sha256)).unwrap();
    Analyzer::new(AnalysisConfig {
        blocklist: list,
        ..AnalysisConfig::default()
    })
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
    assert_has(&verdict, "archive.ratio_exceeded");
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
    assert_has(&verdict, "archive.total_exceeded");

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
    assert_has(&verdict, "archive.too_deep");
    assert_eq!(verdict.verdict, VerdictLevel::Malicious);
}

#[test]
fn a_polyglot_inside_a_zip_is_found_and_named() {
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let archive = zip_of(&[("readme.txt", b"scan results"), ("study/ct.dcm", &polyglot)]);
    let verdict = Analyzer::default().analyze_bytes("study.zip", &archive);
    assert_malicious_member(&verdict, "dicom.preamble_code", "study/ct.dcm");
}

#[test]
fn blocklisted_hashes_are_malicious_in_files_and_members() {
    let payload = b"pretend this is a known ransomware dropper";
    let analyzer = blocking(payload);

    let direct = analyzer.analyze_bytes("dropper", payload);
    assert_has(&direct, "hash.blocklisted");
    assert_eq!(direct.verdict, VerdictLevel::Malicious);

    let zipped = analyzer.analyze_bytes("dropper.zip", &zip_of(&[("d.bin", payload)]));
    assert_has(&zipped, "hash.blocklisted");

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
    assert_has(&verdict, "entropy.encrypted_like");
    assert!(verdict.entropy[0].bits_per_byte > 7.9);
}

#[test]
fn a_polyglot_inside_a_gzip_is_found_under_the_name_in_its_header() {
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let verdict =
        Analyzer::default().analyze_bytes("ct.dcm.gz", &gzip_of(Some("ct.dcm"), &polyglot));
    assert_eq!(verdict.file_type, "gzip");
    assert_malicious_member(&verdict, "dicom.preamble_code", "ct.dcm");

    // Without a name in the header the content is still inspected.
    let unnamed = Analyzer::default().analyze_bytes("blob.gz", &gzip_of(None, &polyglot));
    assert_has(&unnamed, "dicom.preamble_code");

    let clean =
        Analyzer::default().analyze_bytes("ct.dcm.gz", &gzip_of(None, &sample("CT_small.dcm")));
    assert_eq!(
        clean.verdict,
        VerdictLevel::Clean,
        "{}",
        clean.to_json_line()
    );
}

#[test]
fn a_gzip_bomb_ends_in_a_finding_and_a_zip_in_a_gzip_is_opened() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = Analyzer::default().analyze_bytes("zeros.gz", &gzip_of(None, &zeros));
    assert_has(&bomb, "archive.ratio_exceeded");
    assert_eq!(bomb.verdict, VerdictLevel::Malicious);

    let inner_bomb = zip_of(&[("zeros.bin", &zeros)]);
    let wrapped = Analyzer::default().analyze_bytes("bomb.zip.gz", &gzip_of(None, &inner_bomb));
    assert_has(&wrapped, "archive.ratio_exceeded");
    let finding = finding_of(&wrapped, "archive.ratio_exceeded");
    assert!(finding.detail.contains("zeros.bin"), "{}", finding.detail);
}

#[test]
fn a_gzip_that_breaks_off_is_inspected_as_far_as_it_goes() {
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let whole = gzip_of(Some("ct.dcm"), &polyglot);
    let truncated = &whole[..whole.len() / 2];

    let verdict = Analyzer::default().analyze_bytes("ct.dcm.gz", truncated);
    assert_has(&verdict, "archive.member_unreadable");
    assert_has(&verdict, "dicom.preamble_code");
}

#[test]
fn a_blocklisted_payload_is_found_inside_a_gzip() {
    let payload = b"pretend this is a known ransomware dropper, gzipped";
    let analyzer = blocking(payload);

    let verdict = analyzer.analyze_bytes("d.bin.gz", &gzip_of(Some("d.bin"), payload));
    assert_has(&verdict, "hash.blocklisted");
    assert_eq!(verdict.verdict, VerdictLevel::Malicious);
}

#[test]
fn a_polyglot_inside_a_tar_gz_is_found_and_named() {
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let tar = tar_of(&[("notes.txt", b"study export"), ("study/ct.dcm", &polyglot)]);
    let plain = Analyzer::default().analyze_bytes("study.tar", &tar);
    assert_eq!(plain.file_type, "tar");
    assert!(
        finding_of(&plain, "dicom.preamble_code")
            .detail
            .starts_with("in study/ct.dcm:"),
        "{}",
        plain.to_json_line()
    );

    let gzipped = gzip_of(Some("study.tar"), &tar);
    let verdict = Analyzer::default().analyze_bytes("study.tar.gz", &gzipped);
    assert_malicious_member(&verdict, "dicom.preamble_code", "study.tar/study/ct.dcm");

    let clean = tar_of(&[("ct.dcm", &sample("CT_small.dcm"))]);
    let verdict = Analyzer::default().analyze_bytes("clean.tar", &clean);
    assert_eq!(
        verdict.verdict,
        VerdictLevel::Clean,
        "{}",
        verdict.to_json_line()
    );
}

#[test]
fn a_damaged_tar_keeps_the_members_before_the_damage() {
    let payload = b"pretend this is a known dropper, in a tar";
    let analyzer = blocking(payload);
    let mut tar = tar_of(&[("d.bin", payload), ("second.bin", &[7u8; 600])]);

    // The second member's header is overwritten: its checksum no longer holds.
    tar[512 + 512..512 + 512 + 100].fill(b'x');
    let verdict = analyzer.analyze_bytes("damaged.tar", &tar);
    assert_has(&verdict, "hash.blocklisted");
    assert_has(&verdict, "archive.unreadable");
}

/// Bit flips and cuts anywhere in a tar.gz and in a tar: each is answered with a
/// verdict (and findings where it breaks), never a panic.
#[test]
fn damaged_gzip_and_tar_archives_never_panic() {
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let tar = tar_of(&[("a.txt", b"first"), ("study/ct.dcm", &polyglot)]);
    let originals = [gzip_of(Some("study.tar"), &tar), tar];
    let analyzer = Analyzer::default();

    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    for original in &originals {
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] ^= 1 << (next() % 8);
            }
            let cut = bytes.len() - (next() % 64) as usize;
            let verdict = analyzer.analyze_bytes("damaged", &bytes[..cut]);
            assert_eq!(verdict.size, cut as u64);
        }
    }
}
