//! The verdict document: what the analysis concluded about one file.

use serde::Serialize;

/// How much a finding weighs; the worst finding decides the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, harmless on its own (a TIFF preamble, no meta header).
    Info,
    /// Damage more likely than attack (a file truncated in transfer).
    Low,
    /// Breaks the format in a way attacks use: makes the file suspicious.
    Medium,
    /// Code or a bomb where none belongs: makes the file malicious.
    High,
}

/// The overall judgement of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictLevel {
    Clean,
    Suspicious,
    Malicious,
}

impl VerdictLevel {
    /// The verdict that the worst finding of a file leads to.
    pub fn from_findings(findings: &[Finding]) -> VerdictLevel {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::High) => VerdictLevel::Malicious,
            Some(Severity::Medium) => VerdictLevel::Suspicious,
            _ => VerdictLevel::Clean,
        }
    }

    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictLevel::Clean => "clean",
            VerdictLevel::Suspicious => "suspicious",
            VerdictLevel::Malicious => "malicious",
        }
    }
}

/// One observation about a file, at a byte offset when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Dotted kind, e.g. `dicom.preamble_code` or `archive.ratio_exceeded`.
    pub kind: String,
    pub severity: Severity,
    /// One sentence for a person; never patient data.
    pub detail: String,
    /// Byte offset in the file (or in the archive member named in `detail`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Finding {
    /// A finding at an offset.
    pub fn at(kind: &str, severity: Severity, offset: u64, detail: impl Into<String>) -> Self {
        Finding {
            kind: kind.to_string(),
            severity,
            detail: detail.into(),
            offset: Some(offset),
        }
    }

    /// A finding about the file as a whole.
    pub fn whole(kind: &str, severity: Severity, detail: impl Into<String>) -> Self {
        Finding {
            kind: kind.to_string(),
            severity,
            detail: detail.into(),
            offset: None,
        }
    }
}

/// MD5, SHA-1 and SHA-256 of a file, lowercase hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hashes {
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
}

/// Shannon entropy of one region of a file, in bits per byte (0.0 to 8.0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntropyRegion {
    pub offset: u64,
    pub length: u64,
    pub bits_per_byte: f64,
}

/// One verdict document: everything the analysis says about one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub path: String,
    pub size: u64,
    pub hashes: Hashes,
    /// The type read from the content, e.g. `dicom`, `pe`, `zip`.
    #[serde(rename = "type")]
    pub file_type: String,
    pub verdict: VerdictLevel,
    pub findings: Vec<Finding>,
    pub entropy: Vec<EntropyRegion>,
}

impl Verdict {
    /// Whether any finding has this kind.
    pub fn has(&self, kind: &str) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }

    /// The verdict as one JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serialising plain strings, numbers and enums cannot fail.
        serde_json::to_string(self).unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}"))
    }
}
