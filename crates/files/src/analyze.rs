//! The analysis of one file: type, hashes, entropy, DICOM checks, archives, blocklist.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::archive::{self, ArchiveLimits};
use crate::dicom::{self, DicomOptions};
use crate::entropy;
use crate::hash::{self, Blocklist, Hasher};
use crate::magic::{self, FileType};
use crate::verdict::{Finding, Severity, Verdict, VerdictLevel};

/// Files of an unknown type at least this large and this random look encrypted.
const ENCRYPTED_MIN_BYTES: usize = 4096;
const ENCRYPTED_BITS_PER_BYTE: f64 = 7.95;

/// Everything the analysis may do and what it compares against.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub dicom: DicomOptions,
    pub archive: ArchiveLimits,
    pub blocklist: Blocklist,
    /// Bytes of one file held in memory and inspected; the rest is only hashed.
    pub max_file_bytes: u64,
    /// Compiled YARA rules, run on every file (not on archive members).
    #[cfg(feature = "yara")]
    pub yara: Option<std::sync::Arc<crate::yara::YaraRules>>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            dicom: DicomOptions::default(),
            archive: ArchiveLimits::default(),
            blocklist: Blocklist::default(),
            max_file_bytes: 1024 * 1024 * 1024,
            #[cfg(feature = "yara")]
            yara: None,
        }
    }
}

/// Why a file could not be analysed at all.
#[derive(Debug, Error)]
pub enum AnalyzeError {
    #[error("could not read {path}: {source} (check that it exists and is readable)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Analyses files into verdict documents.
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    config: AnalysisConfig,
}

impl Analyzer {
    /// An analyser with the given limits and blocklist.
    pub fn new(config: AnalysisConfig) -> Self {
        Analyzer { config }
    }

    /// Reads and analyses one file; only [`AnalysisConfig::max_file_bytes`] are held in memory.
    pub fn analyze_path(&self, path: &Path) -> Result<Verdict, AnalyzeError> {
        let read_error = |source| AnalyzeError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(read_error)?;

        let mut hasher = Hasher::default();
        let mut held = Vec::new();
        (&mut file)
            .take(self.config.max_file_bytes)
            .read_to_end(&mut held)
            .map_err(read_error)?;
        hasher.update(&held);

        // Hash what does not fit, without keeping it.
        let mut size = held.len() as u64;
        let mut chunk = vec![0u8; 1024 * 1024];
        loop {
            let n = file.read(&mut chunk).map_err(read_error)?;
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
            size += n as u64;
        }

        let mut verdict = self.verdict(&path.display().to_string(), &held, hasher.finish());
        verdict.size = size;
        if size > held.len() as u64 {
            verdict.findings.push(Finding::whole(
                "file.partially_inspected",
                Severity::Info,
                format!(
                    "only the first {} bytes were inspected; all were hashed",
                    held.len()
                ),
            ));
        }
        Ok(verdict)
    }

    /// Analyses bytes already in memory, reported under `path`.
    pub fn analyze_bytes(&self, path: &str, bytes: &[u8]) -> Verdict {
        self.verdict(path, bytes, hash::hashes(bytes))
    }

    fn verdict(&self, path: &str, bytes: &[u8], hashes: crate::verdict::Hashes) -> Verdict {
        let file_type = magic::detect(bytes);
        let mut findings = Vec::new();
        let mut budget = self.config.archive.max_total;

        if self.config.blocklist.contains(&hashes.sha256) {
            findings.push(blocklisted(""));
        }
        self.inspect(bytes, file_type, 0, &mut budget, &mut findings);
        #[cfg(feature = "yara")]
        if let Some(rules) = &self.config.yara {
            findings.extend(rules.scan(bytes));
        }

        Verdict {
            path: path.to_string(),
            size: bytes.len() as u64,
            hashes,
            file_type: file_type.name().to_string(),
            verdict: VerdictLevel::from_findings(&findings),
            findings,
            entropy: entropy::by_region(bytes),
        }
    }

    /// Content checks by type; archives recurse into their members.
    fn inspect(
        &self,
        bytes: &[u8],
        file_type: FileType,
        depth: usize,
        budget: &mut u64,
        findings: &mut Vec<Finding>,
    ) {
        match file_type {
            FileType::Dicom | FileType::DicomDataset => {
                findings.extend(dicom::inspect(bytes, &self.config.dicom));
            }
            FileType::Zip => self.inspect_zip(bytes, depth, budget, findings),
            FileType::Unknown if bytes.len() >= ENCRYPTED_MIN_BYTES => {
                let bits = entropy::shannon(bytes);
                if bits > ENCRYPTED_BITS_PER_BYTE {
                    findings.push(Finding::whole(
                        "entropy.encrypted_like",
                        Severity::Medium,
                        format!("unknown content at {bits:.3} bits per byte: encrypted or packed"),
                    ));
                }
            }
            _ => {}
        }
    }

    /// Opens a ZIP within the limits and inspects each member as a file of its own.
    fn inspect_zip(
        &self,
        bytes: &[u8],
        depth: usize,
        budget: &mut u64,
        findings: &mut Vec<Finding>,
    ) {
        if depth >= self.config.archive.max_depth {
            findings.push(Finding::whole(
                "archive.too_deep",
                Severity::High,
                format!(
                    "archives nest deeper than {} levels",
                    self.config.archive.max_depth
                ),
            ));
            return;
        }
        let members = archive::read_zip(bytes, &self.config.archive, budget, findings);

        for member in members {
            let mut inner = Vec::new();
            if self
                .config
                .blocklist
                .contains(&hash::hashes(&member.bytes).sha256)
            {
                inner.push(blocklisted(&member.name));
            }
            let member_type = magic::detect(&member.bytes);
            self.inspect(&member.bytes, member_type, depth + 1, budget, &mut inner);

            for mut finding in inner {
                if !finding.detail.starts_with("in ") {
                    finding.detail = format!("in {}: {}", member.name, finding.detail);
                } else {
                    finding.detail = format!("in {}/{}", member.name, &finding.detail[3..]);
                }
                findings.push(finding);
            }
        }
    }
}

fn blocklisted(member: &str) -> Finding {
    let what = if member.is_empty() {
        "the file".to_string()
    } else {
        format!("member {member:?}")
    };
    Finding::whole(
        "hash.blocklisted",
        Severity::High,
        format!("the SHA-256 of {what} is on the known-bad list"),
    )
}
