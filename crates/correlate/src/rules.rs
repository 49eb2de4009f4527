//! The rules file: parsing, checking and the compiled rule set.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use safecare_core::scenario::{format_duration, parse_duration};
use safecare_core::{CapSeverity, Domain, Module};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::{ItemLines, LoadError, RuleError};
use crate::matcher::{Glob, Matcher};
use crate::path::FieldPath;
use crate::template::Template;

/// The largest rules file accepted: 1 MiB.
pub const MAX_RULES_BYTES: usize = 1024 * 1024;
/// The most rules one file may hold.
pub const MAX_RULES: usize = 1_000;
/// The most steps a sequence rule may have.
pub const MAX_STEPS: usize = 8;
/// The largest `count` a threshold rule may ask for.
pub const MAX_THRESHOLD: u32 = 1_000;

/// The rules shipped with SafeCare (`rules/default.yaml`).
const DEFAULT_RULES: &str = include_str!("../rules/default.yaml");

/// How a rule groups events into alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleType {
    /// Each matching event raises an alert, deduplicated per group within the window.
    Single,
    /// `count` matching events per group within the window raise an alert.
    Threshold,
    /// Ordered steps within the window, joined on a field, raise an alert.
    Sequence,
}

/// How an alert's CAP severity is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeveritySpec {
    /// From the highest severity of the grouped events.
    FromEvents,
    /// Always this severity.
    Fixed(CapSeverity),
}

/// One step of a sequence rule.
#[derive(Debug, Clone)]
pub(crate) struct SequenceStep {
    pub(crate) matcher: Matcher,
    /// The field that joins this step; the rule's `join` when unset.
    pub(crate) key: Option<FieldPath>,
}

/// The matching logic of a rule.
#[derive(Debug, Clone)]
pub(crate) enum Logic {
    Single {
        matcher: Matcher,
        group_by: Vec<FieldPath>,
    },
    Threshold {
        matcher: Matcher,
        group_by: Vec<FieldPath>,
        count: usize,
    },
    Sequence {
        steps: Vec<SequenceStep>,
        join: Option<FieldPath>,
    },
}

/// One checked correlation rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) enabled: bool,
    pub(crate) window: Duration,
    pub(crate) severity: SeveritySpec,
    pub(crate) summary: Template,
    pub(crate) logic: Logic,
    /// A catch-all: raises only for events that no other single or threshold rule matches.
    pub(crate) fallback: bool,
}

impl Rule {
    /// The rule id, copied into every alert it raises.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The alert title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// What the rule detects, for people tuning rules.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// False when the file switched the rule off (`enabled: false`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The dedup, aggregation or sequence window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How the rule groups events.
    pub fn rule_type(&self) -> RuleType {
        match self.logic {
            Logic::Single { .. } => RuleType::Single,
            Logic::Threshold { .. } => RuleType::Threshold,
            Logic::Sequence { .. } => RuleType::Sequence,
        }
    }

    /// How the alert severity is chosen.
    pub fn severity(&self) -> SeveritySpec {
        self.severity
    }
}

