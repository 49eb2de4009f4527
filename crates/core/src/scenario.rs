//! The scenario format: time-offset steps that carry events.
//!
//! A scenario is a YAML file that tells a story the platform should recognise,
//! such as a vaccine theft prepared by phishing. Each step happens at an
//! offset from the start of the replay and carries one action: `event:` (a security
//! event without `id` and `time`, which are filled in when the scenario is played),
//! `mqtt:` (a native message for the platform's adapters) or `capture:` (a packet
//! capture for a detector).
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
//! A step can instead publish a physical security system's native message, so that the
//! scenario runs through the platform's adapters: `mqtt:` with the `topic`, the `payload`
//! (a mapping, sent as JSON, or a string, sent as it is) and the events the platform is
//! expected to derive from it (`expect:`, a list in the `event:` form). In the payload,
//! `{{time}}` becomes the step's time in RFC 3339 and `{{epoch}}` seconds since 1970 (a
//! number when it is the whole value); both take an offset, e.g. `{{epoch-21m}}`:
//!
//! ```yaml
//!   - at: 5h20m
//!     mqtt:
//!       topic: frigate/events
//!       payload:
//!         type: update
//!         after: { id: trk-1, camera: cam_pharmacy, label: person, stationary: true,
//!                  start_time: "{{epoch-21m}}", frame_time: "{{epoch}}" }
//!       expect:
//!         - { module: video, kind: video.loitering, severity: 50,
//!             summary: A person stood 21 minutes by the pharmacy door., asset: cam-pharmacy }
//! ```
//!
//! A step can also feed a packet capture through a detector: `capture:` with the `file`
//! (pcap or pcapng, relative to the scenario file's folder), the `sensor` that reads it
//! (`ot` for Modbus/TCP and BACnet/IP, `net` for the IT network), for `ot` an optional
//! `baseline` capture of normal traffic the sensor learns its allowlist from first, and
//! the events the sensor should raise (`expect:`, in time order):
//!
//! ```yaml
//!   - at: 3m
//!     capture:
//!       file: captures/or-ahu-tampering.pcap
//!       sensor: ot
//!       baseline: captures/bms-normal.pcap
//!       expect:
//!         - { module: ot, kind: ot.bacnet.setpoint_unsafe, severity: 90, asset: ahu-or-1,
//!             summary: The theatre setpoint was written to 30 °C. }
//! ```
//!
//! Core runs no detector: the player (`safecare replay`, `safecare demo`) runs the
//! sensor and publishes what it raised, each event at the step's offset plus its time
//! into the capture. [`Scenario::load`] checks that the named files exist.
//!
//! [`Scenario::events`] gives every event the platform should end up with (event steps
//! and expectations), for evaluating rules offline; [`Scenario::replay`] gives what to
//! publish (event steps and native messages, never the expectations; capture steps are
//! left to the player).
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

/// The largest native payload a step may carry, once serialised: 256 KiB.
pub const MAX_NATIVE_PAYLOAD: usize = 256 * 1024;

/// The most events one native step may expect.
pub const MAX_EXPECTED: usize = 100;

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

/// What a step does, written as a single key beside `at` (`event:`, `mqtt:` or `capture:`).
///
/// New step types (a log or a file fed through a detector) are new variants here and a
/// new arm in [`StepAction::from_entry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepAction {
    /// Publish one security event.
    Event(Box<EventStep>),
    /// Publish a native message of a physical security system (a badge reader, Frigate).
    Mqtt(Box<NativeStep>),
    /// Feed a packet capture through a detector and publish what it raises.
    Capture(Box<CaptureStep>),
}

/// A packet capture to run through a detector, and the events it should raise.
///
/// Core only describes the step: the player (the `safecare` command) reads the files,
/// runs the sensor and publishes its events (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureStep {
    /// A pcap or pcapng file, relative to the scenario file's folder (or absolute).
    pub file: String,
    /// The detector that reads the capture.
    pub sensor: CaptureSensor,
    /// For the `ot` sensor: a capture of normal traffic the sensor learns its allowlist
    /// from before it reads `file`, as `safecare ot learn` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The events the detector should raise, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<EventStep>,
}

/// The detectors a capture step can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSensor {
    /// The BMS sensor: Modbus/TCP and BACnet/IP (`safecare ot scan`).
    Ot,
    /// The IT network sensor (`safecare net scan`).
    Net,
}

