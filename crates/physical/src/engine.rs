//! The engine: native messages in, security events out.
//!
//! Each message is decoded by its adapter, checked (duplicates, clock skew, unknown
//! devices), mapped to the events it means by itself (a door forced), and fed to the
//! stateful behaviour rules (a burst of denied badges). All state is bounded by
//! [`crate::MemoryLimits`].

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::event::User;
use safecare_core::site::Site;
use safecare_core::{Location, Module, SecurityEvent};
use serde_json::{Value, json};

use crate::adapters::NativeTopics;
use crate::error::AdapterError;
use crate::observation::{Fact, Observation, System};
use crate::rules::{access::AccessRules, building::BuildingRules, video::VideoRules};
use crate::site_view::{Device, SiteView};
use crate::thresholds::Thresholds;

/// Counters of what the engine did, for health reports and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub messages: u64,
    pub observations: u64,
    pub events: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub skew_corrected: u64,
    pub unknown_devices: u64,
}

/// Adapters and behaviour rules over one site.
#[derive(Debug)]
pub struct Engine {
    pub(crate) view: SiteView,
    pub(crate) thresholds: Thresholds,
    topics: NativeTopics,
    seen: Dedup,
    unknown_reported: HashMap<String, DateTime<Utc>>,
    access: AccessRules,
    video: VideoRules,
    building: BuildingRules,
    stats: EngineStats,
}

/// What an observation is about, resolved against the site: used to build events.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub system: System,
    pub time: DateTime<Utc>,
    /// When the message arrived: the clock of the time-driven rules.
    pub received: DateTime<Utc>,
    pub device_id: String,
    pub device: Option<Device>,
    /// True when a site is loaded and does not know the device.
    pub unknown: bool,
    pub location: Option<Location>,
    pub skew_seconds: Option<i64>,
}

impl Subject {
    /// The zone the observation is placed in.
    pub fn zone(&self) -> Option<&str> {
        self.location.as_ref()?.zone.as_deref()
    }

    /// The device's display name, or its id.
    pub fn name(&self) -> &str {
        self.device
            .as_ref()
            .map_or(self.device_id.as_str(), |d| &d.name)
    }

    /// A new event about this subject; the module follows the kind's area.
    pub fn event(&self, kind: &str, severity: u8, summary: String) -> SecurityEvent {
        let mut event = SecurityEvent::new(module_of(kind), kind, severity, summary);
        event.time = self.time;
        event.asset = self.device.as_ref().map(|d| d.id.clone());
        event.location = self.location.clone();
        event
            .evidence
            .insert("system".into(), json!(self.system.as_str()));
        event
            .evidence
            .insert("device".into(), json!(self.device_id));
        if self.unknown {
            event.evidence.insert("unknown_device".into(), json!(true));
            event.summary = format!(
                "{} (device {} is not in the site model)",
                event.summary, self.device_id
            );
        }
        if let Some(skew) = self.skew_seconds {
            event.evidence.insert("clock_skew_s".into(), json!(skew));
        }
        event
    }
}

/// Adds a person to an event.
pub(crate) fn with_user(
    mut event: SecurityEvent,
    user: Option<&str>,
    badge: Option<&str>,
) -> SecurityEvent {
    if let Some(user) = user {
        event.user = Some(User {
            name: Some(user.to_string()),
            ..User::default()
        });
    }
    if let Some(badge) = badge {
        event.evidence.insert("badge".into(), json!(badge));
    }
    event
}

/// Adds evidence entries to an event.
pub(crate) fn with(mut event: SecurityEvent, entries: &[(&str, Value)]) -> SecurityEvent {
    for (key, value) in entries {
        event.evidence.insert((*key).to_string(), value.clone());
    }
    event
}

/// The module that publishes a kind: its first dotted word.
pub fn module_of(kind: &str) -> Module {
    let area = kind.split('.').next().unwrap_or_default();
    Module::from_name(area).unwrap_or(Module::Video)
}

impl Engine {
    /// An engine over a site, with default thresholds and topics.
    pub fn new(site: Arc<Site>) -> Engine {
        Engine::with(
            SiteView::new(site),
            Thresholds::default(),
            NativeTopics::default(),
        )
    }

    /// An engine without a site: devices are not checked, zones come from the messages.
    pub fn without_site() -> Engine {
        Engine::with(
            SiteView::empty(),
            Thresholds::default(),
            NativeTopics::default(),
        )
    }

    /// An engine with explicit thresholds and topics.
    pub fn with(view: SiteView, thresholds: Thresholds, topics: NativeTopics) -> Engine {
        Engine {
            seen: Dedup::new(thresholds.limits.dedup),
            view,
            thresholds,
            topics,
            unknown_reported: HashMap::new(),
            access: AccessRules::default(),
            video: VideoRules::default(),
            building: BuildingRules::default(),
            stats: EngineStats::default(),
        }
    }

    /// The native topics the engine reads.
    pub fn topics(&self) -> &NativeTopics {
        &self.topics
    }

    /// What the engine has done so far.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Decodes and evaluates one native message received at `received`.
    ///
    /// A duplicate of a recent message gives no events. A message that does not decode
    /// is an error; the caller sends it to the dead-letter topic.
    pub fn ingest(
        &mut self,
        topic: &str,
        payload: &[u8],
        received: DateTime<Utc>,
    ) -> Result<Vec<SecurityEvent>, AdapterError> {
        self.stats.messages += 1;
        if !self.seen.insert(topic, payload) {
            self.stats.duplicates += 1;
            return Ok(Vec::new());
        }

        let observations = match self.topics.decode(topic, payload, received) {
            Ok(observations) => observations,
            Err(err) => {
                self.stats.rejected += 1;
                return Err(err);
            }
        };
        Ok(self.observe_all(observations, received))
    }

