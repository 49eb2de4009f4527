//! Bounded line reading: a line longer than the limit is cut and reported,
//! never held whole in memory.

use std::io::{self, BufRead};

/// One line read by [`read_bounded_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line (without its `\n` or `\r\n`).
    Text(Vec<u8>),
    /// A line over the limit: its first bytes were skipped, `length` is the full size.
    #[allow(missing_docs)]
    TooLong { length: usize },
}

/// Reads one line of at most `max` bytes; `None` at end of input.
pub fn read_bounded_line(reader: &mut impl BufRead, max: usize) -> io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut length = 0usize;
    let mut seen_any = false;

    loop {
        let available = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            break;
        }
        seen_any = true;

        let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (available.get(..at).unwrap_or_default(), true),
            None => (available, false),
        };
        length = length.saturating_add(chunk.len());
        if length <= max {
            line.extend_from_slice(chunk);
        }

        let consumed = chunk.len() + usize::from(found_newline);
        reader.consume(consumed);
        if found_newline {
            break;
        }
    }

    if !seen_any {
        return Ok(None);
    }
    if length > max {
        return Ok(Some(Line::TooLong { length }));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(Line::Text(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_strips_crlf() {
        let mut input: &[u8] = b"one\r\ntwo\nthree";
        let mut lines = Vec::new();
        while let Some(line) = read_bounded_line(&mut input, 100).unwrap() {
            lines.push(line);
        }
        assert_eq!(
            lines,
            [
                Line::Text(b"one".to_vec()),
                Line::Text(b"two".to_vec()),
                Line::Text(b"three".to_vec())
            ]
        );
    }

    #[test]
    fn an_overlong_line_is_reported_and_the_next_one_read() {
        let mut data = vec![b'x'; 5000];
        data.extend_from_slice(b"\nok\n");
        let mut input = std::io::BufReader::with_capacity(64, data.as_slice());

        let first = read_bounded_line(&mut input, 1000).unwrap();
        let second = read_bounded_line(&mut input, 1000).unwrap();

        assert_eq!(first, Some(Line::TooLong { length: 5000 }));
        assert_eq!(second, Some(Line::Text(b"ok".to_vec())));
    }
}
