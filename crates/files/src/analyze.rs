//! The analysis of one file: type, hashes, entropy, DICOM checks, archives, blocklist.

mod batch;

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::archive::{self, ArchiveLimits};
use crate::dicom::{self, DicomOptions};
use crate::entropy;
use crate::hash::md5_lanes::md5_each;
use crate::hash::{self, Blocklist, Hasher};
use crate::magic::{self, FileType};
use crate::verdict::{Finding, Severity, Verdict, VerdictLevel};
use batch::{BATCH_BYTES, BATCH_FILES, BATCHED_FILE_BYTES, BatchBuffer, SmallRead};

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

/// Buffers larger than this are given back after the file that needed them.
const KEPT_BUFFER_BYTES: usize = 64 * 1024 * 1024;

/// A file's place in the list handed to [`Worker::analyze_each`], and what its analysis gave.
pub type Analyzed = (usize, Result<Verdict, AnalyzeError>);

impl Analyzer {
    /// An analyser with the given limits and blocklist.
    pub fn new(config: AnalysisConfig) -> Self {
        Analyzer { config }
    }

    /// The default analysis, with the built-in YARA rules when built with the `yara` feature.
    pub fn with_builtin_rules() -> Self {
        #[allow(unused_mut)]
        let mut config = AnalysisConfig::default();
        #[cfg(feature = "yara")]
        {
            let (rules, refused) = crate::yara::load(&[]);
            for rule in refused {
                tracing::error!(file = %rule.file, reason = %rule.reason, "YARA rules refused");
            }
            config.yara = Some(std::sync::Arc::new(rules));
        }
        Analyzer { config }
    }

    /// What this analyser checks against.
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// A worker for one thread: it keeps its read buffer and YARA scanner from file to file.
    pub fn worker(&self) -> Worker<'_> {
        Worker {
            analyzer: self,
            held: Vec::new(),
            rest: Vec::new(),
            batch: BatchBuffer::default(),
            #[cfg(feature = "yara")]
            yara: self.config.yara.as_ref().map(|rules| rules.scanner()),
        }
    }

    /// Reads and analyses one file; only [`AnalysisConfig::max_file_bytes`] are held in memory.
    ///
    /// For many files, [`Analyzer::worker`] is faster.
    pub fn analyze_path(&self, path: &Path) -> Result<Verdict, AnalyzeError> {
        self.worker().analyze_path(path)
    }

    /// Analyses bytes already in memory, reported under `path`.
    pub fn analyze_bytes(&self, path: &str, bytes: &[u8]) -> Verdict {
        self.worker().analyze_bytes(path, bytes)
    }
}

/// Analyses file after file on one thread, reusing its buffers and scanner.
pub struct Worker<'a> {
    analyzer: &'a Analyzer,
    /// The inspected bytes of the current file.
    held: Vec<u8>,
    /// Bytes past the inspected part, hashed and dropped.
    rest: Vec<u8>,
    /// The small files of a batch, one after the other.
    batch: BatchBuffer,
    #[cfg(feature = "yara")]
    yara: Option<crate::yara::YaraScanner<'a>>,
}

