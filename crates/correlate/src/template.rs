//! Alert summary templates: `"{count} failed logins from {source.ip} on {asset}"`.

use crate::path::FieldPath;

/// A value an alert summary can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// How many events the alert groups.
    Count,
    /// The alert's asset, else "an unknown asset".
    Asset,
    /// The alert's zone, else "an unknown zone".
    Zone,
    /// Time of the first grouped event, `YYYY-MM-DD HH:MM UTC`.
    FirstSeen,
    /// Time of the last grouped event.
    LastSeen,
    /// The rule's window, e.g. `15m`.
    Window,
    /// The distinct event kinds, comma-separated.
    Kinds,
    /// Any event field; the index into the rule's list of field placeholders.
    Field(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A parsed summary template and the event fields it needs.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    parts: Vec<Part>,
    /// Event field paths named by `{...}`, in order of first use.
    pub(crate) fields: Vec<FieldPath>,
}

/// What the renderer reads from an alert.
pub(crate) struct Values<'a> {
    pub(crate) count: u64,
    pub(crate) asset: Option<&'a str>,
    pub(crate) zone: Option<&'a str>,
    pub(crate) first_seen: String,
    pub(crate) last_seen: String,
    pub(crate) window: &'a str,
    pub(crate) kinds: &'a [String],
    /// One entry per [`Template::fields`] entry.
    pub(crate) fields: &'a [Option<String>],
}

/// The longest summary kept, in bytes; longer renderings are cut.
const MAX_SUMMARY: usize = 1000;

impl Template {
    /// Parses `text`; `{{` and `}}` stand for literal braces.
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut template = Template {
            parts: Vec::new(),
            fields: Vec::new(),
        };
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek()) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    literal.push(c);
                    chars.next();
                }
                ('{', _) => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed || name.contains('{') {
                        return Err(format!(
                            "summary has an unclosed `{{{name}`: close it with `}}`"
                        ));
                    }
                    template.push_text(&mut literal);
                    let placeholder = template.placeholder(name.trim())?;
                    template.parts.push(Part::Value(placeholder));
                }
                ('}', _) => {
                    return Err("summary has a `}` without `{`: write `}}` for a brace".into());
                }
                _ => literal.push(c),
            }
        }
        template.push_text(&mut literal);
        Ok(template)
    }

    fn push_text(&mut self, literal: &mut String) {
        if !literal.is_empty() {
            self.parts.push(Part::Text(std::mem::take(literal)));
        }
    }

    fn placeholder(&mut self, name: &str) -> Result<Placeholder, String> {
        let fixed = match name {
            "count" => Some(Placeholder::Count),
            "asset" => Some(Placeholder::Asset),
            "zone" => Some(Placeholder::Zone),
            "first_seen" => Some(Placeholder::FirstSeen),
            "last_seen" => Some(Placeholder::LastSeen),
            "window" => Some(Placeholder::Window),
            "kinds" => Some(Placeholder::Kinds),
            _ => None,
        };
        if let Some(fixed) = fixed {
            return Ok(fixed);
        }

        let path = FieldPath::parse(name).map_err(|e| format!("summary placeholder: {e}"))?;
        let index = match self.fields.iter().position(|f| *f == path) {
            Some(index) => index,
            None => {
                self.fields.push(path);
                self.fields.len() - 1
            }
        };
        Ok(Placeholder::Field(index))
    }

    /// Renders the summary; a field no event carried reads "unknown".
    pub(crate) fn render(&self, values: &Values) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(placeholder) => out.push_str(&value_text(placeholder, values)),
            }
        }
        truncate(out)
    }
}

fn value_text(placeholder: &Placeholder, values: &Values) -> String {
    match placeholder {
        Placeholder::Count => values.count.to_string(),
        Placeholder::Asset => values.asset.unwrap_or("an unknown asset").to_string(),
        Placeholder::Zone => values.zone.unwrap_or("an unknown zone").to_string(),
        Placeholder::FirstSeen => values.first_seen.clone(),
        Placeholder::LastSeen => values.last_seen.clone(),
        Placeholder::Window => values.window.to_string(),
        Placeholder::Kinds => values.kinds.join(", "),
        Placeholder::Field(index) => values
            .fields
            .get(*index)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "unknown".to_string()),
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_SUMMARY {
        let mut cut = MAX_SUMMARY;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(fields: &'a [Option<String>], kinds: &'a [String]) -> Values<'a> {
        Values {
            count: 12,
            asset: Some("radiology-ws-1"),
            zone: None,
            first_seen: "2026-12-03 10:00 UTC".into(),
            last_seen: "2026-12-03 10:04 UTC".into(),
            window: "5m",
            kinds,
            fields,
        }
    }

    #[test]
    fn renders_fixed_and_field_placeholders() {
        let t = Template::parse("{count} failures from {source.ip} on {asset} in {zone} {{x}}")
            .unwrap();
        assert_eq!(t.fields.len(), 1);
        let fields = [Some("10.10.5.11".to_string())];
        let text = t.render(&values(&fields, &[]));
        assert_eq!(
            text,
            "12 failures from 10.10.5.11 on radiology-ws-1 in an unknown zone {x}"
        );
    }

    #[test]
    fn missing_field_reads_unknown() {
        let t = Template::parse("user {user.name}, kinds {kinds}").unwrap();
        let kinds = ["auth.failure".to_string(), "auth.success".to_string()];
        let text = t.render(&values(&[None], &kinds));
        assert_eq!(text, "user unknown, kinds auth.failure, auth.success");
    }

    #[test]
    fn bad_templates_say_why() {
        assert!(
            Template::parse("from {source.ip")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(Template::parse("x } y").unwrap_err().contains("without"));
        assert!(Template::parse("{sauce.ip}").unwrap_err().contains("sauce"));
    }
}