impl CaptureSensor {
    /// The module of the events the sensor raises.
    pub fn module(self) -> Module {
        match self {
            CaptureSensor::Ot => Module::Ot,
            CaptureSensor::Net => Module::Net,
        }
    }

    /// The sensor's name as written in a scenario.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureSensor::Ot => "ot",
            CaptureSensor::Net => "net",
        }
    }
}

/// A native message to publish on an MQTT topic, and the events it should lead to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeStep {
    /// Topic outside `safecare/`, e.g. `site/access/door-pharmacy` or `frigate/events`.
    pub topic: String,
    /// A mapping or list (sent as JSON) or a string (sent as it is), with `{{time}}` and
    /// `{{epoch}}` placeholders.
    pub payload: Value,
    /// The events the platform should derive from this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<EventStep>,
}

/// One native message of a replay, stamped and ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeMessage {
    pub offset: Duration,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// What a replay publishes at one offset.
#[derive(Debug, Clone, PartialEq)]
pub enum Publication {
    /// A finished security event, on `safecare/v1/event/{module}`.
    Event(Box<SecurityEvent>),
    /// A native message, on its own topic, for the adapters to turn into events.
    Native { topic: String, payload: Vec<u8> },
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
    pub const TAGS: &'static [&'static str] = &["event", "mqtt", "capture"];

    /// The event the step publishes, when it is an event step.
    pub fn event(&self) -> Option<&EventStep> {
        match self {
            StepAction::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The native message the step publishes, when it is an `mqtt:` step.
    pub fn native(&self) -> Option<&NativeStep> {
        match self {
            StepAction::Mqtt(native) => Some(native),
            _ => None,
        }
    }

    /// The capture the step feeds through a detector, when it is a `capture:` step.
    pub fn capture(&self) -> Option<&CaptureStep> {
        match self {
            StepAction::Capture(capture) => Some(capture),
            _ => None,
        }
    }

    /// The events the step stands for: its event, or the ones its native message or
    /// capture should lead to.
    pub fn expected_events(&self) -> Vec<&EventStep> {
        match self {
            StepAction::Event(event) => vec![event],
            StepAction::Mqtt(native) => native.expect.iter().collect(),
            StepAction::Capture(capture) => capture.expect.iter().collect(),
        }
    }

    /// Reads the action named `tag` from the value of a step's map entry.
    fn from_entry<'de, A: MapAccess<'de>>(tag: &str, map: &mut A) -> Result<Self, A::Error> {
        match tag {
            "event" => Ok(StepAction::Event(map.next_value()?)),
            "mqtt" => Ok(StepAction::Mqtt(map.next_value()?)),
            "capture" => Ok(StepAction::Capture(map.next_value()?)),
            other => Err(de::Error::unknown_field(
                other,
                &["at", "note", "event", "mqtt", "capture"],
            )),
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
            de::Error::custom(
                "a step needs an action: add `event:` with the event to publish, `mqtt:` \
                 with a native message or `capture:` with a capture to feed a detector",
            )
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

    /// Reads and parses a scenario file, and checks that the captures its `capture:`
    /// steps name exist beside it.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioLoadError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioLoadError::Read {
            file: file.clone(),
            source,
        })?;
        let scenario = Scenario::from_yaml(&text, &file)?;
        let folder = path.parent().unwrap_or(Path::new(""));
        scenario.check_capture_files(&text, &file, folder)?;
        Ok(scenario)
    }

    /// Checks that every file a `capture:` step names (its `file` and `baseline`) is a
    /// file, relative to `folder` (the scenario file's folder); the error names the line.
    pub fn check_capture_files(
        &self,
        text: &str,
        file_name: &str,
        folder: &Path,
    ) -> Result<(), ScenarioError> {
        let lines = ItemLines::find(text, "steps");
        for (index, step) in self.steps.iter().enumerate() {
            let Some(capture) = step.action.capture() else {
                continue;
            };
            let named = [
                ("file", Some(&capture.file)),
                ("baseline", capture.baseline.as_ref()),
            ];
            for (field, name) in named {
                let Some(name) = name else { continue };
                let path = resolve(folder, name);
                if path.is_file() {
                    continue;
                }
                let (line, column) = lines.field_in_item(text, index, field);
                let reason = format!(
                    "step {} (at {}): capture `{name}` not found at {}: paths are relative to \
                     the scenario file's folder",
                    index + 1,
                    format_duration(step.at),
                    path.display()
                );
                return Err(error_at(file_name, line, column, reason));
            }
        }
        Ok(())
    }

    /// Every event the platform should see, sorted by offset, stamped `base + offset`:
    /// the event steps and the expected events of the native steps.
    ///
    /// This is the story for evaluating rules offline; to replay a scenario onto the bus
    /// use [`Scenario::replay`], which sends native messages instead of their expected
    /// events. Each call gives fresh event ids.
    pub fn events(&self, base: DateTime<Utc>) -> Vec<(Duration, SecurityEvent)> {
        let mut events: Vec<(Duration, SecurityEvent)> = self
            .steps
            .iter()
            .flat_map(|step| {
                let time = at_offset(base, step.at);
                step.action
                    .expected_events()
                    .into_iter()
                    .map(move |event| (step.at, event.to_event(time)))
            })
            .collect();
        events.sort_by_key(|(offset, _)| *offset);
        events
    }

    /// The native messages of the `mqtt:` steps, sorted by offset, with their time
    /// placeholders filled from `base + offset`.
    pub fn native_messages(&self, base: DateTime<Utc>) -> Vec<NativeMessage> {
        let mut messages: Vec<NativeMessage> = self
            .steps
            .iter()
            .filter_map(|step| {
                let native = step.action.native()?;
                Some(NativeMessage {
                    offset: step.at,
                    topic: native.topic.clone(),
                    payload: native.render(at_offset(base, step.at)),
                })
            })
            .collect();
        messages.sort_by_key(|m| m.offset);
        messages
    }

    /// What to publish to replay the scenario, sorted by offset: each event step's event
    /// and each `mqtt:` step's native message (never the expected events).
    ///
    /// `capture:` steps publish nothing here: their events come from running the sensor
    /// over the capture, which the player does (core runs no detector). The player finds
    /// them with [`StepAction::capture`] and merges the sensor's events by offset.
    pub fn replay(&self, base: DateTime<Utc>) -> Vec<(Duration, Publication)> {
        let mut out: Vec<(Duration, Publication)> = self
            .steps
            .iter()
            .filter_map(|step| {
                let time = at_offset(base, step.at);
                let publication = match &step.action {
                    StepAction::Event(event) => Publication::Event(Box::new(event.to_event(time))),
                    StepAction::Mqtt(native) => Publication::Native {
                        topic: native.topic.clone(),
                        payload: native.render(time),
                    },
                    StepAction::Capture(_) => return None,
                };
                Some((step.at, publication))
            })
            .collect();
        out.sort_by_key(|(offset, _)| *offset);
        out
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

/// Checks one step's event, or native message and expected events, against the data model.
fn check_step(
    step: &Step,
    index: usize,
    lines: &ItemLines,
    text: &str,
    file_name: &str,
) -> Result<(), ScenarioError> {
    let fail = |field: &str, reason: String| {
        let (line, column) = lines.field_in_item(text, index, field);
        let reason = format!(
            "step {} (at {}): {reason}",
            index + 1,
            format_duration(step.at)
        );
        Err(error_at(file_name, line, column, reason))
    };

    if let Some(native) = step.action.native()
        && let Err((field, reason)) = native.check()
    {
        return fail(field, reason);
    }
    if let Some(capture) = step.action.capture()
        && let Err((field, reason)) = capture.check()
    {
        return fail(field, reason);
    }
    for event in step.action.expected_events() {
        let Err(errors) = event.to_event(DateTime::UNIX_EPOCH).validate() else {
            continue;
        };
        let field = errors.first().map(|e| e.field.as_str()).unwrap_or("event");
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return fail(field, listed.join("; "));
    }
    Ok(())
}

impl NativeStep {
    /// The payload with its placeholders filled for `time`, as bytes to publish.
    pub fn render(&self, time: DateTime<Utc>) -> Vec<u8> {
        match fill(&self.payload, time) {
            Value::String(text) => text.into_bytes(),
            other => serde_json::to_vec(&other).unwrap_or_default(),
        }
    }

    /// Checks the topic, the payload size and every placeholder; (field, reason) on error.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let topic = self.topic.as_str();
        if topic.is_empty() || topic.len() > 256 || topic.contains(['+', '#', '\0']) {
            return Err((
                "topic",
                format!("`{topic}` must be 1-256 bytes without MQTT wildcards"),
            ));
        }
        if topic.starts_with("safecare/") {
            return Err((
                "topic",
                format!("`{topic}` is a SafeCare topic: publish events with an `event:` step"),
            ));
        }
        if self.expect.len() > MAX_EXPECTED {
            return Err((
                "expect",
                format!("more than {MAX_EXPECTED} expected events"),
            ));
        }
        check_placeholders(&self.payload).map_err(|reason| ("payload", reason))?;
        let size = self.render(DateTime::UNIX_EPOCH).len();
        if size > MAX_NATIVE_PAYLOAD {
            return Err((
                "payload",
                format!("{size} bytes, over the {MAX_NATIVE_PAYLOAD}-byte limit"),
            ));
        }
        Ok(())
    }
}

/// The longest capture path a step may name, in bytes.
const MAX_CAPTURE_PATH: usize = 1024;

impl CaptureStep {
    /// The capture file, resolved against the scenario file's folder.
    pub fn path_in(&self, folder: &Path) -> std::path::PathBuf {
        resolve(folder, &self.file)
    }

    /// The baseline capture, resolved against the scenario file's folder.
    pub fn baseline_in(&self, folder: &Path) -> Option<std::path::PathBuf> {
        self.baseline.as_deref().map(|name| resolve(folder, name))
    }

    /// Checks the paths, the sensor's options and the expectations' module; (field,
    /// reason) on error.
    fn check(&self) -> Result<(), (&'static str, String)> {
        check_capture_path(&self.file).map_err(|reason| ("file", reason))?;
        if let Some(baseline) = &self.baseline {
            check_capture_path(baseline).map_err(|reason| ("baseline", reason))?;
            if self.sensor != CaptureSensor::Ot {
                return Err((
                    "baseline",
                    format!(
                        "the {} sensor learns no baseline from a capture: remove `baseline:` \
                         or use `sensor: ot`",
                        self.sensor.as_str()
                    ),
                ));
            }
        }
        if self.expect.len() > MAX_EXPECTED {
            return Err((
                "expect",
                format!("more than {MAX_EXPECTED} expected events"),
            ));
        }
        let module = self.sensor.module();
        if let Some(other) = self.expect.iter().find(|e| e.module != module) {
            return Err((
                "module",
                format!(
                    "the {} sensor raises `module: {}` events, not `{}`: fix the expectation",
                    self.sensor.as_str(),
                    module.as_str(),
                    other.module.as_str()
                ),
            ));
        }
        Ok(())
    }
}

fn check_capture_path(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > MAX_CAPTURE_PATH || name.contains('\0') {
        return Err(format!(
            "`{name}` is not a usable path: name a pcap or pcapng file of at most \
             {MAX_CAPTURE_PATH} bytes, relative to the scenario file"
        ));
    }
    Ok(())
}

/// `name` as is when absolute, else inside `folder`.
fn resolve(folder: &Path, name: &str) -> std::path::PathBuf {
    let path = Path::new(name);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        folder.join(path)
    }
}

