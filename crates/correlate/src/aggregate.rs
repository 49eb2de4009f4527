//! What an alert remembers of its events, and the alert document built from it.

use chrono::{DateTime, Utc};
use safecare_core::{Alert, AlertDomain, AlertStatus, CapSeverity, Domain};
use ulid::Ulid;

use crate::path::EventView;
use crate::rules::{Rule, SeveritySpec, window_text};
use crate::template::Values;

/// The most event ids listed in one alert (the count goes on beyond).
pub const MAX_EVENT_IDS: usize = 50;
/// The most distinct kinds or techniques kept per alert.
const MAX_LABELS: usize = 32;

/// The few facts of one event that correlation keeps, instead of the event.
#[derive(Debug, Clone)]
pub(crate) struct Digest {
    pub(crate) id: Ulid,
    pub(crate) time: DateTime<Utc>,
    kind: String,
    domain: Domain,
    severity: u8,
    techniques: Vec<String>,
    asset: Option<String>,
    zone: Option<String>,
    /// The values of the rule's summary field placeholders.
    values: Vec<Option<String>>,
}

impl Digest {
    /// Keeps what `rule` needs of the event.
    pub(crate) fn of(view: &EventView, rule: &Rule) -> Digest {
        let event = view.event;
        Digest {
            id: event.id,
            time: event.time,
            kind: event.kind.clone(),
            domain: event.domain,
            severity: event.severity,
            techniques: event
                .techniques()
                .iter()
                .take(MAX_LABELS)
                .cloned()
                .collect(),
            asset: event.asset.clone(),
            zone: event.zone().map(str::to_string),
            values: rule
                .summary
                .fields
                .iter()
                .map(|path| view.key(path))
                .collect(),
        }
    }
}

/// The running summary of the events grouped under one alert.
#[derive(Debug, Clone)]
pub(crate) struct Aggregate {
    pub(crate) first_seen: DateTime<Utc>,
    pub(crate) last_seen: DateTime<Utc>,
    count: u64,
    event_ids: Vec<Ulid>,
    kinds: Vec<String>,
    techniques: Vec<String>,
    cyber: bool,
    physical: bool,
    max_severity: u8,
    asset: Option<String>,
    zone: Option<String>,
    values: Vec<Option<String>>,
}

impl Aggregate {
    /// An aggregate of one event.
    pub(crate) fn new(first: &Digest) -> Aggregate {
        let mut aggregate = Aggregate {
            first_seen: first.time,
            last_seen: first.time,
            count: 0,
            event_ids: Vec::new(),
            kinds: Vec::new(),
            techniques: Vec::new(),
            cyber: false,
            physical: false,
            max_severity: 0,
            asset: None,
            zone: None,
            values: vec![None; first.values.len()],
        };
        aggregate.absorb(first);
        aggregate
    }

    /// An aggregate of several events, given in time order.
    ///
    /// Asset and zone come from the latest event that names them: in a
    /// sequence that is where the attack arrived.
    pub(crate) fn of_chain(chain: &[&Digest]) -> Option<Aggregate> {
        let (first, rest) = chain.split_first()?;
        let mut aggregate = Aggregate::new(first);
        for digest in rest {
            aggregate.absorb(digest);
        }
        if let Some(asset) = chain.iter().rev().find_map(|d| d.asset.clone()) {
            aggregate.asset = Some(asset);
        }
        if let Some(zone) = chain.iter().rev().find_map(|d| d.zone.clone()) {
            aggregate.zone = Some(zone);
        }
        Some(aggregate)
    }

    /// Adds one event; asset and zone are kept once set.
    pub(crate) fn absorb(&mut self, digest: &Digest) {
        self.first_seen = self.first_seen.min(digest.time);
        self.last_seen = self.last_seen.max(digest.time);
        self.count = self.count.saturating_add(1);
        if self.event_ids.len() < MAX_EVENT_IDS && !self.event_ids.contains(&digest.id) {
            self.event_ids.push(digest.id);
        }
        push_unique(&mut self.kinds, &digest.kind);
        for technique in &digest.techniques {
            push_unique(&mut self.techniques, technique);
        }
        match digest.domain {
            Domain::Cyber => self.cyber = true,
            Domain::Physical => self.physical = true,
        }
        self.max_severity = self.max_severity.max(digest.severity);
        if self.asset.is_none() {
            self.asset.clone_from(&digest.asset);
        }
        if self.zone.is_none() {
            self.zone.clone_from(&digest.zone);
        }
        for (slot, value) in self.values.iter_mut().zip(&digest.values) {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
    }

    /// Narrows the aggregate to the run of events that crossed a threshold.
    pub(crate) fn set_span(&mut self, first: DateTime<Utc>, last: DateTime<Utc>, count: u64) {
        self.first_seen = first;
        self.last_seen = last;
        self.count = count;
    }

    /// True when an event at `time` falls within `window` of the grouped events.
    pub(crate) fn covers(&self, time: DateTime<Utc>, window: chrono::TimeDelta) -> bool {
        let not_after = self
            .last_seen
            .checked_add_signed(window)
            .is_none_or(|end| time <= end);
        let not_before = self
            .first_seen
            .checked_sub_signed(window)
            .is_none_or(|start| time >= start);
        not_after && not_before
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if list.len() < MAX_LABELS && !list.iter().any(|k| k == item) {
        list.push(item.to_string());
    }
}

/// An alert the engine is still adding events to.
#[derive(Debug, Clone)]
pub(crate) struct OpenAlert {
    pub(crate) id: Ulid,
    /// New, or acknowledged once the engine is told so.
    pub(crate) status: AlertStatus,
    created: DateTime<Utc>,
    pub(crate) aggregate: Aggregate,
    /// Changed since the engine last handed the alert out.
    pub(crate) changed: bool,
}

impl OpenAlert {
    pub(crate) fn new(aggregate: Aggregate) -> OpenAlert {
        OpenAlert {
            id: Ulid::new(),
            status: AlertStatus::New,
            created: Utc::now(),
            aggregate,
            changed: false,
        }
    }

    /// The full alert document as it stands now.
    pub(crate) fn to_alert(&self, rule: &Rule) -> Alert {
        let agg = &self.aggregate;
        let window = window_text(rule);
        let values = Values {
            count: agg.count,
            asset: agg.asset.as_deref(),
            zone: agg.zone.as_deref(),
            first_seen: agg.first_seen.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_seen: agg.last_seen.format("%Y-%m-%d %H:%M UTC").to_string(),
            window: &window,
            kinds: &agg.kinds,
            fields: &agg.values,
        };
        let severity = match rule.severity {
            SeveritySpec::FromEvents => CapSeverity::from_score(agg.max_severity),
            SeveritySpec::Fixed(severity) => severity,
        };
        let domains = [(agg.cyber, Domain::Cyber), (agg.physical, Domain::Physical)];

        Alert {
            id: self.id,
            rule: rule.id.clone(),
            title: rule.title.clone(),
            summary: rule.summary.render(&values),
            status: self.status,
            severity,
            domain: AlertDomain::of(domains.into_iter().filter_map(|(on, d)| on.then_some(d))),
            kinds: agg.kinds.clone(),
            event_ids: agg.event_ids.clone(),
            event_count: agg.count,
            asset: agg.asset.clone(),
            zone: agg.zone.clone(),
            techniques: agg.techniques.clone(),
            first_seen: agg.first_seen,
            last_seen: agg.last_seen,
            created: self.created,
            updated: Utc::now(),
            dismiss_reason: None,
            incident: None,
        }
    }
}
