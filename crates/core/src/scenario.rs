//! The scenario format: time-offset steps that carry events.
//!
//! A scenario is a YAML file that tells a story the platform should recognise,
//! such as a vaccine theft prepared by phishing. Each step happens at an
//! offset from the start of the replay and carries one action; today the only
//! action is `event:` (a security event without `id` and `time`, which are
//! filled in when the scenario is played).
//!
//! ```yaml
//! name: datacentre-intrusion
//! description: A contractor badge opens the data centre at night, then a laptop appears.
//! steps:
//!   - at: 0s
//!     note: The badge is used at 23:40.
//!     event:
//!       module: access
//!       kind: access.after_hours
//!       severity: 60
//!       summary: After-hours badge entry into the data centre.
//!       asset: door-datacentre
//!       location: { zone: datacentre }
//!       evidence: { after_hours: true }
//!   - at: 12m
//!     event:
//!       module: net
//!       kind: network.new_device
//!       severity: 55
//!       summary: Unknown device 10.40.0.99 appeared on the data-centre network.
//!       location: { zone: datacentre }
//! ```
//!
//! Offsets are written with the units `d`, `h`, `m` and `s` in that order
//! (`0s`, `90s`, `5m`, `2h30m`, `1d`). An event's `domain` defaults to its
//! module's domain and its `confidence` to 1.0. Every event step is checked
//! with [`SecurityEvent::validate`] when the file is loaded, and every error
//! names the file, the line and the reason.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use thiserror::Error;
use ulid::Ulid;

use crate::event::{Domain, Endpoint, File, Host, Location, Module, SecurityEvent, Threat, User};

/// The largest scenario file accepted: 4 MiB.
pub const MAX_SCENARIO_BYTES: usize = 4 * 1024 * 1024;

/// The most steps one scenario may hold.
pub const MAX_STEPS: usize = 10_000;

/// The latest offset a step may have: 30 days.
pub const MAX_OFFSET: Duration = Duration::from_secs(30 * 86_400);

/// A scenario: a named list of steps replayed against the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short id, e.g. `vaccine-theft`.
    pub name: String,
    /// What the scenario shows, for a person.
    #[serde(default)]
    pub description: String,
    /// The steps, in any order; they are played by offset.
    pub steps: Vec<Step>,
}

/// One step: something that happens `at` an offset from the start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Offset from the start of the replay.
    #[serde(serialize_with = "serialize_offset")]
    pub at: Duration,
    /// A line of narrative for the person watching the replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the step does.
    #[serde(flatten)]
    pub action: StepAction,
}

/// What a step does, written as a single key beside `at` (`event:` today).
///
/// New step types (a capture, a log or a file fed through a detector) are new
/// variants here and a new arm in [`StepAction::from_entry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepAction {
    /// Publish one security event.
    Event(Box<EventStep>),
}

/// A security event without `id` and `time`: both are set when played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventStep {
    pub module: Module,
    /// Dotted kind from the event catalogue (docs/EVENTS.md).
    pub kind: String,
    /// Defaults to the module's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    pub severity: u8,
    /// Defaults to 1.0.
    #[serde(default = "full_confidence")]
    pub confidence: f64,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat: Option<Threat>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub evidence: Map<String, Value>,
}

fn full_confidence() -> f64 {
    1.0
}

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct ScenarioError {
    /// The file name given to the parser.
    pub file: String,
    /// 1-based line; 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// Why [`Scenario::load`] failed.
#[derive(Debug, Error)]
pub enum ScenarioLoadError {
    #[error("could not read scenario file {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] ScenarioError),
}

/// A duration that is not written as `2h30m`-style text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    #[error("empty duration: write e.g. 90s, 5m, 2h30m or 1d")]
    Empty,
    #[error("`{0}` lacks a unit: write e.g. 90s, 5m, 2h30m or 1d")]
    MissingUnit(String),
    #[error("`{text}` has the unknown unit `{unit}`: use d, h, m or s")]
    UnknownUnit { text: String, unit: char },
    #[error("`{0}` repeats a unit or puts them out of order: write d, h, m, s in that order")]
    OutOfOrder(String),
    #[error("`{0}` is too long: at most 30d")]
    TooLong(String),
}

