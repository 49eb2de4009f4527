//! Which events a rule, or a step of a sequence, looks at.

use safecare_core::{Domain, Module};
use serde_json::Value;

use crate::path::{EventView, FieldPath, values_equal};

/// An event kind pattern: exact (`auth.failure`) or with `*` (`auth.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: String,
}

impl Glob {
    /// Checks a pattern: lowercase dotted words, `*` standing for any text.
    pub(crate) fn parse(pattern: &str) -> Result<Glob, String> {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.*".contains(&b);
        if pattern.is_empty() {
            return Err("empty kind pattern: write e.g. auth.failure or auth.*".into());
        }
        if let Some(bad) = pattern.bytes().find(|b| !allowed(*b)) {
            return Err(format!(
                "kind pattern `{pattern}` has `{}`: use lowercase letters, digits, `_`, `.` and `*`",
                bad as char
            ));
        }
        if pattern.contains("**") || pattern.split('.').any(str::is_empty) {
            return Err(format!(
                "kind pattern `{pattern}` has `**` or an empty part: write e.g. ot.bacnet.*"
            ));
        }
        Ok(Glob {
            pattern: pattern.to_string(),
        })
    }

    /// True when `text` fits the pattern; `*` matches any run of characters.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let (pattern, text) = (self.pattern.as_bytes(), text.as_bytes());
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some(b'*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == b'*')
    }
}

/// All the conditions an event must meet; empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    pub(crate) kinds: Vec<Glob>,
    pub(crate) modules: Vec<Module>,
    pub(crate) domain: Option<Domain>,
    pub(crate) severity_min: Option<u8>,
    pub(crate) fields: Vec<(FieldPath, Value)>,
}

impl Matcher {
    /// True when the event meets every condition; cheap checks come first.
    pub(crate) fn matches(&self, view: &EventView) -> bool {
        let event = view.event;
        if !self.kinds.is_empty() && !self.kinds.iter().any(|g| g.matches(&event.kind)) {
            return false;
        }
        if !self.modules.is_empty() && !self.modules.contains(&event.module) {
            return false;
        }
        if self.domain.is_some_and(|d| d != event.domain) {
            return false;
        }
        if self.severity_min.is_some_and(|min| event.severity < min) {
            return false;
        }

        self.fields.iter().all(|(path, expected)| {
            view.value(path)
                .is_some_and(|actual| values_equal(actual, expected))
        })
    }

    /// True when the matcher sets no condition at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.kinds.is_empty()
            && self.modules.is_empty()
            && self.domain.is_none()
            && self.severity_min.is_none()
            && self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safecare_core::SecurityEvent;
    use serde_json::json;

    fn glob(p: &str) -> Glob {
        Glob::parse(p).unwrap()
    }

    #[test]
    fn globs_match_exact_and_wildcards() {
        assert!(glob("auth.failure").matches("auth.failure"));
        assert!(!glob("auth.failure").matches("auth.failures"));
        assert!(glob("auth.*").matches("auth.brute_force"));
        assert!(!glob("auth.*").matches("author.x"));
        assert!(glob("ot.*.write*").matches("ot.bacnet.write_property"));
        assert!(glob("*.smoke").matches("fire.smoke"));
        assert!(!glob("ot.bacnet.*").matches("ot.modbus.unauthorized_write"));
    }

    #[test]
    fn bad_globs_are_refused() {
        for bad in ["", "Auth.*", "auth..x", "auth.**", "auth failure", "auth.?"] {
            assert!(Glob::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let mut event = SecurityEvent::new(Module::Access, "access.after_hours", 60, "Entry");
        event.evidence.insert("after_hours".into(), json!(true));
        let view = EventView::new(&event);

        let mut matcher = Matcher {
            kinds: vec![glob("access.*")],
            modules: vec![Module::Access],
            domain: Some(Domain::Physical),
            severity_min: Some(60),
            fields: vec![(
                FieldPath::parse("evidence.after_hours").unwrap(),
                json!(true),
            )],
        };
        assert!(matcher.matches(&view));

        matcher.severity_min = Some(61);
        assert!(!matcher.matches(&view));
        matcher.severity_min = None;
        matcher.fields[0].1 = json!(false);
        assert!(!matcher.matches(&view));
        matcher.fields.clear();
        matcher.domain = Some(Domain::Cyber);
        assert!(!matcher.matches(&view));
    }
}
