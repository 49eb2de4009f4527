//! ZIP recursion with limits on depth, total size, entry count and compression ratio.
//!
//! Sizes declared in a ZIP can lie, so every member is read through a cap and
//! the bytes actually produced are what count.

use std::io::{Cursor, Read};

use crate::verdict::{Finding, Severity};

/// What one archive (with everything nested in it) may cost.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Archives inside archives deeper than this are not opened.
    pub max_depth: usize,
    /// Bytes all members together may inflate to.
    pub max_total: u64,
    /// Uncompressed / compressed size of one member above this is a bomb.
    pub max_ratio: u64,
    /// Members per archive.
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 4,
            max_total: 512 * 1024 * 1024,
            max_ratio: 200,
            max_entries: 10_000,
        }
    }
}

/// One member read out of an archive, with its name as a path inside it.
pub struct Member {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads the members of a ZIP within the limits.
///
/// `budget` is what is left of `max_total` for the whole file and shrinks as
/// members are read. A limit hit ends the reading with a finding.
pub fn read_zip(
    bytes: &[u8],
    limits: &ArchiveLimits,
    budget: &mut u64,
    findings: &mut Vec<Finding>,
) -> Vec<Member> {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(err) => {
            findings.push(Finding::whole(
                "archive.unreadable",
                Severity::Low,
                format!("the ZIP cannot be opened: {err}"),
            ));
            return Vec::new();
        }
    };
    if archive.len() > limits.max_entries {
        findings.push(Finding::whole(
            "archive.too_many_entries",
            Severity::High,
            format!(
                "the ZIP lists {} members (limit {})",
                archive.len(),
                limits.max_entries
            ),
        ));
        return Vec::new();
    }

    let mut members = Vec::new();
    for index in 0..archive.len() {
        match read_member(&mut archive, index, limits, budget) {
            Ok(Some(member)) => members.push(member),
            Ok(None) => {}
            Err(finding) => {
                findings.push(finding);
                if finding_stops(findings) {
                    break;
                }
            }
        }
    }
    members
}

/// Whether the last finding ends the archive (a bomb), or only skips one member.
fn finding_stops(findings: &[Finding]) -> bool {
    findings
        .last()
        .is_some_and(|f| f.severity == Severity::High)
}

/// Reads one member, or returns the finding that stops it.
fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    index: usize,
    limits: &ArchiveLimits,
    budget: &mut u64,
) -> Result<Option<Member>, Finding> {
    let mut file = archive.by_index(index).map_err(|err| {
        Finding::whole(
            "archive.member_unreadable",
            Severity::Low,
            format!("ZIP member #{index} cannot be read: {err}"),
        )
    })?;
    if file.is_dir() {
        return Ok(None);
    }
    let name = match file.name() {
        Ok(name) => name.into_owned(),
        Err(_) => format!("#{index}"),
    };
    let compressed = file.compressed_size().max(1);
    let offset = file.data_start().unwrap_or(0);

    // Read at most the remaining budget, and at most what the ratio allows.
    let ratio_cap = compressed.saturating_mul(limits.max_ratio);
    let cap = ratio_cap.min(*budget);
    let mut bytes = Vec::new();
    let read = (&mut file)
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes);
    if let Err(err) = read {
        return Err(Finding::at(
            "archive.member_unreadable",
            Severity::Low,
            offset,
            format!("ZIP member {name:?} does not decompress: {err}"),
        ));
    }
    let produced = bytes.len() as u64;

    if produced > ratio_cap {
        return Err(Finding::at(
            "archive.ratio_exceeded",
            Severity::High,
            offset,
            format!(
                "ZIP member {name:?} expands more than {}x its {compressed} compressed bytes: a zip bomb",
                limits.max_ratio
            ),
        ));
    }
    if produced > *budget {
        return Err(Finding::at(
            "archive.total_exceeded",
            Severity::High,
            offset,
            format!(
                "the archive expands past {} bytes in total at member {name:?}: a zip bomb",
                limits.max_total
            ),
        ));
    }
    *budget -= produced;
    Ok(Some(Member { name, bytes }))
}
