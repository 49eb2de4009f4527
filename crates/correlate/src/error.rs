//! Errors of rule files, with the file, line and column they concern.

use thiserror::Error;

/// A rules file that cannot be used: where and why.
///
/// Syntax errors point at the offending character; semantic errors (unknown
/// rule type, duplicate id, empty sequence, zero window, bad glob...) point at
/// the line of the offending setting inside its rule, or at the rule's first
/// line when the setting cannot be found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct RuleError {
    /// The file name given to the parser.
    pub file: String,
    /// 1-based line; 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// Why [`crate::RuleSet::load`] failed.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("could not read rules file {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// Where the items of a top-level block list start in the YAML text.
///
/// serde keeps no positions, so errors found after parsing are placed by
/// scanning the text: exact for block-style YAML, the list's key line
/// otherwise.
pub(crate) struct ItemLines<'a> {
    lines: Vec<&'a str>,
    /// 1-based line of the `key:` line; 1 when not found.
    key_line: usize,
    /// First line (1-based) and one past the last line of each item.
    items: Vec<(usize, usize)>,
}

impl<'a> ItemLines<'a> {
    /// Scans `text` for the block list under the top-level `key:`.
    pub(crate) fn find(text: &'a str, key: &str) -> ItemLines<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let header = format!("{key}:");
        let is_header = |l: &&str| {
            let l = l.trim_end();
            l == header
                || (l.starts_with(&header) && l[header.len()..].trim_start().starts_with('#'))
        };
        let Some(start) = lines.iter().position(is_header) else {
            return ItemLines {
                lines,
                key_line: 1,
                items: Vec::new(),
            };
        };

        let mut items: Vec<(usize, usize)> = Vec::new();
        let mut item_indent = None;
        let mut end = lines.len() + 1;
        for (number, line) in lines.iter().enumerate().skip(start + 1) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let indent = line.len() - content.len();
            let is_item = content == "-" || content.starts_with("- ");
            let expected = *item_indent.get_or_insert(indent);
            if indent < expected || (indent == expected && !is_item) {
                end = number + 1;
                break;
            }
            if indent == expected {
                if let Some(last) = items.last_mut() {
                    last.1 = number + 1;
                }
                items.push((number + 1, end));
            }
        }
        if let Some(last) = items.last_mut() {
            last.1 = end;
        }
        ItemLines {
            lines,
            key_line: start + 1,
            items,
        }
    }

    /// (line, column) of the list's key, for errors about the whole list.
    pub(crate) fn key(&self) -> (usize, usize) {
        (self.key_line, 1)
    }

    /// (line, column) of item `index`, or of the key when unknown.
    pub(crate) fn item(&self, index: usize) -> (usize, usize) {
        match self.items.get(index) {
            Some(&(line, _)) => (line, self.indent_of(line) + 1),
            None => self.key(),
        }
    }

    /// The first line in item `index` that sets `name:` (after any `- `).
    pub(crate) fn setting(&self, index: usize, name: &str) -> (usize, usize) {
        let wanted = format!("{name}:");
        self.find_in_item(index, |content| content.starts_with(&wanted))
    }

    /// The first line in item `index` that contains `needle` anywhere.
    pub(crate) fn text(&self, index: usize, needle: &str) -> (usize, usize) {
        self.find_in_item(index, |content| content.contains(needle))
    }

    fn find_in_item(&self, index: usize, test: impl Fn(&str) -> bool) -> (usize, usize) {
        let Some(&(first, end)) = self.items.get(index) else {
            return self.item(index);
        };
        for number in first..end {
            let Some(line) = self.lines.get(number - 1) else {
                break;
            };
            let content = line.trim_start();
            let content = content.strip_prefix("- ").unwrap_or(content).trim_start();
            if test(content) {
                return (number, self.indent_of(number) + 1);
            }
        }
        self.item(index)
    }

    fn indent_of(&self, line: usize) -> usize {
        let text = self.lines.get(line.wrapping_sub(1)).copied().unwrap_or("");
        let content = text.trim_start();
        let after_dash = content
            .strip_prefix("- ")
            .map_or(0, |rest| content.len() - rest.trim_start().len());
        text.len() - content.len() + after_dash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
version: 1
# a comment
rules:
  - id: one
    window: 5m

  - id: two
    # inside
    window: 0s
  - id: three
other: 1
";

    #[test]
    fn finds_items_and_settings() {
        let lines = ItemLines::find(TEXT, "rules");
        assert_eq!(lines.key(), (3, 1));
        assert_eq!(lines.item(0), (4, 5));
        assert_eq!(lines.item(1), (7, 5));
        assert_eq!(lines.item(2), (10, 5));
        assert_eq!(lines.setting(1, "window"), (9, 5));
        assert_eq!(
            lines.setting(2, "window"),
            (10, 5),
            "falls back to the item"
        );
        assert_eq!(lines.text(0, "5m"), (5, 5));
        assert_eq!(lines.item(7), (3, 1), "unknown item falls back to the key");
    }

    #[test]
    fn missing_key_points_at_the_first_line() {
        let lines = ItemLines::find("version: 1\n", "rules");
        assert_eq!(lines.item(0), (1, 1));
    }
}
