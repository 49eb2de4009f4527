//! Hostile and broken input: clear errors naming file and record, the rest
//! processed, never a panic.

use std::path::Path;

use safecare_logs::intake::{self, Format, IntakeError, RecordResult, csv, evtx, json, syslog};
use safecare_logs::record::Origin;
use safecare_logs::sigma::load_rules;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/evtx/attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx"
);
/// EVTX layout: a 4 KiB file header, then 64 KiB chunks, each with a 512-byte header.
const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;

fn read_evtx(bytes: Vec<u8>) -> (usize, Vec<String>) {
    let (mut ok, mut errors) = (0, Vec::new());
    evtx::read_evtx_bytes(bytes, "damaged.evtx", &mut |r: RecordResult| match r {
        Ok(_) => ok += 1,
        Err(e) => errors.push(e.to_string()),
    })
    .unwrap();
    (ok, errors)
}

#[test]
fn corrupt_records_in_one_chunk_leave_the_other_chunks_readable() {
    let pristine = std::fs::read(SAMPLE).unwrap();
    let (clean, clean_errors) = read_evtx(pristine.clone());
    assert!(clean_errors.is_empty(), "{clean_errors:?}");

    // Overwrite the record area of the second chunk with a repeating pattern.
    let mut damaged = pristine;
    let start = FILE_HEADER + CHUNK + 512 + 300;
    for (i, byte) in damaged[start..start + 4000].iter_mut().enumerate() {
        *byte = (i * 7 % 251) as u8;
    }
    let (ok, errors) = read_evtx(damaged);

    assert!(ok > 0 && ok < clean, "read {ok} of {clean} records");
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e.starts_with("damaged.evtx record ")),
        "{errors:?}"
    );
}

#[test]
fn a_corrupt_chunk_header_is_reported_and_skipped() {
    let mut damaged = std::fs::read(SAMPLE).unwrap();
    let (clean, _) = read_evtx(damaged.clone());
    // Break the "ElfChnk" magic of the first chunk.
    damaged[FILE_HEADER..FILE_HEADER + 8].copy_from_slice(b"garbage!");

    let (ok, errors) = read_evtx(damaged);

    assert!(ok > 0 && ok < clean, "read {ok} of {clean} records");
    assert!(!errors.is_empty());
}

#[test]
fn a_truncated_file_gives_the_records_before_the_cut() {
    let mut bytes = std::fs::read(SAMPLE).unwrap();
    bytes.truncate(FILE_HEADER + 2 * CHUNK + 10_000);

    let (ok, _errors) = read_evtx(bytes);

    assert!(ok > 0);
}

#[test]
fn a_file_that_is_not_evtx_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.evtx");
    std::fs::write(&path, b"MZ\x90\x00 this is an executable, not an event log").unwrap();

    let err = intake::read_file(&path, Format::Evtx, &mut |_| {}).unwrap_err();

    assert!(matches!(err, IntakeError::Evtx { .. }));
    assert!(err.to_string().contains("fake.evtx"), "{err}");
}

#[test]
fn a_huge_syslog_line_is_skipped_with_its_line_number() {
    let mut text = b"Dec 10 06:55:46 h sshd[1]: before\n".to_vec();
    text.extend(std::iter::repeat_n(b'A', 3 * 1024 * 1024));
    text.extend_from_slice(b"\nDec 10 06:55:47 h sshd[1]: after\n");

    let mut results = Vec::new();
    syslog::read_syslog(text.as_slice(), "big.log", &mut |r| results.push(r)).unwrap();

    assert_eq!(results.len(), 3);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.origin.record, 2);
    assert!(err.reason.contains("over the"), "{}", err.reason);
    assert_eq!(results[2].as_ref().unwrap().str("message"), Some("after"));
}

/// Deterministic pseudo-random bytes (no extra dependency).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

#[test]
fn random_bytes_never_panic_any_parser() {
    let evtx_sample = std::fs::read(SAMPLE).unwrap();
    for seed in 0..64u64 {
        let junk = noise(seed, 2000 + seed as usize * 37);

        let _ = syslog::parse_syslog_line(&junk, Origin::default(), chrono::Utc::now());
        syslog::read_syslog(junk.as_slice(), "junk.log", &mut |_| {}).unwrap();
        json::read_json(junk.as_slice(), "junk.json", &mut |_| {}).unwrap();
        csv::read_csv(junk.as_slice(), "junk.csv", &mut |_| {}).unwrap();
        let _ = evtx::read_evtx_bytes(junk.clone(), "junk.evtx", &mut |_| {});

        // A real file with random bytes spliced into one chunk.
        let mut spliced = evtx_sample[..FILE_HEADER + 3 * CHUNK].to_vec();
        let at = FILE_HEADER + (seed as usize % 3) * CHUNK + 600 + seed as usize * 97;
        spliced[at..at + junk.len().min(3000)].copy_from_slice(&junk[..junk.len().min(3000)]);
        let _ = evtx::read_evtx_bytes(spliced, "spliced.evtx", &mut |_| {});
    }
}

#[test]
fn syslog_lines_with_binary_garbage_are_errors_and_the_rest_parse() {
    let mut text = b"Dec 10 06:55:46 h sshd[1]: one\n".to_vec();
    text.extend_from_slice(
        &noise(7, 300)
            .iter()
            .map(|b| if *b == b'\n' { 0 } else { *b })
            .collect::<Vec<_>>(),
    );
    text.extend_from_slice(b"\nDec 10 06:55:47 h sshd[1]: two\n");

    let mut results = Vec::new();
    syslog::read_syslog(text.as_slice(), "mixed.log", &mut |r| results.push(r)).unwrap();

    assert_eq!(results.len(), 3);
    assert!(
        results[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .starts_with("mixed.log record 2: ")
    );
    assert!(results[2].is_ok());
}

#[test]
fn invalid_rules_are_reported_with_file_and_the_rest_load() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        "title: Good\nlogsource: {product: linux}\ndetection:\n  k:\n    - 'x'\n  condition: k\n";
    std::fs::write(dir.path().join("good.yml"), good).unwrap();
    let bad_regex = "title: Regex\nlogsource: {product: linux}\n\
        detection:\n  k:\n    message|re: '(?<'\n  condition: k\n";
    std::fs::write(dir.path().join("regex.yml"), bad_regex).unwrap();
    std::fs::write(dir.path().join("binary.yml"), noise(3, 500)).unwrap();
    std::fs::write(
        dir.path().join("condition.yml"),
        good.replace("condition: k", "condition: k and ("),
    )
    .unwrap();

    let set = load_rules(&[dir.path().to_path_buf()], &[]);

    assert_eq!(set.rules.len(), 1, "{:?}", set.errors);
    let files: Vec<String> = set
        .errors
        .iter()
        .map(|e| e.file.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    for broken in ["binary.yml", "condition.yml", "regex.yml"] {
        assert!(
            files.iter().any(|f| f == broken),
            "{broken} not reported: {:?}",
            set.errors
        );
    }
    assert!(Path::new(&set.errors[0].file).is_absolute());
}
