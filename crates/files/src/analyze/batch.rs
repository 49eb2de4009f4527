//! A batch of small files read one after the other into one buffer, so that their
//! MD5s can be computed side by side (see [`crate::hash::md5_lanes`]).

use std::fs::File;
use std::io::{Read, Seek};
use std::ops::Range;
use std::path::Path;

use super::AnalyzeError;

/// Files smaller than this (and than the analysis' `max_file_bytes`) are read into a
/// batch; larger ones are read and hashed alone.
pub(super) const BATCHED_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// A batch is closed once it holds this many bytes, so it holds less than
/// `BATCH_BYTES + BATCHED_FILE_BYTES` (16 MiB).
pub(super) const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// A batch is closed once it holds this many files.
pub(super) const BATCH_FILES: usize = 4096;

/// The bytes of a batch's files, one after the other.
///
/// The buffer is zeroed once as it grows and then reused, batch after batch.
#[derive(Default)]
pub(super) struct BatchBuffer {
    bytes: Vec<u8>,
    used: usize,
}

/// What [`BatchBuffer::read_small`] did with a file.
pub(super) enum SmallRead {
    /// The whole file is in the batch, at this range.
    Batched(Range<usize>),
    /// The file is as large as the limit, or grew to it: here it is, from its start.
    TooLarge(File),
}

impl BatchBuffer {
    /// Forgets the files of the previous batch.
    pub fn clear(&mut self) {
        self.used = 0;
    }

    /// Bytes held by the files of this batch.
    pub fn len(&self) -> usize {
        self.used
    }

    /// The bytes of a file of this batch, by the range [`BatchBuffer::read_small`] gave.
    pub fn file(&self, range: Range<usize>) -> &[u8] {
        &self.bytes[range]
    }

    /// Appends a file smaller than `limit` bytes, or hands it back open when it is not.
    pub fn read_small(&mut self, path: &Path, limit: u64) -> Result<SmallRead, AnalyzeError> {
        let read_error = |source| AnalyzeError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(read_error)?;
        let listed = file.metadata().map_err(read_error)?.len();
        if listed >= limit {
            return Ok(SmallRead::TooLarge(file));
        }

        // Room for one byte more than listed: filling it shows that the file grew.
        let start = self.used;
        let room = listed as usize + 1;
        if self.bytes.len() < start + room {
            self.bytes.resize(start + room, 0);
        }
        let filled =
            read_until_full(&mut file, &mut self.bytes[start..start + room]).map_err(read_error)?;

        if filled == room {
            file.rewind().map_err(read_error)?;
            return Ok(SmallRead::TooLarge(file));
        }
        self.used += filled;
        Ok(SmallRead::Batched(start..self.used))
    }
}

/// Reads until `buffer` is full or the file ends; the bytes read.
fn read_until_full(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_follow_each_other_and_large_ones_are_handed_back() {
        let dir = tempfile::tempdir().unwrap();
        let (small, large) = (dir.path().join("small"), dir.path().join("large"));
        std::fs::write(&small, b"0123456789").unwrap();
        std::fs::write(&large, [7u8; 100]).unwrap();

        let mut batch = BatchBuffer::default();
        let Ok(SmallRead::Batched(first)) = batch.read_small(&small, 100) else {
            panic!("a 10-byte file fits under 100 bytes")
        };
        assert!(matches!(
            batch.read_small(&large, 100),
            Ok(SmallRead::TooLarge(_))
        ));
        let Ok(SmallRead::Batched(second)) = batch.read_small(&small, 100) else {
            panic!("a 10-byte file fits under 100 bytes")
        };
        assert_eq!((first.clone(), second.clone()), (0..10, 10..20));
        assert_eq!(batch.file(second), b"0123456789");
        assert_eq!(batch.len(), 20);

        // A new batch reuses the buffer from its start.
        batch.clear();
        let Ok(SmallRead::Batched(again)) = batch.read_small(&small, 11) else {
            panic!("a 10-byte file fits under 11 bytes")
        };
        assert_eq!(again, 0..10);
        assert!(matches!(
            batch.read_small(&small, 10),
            Ok(SmallRead::TooLarge(_))
        ));
        assert!(matches!(
            batch.read_small(&dir.path().join("missing"), 10),
            Err(AnalyzeError::Read { .. })
        ));
    }
}