/// A `{{time}}` or `{{epoch}}` placeholder with its offset in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Time(i64),
    Epoch(i64),
}

/// Reads the inside of `{{...}}`: `time`, `epoch`, with an optional `+5m` or `-21m`.
fn parse_placeholder(inner: &str) -> Result<Placeholder, String> {
    let inner = inner.trim();
    let (name, rest) = match inner.find(['+', '-']) {
        Some(at) => inner.split_at(at),
        None => (inner, ""),
    };
    let offset = if rest.is_empty() {
        0
    } else {
        let sign = if rest.starts_with('-') { -1 } else { 1 };
        let duration = parse_duration(&rest[1..]).map_err(|e| format!("`{{{{{inner}}}}}`: {e}"))?;
        sign * duration.as_secs() as i64
    };
    match name.trim() {
        "time" => Ok(Placeholder::Time(offset)),
        "epoch" => Ok(Placeholder::Epoch(offset)),
        other => Err(format!(
            "unknown placeholder `{{{{{other}}}}}`: use {{{{time}}}} or {{{{epoch}}}}, with an \
             optional offset such as {{{{epoch-21m}}}}"
        )),
    }
}

/// Every placeholder in every string of a payload parses.
fn check_placeholders(value: &Value) -> Result<(), String> {
    match value {
        Value::String(text) => {
            for inner in placeholders(text) {
                parse_placeholder(inner)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_placeholders),
        Value::Object(map) => map.values().try_for_each(check_placeholders),
        _ => Ok(()),
    }
}

/// The insides of the `{{...}}` in a text.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{")
        .skip(1)
        .filter_map(|part| part.split_once("}}").map(|(inner, _)| inner))
}

