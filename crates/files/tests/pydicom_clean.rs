//! Every real DICOM sample from pydicom must come out clean: no false positives.

use std::path::PathBuf;

use safecare_files::{Analyzer, VerdictLevel};

fn samples() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/dicom/pydicom"
    ))
}

#[test]
fn every_pydicom_sample_is_clean() {
    let analyzer = Analyzer::default();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(samples())
        .expect("the pydicom samples are in shared/data")
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 100,
        "expected the ~104 pydicom samples, found {}",
        paths.len()
    );

    let mut dirty = Vec::new();
    for path in &paths {
        let verdict = analyzer.analyze_path(path).unwrap();
        println!("{}", verdict.to_json_line());
        if verdict.verdict != VerdictLevel::Clean {
            dirty.push(verdict.to_json_line());
        }
    }
    assert!(dirty.is_empty(), "false positives:\n{}", dirty.join("\n"));
}

#[test]
fn pydicom_samples_are_typed_as_dicom_from_content() {
    let analyzer = Analyzer::default();
    let verdict = analyzer
        .analyze_path(&samples().join("CT_small.dcm"))
        .unwrap();
    assert_eq!(verdict.file_type, "dicom");
    let bare = analyzer
        .analyze_path(&samples().join("rtstruct.dcm"))
        .unwrap();
    assert_eq!(bare.file_type, "dicom_dataset");
    assert!(bare.has("dicom.no_meta_header"));
}