/// A checked set of correlation rules, ready for [`crate::Engine::new`].
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses and checks a rules file; `file_name` is only used in errors.
    ///
    /// Every problem is reported with its line: YAML syntax, unknown settings,
    /// and semantic ones (duplicate id, empty sequence, zero window, bad glob).
    pub fn from_yaml(text: &str, file_name: &str) -> Result<RuleSet, RuleError> {
        if text.len() > MAX_RULES_BYTES {
            let reason = format!(
                "the file is {} bytes, over the {MAX_RULES_BYTES}-byte limit: split it",
                text.len()
            );
            return Err(error_at(file_name, (0, 0), reason));
        }

        // 1. YAML syntax and the shape of each setting.
        let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|err| {
            let at = err.location().map_or((0, 0), |l| (l.line(), l.column()));
            error_at(file_name, at, strip_location(&err.to_string()))
        })?;

        // 2. The file as a whole.
        let lines = ItemLines::find(text, "rules");
        if raw.version != 1 {
            let reason = format!(
                "unsupported version {}: this SafeCare reads version 1",
                raw.version
            );
            return Err(error_at(file_name, (1, 1), reason));
        }
        if raw.rules.len() > MAX_RULES {
            let reason = format!("{} rules, over the limit of {MAX_RULES}", raw.rules.len());
            return Err(error_at(file_name, lines.key(), reason));
        }

        // 3. Each rule, then ids across rules.
        let mut rules = Vec::with_capacity(raw.rules.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, raw_rule) in raw.rules.into_iter().enumerate() {
            let rule = compile_rule(
                raw_rule,
                &Site {
                    lines: &lines,
                    index,
                },
            )
            .map_err(|(at, reason)| error_at(file_name, at, reason))?;
            if let Some(first) = seen.insert(rule.id.clone(), index) {
                let reason = format!(
                    "duplicate rule id `{}`: the first one is on line {}; rename one of them",
                    rule.id,
                    lines.item(first).0
                );
                return Err(error_at(file_name, lines.setting(index, "id"), reason));
            }
            rules.push(rule);
        }
        Ok(RuleSet { rules })
    }

    /// Reads and checks a rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<RuleSet, LoadError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            file: file.clone(),
            source,
        })?;
        let rules = RuleSet::from_yaml(&text, &file)?;
        tracing::info!(file = %file, rules = rules.len(), "loaded correlation rules");
        Ok(rules)
    }

    /// The rules shipped with SafeCare.
    ///
    /// The file is embedded at build time and checked by the tests, so this
    /// never fails on a released build.
    pub fn defaults() -> RuleSet {
        RuleSet::from_yaml(DEFAULT_RULES, "rules/default.yaml").unwrap_or_else(|err| {
            // A broken embedded file is a build defect the tests catch; an empty
            // set keeps the platform running and says so loudly.
            tracing::error!(%err, "the embedded default rules do not load; running without rules");
            RuleSet { rules: Vec::new() }
        })
    }

    /// The text of the shipped rules file, e.g. to write it out for editing.
    pub fn default_yaml() -> &'static str {
        DEFAULT_RULES
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A position (line, column) and a reason, before the file name is added.
type Problem = ((usize, usize), String);

/// Where in the file rule `index` stands, to place its errors.
struct Site<'a> {
    lines: &'a ItemLines<'a>,
    index: usize,
}

impl Site<'_> {
    fn at_rule(&self, reason: String) -> Problem {
        (self.lines.item(self.index), reason)
    }

    fn at_setting(&self, name: &str, reason: String) -> Problem {
        (self.lines.setting(self.index, name), reason)
    }

    fn at_text(&self, needle: &str, reason: String) -> Problem {
        (self.lines.text(self.index, needle), reason)
    }
}

// ---------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u32,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawType {
    Single,
    Threshold,
    Sequence,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(rename = "type")]
    rule_type: RawType,
    title: String,
    #[serde(default)]
    description: String,
    summary: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    window: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, rename = "match")]
    matcher: Option<RawMatcher>,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    join: Option<String>,
    #[serde(default)]
    steps: Vec<RawStep>,
    #[serde(default)]
    fallback: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatcher {
    #[serde(default)]
    kind: StringList,
    #[serde(default)]
    module: StringList,
    #[serde(default)]
    domain: Option<Domain>,
    #[serde(default)]
    severity_min: Option<u8>,
    #[serde(default)]
    fields: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    /// A label for people reading the rule; not used in matching.
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    kind: StringList,
    #[serde(default)]
    module: StringList,
    #[serde(default)]
    domain: Option<Domain>,
    #[serde(default)]
    severity_min: Option<u8>,
    #[serde(default)]
    fields: serde_json::Map<String, Value>,
    #[serde(default)]
    key: Option<String>,
}