/// Parses a duration such as `0s`, `90s`, `5m`, `2h30m` or `1d`.
///
/// Units are `d`, `h`, `m`, `s`, each at most once and in that order; the
/// result is at most [`MAX_OFFSET`].
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }

    let mut total: u64 = 0;
    let mut next_unit = 0;
    let mut digits = String::new();
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            if digits.len() >= 9 {
                return Err(DurationError::TooLong(trimmed.to_string()));
            }
            digits.push(c);
            continue;
        }

        let Some(position) = UNITS.iter().position(|(unit, _)| *unit == c) else {
            return Err(DurationError::UnknownUnit {
                text: trimmed.to_string(),
                unit: c,
            });
        };
        if digits.is_empty() || position < next_unit {
            return Err(DurationError::OutOfOrder(trimmed.to_string()));
        }
        let amount: u64 = digits.parse().unwrap_or(u64::MAX);
        total = total.saturating_add(amount.saturating_mul(UNITS[position].1));
        next_unit = position + 1;
        digits.clear();
    }

    if !digits.is_empty() {
        return Err(DurationError::MissingUnit(trimmed.to_string()));
    }
    if total > MAX_OFFSET.as_secs() {
        return Err(DurationError::TooLong(trimmed.to_string()));
    }
    Ok(Duration::from_secs(total))
}

/// Writes a duration the way [`parse_duration`] reads it (`2h30m`, `0s`).
pub fn format_duration(duration: Duration) -> String {
    let mut left = duration.as_secs();
    if left == 0 {
        return "0s".to_string();
    }

    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if left >= size {
            out.push_str(&(left / size).to_string());
            out.push(unit);
            left %= size;
        }
    }
    out
}

fn serialize_offset<S: Serializer>(offset: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*offset))
}

/// Reads an offset written as text (`90s`) into a [`Duration`].
struct OffsetVisitor;

impl Visitor<'_> for OffsetVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration with a unit such as 0s, 90s, 5m, 2h30m or 1d")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse_duration(text).map_err(E::custom)
    }
}

/// Deserializes one offset field.
struct Offset(Duration);

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(OffsetVisitor).map(Offset)
    }
}

impl StepAction {
    /// The keys that name an action in a step.
    pub const TAGS: &'static [&'static str] = &["event"];

    /// The event the step publishes, when it is an event step.
    pub fn event(&self) -> Option<&EventStep> {
        match self {
            StepAction::Event(event) => Some(event),
        }
    }

    /// Reads the action named `tag` from the value of a step's map entry.
    fn from_entry<'de, A: MapAccess<'de>>(tag: &str, map: &mut A) -> Result<Self, A::Error> {
        match tag {
            "event" => Ok(StepAction::Event(map.next_value()?)),
            other => Err(de::Error::unknown_field(other, &["at", "note", "event"])),
        }
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a step with `at:` and one action such as `event:`")
    }

    // Hand-written so that errors inside the action keep their line numbers
    // (a flattened enum would buffer the value and lose them).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        let mut at = None;
        let mut note = None;
        let mut action = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "at" if at.is_some() => return Err(de::Error::duplicate_field("at")),
                "at" => at = Some(map.next_value::<Offset>()?.0),
                "note" => note = Some(map.next_value::<String>()?),
                tag if action.is_some() => {
                    return Err(de::Error::custom(format!(
                        "a step carries one action, `{tag}` is a second one: split it into two steps"
                    )));
                }
                tag => action = Some(StepAction::from_entry(tag, &mut map)?),
            }
        }

        let at = at.ok_or_else(|| de::Error::missing_field("at"))?;
        let action = action.ok_or_else(|| {
            de::Error::custom("a step needs an action: add `event:` with the event to publish")
        })?;
        Ok(Step { at, note, action })
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StepVisitor)
    }
}

