//! Errors of loading a site file, each naming the file, the line, the field and the fix.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

/// The most problems kept from one validation; the rest are only counted.
pub const MAX_PROBLEMS: usize = 1000;

/// How many problems the error message lists before "and N more".
const PROBLEMS_SHOWN: usize = 50;

/// Why a site file could not be loaded.
#[derive(Debug, Error)]
pub enum SiteError {
    /// The file could not be read.
    #[error("could not read site file {path}: {source}; check the path and its permissions")]
    Read {
        /// The path as given.
        path: String,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is over [`super::MAX_SITE_BYTES`].
    #[error("site file {file} is {size} bytes, over the {max}-byte limit; split the site")]
    TooLarge {
        /// The file name as given.
        file: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// The YAML does not parse, or a key, type or value is wrong; stops at the first.
    #[error("{file}:{line}:{column}: {message}; fix: {fix}")]
    Syntax {
        /// The file name as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Dotted path of the field, e.g. `assets[3].type`, when known.
        field: String,
        /// What is wrong, with the field path.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// The file parses but breaks rules of the model; every problem is listed.
    #[error("site file {file} has {total} problem(s):\n{}", list(file, problems, *total))]
    Invalid {
        /// The file name as given.
        file: String,
        /// The first [`MAX_PROBLEMS`] problems, in file order where lines are known.
        problems: Vec<Problem>,
        /// How many problems were found in all.
        total: usize,
    },
    /// The site could not be written as YAML.
    #[error("could not write the site as YAML: {message}")]
    Emit {
        /// What the YAML writer reported.
        message: String,
    },
}

impl SiteError {
    /// A stable short code for counters and tests.
    pub fn code(&self) -> &'static str {
        match self {
            SiteError::Read { .. } => "read",
            SiteError::TooLarge { .. } => "too_large",
            SiteError::Syntax { .. } => "syntax",
            SiteError::Invalid { .. } => "invalid",
            SiteError::Emit { .. } => "emit",
        }
    }

    /// The semantic problems; empty for other errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            SiteError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn list(file: &str, problems: &[Problem], total: usize) -> String {
    let mut lines: Vec<String> = problems
        .iter()
        .take(PROBLEMS_SHOWN)
        .map(|p| format!("  {}", p.display_in(file)))
        .collect();
    if total > lines.len() {
        lines.push(format!("  ... and {} more", total - lines.len()));
    }
    lines.join("\n")
}

/// One thing wrong in a site file that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when it could be found.
    pub line: Option<usize>,
    /// Path of the field, e.g. `assets[12].zone`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Problem {
    /// The problem as one line, prefixed with `file:line`.
    pub fn display_in(&self, file: &str) -> String {
        match self.line {
            Some(line) => format!("{file}:{line}: {self}"),
            None => format!("{file}: {self}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}; fix: {}", self.field, self.message, self.fix)
    }
}

/// Where in the text a problem sits: the `nth` line with `owner_key: owner_value` (an
/// item's id), then the first line from there with `key: value`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Anchor {
    pub owner: Option<(&'static str, String, usize)>,
    pub target: Option<(&'static str, String)>,
}

/// How far below an item's first line its fields are searched.
const ITEM_SEARCH_LINES: usize = 400;

/// Finds the lines of anchors in the source text; built only when there are problems.
pub(crate) struct LineFinder<'a> {
    lines: Vec<&'a str>,
    owners: HashMap<(&'static str, &'a str), Vec<usize>>,
}

/// Keys that start an item: ids, dependency sources, service capacities.
const OWNER_KEYS: [&str; 3] = ["id", "from", "service"];

impl<'a> LineFinder<'a> {
    pub fn new(text: &'a str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut owners: HashMap<(&'static str, &str), Vec<usize>> = HashMap::new();
        for (number, line) in lines.iter().enumerate() {
            for key in OWNER_KEYS {
                if let Some(value) = value_after_key(line, key) {
                    owners.entry((key, value)).or_default().push(number);
                }
            }
        }
        LineFinder { lines, owners }
    }

    /// The 1-based line of an anchor, when found.
    pub fn locate(&self, anchor: &Anchor) -> Option<usize> {
        let start = match &anchor.owner {
            Some((key, value, nth)) => {
                let found = self.owners.get(&(*key, value.as_str()))?;
                Some(*found.get(*nth).or(found.last())?)
            }
            None => None,
        };

        let target = anchor.target.as_ref().and_then(|(key, value)| {
            let from = start.unwrap_or(0);
            let until = match start {
                Some(s) => (s + ITEM_SEARCH_LINES).min(self.lines.len()),
                None => self.lines.len(),
            };
            (from..until).find(|&n| line_has(self.lines[n], key, value))
        });
        target.or(start).map(|n| n + 1)
    }
}

/// The plain value written after `key:` on a line, if the line has that key.
fn value_after_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = after_key(line, key)?;
    let rest = rest.trim_start();
    let end = rest.find([',', '}', '#', ']']).unwrap_or(rest.len());
    let value = rest[..end].trim().trim_matches(['"', '\'']);
    (!value.is_empty()).then_some(value)
}

/// The text after `key:` where `key` starts a key position (line start, `- `, `{`, `,`).
fn after_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!("{key}:");
    let mut search = 0;
    while let Some(found) = line[search..].find(&pattern) {
        let at = search + found;
        let before = line[..at].trim_end();
        let key_position = before.is_empty() || before.ends_with(['-', '{', ',']);
        let rest = &line[at + pattern.len()..];
        if key_position && (rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return Some(rest);
        }
        search = at + pattern.len();
    }
    None
}

/// True when the line has `key:` followed by `value` as a whole token (any value if empty).
fn line_has(line: &str, key: &str, value: &str) -> bool {
    let Some(rest) = after_key(line, key) else {
        return false;
    };
    if value.is_empty() {
        return true;
    }
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/');
    rest.match_indices(value).any(|(at, _)| {
        let before = rest[..at].chars().next_back();
        let after = rest[at + value.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "assets:\n  - id: a\n    zone: x\n  - id: b\n    identities: { ip: 10.0.0.1, mac: m }\n  - id: a\n";

    #[test]
    fn finds_the_field_below_its_item() {
        let finder = LineFinder::new(TEXT);
        let anchor = |owner: &str, nth, target: Option<(&'static str, &str)>| Anchor {
            owner: Some(("id", owner.to_string(), nth)),
            target: target.map(|(k, v)| (k, v.to_string())),
        };
        assert_eq!(finder.locate(&anchor("a", 0, Some(("zone", "x")))), Some(3));
        assert_eq!(
            finder.locate(&anchor("b", 0, Some(("ip", "10.0.0.1")))),
            Some(5)
        );
        assert_eq!(
            finder.locate(&anchor("b", 0, Some(("ip", "10.0.0")))),
            Some(4)
        );
        assert_eq!(finder.locate(&anchor("a", 1, None)), Some(6));
    }
}