/// One string or a list of strings.
#[derive(Default)]
struct StringList(Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                Ok(StringList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StringList(items))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

// ---------------------------------------------------------------------------
// Checking and compiling.

fn compile_rule(raw: RawRule, site: &Site) -> Result<Rule, Problem> {
    check_id(&raw.id, site)?;
    if raw.title.trim().is_empty() {
        return Err(site.at_setting("title", "`title` must not be empty".into()));
    }
    let summary =
        Template::parse(&raw.summary).map_err(|reason| site.at_setting("summary", reason))?;
    let window = compile_window(&raw.window, site)?;
    let severity = compile_severity(raw.severity.as_deref(), site)?;

    let logic = match raw.rule_type {
        RawType::Single => compile_single(&raw, site)?,
        RawType::Threshold => compile_threshold(&raw, site)?,
        RawType::Sequence => compile_sequence(&raw, site)?,
    };
    if raw.fallback && !matches!(raw.rule_type, RawType::Single) {
        let reason = "`fallback: true` is for single rules (a catch-all for unmatched events)";
        return Err(site.at_setting("fallback", reason.into()));
    }

    Ok(Rule {
        id: raw.id,
        title: raw.title,
        description: raw.description,
        enabled: raw.enabled,
        window,
        severity,
        summary,
        logic,
        fallback: raw.fallback,
    })
}

fn check_id(id: &str, site: &Site) -> Result<(), Problem> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        let reason = format!(
            "rule id `{id}` must be 1-64 lowercase letters, digits, `-` or `_`, e.g. brute-force-login"
        );
        Err(site.at_setting("id", reason))
    }
}

fn compile_window(text: &str, site: &Site) -> Result<Duration, Problem> {
    let window = parse_duration(text)
        .map_err(|err| site.at_setting("window", format!("`window`: {err}")))?;
    if window.is_zero() {
        let reason = "`window` is zero: give the time the rule looks back, e.g. 15m".to_string();
        return Err(site.at_setting("window", reason));
    }
    Ok(window)
}

fn compile_severity(text: Option<&str>, site: &Site) -> Result<SeveritySpec, Problem> {
    let spec = match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("from_events") => SeveritySpec::FromEvents,
        Some("minor") => SeveritySpec::Fixed(CapSeverity::Minor),
        Some("moderate") => SeveritySpec::Fixed(CapSeverity::Moderate),
        Some("severe") => SeveritySpec::Fixed(CapSeverity::Severe),
        Some("extreme") => SeveritySpec::Fixed(CapSeverity::Extreme),
        Some(other) => {
            let reason = format!(
                "unknown severity `{other}`: use from_events, Minor, Moderate, Severe or Extreme"
            );
            return Err(site.at_setting("severity", reason));
        }
    };
    Ok(spec)
}

fn compile_single(raw: &RawRule, site: &Site) -> Result<Logic, Problem> {
    refuse_sequence_settings(raw, site, "single")?;
    if raw.count.is_some() {
        let reason = "`count` belongs to threshold rules: remove it or use `type: threshold`";
        return Err(site.at_setting("count", reason.into()));
    }
    Ok(Logic::Single {
        matcher: compile_rule_matcher(raw, site, "single")?,
        group_by: compile_paths(&raw.group_by, site)?,
    })
}

fn compile_threshold(raw: &RawRule, site: &Site) -> Result<Logic, Problem> {
    refuse_sequence_settings(raw, site, "threshold")?;
    let count = match raw.count {
        Some(count) if (2..=MAX_THRESHOLD).contains(&count) => count as usize,
        Some(count) => {
            let reason = format!(
                "`count: {count}` is out of range: a threshold is 2 to {MAX_THRESHOLD} events (use a single rule for 1)"
            );
            return Err(site.at_setting("count", reason));
        }
        None => {
            let reason = "a threshold rule needs `count:`, the number of events that raise it";
            return Err(site.at_rule(reason.into()));
        }
    };
    Ok(Logic::Threshold {
        matcher: compile_rule_matcher(raw, site, "threshold")?,
        group_by: compile_paths(&raw.group_by, site)?,
        count,
    })
}

