//! ZIP, gzip and tar recursion with limits on depth, total size, entry count
//! and compression ratio.
//!
//! Sizes declared in an archive can lie, so every member is read through a cap
//! and the bytes actually produced are what count.

use std::io::{Cursor, Read};

use crate::magic::FileType;
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

/// Reads an archive's members within the limits, adding findings for what
/// stops it ([`read_zip`], [`read_tar`], [`read_gzip`]).
pub type ReadMembers = fn(&[u8], &ArchiveLimits, &mut u64, &mut Vec<Finding>) -> Vec<Member>;

/// The reader of an archive type this module opens; `None` for the others
/// (7z and RAR are recognised but not opened).
pub fn reader(file_type: FileType) -> Option<ReadMembers> {
    match file_type {
        FileType::Zip => Some(read_zip),
        FileType::Tar => Some(read_tar),
        FileType::Gzip => Some(read_gzip),
        _ => None,
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
    let compressed = file.compressed_size();
    let offset = file.data_start().unwrap_or(0);

    let bytes = read_capped(&mut file, compressed, limits, budget)
        .map_err(|stop| stop.finding(offset, &format!("ZIP member {name:?}"), limits))?;
    Ok(Some(Member { name, bytes }))
}

/// Reads the regular files of a tar within the limits (links, directories
/// and devices hold no content to inspect).
///
/// A header that does not parse, or an archive cut short, ends the reading
/// with a finding; the members read before it are kept.
pub fn read_tar(
    bytes: &[u8],
    limits: &ArchiveLimits,
    budget: &mut u64,
    findings: &mut Vec<Finding>,
) -> Vec<Member> {
    let mut archive = tar::Archive::new(bytes);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(err) => {
            findings.push(unreadable_tar(&err));
            return Vec::new();
        }
    };

    let mut members = Vec::new();
    for (index, entry) in entries.enumerate() {
        if index >= limits.max_entries {
            findings.push(Finding::whole(
                "archive.too_many_entries",
                Severity::High,
                format!("the tar holds more than {} members", limits.max_entries),
            ));
            break;
        }
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                findings.push(unreadable_tar(&err));
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = match entry.path() {
            Ok(path) => path.to_string_lossy().into_owned(),
            Err(_) => format!("#{index}"),
        };
        let offset = entry.raw_file_position();
        let size = entry.size();

        match read_capped(&mut entry, size, limits, budget) {
            Ok(bytes) => members.push(Member { name, bytes }),
            Err(stop) => {
                findings.push(stop.finding(offset, &format!("tar member {name:?}"), limits));
                if finding_stops(findings) {
                    break;
                }
            }
        }
    }
    members
}

fn unreadable_tar(err: &std::io::Error) -> Finding {
    Finding::whole(
        "archive.unreadable",
        Severity::Low,
        format!("the tar cannot be read past this point: {err}"),
    )
}

/// The name under which a gzip stream's content is reported when its header names no file.
const GZIP_CONTENT: &str = "gzip content";

/// Reads what a gzip file holds (all members of a multi-member stream, as one
/// file) within the limits: one member, or none.
///
/// A stream that breaks off (a truncated download, a damaged file) yields
/// what decompressed before the break, with a finding, so that it is still
/// inspected. A limit hit yields a finding and nothing.
pub fn read_gzip(
    bytes: &[u8],
    limits: &ArchiveLimits,
    budget: &mut u64,
    findings: &mut Vec<Finding>,
) -> Vec<Member> {
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    let read = read_capped(&mut decoder, bytes.len() as u64, limits, budget);
    let name = decoder
        .header()
        .and_then(|header| header.filename())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .unwrap_or_else(|| GZIP_CONTENT.to_string());

    match read {
        Ok(content) => vec![Member {
            name,
            bytes: content,
        }],
        Err(CappedRead::Unreadable(err, partial)) => {
            findings.push(Finding::whole(
                "archive.member_unreadable",
                Severity::Low,
                format!(
                    "the gzip stream breaks off after {} bytes of {name:?}: {err}",
                    partial.len()
                ),
            ));
            if partial.is_empty() {
                return Vec::new();
            }
            vec![Member {
                name,
                bytes: partial,
            }]
        }
        Err(limit) => {
            findings.push(limit.finding(0, &format!("the gzip content {name:?}"), limits));
            Vec::new()
        }
    }
}

/// Why a capped read of a compressed member stopped.
enum CappedRead {
    /// The data does not decompress; what did before the error comes along.
    Unreadable(std::io::Error, Vec<u8>),
    /// It expands more than `max_ratio` times its compressed size.
    Ratio { compressed: u64 },
    /// It takes the archive past `max_total`.
    Total,
}

impl CappedRead {
    /// The finding for a limit hit by `what` (a member, named) at `offset`.
    fn finding(self, offset: u64, what: &str, limits: &ArchiveLimits) -> Finding {
        match self {
            CappedRead::Ratio { compressed } => Finding::at(
                "archive.ratio_exceeded",
                Severity::High,
                offset,
                format!(
                    "{what} expands more than {}x its {compressed} compressed bytes: \
                     a decompression bomb",
                    limits.max_ratio
                ),
            ),
            CappedRead::Total => Finding::at(
                "archive.total_exceeded",
                Severity::High,
                offset,
                format!(
                    "the archive expands past {} bytes in total at {what}: a decompression bomb",
                    limits.max_total
                ),
            ),
            CappedRead::Unreadable(err, _) => Finding::at(
                "archive.member_unreadable",
                Severity::Low,
                offset,
                format!("{what} does not decompress: {err}"),
            ),
        }
    }
}

/// Decompresses at most the remaining budget and at most `max_ratio` times
/// the compressed size, then charges the budget with what came out.
fn read_capped(
    reader: &mut impl Read,
    compressed: u64,
    limits: &ArchiveLimits,
    budget: &mut u64,
) -> Result<Vec<u8>, CappedRead> {
    let compressed = compressed.max(1);
    let ratio_cap = compressed.saturating_mul(limits.max_ratio);
    let cap = ratio_cap.min(*budget);

    let mut bytes = Vec::new();
    if let Err(err) = reader.take(cap.saturating_add(1)).read_to_end(&mut bytes) {
        return Err(CappedRead::Unreadable(err, bytes));
    }
    let produced = bytes.len() as u64;

    if produced > ratio_cap {
        return Err(CappedRead::Ratio { compressed });
    }
    if produced > *budget {
        return Err(CappedRead::Total);
    }
    *budget -= produced;
    Ok(bytes)
}