impl Worker<'_> {
    /// Reads and analyses one file, reading it once: its bytes are hashed, inspected and
    /// scanned from the same buffer.
    pub fn analyze_path(&mut self, path: &Path) -> Result<Verdict, AnalyzeError> {
        let file = File::open(path).map_err(|source| AnalyzeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.analyze_file(path, file)
    }

    /// Analyses the files that `next` hands out (with their index) and gives the
    /// results to `deliver`, until `next` has no more or `deliver` returns false.
    ///
    /// Small files are read into a batch and get their MD5 side by side (see
    /// [`crate::hash::md5_lanes`]), then the rest of their analysis file by file.
    /// Results are delivered once per batch (up to 4096 files and 16 MiB), in no
    /// particular order; the index tells which file each is for.
    pub fn analyze_each<'p>(
        &mut self,
        mut next: impl FnMut() -> Option<(usize, &'p Path)>,
        mut deliver: impl FnMut(Vec<Analyzed>) -> bool,
    ) {
        let mut files = Vec::new();
        loop {
            let mut results = Vec::new();
            let more = self.fill_batch(&mut next, &mut files, &mut results);
            self.analyze_batch(&files, &mut results);
            if !deliver(results) || !more {
                return;
            }
        }
    }

    /// Reads small files into the batch until it is full, analysing large and unreadable
    /// ones on the way. Returns false once `next` has no more files.
    fn fill_batch<'p>(
        &mut self,
        next: &mut impl FnMut() -> Option<(usize, &'p Path)>,
        files: &mut Vec<(usize, &'p Path, Range<usize>)>,
        results: &mut Vec<Analyzed>,
    ) -> bool {
        self.batch.clear();
        files.clear();
        let limit = self.analyzer.config.max_file_bytes.min(BATCHED_FILE_BYTES);
        while files.len() < BATCH_FILES && self.batch.len() < BATCH_BYTES {
            let Some((index, path)) = next() else {
                return false;
            };
            match self.batch.read_small(path, limit) {
                Ok(SmallRead::Batched(range)) => files.push((index, path, range)),
                Ok(SmallRead::TooLarge(file)) => {
                    results.push((index, self.analyze_file(path, file)))
                }
                Err(err) => results.push((index, Err(err))),
            }
        }
        true
    }

    /// The MD5s of the batch side by side, then the rest of each file's analysis.
    fn analyze_batch(
        &mut self,
        files: &[(usize, &Path, Range<usize>)],
        results: &mut Vec<Analyzed>,
    ) {
        let batch = std::mem::take(&mut self.batch);
        let contents: Vec<&[u8]> = files
            .iter()
            .map(|(.., range)| batch.file(range.clone()))
            .collect();
        let md5s = md5_each(&contents);

        for ((index, path, _), (bytes, md5)) in files.iter().zip(contents.iter().zip(&md5s)) {
            let hashes = hash::hashes_with_md5(md5, bytes);
            let verdict = self.verdict(&path.display().to_string(), bytes, hashes);
            results.push((*index, Ok(verdict)));
        }
        self.batch = batch;
    }

    /// Analyses one open file, reading it once: its bytes are hashed, inspected and
    /// scanned from the same buffer.
    fn analyze_file(&mut self, path: &Path, file: File) -> Result<Verdict, AnalyzeError> {
        let mut held = std::mem::take(&mut self.held);
        let read = self.read(path, file, &mut held);
        let result = read.map(|(size, hashes)| {
            let mut verdict = self.verdict(&path.display().to_string(), &held, hashes);
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
            verdict
        });

        if held.capacity() > KEPT_BUFFER_BYTES {
            held = Vec::new();
        }
        self.held = held;
        result
    }

    /// Analyses bytes already in memory, reported under `path`.
    pub fn analyze_bytes(&mut self, path: &str, bytes: &[u8]) -> Verdict {
        self.verdict(path, bytes, hash::hashes(bytes))
    }

    /// Reads up to `max_file_bytes` into `held` and hashes the whole file; returns its size.
    fn read(
        &mut self,
        path: &Path,
        mut file: File,
        held: &mut Vec<u8>,
    ) -> Result<(u64, crate::verdict::Hashes), AnalyzeError> {
        let read_error = |source| AnalyzeError::Read {
            path: path.to_path_buf(),
            source,
        };
        let max = self.analyzer.config.max_file_bytes;

        // Size the buffer once from the file's length (a hint: the file may be growing).
        let expected = file.metadata().map(|m| m.len()).unwrap_or(0).min(max);
        held.clear();
        held.reserve(usize::try_from(expected).unwrap_or(0).saturating_add(1));
        (&mut file)
            .take(max)
            .read_to_end(held)
            .map_err(read_error)?;
        let mut hasher = Hasher::default();
        hasher.update(held);

        // Hash what does not fit, without keeping it (a short read means the end was reached).
        let mut size = held.len() as u64;
        while size >= max {
            if self.rest.is_empty() {
                self.rest = vec![0u8; 1024 * 1024];
            }
            let n = file.read(&mut self.rest).map_err(read_error)?;
            if n == 0 {
                break;
            }
            hasher.update(&self.rest[..n]);
            size += n as u64;
        }
        Ok((size, hasher.finish()))
    }

    fn verdict(&mut self, path: &str, bytes: &[u8], hashes: crate::verdict::Hashes) -> Verdict {
        let analyzer = self.analyzer;
        let file_type = magic::detect(bytes);
        let entropy = entropy::profile(bytes);
        let mut findings = Vec::new();
        let mut budget = analyzer.config.archive.max_total;

        if analyzer.config.blocklist.contains(&hashes.sha256) {
            findings.push(blocklisted(""));
        }
        #[cfg(feature = "yara")]
        let yara = &mut self.yara;
        let mut rule_scan = |content: &[u8]| -> Vec<Finding> {
            #[cfg(feature = "yara")]
            if let Some(scanner) = yara.as_mut() {
                return scanner.scan(content);
            }
            let _ = content;
            Vec::new()
        };

        if file_type == FileType::Unknown {
            check_encrypted_like(bytes.len(), entropy.whole, &mut findings);
        } else {
            analyzer.inspect(
                bytes,
                file_type,
                0,
                &mut budget,
                &mut findings,
                &mut rule_scan,
            );
        }
        findings.extend(rule_scan(bytes));

        Verdict {
            path: path.to_string(),
            size: bytes.len() as u64,
            hashes,
            file_type: file_type.name().to_string(),
            verdict: VerdictLevel::from_findings(&findings),
            findings,
            entropy: entropy.regions,
        }
    }
}

impl Analyzer {
    /// Content checks by type; archives recurse into their members, each of
    /// which `rule_scan` also runs the YARA rules over.
    fn inspect(
        &self,
        bytes: &[u8],
        file_type: FileType,
        depth: usize,
        budget: &mut u64,
        findings: &mut Vec<Finding>,
        rule_scan: &mut RuleScan<'_>,
    ) {
        match file_type {
            FileType::Dicom | FileType::DicomDataset => {
                findings.extend(dicom::inspect(bytes, &self.config.dicom));
            }
            FileType::Unknown => {
                check_encrypted_like(bytes.len(), entropy::shannon(bytes), findings);
            }
            _ => {
                if let Some(read) = archive::reader(file_type) {
                    self.inspect_archive(bytes, read, depth, budget, findings, rule_scan);
                }
            }
        }
    }

    /// Opens an archive (ZIP, gzip or tar) within the limits and inspects each
    /// member as a file of its own; `read_members` reads them.
    fn inspect_archive(
        &self,
        bytes: &[u8],
        read_members: archive::ReadMembers,
        depth: usize,
        budget: &mut u64,
        findings: &mut Vec<Finding>,
        rule_scan: &mut RuleScan<'_>,
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
        let members = read_members(bytes, &self.config.archive, budget, findings);

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
            self.inspect(
                &member.bytes,
                member_type,
                depth + 1,
                budget,
                &mut inner,
                rule_scan,
            );
            inner.extend(rule_scan(&member.bytes));

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

/// Runs the YARA rules over some bytes (nothing without the `yara` feature
/// or without rules).
type RuleScan<'s> = dyn FnMut(&[u8]) -> Vec<Finding> + 's;

/// Unknown content that is large and close to 8 bits per byte looks encrypted or packed.
fn check_encrypted_like(len: usize, bits: f64, findings: &mut Vec<Finding>) {
    if len >= ENCRYPTED_MIN_BYTES && bits > ENCRYPTED_BITS_PER_BYTE {
        findings.push(Finding::whole(
            "entropy.encrypted_like",
            Severity::Medium,
            format!("unknown content at {bits:.3} bits per byte: encrypted or packed"),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer_holding(max_file_bytes: u64) -> Analyzer {
        Analyzer::new(AnalysisConfig {
            max_file_bytes,
            ..AnalysisConfig::default()
        })
    }

    #[test]
    fn a_file_beyond_the_inspected_part_is_hashed_whole_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let path = dir.path().join("big.bin");
        std::fs::write(&path, &bytes).unwrap();

        let analyzer = analyzer_holding(4096);
        let mut worker = analyzer.worker();
        let verdict = worker.analyze_path(&path).unwrap();
        assert_eq!(verdict.size, 10_000);
        assert_eq!(verdict.hashes, hash::hashes(&bytes));
        assert!(verdict.has("file.partially_inspected"));
        let inspected: u64 = verdict.entropy.iter().map(|r| r.length).sum();
        assert_eq!(inspected, 4096);

        // The same worker, a file that fits exactly: nothing left out.
        std::fs::write(&path, &bytes[..4096]).unwrap();
        let verdict = worker.analyze_path(&path).unwrap();
        assert_eq!(verdict.size, 4096);
        assert_eq!(verdict.hashes, hash::hashes(&bytes[..4096]));
        assert!(!verdict.has("file.partially_inspected"));
    }

    /// Analyses `paths` through batches and returns the results by index.
    fn analyze_in_batches(
        analyzer: &Analyzer,
        paths: &[PathBuf],
    ) -> Vec<Result<Verdict, AnalyzeError>> {
        let mut results: Vec<Option<Result<Verdict, AnalyzeError>>> =
            paths.iter().map(|_| None).collect();
        let mut handed_out = paths.iter().map(PathBuf::as_path).enumerate();
        analyzer.worker().analyze_each(
            || handed_out.next(),
            |batch| {
                for (index, result) in batch {
                    assert!(results[index].is_none(), "file {index} delivered twice");
                    results[index] = Some(result);
                }
                true
            },
        );
        results
            .into_iter()
            .map(|result| result.expect("every file delivered"))
            .collect()
    }

    #[test]
    fn batches_give_the_verdicts_of_files_analysed_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (i, len) in [0usize, 1, 55, 56, 4095, 4096, 4097, 10_000, 64, 300_000, 7]
            .into_iter()
            .enumerate()
        {
            let bytes: Vec<u8> = (0..len).map(|j| (j * 31 + i * 7) as u8).collect();
            let path = dir.path().join(format!("{i}.bin"));
            std::fs::write(&path, bytes).unwrap();
            paths.push(path);
        }
        paths.insert(3, dir.path().join("missing.bin"));

        // With 4096 bytes held, files from 4096 bytes on are read alone; then all fit.
        for analyzer in [analyzer_holding(4096), Analyzer::default()] {
            let batched = analyze_in_batches(&analyzer, &paths);
            for (path, result) in paths.iter().zip(batched) {
                match (result, analyzer.analyze_path(path)) {
                    (Ok(batched), Ok(alone)) => assert_eq!(batched, alone, "{path:?}"),
                    (Err(_), Err(_)) => {}
                    (batched, alone) => panic!("{path:?}: {batched:?} but alone {alone:?}"),
                }
            }
        }
    }

    #[test]
    fn no_file_is_handed_out_after_a_refused_batch() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..=BATCH_FILES)
            .map(|i| dir.path().join(i.to_string()))
            .collect();
        for path in &paths {
            std::fs::write(path, b"").unwrap();
        }
        let mut handed_out = paths.iter().map(PathBuf::as_path).enumerate();
        let mut taken = 0;
        let mut deliveries = 0;
        Analyzer::default().worker().analyze_each(
            || {
                taken += 1;
                handed_out.next()
            },
            |batch| {
                assert_eq!(
                    batch.len(),
                    BATCH_FILES,
                    "a batch closes at {BATCH_FILES} files"
                );
                deliveries += 1;
                false
            },
        );
        assert_eq!((deliveries, taken), (1, BATCH_FILES));
    }
}