fn compile_sequence(raw: &RawRule, site: &Site) -> Result<Logic, Problem> {
    if raw.matcher.is_some() {
        let reason = "a sequence rule matches in its `steps`, not in `match`: move the conditions";
        return Err(site.at_setting("match", reason.into()));
    }
    for (name, set) in [
        ("group_by", !raw.group_by.is_empty()),
        ("count", raw.count.is_some()),
    ] {
        if set {
            let reason = format!("`{name}` is not a sequence setting: sequences use `join`");
            return Err(site.at_setting(name, reason));
        }
    }
    if raw.steps.len() < 2 {
        let reason = format!(
            "a sequence needs at least two steps, this one has {}: add steps or use `type: single`",
            raw.steps.len()
        );
        return Err(site.at_setting("steps", reason));
    }
    if raw.steps.len() > MAX_STEPS {
        let reason = format!("{} steps, over the limit of {MAX_STEPS}", raw.steps.len());
        return Err(site.at_setting("steps", reason));
    }

    let join = raw
        .join
        .as_deref()
        .map(|j| compile_path(j, site))
        .transpose()?;
    let mut steps = Vec::with_capacity(raw.steps.len());
    for (number, step) in raw.steps.iter().enumerate() {
        let matcher = compile_matcher(
            &step.kind.0,
            &step.module.0,
            step.domain,
            step.severity_min,
            &step.fields,
            site,
        )
        .map_err(|(at, reason)| (at, format!("step {}: {reason}", number + 1)))?;
        let key = step
            .key
            .as_deref()
            .map(|k| compile_path(k, site))
            .transpose()?;
        steps.push(SequenceStep { matcher, key });
    }
    Ok(Logic::Sequence { steps, join })
}

fn refuse_sequence_settings(raw: &RawRule, site: &Site, kind: &str) -> Result<(), Problem> {
    if !raw.steps.is_empty() {
        let reason = format!("`steps` belong to sequence rules, not {kind} rules");
        return Err(site.at_setting("steps", reason));
    }
    if raw.join.is_some() {
        let reason = format!("`join` belongs to sequence rules; {kind} rules use `group_by`");
        return Err(site.at_setting("join", reason));
    }
    Ok(())
}

fn compile_rule_matcher(raw: &RawRule, site: &Site, kind: &str) -> Result<Matcher, Problem> {
    let Some(m) = &raw.matcher else {
        let reason = format!("a {kind} rule needs `match:` with the events it looks at");
        return Err(site.at_rule(reason));
    };
    compile_matcher(
        &m.kind.0,
        &m.module.0,
        m.domain,
        m.severity_min,
        &m.fields,
        site,
    )
}

fn compile_matcher(
    kinds: &[String],
    modules: &[String],
    domain: Option<Domain>,
    severity_min: Option<u8>,
    fields: &serde_json::Map<String, Value>,
    site: &Site,
) -> Result<Matcher, Problem> {
    let mut matcher = Matcher {
        domain,
        severity_min,
        ..Matcher::default()
    };
    for kind in kinds {
        let glob = Glob::parse(kind).map_err(|reason| site.at_text(kind, reason))?;
        matcher.kinds.push(glob);
    }
    for name in modules {
        let module = Module::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Module::ALL.iter().map(|m| m.as_str()).collect();
            let reason = format!("unknown module `{name}`: use one of {}", names.join(", "));
            site.at_text(name, reason)
        })?;
        matcher.modules.push(module);
    }
    if let Some(min) = severity_min.filter(|&m| m > 100) {
        let reason = format!("`severity_min: {min}` is over 100, the highest event severity");
        return Err(site.at_text("severity_min", reason));
    }
    for (name, value) in fields {
        let path = compile_path(name, site)?;
        if !is_scalar_or_list(value) {
            let reason =
                format!("field `{name}` must equal a value or a list of values, not a map");
            return Err(site.at_text(name, reason));
        }
        matcher.fields.push((path, value.clone()));
    }

    if matcher.is_empty() {
        let reason = "a matcher needs at least one of kind, module, domain, severity_min or fields";
        return Err(site.at_rule(reason.into()));
    }
    Ok(matcher)
}

fn compile_paths(paths: &[String], site: &Site) -> Result<Vec<FieldPath>, Problem> {
    paths.iter().map(|p| compile_path(p, site)).collect()
}

fn compile_path(text: &str, site: &Site) -> Result<FieldPath, Problem> {
    FieldPath::parse(text).map_err(|reason| site.at_text(text, reason))
}

fn is_scalar_or_list(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().all(|i| !i.is_array() && !i.is_object()),
        Value::Object(_) => false,
        _ => true,
    }
}

fn error_at(file: &str, (line, column): (usize, usize), reason: String) -> RuleError {
    RuleError {
        file: file.to_string(),
        line,
        column,
        reason,
    }
}

/// Drops the " at line L column C" tail that serde_yaml_ng appends.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message.to_string(),
    }
}

/// The window as text, for summaries.
pub(crate) fn window_text(rule: &Rule) -> String {
    format_duration(rule.window)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