    /// Evaluates observations already decoded (e.g. from the webhook).
    pub fn observe_all(
        &mut self,
        observations: Vec<Observation>,
        received: DateTime<Utc>,
    ) -> Vec<SecurityEvent> {
        let mut events = Vec::new();
        for observation in observations {
            events.extend(self.observe(observation, received));
        }
        events
    }

    /// Evaluates one observation: checks, direct mapping and rules.
    pub fn observe(
        &mut self,
        mut observation: Observation,
        received: DateTime<Utc>,
    ) -> Vec<SecurityEvent> {
        self.stats.observations += 1;
        let skew = self.correct_skew(&mut observation, received);
        let subject = self.subject(&observation, skew, received);

        let mut events = Vec::new();
        if subject.unknown {
            events.extend(self.report_unknown(&subject));
        }
        let th = &self.thresholds;
        let view = &self.view;
        match observation.system {
            System::Access => {
                self.access
                    .observe(view, th, &subject, &observation.fact, &mut events)
            }
            System::Frigate | System::Onvif | System::Analytics => {
                if let Some((door, count)) = video_passage(&observation.fact) {
                    self.access.passage(th, &subject, door, count, true);
                }
                self.video
                    .observe(view, th, &subject, &observation.fact, &mut events);
            }
            System::Intrusion | System::Fire | System::Environment => {
                self.building
                    .observe(view, th, &subject, &observation.fact, &mut events)
            }
        }
        self.stats.events += events.len() as u64;
        events
    }

    /// Time-driven rules: passages judged after their grace (tailgating), doors left open,
    /// cameras gone silent. Call every second or so with the wall-clock time.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<SecurityEvent> {
        let mut events = Vec::new();
        self.access
            .tick(&self.view, &self.thresholds, now, &mut events);
        self.video
            .tick(&self.view, &self.thresholds, now, &mut events);
        self.stats.events += events.len() as u64;
        events
    }

    /// Replaces a time too far in the future by the receive time; the skew in seconds.
    fn correct_skew(
        &mut self,
        observation: &mut Observation,
        received: DateTime<Utc>,
    ) -> Option<i64> {
        let ahead = observation.time - received;
        let limit = TimeDelta::from_std(self.thresholds.max_future_skew).unwrap_or(TimeDelta::MAX);
        if ahead <= limit {
            return None;
        }
        self.stats.skew_corrected += 1;
        observation.time = received;
        Some(ahead.num_seconds())
    }

    /// Resolves the device and the zone of an observation.
    fn subject(
        &mut self,
        observation: &Observation,
        skew: Option<i64>,
        received: DateTime<Utc>,
    ) -> Subject {
        let device = self.view.device(&observation.device);
        let unknown = self.view.knows_devices() && device.is_none();
        let named_zone = observation.zone.as_deref();
        let location = named_zone
            .and_then(|z| self.view.zone_location(z))
            .or_else(|| {
                device
                    .as_ref()
                    .map(|d| d.location.clone())
                    .filter(|l| l.zone.is_some())
            })
            .or_else(|| {
                named_zone.map(|z| Location {
                    zone: Some(z.to_string()),
                    ..Location::default()
                })
            });
        Subject {
            system: observation.system,
            time: observation.time,
            received,
            device_id: observation.device.clone(),
            device,
            unknown,
            location,
            skew_seconds: skew,
        }
    }

    /// One `{module}.unknown_device` event per unknown device and hour.
    fn report_unknown(&mut self, subject: &Subject) -> Option<SecurityEvent> {
        self.stats.unknown_devices += 1;
        let key = subject.device_id.clone();
        let last = self.unknown_reported.get(&key);
        if last.is_some_and(|t| (subject.time - *t).abs() < TimeDelta::hours(1)) {
            return None;
        }
        if self.unknown_reported.len() >= self.thresholds.limits.doors {
            self.unknown_reported.clear();
        }
        self.unknown_reported.insert(key, subject.time);

        let module = subject.system.module();
        let kind = format!("{}.unknown_device", module.as_str());
        let summary = format!(
            "{} reported device {}, which the site model does not list: add it to the site file",
            subject.system.as_str(),
            subject.device_id
        );
        let mut event = subject.event(&kind, 30, summary);
        event.module = module;
        event.confidence = 1.0;
        Some(event)
    }
}

/// A video fact that counts people through a door.
fn video_passage(fact: &Fact) -> Option<(&str, u32)> {
    match fact {
        Fact::LineCrossing {
            count,
            door: Some(door),
        } => Some((door.as_str(), *count)),
        _ => None,
    }
}

/// Recently seen messages, by a hash of topic and payload, bounded FIFO.
#[derive(Debug)]
struct Dedup {
    cap: usize,
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Dedup {
    fn new(cap: usize) -> Dedup {
        Dedup {
            cap: cap.max(1),
            set: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// True when the message is new.
    fn insert(&mut self, topic: &str, payload: &[u8]) -> bool {
        let mut hasher = DefaultHasher::new();
        topic.hash(&mut hasher);
        payload.hash(&mut hasher);
        let key = hasher.finish();
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}