impl EventStep {
    /// The event this step publishes, with a fresh id and the given time.
    pub fn to_event(&self, time: DateTime<Utc>) -> SecurityEvent {
        SecurityEvent {
            id: Ulid::new(),
            time,
            module: self.module,
            kind: self.kind.clone(),
            domain: self.domain.unwrap_or(self.module.default_domain()),
            severity: self.severity,
            confidence: self.confidence,
            summary: self.summary.clone(),
            asset: self.asset.clone(),
            location: self.location.clone(),
            source: self.source.clone(),
            destination: self.destination.clone(),
            user: self.user.clone(),
            host: self.host.clone(),
            file: self.file.clone(),
            threat: self.threat.clone(),
            evidence: self.evidence.clone(),
        }
    }
}

impl Scenario {
    /// Parses and checks a scenario; `file_name` is only used in errors.
    pub fn from_yaml(text: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_SCENARIO_BYTES {
            return Err(error_at(
                file_name,
                0,
                0,
                format!(
                    "the file is {} bytes, over the {MAX_SCENARIO_BYTES}-byte limit: split it",
                    text.len()
                ),
            ));
        }

        let scenario: Scenario = serde_yaml_ng::from_str(text).map_err(|err| {
            let (line, column) = err
                .location()
                .map_or((0, 0), |loc| (loc.line(), loc.column()));
            error_at(file_name, line, column, strip_location(&err.to_string()))
        })?;

        scenario.check(text, file_name)?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioLoadError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioLoadError::Read {
            file: file.clone(),
            source,
        })?;
        Ok(Scenario::from_yaml(&text, &file)?)
    }

    /// The events of the scenario, sorted by offset, stamped `base + offset`.
    ///
    /// Each call gives fresh event ids.
    pub fn events(&self, base: DateTime<Utc>) -> Vec<(Duration, SecurityEvent)> {
        let mut events: Vec<(Duration, SecurityEvent)> = self
            .steps
            .iter()
            .filter_map(|step| {
                let event = step.action.event()?;
                Some((step.at, event.to_event(at_offset(base, step.at))))
            })
            .collect();
        events.sort_by_key(|(offset, _)| *offset);
        events
    }

    /// The offset of the last step: how long a replay at speed 1 takes.
    pub fn duration(&self) -> Duration {
        self.steps.iter().map(|s| s.at).max().unwrap_or_default()
    }

    /// Checks what the YAML types cannot: counts, offsets and each event.
    fn check(&self, text: &str, file_name: &str) -> Result<(), ScenarioError> {
        let lines = ItemLines::find(text, "steps");
        if self.name.trim().is_empty() {
            return Err(error_at(file_name, 1, 1, "`name` must not be empty".into()));
        }
        if self.steps.is_empty() {
            let (line, column) = lines.key;
            return Err(error_at(
                file_name,
                line,
                column,
                "`steps` is empty: add at least one step".into(),
            ));
        }
        if self.steps.len() > MAX_STEPS {
            let (line, column) = lines.key;
            let reason = format!(
                "{} steps, over the limit of {MAX_STEPS}: split the scenario",
                self.steps.len()
            );
            return Err(error_at(file_name, line, column, reason));
        }

        for (index, step) in self.steps.iter().enumerate() {
            check_step(step, index, &lines, text, file_name)?;
        }
        Ok(())
    }
}

/// Checks one step's event against the data model.
fn check_step(
    step: &Step,
    index: usize,
    lines: &ItemLines,
    text: &str,
    file_name: &str,
) -> Result<(), ScenarioError> {
    let Some(event) = step.action.event() else {
        return Ok(());
    };
    let Err(errors) = event.to_event(DateTime::UNIX_EPOCH).validate() else {
        return Ok(());
    };

    let field = errors.first().map(|e| e.field.as_str()).unwrap_or("event");
    let (line, column) = lines.field_in_item(text, index, field);
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let reason = format!(
        "step {} (at {}): {}",
        index + 1,
        format_duration(step.at),
        listed.join("; ")
    );
    Err(error_at(file_name, line, column, reason))
}