/// Fills the placeholders of a payload for `time`.
fn fill(value: &Value, time: DateTime<Utc>) -> Value {
    match value {
        Value::String(text) => fill_text(text, time),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, time)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, time)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A whole-value `{{epoch}}` becomes a number; otherwise placeholders become text.
fn fill_text(text: &str, time: DateTime<Utc>) -> Value {
    let whole = text
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .filter(|inner| !inner.contains("{{"));
    if let Some(Ok(Placeholder::Epoch(offset))) = whole.map(parse_placeholder) {
        let seconds = epoch_seconds(time, offset);
        return serde_json::Number::from_f64(seconds).map_or(Value::Null, Value::Number);
    }

    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + end];
        match parse_placeholder(inner) {
            Ok(Placeholder::Time(offset)) => out.push_str(
                &shifted(time, offset).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
            Ok(Placeholder::Epoch(offset)) => {
                out.push_str(&epoch_seconds(time, offset).to_string())
            }
            Err(_) => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Value::String(out)
}

fn shifted(time: DateTime<Utc>, offset: i64) -> DateTime<Utc> {
    time.checked_add_signed(TimeDelta::seconds(offset))
        .unwrap_or(time)
}

fn epoch_seconds(time: DateTime<Utc>, offset: i64) -> f64 {
    let time = shifted(time, offset);
    time.timestamp() as f64 + f64::from(time.timestamp_subsec_millis()) / 1000.0
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

    const NATIVE: &str = "\
name: native
steps:
  - at: 0s
    event:
      module: logs
      kind: mail.phishing
      severity: 55
      summary: A phishing mail.
  - at: 20m
    note: A person stands still.
    mqtt:
      topic: frigate/events
      payload:
        type: update
        after: { id: t1, camera: cam_pharmacy, label: person, stationary: true,
                 start_time: \"{{epoch-20m}}\", frame_time: \"{{epoch}}\", note: \"at {{time}}\" }
      expect:
        - module: video
          kind: video.loitering
          severity: 50
          summary: A person stood 20 minutes.
          location: { zone: pharmacy }
  - at: 30m
    mqtt:
      topic: site/onvif/cam-pharmacy
      payload: \"<x t='{{time+5s}}'/>\"
";

    #[test]
    fn native_steps_fill_placeholders_and_replay_without_expectations() {
        let scenario = parse(NATIVE).unwrap();
        let base: DateTime<Utc> = "2026-12-03T14:00:00Z".parse().unwrap();

        let messages = scenario.native_messages(base);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].topic, "frigate/events");
        let payload: Value = serde_json::from_slice(&messages[0].payload).unwrap();
        let frame = base.timestamp() as f64 + 1200.0;
        assert_eq!(payload["after"]["frame_time"], serde_json::json!(frame));
        assert_eq!(
            payload["after"]["start_time"],
            serde_json::json!(frame - 1200.0)
        );
        assert_eq!(payload["after"]["note"], "at 2026-12-03T14:20:00Z");
        assert_eq!(messages[1].payload, b"<x t='2026-12-03T14:30:05Z'/>");

        let events = scenario.events(base);
        let kinds: Vec<&str> = events.iter().map(|(_, e)| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["mail.phishing", "video.loitering"],
            "expectations count as events"
        );

        let replay = scenario.replay(base);
        assert_eq!(replay.len(), 3);
        assert!(matches!(replay[0].1, Publication::Event(_)));
        assert!(
            matches!(&replay[1].1, Publication::Native { topic, .. } if topic == "frigate/events")
        );
    }

    #[test]
    fn native_step_errors_name_their_line() {
        let bad = NATIVE.replace("{{epoch-20m}}", "{{clock}}");
        let err = parse(&bad).unwrap_err();
        assert!(
            err.reason.contains("clock") && err.reason.contains("step 2"),
            "{err}"
        );
        assert_eq!(err.line, 13, "the payload line: {err}");

        let bad = NATIVE.replace("topic: frigate/events", "topic: safecare/v1/event/video");
        let err = parse(&bad).unwrap_err();
        assert!(err.reason.contains("event:"), "{err}");
        assert_eq!(err.line, 12, "the topic line: {err}");

        let bad = NATIVE.replace("kind: video.loitering", "kind: Loitering");
        let err = parse(&bad).unwrap_err();
        assert!(err.reason.contains("kind"), "{err}");
    }

    #[test]
    fn native_steps_round_trip_through_yaml() {
        let scenario = parse(NATIVE).unwrap();
        let text = serde_yaml_ng::to_string(&scenario).unwrap();
        assert_eq!(parse(&text).unwrap(), scenario);
    }

    #[test]
    fn round_trips_through_yaml() {
        let scenario = parse(SAMPLE).unwrap();
        let text = serde_yaml_ng::to_string(&scenario).unwrap();
        assert_eq!(parse(&text).unwrap(), scenario);
    }

    const CAPTURE: &str = "\
name: capture
steps:
  - at: 0s
    event:
      module: net
      kind: network.new_device
      severity: 55
      summary: A laptop appears.
  - at: 3m
    note: It talks BACnet.
    capture:
      file: captures/attack.pcap
      sensor: ot
      baseline: captures/normal.pcap
      expect:
        - { module: ot, kind: ot.bacnet.who_is_scan, severity: 45, summary: A sweep. }
        - { module: ot, kind: ot.bacnet.device_communication_control, severity: 85,
            summary: Silenced., asset: ahu-or-1 }
";

    #[test]
    fn capture_steps_parse_and_stand_for_their_expectations() {
        let scenario = parse(CAPTURE).unwrap();
        let capture = scenario.steps[1].action.capture().unwrap();
        assert_eq!(capture.sensor, CaptureSensor::Ot);
        assert_eq!(
            capture.path_in(Path::new("scenarios")),
            Path::new("scenarios/captures/attack.pcap")
        );
        assert_eq!(
            capture.baseline_in(Path::new("scenarios")).unwrap(),
            Path::new("scenarios/captures/normal.pcap")
        );

        let base: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        let kinds: Vec<String> = scenario
            .events(base)
            .into_iter()
            .map(|(_, e)| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "network.new_device",
                "ot.bacnet.who_is_scan",
                "ot.bacnet.device_communication_control"
            ]
        );
        assert_eq!(
            scenario.replay(base).len(),
            1,
            "the player runs the sensor; replay publishes only the event step"
        );
        let text = serde_yaml_ng::to_string(&scenario).unwrap();
        assert_eq!(parse(&text).unwrap(), scenario, "round trip");
    }

    #[test]
    fn an_unknown_sensor_is_refused_at_its_line() {
        let err = parse(&CAPTURE.replace("sensor: ot", "sensor: radar")).unwrap_err();
        assert_eq!(err.line, 13, "{err}");
        assert!(
            err.reason.contains("radar") && err.reason.contains("ot"),
            "{err}"
        );
    }

    #[test]
    fn bad_capture_steps_say_which_field() {
        let err = parse(&CAPTURE.replace("sensor: ot", "sensor: net")).unwrap_err();
        assert_eq!(err.line, 14, "the baseline line: {err}");
        assert!(err.reason.contains("baseline"), "{err}");

        let err = parse(&CAPTURE.replace("file: captures/attack.pcap", "file: \"\"")).unwrap_err();
        assert_eq!(err.line, 12, "{err}");

        let err = parse(&CAPTURE.replace(
            "{ module: ot, kind: ot.bacnet.who",
            "{ module: net, kind: ot.bacnet.who",
        ))
        .unwrap_err();
        assert!(err.reason.contains("module: ot"), "{err}");

        let err = parse(&CAPTURE.replace("    capture:\n", "    capture:\n      speed: 2\n"))
            .unwrap_err();
        assert!(err.reason.contains("speed"), "{err}");
    }

    #[test]
    fn a_missing_capture_file_is_refused_at_its_line_on_load() {
        let folder = std::env::temp_dir().join(format!("safecare-scenario-{}", Ulid::new()));
        std::fs::create_dir_all(folder.join("captures")).unwrap();
        let path = folder.join("story.yaml");
        std::fs::write(&path, CAPTURE).unwrap();
        std::fs::write(folder.join("captures/attack.pcap"), b"").unwrap();

        let err = match Scenario::load(&path) {
            Err(ScenarioLoadError::Invalid(err)) => err,
            other => panic!("expected a missing baseline, got {other:?}"),
        };
        assert_eq!(err.line, 14, "the baseline line: {err}");
        assert!(err.reason.contains("captures/normal.pcap"), "{err}");
        assert!(
            err.reason.contains("relative to the scenario file"),
            "{err}"
        );

        std::fs::write(folder.join("captures/normal.pcap"), b"").unwrap();
        assert!(Scenario::load(&path).is_ok());
        std::fs::remove_dir_all(folder).unwrap();
    }
}
