//! File types from content: magic bytes, never the extension.

use serde::Serialize;

/// What a file (or a region of one) is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// DICOM Part 10: 'DICM' after a 128-byte preamble.
    Dicom,
    /// A bare DICOM dataset without preamble or meta header.
    DicomDataset,
    Pe,
    Elf,
    MachO,
    Script,
    Zip,
    Rar,
    SevenZip,
    Gzip,
    /// A POSIX or GNU tar archive (`ustar` at offset 257).
    Tar,
    Pdf,
    Xml,
    Png,
    Jpeg,
    Tiff,
    Text,
    Empty,
    Unknown,
}

impl FileType {
    /// Executables and scripts: code that runs when the bytes are opened the wrong way.
    pub fn is_code(self) -> bool {
        matches!(
            self,
            FileType::Pe | FileType::Elf | FileType::MachO | FileType::Script
        )
    }

    /// Containers that can carry other files.
    pub fn is_archive(self) -> bool {
        matches!(
            self,
            FileType::Zip | FileType::Rar | FileType::SevenZip | FileType::Gzip | FileType::Tar
        )
    }

    /// The snake_case name used in verdict documents.
    pub fn name(self) -> &'static str {
        match self {
            FileType::Dicom => "dicom",
            FileType::DicomDataset => "dicom_dataset",
            FileType::Pe => "pe",
            FileType::Elf => "elf",
            FileType::MachO => "mach_o",
            FileType::Script => "script",
            FileType::Zip => "zip",
            FileType::Rar => "rar",
            FileType::SevenZip => "seven_zip",
            FileType::Gzip => "gzip",
            FileType::Tar => "tar",
            FileType::Pdf => "pdf",
            FileType::Xml => "xml",
            FileType::Png => "png",
            FileType::Jpeg => "jpeg",
            FileType::Tiff => "tiff",
            FileType::Text => "text",
            FileType::Empty => "empty",
            FileType::Unknown => "unknown",
        }
    }
}

const MACH_O: [[u8; 4]; 5] = [
    [0xfe, 0xed, 0xfa, 0xce],
    [0xfe, 0xed, 0xfa, 0xcf],
    [0xce, 0xfa, 0xed, 0xfe],
    [0xcf, 0xfa, 0xed, 0xfe],
    [0xca, 0xfe, 0xba, 0xbe],
];

/// Recognises executables, scripts and archives at the start of `bytes`.
///
/// Used on regions where code has no business (a DICOM preamble, data after a
/// dataset), so a two-byte 'MZ' is enough there.
pub fn code_or_archive(bytes: &[u8]) -> Option<FileType> {
    let kind = sniff_signature(bytes)?;
    (kind.is_code() || kind.is_archive() || kind == FileType::Pdf).then_some(kind)
}

/// Recognises a PE file strictly: 'MZ' and a valid `e_lfanew` pointing at 'PE\0\0'.
///
/// Used inside large binary values where a bare 'MZ' occurs by chance.
pub fn is_strict_pe(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"MZ") {
        return false;
    }
    let Some(raw) = bytes.get(0x3c..0x40) else {
        return false;
    };
    let lfanew = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
    bytes
        .get(lfanew..lfanew.saturating_add(4))
        .is_some_and(|sig| sig == b"PE\0\0")
}

/// The type of a whole file from its content.
pub fn detect(bytes: &[u8]) -> FileType {
    if bytes.is_empty() {
        return FileType::Empty;
    }
    if bytes.get(128..132) == Some(b"DICM") {
        return FileType::Dicom;
    }
    if let Some(kind) = sniff_signature(bytes) {
        return kind;
    }
    // A tar starts with its first member's name; its signature is further in.
    if bytes.get(257..262) == Some(b"ustar") {
        return FileType::Tar;
    }
    if crate::dicom::sniff_bare_dataset(bytes).is_some() {
        return FileType::DicomDataset;
    }
    if looks_like_text(bytes) {
        return FileType::Text;
    }
    FileType::Unknown
}

/// Matches fixed signatures at offset 0.
fn sniff_signature(bytes: &[u8]) -> Option<FileType> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);

    if starts(b"MZ") {
        return Some(FileType::Pe);
    }
    if starts(b"\x7fELF") {
        return Some(FileType::Elf);
    }
    if MACH_O.iter().any(|sig| starts(sig)) {
        return Some(FileType::MachO);
    }
    if starts(b"#!") {
        return Some(FileType::Script);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Some(FileType::Zip);
    }
    if starts(b"Rar!\x1a\x07") {
        return Some(FileType::Rar);
    }
    if starts(b"7z\xbc\xaf\x27\x1c") {
        return Some(FileType::SevenZip);
    }
    if starts(b"\x1f\x8b") {
        return Some(FileType::Gzip);
    }
    if starts(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    if starts(b"<?xml") {
        return Some(FileType::Xml);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some(FileType::Png);
    }
    if starts(b"\xff\xd8\xff") {
        return Some(FileType::Jpeg);
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some(FileType::Tiff);
    }
    None
}

/// Printable ASCII or UTF-8 in the first 4 KiB.
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(err) if err.valid_up_to() + 4 >= head.len() => {
            // A multi-byte character cut at the 4 KiB boundary.
            return head[..err.valid_up_to()].iter().all(|&b| b != 0);
        }
        Err(_) => return false,
    };
    text.chars().all(|c| !c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_executables_and_archives() {
        assert_eq!(detect(b"MZ\x90\0"), FileType::Pe);
        assert_eq!(detect(b"\x7fELF\x02\x01"), FileType::Elf);
        assert_eq!(detect(&[0xcf, 0xfa, 0xed, 0xfe, 7]), FileType::MachO);
        assert_eq!(detect(b"#!/bin/sh\necho"), FileType::Script);
        assert_eq!(detect(b"PK\x03\x04rest"), FileType::Zip);
        assert_eq!(detect(b"%PDF-1.7\n"), FileType::Pdf);
        assert_eq!(detect(b"plain words\n"), FileType::Text);
        assert_eq!(detect(&[0, 1, 2, 0xff, 0x80, 0x10]), FileType::Unknown);
        assert_eq!(detect(b""), FileType::Empty);
    }

    #[test]
    fn dicm_at_128_wins_over_the_preamble() {
        let mut bytes = vec![0u8; 132];
        bytes[..2].copy_from_slice(b"MZ");
        bytes[128..132].copy_from_slice(b"DICM");
        assert_eq!(detect(&bytes), FileType::Dicom);
    }

    #[test]
    fn strict_pe_needs_the_pe_signature() {
        let mut bytes = vec![0u8; 0x90];
        bytes[..2].copy_from_slice(b"MZ");
        assert!(!is_strict_pe(&bytes));
        bytes[0x3c] = 0x80;
        bytes[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert!(is_strict_pe(&bytes));
    }
}
