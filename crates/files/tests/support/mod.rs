//! Builders for test files: real samples turned malicious, synthetic Part 10
//! files, and archives to put them in.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

/// A real pydicom sample, read from shared/data.
pub fn sample(name: &str) -> Vec<u8> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/dicom/pydicom"
    );
    std::fs::read(PathBuf::from(dir).join(name)).expect("the pydicom samples are in shared/data")
}

/// `dicom` with `header` written over the start of its 128-byte preamble.
pub fn with_preamble(mut dicom: Vec<u8>, header: &[u8]) -> Vec<u8> {
    assert_eq!(&dicom[128..132], b"DICM", "not a Part 10 file");
    dicom[..header.len()].copy_from_slice(header);
    dicom
}

/// The first bytes of a PE file: 'MZ', DOS stub fields, e_lfanew.
pub fn pe_header() -> Vec<u8> {
    let mut pe = vec![0u8; 128];
    pe[..2].copy_from_slice(b"MZ");
    pe[2..4].copy_from_slice(&[0x90, 0x00]);
    pe[0x3c] = 0x80;
    pe
}

/// The first bytes of a 64-bit little endian ELF executable.
pub fn elf_header() -> Vec<u8> {
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // 64-bit
    elf[5] = 1; // little endian
    elf[6] = 1; // version
    elf[16] = 2; // ET_EXEC
    elf
}

/// A local file header of a ZIP, as polyglot tools put in the preamble.
pub fn zip_header() -> Vec<u8> {
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    zip.resize(30, 0);
    zip
}

/// One explicit VR little endian element with a 16-bit length.
pub fn short_element(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// One explicit VR little endian element with a 32-bit length (OB, SQ, UT ...).
pub fn long_element(group: u16, element: u16, vr: &[u8; 2], length: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// An item or delimiter tag (FFFE,xxxx) with its length.
pub fn item_tag(element: u16, length: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xFFFEu16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out
}

/// A Part 10 file: zero preamble, 'DICM', a meta group naming explicit VR little endian, then `dataset`.
pub fn part10(dataset: &[u8]) -> Vec<u8> {
    let uid = b"1.2.840.10008.1.2.1\0";
    let syntax = short_element(0x0002, 0x0010, b"UI", uid);
    let length = short_element(0x0002, 0x0000, b"UL", &(syntax.len() as u32).to_le_bytes());

    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&length);
    out.extend_from_slice(&syntax);
    out.extend_from_slice(dataset);
    out
}

/// A small valid dataset: SOP class and a modality.
pub fn small_dataset() -> Vec<u8> {
    let mut out = short_element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0");
    out.extend(short_element(0x0008, 0x0060, b"CS", b"OT"));
    out
}

/// A ZIP of the given members, deflated.
pub fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// `bytes` gzipped, with `name` in the header when given.
pub fn gzip_of(name: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(name) = name {
        builder = builder.filename(name);
    }
    let mut encoder = builder.write(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A tar of the given members, as regular files.
pub fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}

/// The verdict's first finding of `kind`; fails the test when there is none.
pub fn finding_of<'v>(
    verdict: &'v safecare_files::Verdict,
    kind: &str,
) -> &'v safecare_files::Finding {
    verdict
        .findings
        .iter()
        .find(|f| f.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} finding: {}", verdict.to_json_line()))
}

/// A xorshift64 generator from `seed`: the same bytes on every run.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Asserts that the verdict has a finding of `kind`, showing the verdict if not.
pub fn assert_has(verdict: &safecare_files::Verdict, kind: &str) {
    assert!(verdict.has(kind), "{}", verdict.to_json_line());
}

/// Asserts that the verdict is malicious for a finding of `kind` in the
/// archive member at `path`.
pub fn assert_malicious_member(verdict: &safecare_files::Verdict, kind: &str, path: &str) {
    assert_eq!(
        verdict.verdict,
        safecare_files::VerdictLevel::Malicious,
        "{}",
        verdict.to_json_line()
    );
    let finding = finding_of(verdict, kind);
    assert!(
        finding.detail.starts_with(&format!("in {path}:")),
        "{}",
        finding.detail
    );
}
