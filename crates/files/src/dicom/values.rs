//! Checks on element values: code where data belongs, active documents, patient identifiers.

use std::collections::BTreeSet;

use super::walk::{Header, Visitor};
use crate::magic;
use crate::verdict::{Finding, Severity};

/// Elements that identify a patient: (tag, keyword). Only the keyword is ever reported.
const PATIENT_IDENTIFIERS: [((u16, u16), &str); 9] = [
    ((0x0008, 0x0090), "ReferringPhysicianName"),
    ((0x0010, 0x0010), "PatientName"),
    ((0x0010, 0x0020), "PatientID"),
    ((0x0010, 0x0030), "PatientBirthDate"),
    ((0x0010, 0x1000), "OtherPatientIDs"),
    ((0x0010, 0x1001), "OtherPatientNames"),
    ((0x0010, 0x1040), "PatientAddress"),
    ((0x0010, 0x1060), "PatientMotherBirthName"),
    ((0x0010, 0x2154), "PatientTelephoneNumbers"),
];

const ENCAPSULATED_DOCUMENT: (u16, u16) = (0x0042, 0x0011);

/// Binary values shorter than this are not searched for embedded code.
const MIN_CODE_VALUE: usize = 64;

/// PDF names that run code when the document opens: malicious in a medical record.
const PDF_CODE: [&[u8]; 3] = [b"/JavaScript", b"/JS", b"/Launch"];
/// PDF names that act on opening or carry files: suspicious.
const PDF_ACTIVE: [&[u8]; 2] = [b"/OpenAction", b"/EmbeddedFile"];
/// Markers of script in an XML (CDA) document, matched case-insensitively.
const XML_CODE: [&[u8]; 2] = [b"<script", b"javascript:"];

/// Collects findings from every leaf value the walker hands over.
#[derive(Debug, Default)]
pub struct ValueChecks {
    /// Offset of the walked buffer in the file, added to reported offsets.
    pub base: u64,
    pub findings: Vec<Finding>,
    /// Keywords of patient-identifying elements with a non-blank value.
    pub identifiers: BTreeSet<&'static str>,
}

impl Visitor for ValueChecks {
    fn value(&mut self, header: &Header, value: &[u8], _depth: usize) {
        let offset = self.base + header.value_start as u64;

        let identifier = PATIENT_IDENTIFIERS
            .iter()
            .find(|(tag, _)| *tag == header.tag);
        if let Some((_, name)) = identifier
            && value.iter().any(|&b| b != b' ' && b != 0)
        {
            self.identifiers.insert(name);
        }
        if header.tag == ENCAPSULATED_DOCUMENT {
            self.findings.extend(check_document(value, offset));
            return;
        }
        let code = (is_binary(header) && value.len() >= MIN_CODE_VALUE)
            .then(|| embedded_code(value))
            .flatten();
        if let Some(kind) = code {
            let (group, element) = header.tag;
            self.findings.push(Finding::at(
                "dicom.embedded_code",
                Severity::High,
                offset,
                format!(
                    "element ({group:04X},{element:04X}) holds {} code",
                    kind.name()
                ),
            ));
        }
    }
}

/// Values that may hold arbitrary bytes: OB, OW, UN, implicit values and fragments.
fn is_binary(header: &Header) -> bool {
    match header.vr {
        None => true,
        Some(vr) => matches!(&vr, b"OB" | b"OW" | b"UN"),
    }
}

/// Executable or script code at the start of a binary value, judged strictly.
fn embedded_code(value: &[u8]) -> Option<magic::FileType> {
    if magic::is_strict_pe(value) {
        return Some(magic::FileType::Pe);
    }
    let kind = magic::code_or_archive(value)?;
    match kind {
        magic::FileType::Elf | magic::FileType::MachO => Some(kind),
        magic::FileType::Script if value.get(2) == Some(&b'/') => Some(kind),
        _ => None,
    }
}

/// Checks an encapsulated document (PDF or CDA) for code.
pub fn check_document(value: &[u8], offset: u64) -> Vec<Finding> {
    let mut findings = Vec::new();
    let kind = magic::detect(value);

    if kind.is_code() {
        findings.push(Finding::at(
            "dicom.document_code",
            Severity::High,
            offset,
            format!(
                "the encapsulated document is {} code, not a document",
                kind.name()
            ),
        ));
    }
    for token in PDF_CODE.iter().filter(|t| contains(value, t)) {
        findings.push(Finding::at(
            "dicom.document_script",
            Severity::High,
            offset,
            format!(
                "the encapsulated document uses {}",
                String::from_utf8_lossy(token)
            ),
        ));
    }
    for token in PDF_ACTIVE.iter().filter(|t| contains(value, t)) {
        findings.push(Finding::at(
            "dicom.document_active",
            Severity::Medium,
            offset,
            format!(
                "the encapsulated document uses {}",
                String::from_utf8_lossy(token)
            ),
        ));
    }
    for token in XML_CODE.iter().filter(|t| contains_ignore_case(value, t)) {
        findings.push(Finding::at(
            "dicom.document_script",
            Severity::High,
            offset,
            format!(
                "the encapsulated document contains {}",
                String::from_utf8_lossy(token)
            ),
        ));
    }
    findings
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_javascript_and_cda_script_are_code() {
        let pdf = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>";
        let findings = check_document(pdf, 10);
        assert!(
            findings
                .iter()
                .any(|f| f.kind == "dicom.document_script" && f.severity == Severity::High)
        );
        assert!(findings.iter().any(|f| f.kind == "dicom.document_active"));

        let cda =
            b"<?xml version=\"1.0\"?><ClinicalDocument><SCRIPT>x()</SCRIPT></ClinicalDocument>";
        assert!(
            check_document(cda, 0)
                .iter()
                .any(|f| f.kind == "dicom.document_script")
        );

        let plain = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>";
        assert!(check_document(plain, 0).is_empty());
    }
}
