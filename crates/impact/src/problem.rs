//! Located problems in the YAML files this crate reads (propagation rules, playbooks).

use std::fmt;

/// One problem found in a rules or playbook file: where, which item, what, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// Id of the rule, playbook or action concerned (empty for the file as a whole).
    pub item: String,
    /// What is wrong.
    pub message: String,
    /// What to change.
    pub fix: String,
    /// True when two items contradict each other (only rules can).
    pub contradiction: bool,
}

impl Problem {
    /// A problem of one item at a known line.
    pub fn new(line: Option<usize>, item: &str, message: String, fix: &str) -> Problem {
        Problem {
            line,
            item: item.to_string(),
            message,
            fix: fix.to_string(),
            contradiction: false,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}")?,
            None => f.write_str("file")?,
        }
        if !self.item.is_empty() {
            write!(f, ", `{}`", self.item)?;
        }
        write!(f, ": {}; {}", self.message, self.fix)
    }
}

/// Lists problems one per line, for error messages.
pub fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Line and column of a YAML error, and its message without the location suffix.
pub fn yaml_location(err: &serde_yaml_ng::Error) -> (usize, usize, String) {
    let (line, column) = err.location().map_or((1, 1), |l| (l.line(), l.column()));
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    (line, column, message)
}

/// Finds the line of each `id: <value>` in file order, so items can be located.
///
/// Looks for the ids in the order given, each after the previous one's line, which matches
/// how a list of items is written.
pub fn locate_ids<'a>(text: &str, ids: impl Iterator<Item = &'a str>) -> Vec<Option<usize>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = Vec::new();
    for id in ids {
        let hit = (from..lines.len()).find(|&i| line_has_id(lines[i], id));
        if let Some(i) = hit {
            from = i + 1;
        }
        found.push(hit.map(|i| i + 1));
    }
    found
}

fn line_has_id(line: &str, id: &str) -> bool {
    let line = line.trim_start().trim_start_matches("- ").trim_start();
    let line = line.trim_start_matches('{').trim_start();
    let Some(rest) = line.strip_prefix("id:") else {
        return false;
    };
    let value = rest
        .trim()
        .split([',', '}', '#'])
        .next()
        .unwrap_or("")
        .trim();
    value.trim_matches(['"', '\'']) == id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_located_in_order() {
        let text = "rules:\n  - id: a\n    x: 1\n  - { id: \"b\", x: 2 }\n  - id: a\n";
        let lines = locate_ids(text, ["a", "b", "a", "c"].into_iter());
        assert_eq!(lines, vec![Some(2), Some(4), Some(5), None]);
    }
}
