//! File hashes and the known-bad SHA-256 list.
//!
//! A file read alone is hashed by [`Hasher`]. A batch of small files gets its
//! MD5s from [`md5_lanes`], many files side by side, and its SHA-1 and SHA-256
//! file by file from [`sha_pair`], both digests in one pass.

pub mod md5_lanes;
pub mod sha_pair;

#[cfg(target_arch = "x86_64")]
mod md5_avx2;
#[cfg(target_arch = "x86_64")]
mod sha_ni;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use thiserror::Error;

use crate::verdict::Hashes;
use sha_pair::ShaPair;

/// Bytes hashed by each digest in turn (a multiple of the 64-byte block of all three).
const CACHED_BLOCK: usize = 128 * 1024;

/// MD5, SHA-1 and SHA-256 computed in one pass over chunks of a file.
#[derive(Default)]
pub struct Hasher {
    md5: Md5,
    sha: ShaPair,
}

impl Hasher {
    /// Feeds the next bytes.
    ///
    /// MD5 and the SHA pair take turns on blocks small enough to stay in the CPU
    /// cache, so a large file is read from memory once rather than twice.
    pub fn update(&mut self, bytes: &[u8]) {
        for block in bytes.chunks(CACHED_BLOCK) {
            self.md5.update(block);
            self.sha.update(block);
        }
    }

    /// The three digests in lowercase hex.
    pub fn finish(self) -> Hashes {
        let md5: md5_lanes::Md5Digest = self.md5.finalize().into();
        hashes_from(&md5, self.sha)
    }
}

/// Hashes of a byte slice.
pub fn hashes(bytes: &[u8]) -> Hashes {
    let mut hasher = Hasher::default();
    hasher.update(bytes);
    hasher.finish()
}

/// Hashes of a byte slice whose MD5 is already known (from [`md5_lanes`]).
pub fn hashes_with_md5(md5: &md5_lanes::Md5Digest, bytes: &[u8]) -> Hashes {
    let mut sha = ShaPair::default();
    sha.update(bytes);
    hashes_from(md5, sha)
}

fn hashes_from(md5: &md5_lanes::Md5Digest, sha: ShaPair) -> Hashes {
    let (sha1, sha256) = sha.finish();
    Hashes {
        md5: hex::encode(md5),
        sha1: hex::encode(sha1),
        sha256: hex::encode(sha256),
    }
}

/// Why a blocklist file could not be loaded.
#[derive(Debug, Error)]
pub enum BlocklistError {
    #[error("could not read the hash blocklist {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: expected a SHA-256 as 64 hex digits (one per line, '#' starts a comment)"
    )]
    BadLine { path: PathBuf, line: usize },
}

/// Known-bad SHA-256 digests.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    sha256: HashSet<String>,
}

impl Blocklist {
    /// Loads a file of hex SHA-256 digests, one per line; blank lines and `#` comments are skipped.
    pub fn load(path: &Path) -> Result<Blocklist, BlocklistError> {
        let text = std::fs::read_to_string(path).map_err(|source| BlocklistError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Blocklist::parse(&text).map_err(|line| BlocklistError::BadLine {
            path: path.to_path_buf(),
            line,
        })
    }

    /// Parses the text of a blocklist; the error is the 1-based number of a bad line.
    pub fn parse(text: &str) -> Result<Blocklist, usize> {
        let mut sha256 = HashSet::new();
        for (index, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            // Allow `sha256sum` output: the digest, then the file name.
            let digest = entry.split_whitespace().next().unwrap_or_default();
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(index + 1);
            }
            sha256.insert(digest.to_ascii_lowercase());
        }
        Ok(Blocklist { sha256 })
    }

    /// Whether a lowercase hex SHA-256 is on the list.
    pub fn contains(&self, sha256: &str) -> bool {
        self.sha256.contains(sha256)
    }

    /// How many digests the list holds.
    pub fn len(&self) -> usize {
        self.sha256.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.sha256.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let h = hashes(b"abc");
        assert_eq!(h.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(h.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            h.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn blocklist_skips_comments_and_names_bad_lines() {
        let digest = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        let list = Blocklist::parse(&format!("# bad\n\n{digest}  evil.exe\n")).unwrap();
        assert!(list.contains(&digest.to_ascii_lowercase()));
        assert_eq!(Blocklist::parse("abc\n").unwrap_err(), 1);
    }
}