fn at_offset(base: DateTime<Utc>, offset: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(offset)
        .ok()
        .and_then(|delta| base.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn error_at(file: &str, line: usize, column: usize, reason: String) -> ScenarioError {
    ScenarioError {
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

/// Where the items of a top-level block list start in the YAML text.
///
/// serde does not keep positions, so errors found after parsing are placed
/// by scanning the text: good for block-style YAML, and falling back to the
/// list's key line otherwise.
struct ItemLines {
    /// (line, column) of the `key:` line, 1-based; (1, 1) when not found.
    key: (usize, usize),
    /// (line, column) of each `- ` item, and the line after its block ends.
    items: Vec<(usize, usize, usize)>,
}

impl ItemLines {
    fn find(text: &str, key: &str) -> ItemLines {
        let lines: Vec<&str> = text.lines().collect();
        let header = format!("{key}:");
        let Some(start) = lines
            .iter()
            .position(|l| l.trim_end() == header || l.starts_with(&format!("{header} #")))
        else {
            return ItemLines {
                key: (1, 1),
                items: Vec::new(),
            };
        };

        let mut items: Vec<(usize, usize, usize)> = Vec::new();
        let mut item_indent = None;
        for (number, line) in lines.iter().enumerate().skip(start + 1) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let indent = line.len() - content.len();
            let is_item = content == "-" || content.starts_with("- ");
            let expected = *item_indent.get_or_insert(indent);
            if indent < expected || (indent == expected && !is_item) {
                break;
            }
            if indent == expected {
                if let Some(last) = items.last_mut() {
                    last.2 = number + 1;
                }
                items.push((number + 1, indent + 1, lines.len() + 1));
            }
        }
        if let Some(last) = items.last_mut() {
            last.2 = last.2.min(lines.len() + 1);
        }
        ItemLines {
            key: (start + 1, 1),
            items,
        }
    }

    /// (line, column) of item `index`, or of the key line when unknown.
    fn item(&self, index: usize) -> (usize, usize) {
        self.items
            .get(index)
            .map_or(self.key, |&(line, column, _)| (line, column))
    }

    /// The line inside item `index` that sets the last part of `field`.
    fn field_in_item(&self, text: &str, index: usize, field: &str) -> (usize, usize) {
        let Some(&(first, _, end)) = self.items.get(index) else {
            return self.item(index);
        };
        let name = field.rsplit('.').next().unwrap_or(field);
        let wanted = format!("{name}:");
        for (number, line) in text
            .lines()
            .enumerate()
            .take(end.saturating_sub(1))
            .skip(first - 1)
        {
            let content = line.trim_start().trim_start_matches("- ");
            if content.starts_with(&wanted) {
                return (number + 1, line.len() - line.trim_start().len() + 1);
            }
        }
        self.item(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
name: sample
description: Two steps.
steps:
  - at: 0s
    note: A door.
    event:
      module: access
      kind: access.after_hours
      severity: 60
      summary: After-hours entry.
      location: { zone: datacentre }
      evidence: { after_hours: true }
  - at: 1h30m
    event:
      module: net
      kind: network.new_device
      severity: 55
      confidence: 0.8
      summary: A new device.
      source: { ip: 10.40.0.99 }
";

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_yaml(text, "sample.yaml")
    }

    #[test]
    fn durations_parse_in_every_form() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h30m"), Ok(Duration::from_secs(9_000)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1d2h3m4s"), Ok(Duration::from_secs(93_784)));
    }

    #[test]
    fn bad_durations_say_why() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert!(matches!(
            parse_duration("90"),
            Err(DurationError::MissingUnit(_))
        ));
        assert!(matches!(
            parse_duration("5w"),
            Err(DurationError::UnknownUnit { unit: 'w', .. })
        ));
        assert!(matches!(
            parse_duration("30m2h"),
            Err(DurationError::OutOfOrder(_))
        ));
        assert!(matches!(
            parse_duration("5m5m"),
            Err(DurationError::OutOfOrder(_))
        ));
        assert!(matches!(
            parse_duration("31d"),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            parse_duration("99999999999999s"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn durations_format_back() {
        for text in ["0s", "90s", "5m", "2h30m", "1d", "1d2h3m4s"] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(
                parse_duration(&format_duration(parsed)),
                Ok(parsed),
                "{text}"
            );
        }
        assert_eq!(format_duration(Duration::from_secs(9_000)), "2h30m");
    }

    #[test]
    fn parses_steps_and_materialises_events() {
        let scenario = parse(SAMPLE).unwrap();
        assert_eq!(scenario.steps.len(), 2);
        assert_eq!(scenario.steps[0].note.as_deref(), Some("A door."));
        assert_eq!(scenario.duration(), Duration::from_secs(5_400));

        let base: DateTime<Utc> = "2026-12-03T23:40:00Z".parse().unwrap();
        let events = scenario.events(base);
        assert_eq!(events.len(), 2);
        let (offset, door) = &events[0];
        assert_eq!(*offset, Duration::ZERO);
        assert_eq!(door.time, base);
        assert_eq!(
            door.domain,
            Domain::Physical,
            "domain defaults from the module"
        );
        assert_eq!(door.confidence, 1.0);
        assert_eq!(door.zone(), Some("datacentre"));
        assert_eq!(door.evidence["after_hours"], Value::Bool(true));

        let (_, device) = &events[1];
        assert_eq!(
            device.time,
            "2026-12-04T01:10:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(device.domain, Domain::Cyber);
        assert_ne!(door.id, device.id);
    }

    #[test]
    fn events_come_out_sorted_by_offset() {
        let text = SAMPLE.replace("at: 0s", "at: 2h");
        let events = parse(&text).unwrap().events(DateTime::UNIX_EPOCH);
        assert_eq!(events[0].1.kind, "network.new_device");
        assert_eq!(events[1].1.kind, "access.after_hours");
    }

    #[test]
    fn syntax_error_names_its_line() {
        let text = SAMPLE.replace("severity: 55", "severity: [55");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.file, "sample.yaml");
        assert!(err.line >= 17, "{err}");
    }

    #[test]
    fn wrong_type_inside_an_event_names_its_line() {
        let text = SAMPLE.replace("severity: 55", "severity: high");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.line, 17, "{err}");
        assert!(err.reason.contains("severity"), "{err}");
    }

    #[test]
    fn unknown_step_type_is_refused_with_its_line() {
        let text = SAMPLE.replace("  - at: 1h30m\n    event:", "  - at: 1h30m\n    telegram:");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.line, 13, "the step's line: {err}");
        assert!(err.reason.contains("telegram"), "{err}");
    }

    #[test]
    fn offset_without_unit_is_refused_with_its_line() {
        let text = SAMPLE.replace("at: 1h30m", "at: 90");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.line, 13, "{err}");
        assert!(err.reason.contains("unit"), "{err}");
    }

    #[test]
    fn invalid_event_is_refused_at_its_field_line() {
        let text = SAMPLE.replace("kind: network.new_device", "kind: New Device");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.line, 16, "{err}");
        assert!(
            err.reason.contains("step 2") && err.reason.contains("kind"),
            "{err}"
        );
    }

    #[test]
    fn step_without_action_is_refused() {
        let text = "name: x\nsteps:\n  - at: 0s\n    note: nothing\n";
        let err = parse(text).unwrap_err();
        assert!(err.reason.contains("action"), "{err}");
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn empty_scenario_is_refused() {
        let err = parse("name: x\nsteps: []\n").unwrap_err();
        assert!(err.reason.contains("empty"), "{err}");
    }

    #[test]
    fn oversized_file_is_refused_before_parsing() {
        let big = " ".repeat(MAX_SCENARIO_BYTES + 1);
        let err = parse(&big).unwrap_err();
        assert!(err.reason.contains("limit"), "{err}");
    }

    #[test]
    fn round_trips_through_yaml() {
        let scenario = parse(SAMPLE).unwrap();
        let text = serde_yaml_ng::to_string(&scenario).unwrap();
        assert_eq!(parse(&text).unwrap(), scenario);
    }
}
