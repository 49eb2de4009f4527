//! Finding lines in YAML text, so that errors found after parsing still name a line.

/// Looks up the lines of `id:` entries and of the fields that follow them.
pub struct Locator<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Locator {
            lines: text.lines().collect(),
        }
    }

    /// The 1-based line of the first `id: <id>`, or 1 when none is found.
    pub fn id(&self, id: &str) -> usize {
        self.find_id(id, 0).unwrap_or(1)
    }

    /// The line of the next `id: <id>` after `line`, or `line` when there is none.
    pub fn id_after(&self, id: &str, line: usize) -> usize {
        self.find_id(id, line).unwrap_or(line)
    }

    /// The line of `field:` within the item whose `id:` is on `line`, else `line`.
    ///
    /// The item ends at the next line holding an `id:` key.
    pub fn field(&self, line: usize, field: &str) -> usize {
        let start = line.saturating_sub(1);
        let item = self.lines.iter().enumerate().skip(start);
        for (i, text) in item {
            let key = key_of(text);
            if i > start && key == Some("id") {
                break;
            }
            if key == Some(field) || inline_keys(text).any(|k| k == field) {
                return i + 1;
            }
        }
        line
    }

    fn find_id(&self, id: &str, from: usize) -> Option<usize> {
        let hit = self.lines.iter().enumerate().skip(from).find(|(_, text)| {
            key_of(text) == Some("id") && value_of(text).is_some_and(|v| v == id)
        });
        hit.map(|(i, _)| i + 1)
    }
}

/// The key of a `key: value` line, ignoring list dashes and an opening brace.
fn key_of(line: &str) -> Option<&str> {
    let line = line.trim_start().trim_start_matches("- ").trim_start();
    let line = line.trim_start_matches('{').trim_start();
    let (key, _) = line.split_once(':')?;
    let key = key.trim();
    key.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(key)
}

/// The value of a `key: value` line (or of the first key of an inline map), without
/// quotes or a trailing comment.
fn value_of(line: &str) -> Option<&str> {
    let (_, value) = line.split_once(':')?;
    let value = value.split(" #").next().unwrap_or(value);
    let value = value.split([',', '}']).next().unwrap_or(value).trim();
    Some(value.trim_matches(|c| c == '"' || c == '\''))
}

/// Keys written inline on a line, as in `simulate: { nominal: -20, noise: 0.1 }`.
fn inline_keys(line: &str) -> impl Iterator<Item = &str> {
    let inner = line.split_once('{').map_or("", |(_, rest)| rest);
    inner
        .split(',')
        .filter_map(|part| part.split_once(':').map(|(key, _)| key.trim()))
}

/// The line of a YAML error and its message without the location suffix.
pub fn yaml_error(err: &serde_yaml_ng::Error) -> (usize, String) {
    let line = err.location().map_or(1, |l| l.line());
    let text = err.to_string();
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    (line, message)
}

/// What to do about a YAML or structure error.
pub fn yaml_fix(message: &str) -> &'static str {
    if message.contains("unknown field") {
        "check the spelling of the key against the fields listed"
    } else if message.contains("unknown variant") {
        "use one of the values listed"
    } else if message.contains("missing field") {
        "add the missing field"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "write the value in the expected form"
    } else {
        "check the YAML: indent with spaces, write `key: value`, start list items with `- `"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "devices:\n  - id: plc\n    points:\n      - id: t1\n        low: 3\n      \
                        - id: t2\n        simulate: { nominal: 4, noise: 0 }\n      \
                        - { id: t1, low: 2 }\n";

    #[test]
    fn finds_ids_fields_and_duplicates() {
        let locator = Locator::new(TEXT);
        assert_eq!(locator.id("t1"), 4);
        assert_eq!(locator.id_after("t1", 4), 8);
        assert_eq!(locator.field(8, "low"), 8);
        assert_eq!(locator.field(4, "low"), 5);
        assert_eq!(locator.field(6, "noise"), 7);
        // a field another item has is not this item's
        assert_eq!(locator.field(6, "low"), 6);
    }
}
