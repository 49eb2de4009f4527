//! Fuzzes the file analysis on arbitrary bytes: DICOM walker, meta checks, ZIP limits.
//!
//! Inputs with 'DICM' at offset 128 go through the Part 10 path; the rest are
//! sniffed, so bare datasets and ZIPs are reached as well.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_files::Analyzer;
use safecare_files::dicom::{self, DicomOptions};

fuzz_target!(|data: &[u8]| {
    let verdict = Analyzer::default().analyze_bytes("fuzz", data);
    assert_eq!(verdict.size, data.len() as u64);

    // The walker also runs on the input as a Part 10 file, whatever its first bytes.
    let mut part10 = vec![0u8; 128];
    part10.extend_from_slice(b"DICM");
    part10.extend_from_slice(data);
    let _ = dicom::inspect(&part10, &DicomOptions::default());
});
