//! Following growing log files (`tail -f`), for syslog and JSON lines.
//!
//! Each file is polled for new complete lines; a file that shrinks was
//! rotated or truncated and is read again from its start.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;

use crate::intake::lines::{Line, read_bounded_line};
use crate::intake::{Format, MAX_LINE_BYTES, RecordError, RecordResult, json, syslog};
use crate::record::Origin;

/// One followed file and how far it has been read.
#[derive(Debug)]
pub struct FollowedFile {
    /// The file followed.
    pub path: PathBuf,
    format: Format,
    offset: u64,
    line: u64,
}

impl FollowedFile {
    /// Follows `path` from its start (`from_end` false) or only new lines.
    pub fn new(path: PathBuf, format: Format, from_end: bool) -> Self {
        let offset = if from_end {
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        } else {
            0
        };
        FollowedFile {
            path,
            format,
            offset,
            line: 0,
        }
    }

    /// Reads the complete lines added since the last poll.
    pub fn poll(&mut self, visit: &mut dyn FnMut(RecordResult)) -> std::io::Result<()> {
        let Ok(mut file) = File::open(&self.path) else {
            return Ok(());
        };
        let length = file.metadata()?.len();
        if length < self.offset {
            tracing::info!(path = %self.path.display(), "followed file shrank, reading from start");
            self.offset = 0;
            self.line = 0;
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut reader = BufReader::new(file.take_complete(length - self.offset));
        let name = self.path.display().to_string();
        let now = chrono::Utc::now();

        while let Some(line) = read_bounded_line(&mut reader, MAX_LINE_BYTES)? {
            self.line += 1;
            let origin = Origin {
                source: name.clone(),
                record: self.line,
            };
            match line {
                Line::TooLong { length } => visit(Err(RecordError::new(
                    origin,
                    format!("line of {length} bytes over the limit"),
                ))),
                Line::Text(text) if text.trim_ascii().is_empty() => {}
                Line::Text(text) => match self.format {
                    Format::Json => visit(json::parse_record(&text, origin)),
                    _ => visit(syslog::parse_syslog_line(&text, origin, now)),
                },
            }
        }
        self.offset = reader.into_inner().consumed_to();
        Ok(())
    }
}

/// A reader over a file that stops after its last newline, so a line being
/// written is left for the next poll.
struct Complete {
    file: File,
    start: u64,
    end: u64,
    position: u64,
}

trait TakeComplete {
    fn take_complete(self, available: u64) -> Complete;
}

impl TakeComplete for File {
    fn take_complete(mut self, available: u64) -> Complete {
        let start = self.stream_position().unwrap_or(0);
        let end = last_newline(&mut self, start, available).unwrap_or(start);
        let _ = self.seek(SeekFrom::Start(start));
        Complete {
            file: self,
            start,
            end,
            position: start,
        }
    }
}

impl Complete {
    fn consumed_to(&self) -> u64 {
        self.position.max(self.start)
    }
}

impl std::io::Read for Complete {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.end.saturating_sub(self.position);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(left as usize);
        let read = self.file.read(buf.get_mut(..want).unwrap_or_default())?;
        self.position += read as u64;
        Ok(read)
    }
}

/// The offset just past the last `\n` in `[start, start + available)`.
fn last_newline(file: &mut File, start: u64, available: u64) -> Option<u64> {
    use std::io::Read;
    const BLOCK: u64 = 64 * 1024;
    let mut block_end = start + available;
    while block_end > start {
        let block_start = block_end.saturating_sub(BLOCK).max(start);
        let mut buf = vec![0u8; (block_end - block_start) as usize];
        file.seek(SeekFrom::Start(block_start)).ok()?;
        file.read_exact(&mut buf).ok()?;
        if let Some(at) = buf.iter().rposition(|&b| b == b'\n') {
            return Some(block_start + at as u64 + 1);
        }
        block_end = block_start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_only_complete_new_lines_and_survives_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let mut file = File::create(&path).unwrap();
        write!(
            file,
            "Dec 10 06:55:46 h sshd[1]: one\nDec 10 06:55:47 h sshd[1]: tw"
        )
        .unwrap();

        let mut followed = FollowedFile::new(path.clone(), Format::Syslog, false);
        let mut seen = Vec::new();
        followed
            .poll(&mut |r| seen.push(r.unwrap().str("message").unwrap().to_string()))
            .unwrap();
        assert_eq!(seen, ["one"]);

        writeln!(file, "o").unwrap();
        followed
            .poll(&mut |r| seen.push(r.unwrap().str("message").unwrap().to_string()))
            .unwrap();
        assert_eq!(seen, ["one", "two"]);

        let mut file = File::create(&path).unwrap();
        writeln!(file, "Dec 10 06:55:48 h sshd[1]: three").unwrap();
        followed
            .poll(&mut |r| seen.push(r.unwrap().str("message").unwrap().to_string()))
            .unwrap();
        assert_eq!(seen, ["one", "two", "three"]);
    }
}
