//! The correlation engine: feeds events through the rules and keeps alerts up to date.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::{Alert, AlertStatus, SecurityEvent};
use ulid::Ulid;

use crate::aggregate::{Aggregate, Digest, OpenAlert};
use crate::path::{EventView, FieldPath, clip as cap_key};
use crate::rules::{Logic, Rule, RuleSet, SequenceStep};

/// The most matches kept per step of a sequence and group.
const MAX_HITS_PER_STEP: usize = 16;
/// Extra event times a threshold group keeps beyond its count.
const THRESHOLD_SLACK: usize = 64;
/// Events between two sweeps of expired state.
const PRUNE_EVERY: u32 = 1024;

/// Bounds on the engine's memory and patience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// Groups (distinct keys) tracked per rule; the oldest are evicted beyond it.
    pub max_groups_per_rule: usize,
    /// How late an event may arrive and still be correlated with the ones
    /// already seen: state is kept this long past its window.
    pub lateness: Duration,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_groups_per_rule: 4096,
            lateness: Duration::from_secs(300),
        }
    }
}

/// Counters for `/metrics` and the health topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    pub alerts_created: u64,
    pub alerts_updated: u64,
    /// Events older than the newest one seen by more than the lateness.
    pub late_events: u64,
    /// Groups dropped because their window passed.
    pub expired_groups: u64,
    /// Groups dropped to stay within `max_groups_per_rule` (correlation lost).
    pub evicted_groups: u64,
    /// Groups tracked now, over all rules.
    pub tracked_groups: usize,
}

/// Turns security events into alerts by the rules of a [`RuleSet`].
///
/// Windows are measured on event time, so a replay at any speed gives the
/// same alerts. Memory is bounded by [`EngineLimits`]. The engine is `Send`:
/// own it in one task and feed it events in the order they are stored.
pub struct Engine {
    rules: Vec<Rule>,
    states: Vec<RuleState>,
    limits: EngineLimits,
    /// The latest event time seen.
    watermark: Option<DateTime<Utc>>,
    stats: EngineStats,
    since_prune: u32,
    changes: Changes,
}

/// Alerts changed since they were last handed out.
///
/// An alert is rendered in full only when it is handed out, or when it leaves
/// its group before that: a batch of events that updates one alert a thousand
/// times renders it once.
#[derive(Default)]
struct Changes {
    /// Changed alerts, in the order they first changed.
    order: Vec<Ulid>,
    /// Where each changed alert lives: rule index and group key (an alert that
    /// left its group meanwhile is in `closed`).
    open: HashMap<Ulid, (usize, String)>,
    /// The last version of changed alerts that left their group meanwhile.
    closed: HashMap<Ulid, Alert>,
}

impl Changes {
    /// Notes that the open alert of the group under `key` changed.
    fn note(&mut self, rule_index: usize, key: &str, open: &mut OpenAlert) {
        if !open.changed {
            open.changed = true;
            self.order.push(open.id);
            self.open.insert(open.id, (rule_index, key.to_string()));
        }
    }

    /// Keeps the last version of an alert that leaves its group, if it changed
    /// (handing out looks here first).
    fn leaving(&mut self, rule: &Rule, open: &OpenAlert) {
        if open.changed {
            self.closed.insert(open.id, open.to_alert(rule));
        }
    }
}

/// The groups of one rule, by grouping key.
#[derive(Default)]
struct RuleState {
    groups: HashMap<String, Group>,
}

/// What a rule remembers for one key.
struct Group {
    /// The key the group is kept under, for [`Changes`] to find its alert again.
    key: String,
    /// The latest event time seen for this key.
    last_activity: DateTime<Utc>,
    /// The alert events of this key are added to, while it is open.
    alert: Option<OpenAlert>,
    pending: Pending,
}

/// Matches waiting to become an alert.
enum Pending {
    Nothing,
    /// Threshold rules: sorted event times and what the events carried.
    Times {
        times: Vec<DateTime<Utc>>,
        aggregate: Option<Aggregate>,
    },
    /// Sequence rules: the matches of each step, sorted by time.
    Steps(Vec<Vec<Digest>>),
}

/// What every rule handler needs besides its rule and state.
struct Context<'a, 'e> {
    view: &'a EventView<'e>,
    limits: EngineLimits,
    stats: &'a mut EngineStats,
    watermark: DateTime<Utc>,
    /// The position of the rule at hand, for [`Changes`].
    rule_index: usize,
    changes: &'a mut Changes,
}

impl Engine {
    /// An engine with the default limits.
    pub fn new(rules: RuleSet) -> Engine {
        Engine::with_limits(rules, EngineLimits::default())
    }

    /// An engine with explicit limits; disabled rules are left out.
    pub fn with_limits(rules: RuleSet, limits: EngineLimits) -> Engine {
        let rules: Vec<Rule> = rules
            .rules()
            .iter()
            .filter(|r| r.enabled())
            .cloned()
            .collect();
        let states = rules.iter().map(|_| RuleState::default()).collect();
        let limits = EngineLimits {
            max_groups_per_rule: limits.max_groups_per_rule.max(1),
            ..limits
        };
        Engine {
            rules,
            states,
            limits,
            watermark: None,
            stats: EngineStats::default(),
            since_prune: 0,
            changes: Changes::default(),
        }
    }

    /// Feeds one event; returns every alert it created or changed, in full.
    ///
    /// New alerts have status `new`; an update keeps the alert's id, so the
    /// caller stores it over the previous version.
    pub fn process(&mut self, event: &SecurityEvent) -> Vec<Alert> {
        self.feed(event);
        self.take_changes()
    }

    /// Feeds events in order; returns the latest version of every alert they
    /// created or changed, each once, in the order they first changed.
    ///
    /// The same alerts as [`Engine::process`] one event at a time, keeping the
    /// last version of each, but each alert is rendered once per batch.
    pub fn process_batch(&mut self, events: &[SecurityEvent]) -> Vec<Alert> {
        for event in events {
            self.feed(event);
        }
        self.take_changes()
    }

    fn feed(&mut self, event: &SecurityEvent) {
        let watermark = self.note_time(event.time);
        let view = EventView::new(event);

        // Specific rules first; catch-all rules only see events none of them matched.
        let mut covered = false;
        for fallback_pass in [false, true] {
            if fallback_pass && covered {
                break;
            }
            let rules = self.rules.iter().zip(&mut self.states).enumerate();
            for (rule_index, (rule, state)) in rules {
                if rule.fallback != fallback_pass {
                    continue;
                }
                let mut cx = Context {
                    view: &view,
                    limits: self.limits,
                    stats: &mut self.stats,
                    watermark,
                    rule_index,
                    changes: &mut self.changes,
                };
                match &rule.logic {
                    Logic::Single { matcher, group_by } if matcher.matches(&view) => {
                        covered = true;
                        state.on_single(rule, group_by, &mut cx);
                    }
                    Logic::Threshold {
                        matcher,
                        group_by,
                        count,
                    } if matcher.matches(&view) => {
                        covered = true;
                        state.on_threshold(rule, group_by, *count, &mut cx);
                    }
                    Logic::Sequence { steps, join } => {
                        state.on_sequence(rule, steps, join.as_ref(), &mut cx);
                    }
                    _ => {}
                }
            }
        }

        self.since_prune += 1;
        if self.since_prune >= PRUNE_EVERY {
            self.prune(watermark);
        }
    }

    /// Renders every alert changed since the last call, in the order they first changed.
    fn take_changes(&mut self) -> Vec<Alert> {
        let changes = std::mem::take(&mut self.changes);
        let Changes {
            order,
            open,
            mut closed,
        } = changes;

        let mut alerts = Vec::with_capacity(order.len());
        for id in order {
            if let Some(alert) = closed.remove(&id) {
                alerts.push(alert);
                continue;
            }
            let Some((rule_index, key)) = open.get(&id) else {
                continue;
            };
            let (Some(rule), Some(state)) = (
                self.rules.get(*rule_index),
                self.states.get_mut(*rule_index),
            ) else {
                continue;
            };
            let open_alert = state
                .groups
                .get_mut(key)
                .and_then(|group| group.alert.as_mut())
                .filter(|alert| alert.id == id);
            if let Some(open_alert) = open_alert {
                open_alert.changed = false;
                alerts.push(open_alert.to_alert(rule));
            }
        }
        alerts
    }

    /// Drops state whose window has passed.
    ///
    /// Time is the earlier of `now` and the latest event time, so replaying
    /// old events does not lose their state to the wall clock.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        if let Some(watermark) = self.watermark {
            self.prune(now.min(watermark));
        }
    }

    /// Tells the engine a person confirmed or dismissed an alert: later
    /// events raise a new alert instead of updating it. False when the engine
    /// no longer tracks the alert (nothing to do then).
    pub fn alert_closed(&mut self, alert_id: Ulid) -> bool {
        let mut changes = std::mem::take(&mut self.changes);
        let found = self.find_alert(alert_id, |rule, group| {
            if let Some(open) = group.alert.take() {
                changes.leaving(rule, &open);
            }
        });
        self.changes = changes;
        found
    }

    /// Tells the engine an alert was acknowledged, so updates keep that status.
    pub fn alert_acknowledged(&mut self, alert_id: Ulid) -> bool {
        self.find_alert(alert_id, |_, group| {
            if let Some(open) = &mut group.alert {
                open.status = AlertStatus::Acknowledged;
            }
        })
    }

    /// The counters, with the number of groups tracked now.
    pub fn stats(&self) -> EngineStats {
        let tracked = self.states.iter().map(|s| s.groups.len()).sum();
        EngineStats {
            tracked_groups: tracked,
            ..self.stats.clone()
        }
    }

    /// The active rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn note_time(&mut self, time: DateTime<Utc>) -> DateTime<Utc> {
        self.stats.events += 1;
        let watermark = self.watermark.map_or(time, |w| w.max(time));
        if time
            .checked_add_signed(lateness(self.limits))
            .is_some_and(|t| t < watermark)
        {
            self.stats.late_events += 1;
        }
        self.watermark = Some(watermark);
        watermark
    }

    fn prune(&mut self, reference: DateTime<Utc>) {
        self.since_prune = 0;
        for (rule, state) in self.rules.iter().zip(&mut self.states) {
            let cutoff = cutoff(rule, self.limits, reference);
            self.stats.expired_groups += state.prune(rule, cutoff, &mut self.changes) as u64;
        }
    }

    fn find_alert(&mut self, alert_id: Ulid, change: impl FnOnce(&Rule, &mut Group)) -> bool {
        let group = self
            .rules
            .iter()
            .zip(&mut self.states)
            .flat_map(|(rule, s)| s.groups.values_mut().map(move |g| (rule, g)))
            .find(|(_, g)| g.alert.as_ref().is_some_and(|a| a.id == alert_id));
        match group {
            Some((rule, group)) => {
                change(rule, group);
                true
            }
            None => false,
        }
    }
}

impl RuleState {
    /// Single rule: a new alert, or an update of the group's open one.
    fn on_single(&mut self, rule: &Rule, group_by: &[FieldPath], cx: &mut Context) {
        let digest = Digest::of(cx.view, rule);
        let group = self.group(rule, group_key(cx.view, group_by), cx);

        if !update_open(group, rule, &digest, cx) {
            open_alert(group, rule, Aggregate::new(&digest), cx);
        }
    }

    /// Threshold rule: counts events until `count` fall within the window.
    fn on_threshold(
        &mut self,
        rule: &Rule,
        group_by: &[FieldPath],
        count: usize,
        cx: &mut Context,
    ) {
        let digest = Digest::of(cx.view, rule);
        let group = self.group(rule, group_key(cx.view, group_by), cx);
        if update_open(group, rule, &digest, cx) {
            return;
        }

        // Record the event among the pending ones.
        if !matches!(group.pending, Pending::Times { .. }) {
            group.pending = Pending::Times {
                times: Vec::new(),
                aggregate: None,
            };
        }
        let Pending::Times { times, aggregate } = &mut group.pending else {
            return;
        };
        insert_sorted(times, digest.time, |t| *t, count + THRESHOLD_SLACK);
        match aggregate {
            Some(aggregate) => aggregate.absorb(&digest),
            None => *aggregate = Some(Aggregate::new(&digest)),
        }

        // Raise the alert once enough of them fit in the window.
        let Some((first, last, size)) = densest_run(times, count, delta(rule.window)) else {
            return;
        };
        let Some(mut raised) = aggregate.take() else {
            return;
        };
        raised.set_span(first, last, size as u64);
        times.clear();
        open_alert(group, rule, raised, cx);
    }

    /// Sequence rule: records the step matches and raises when a chain completes.
    fn on_sequence(
        &mut self,
        rule: &Rule,
        steps: &[SequenceStep],
        join: Option<&FieldPath>,
        cx: &mut Context,
    ) {
        let keyed = step_keys(cx.view, steps, join);
        if keyed.is_empty() {
            return;
        }

        let digest = Digest::of(cx.view, rule);
        for (key, step_indexes) in keyed {
            let group = self.group(rule, key, cx);
            if update_open(group, rule, &digest, cx) {
                continue;
            }

            if !matches!(&group.pending, Pending::Steps(hits) if hits.len() == steps.len()) {
                group.pending = Pending::Steps(vec![Vec::new(); steps.len()]);
            }
            let Pending::Steps(hits) = &mut group.pending else {
                continue;
            };
            for index in step_indexes {
                if let Some(step_hits) = hits.get_mut(index) {
                    insert_sorted(step_hits, digest.clone(), |d| d.time, MAX_HITS_PER_STEP);
                }
            }

            let Some(aggregate) = complete_chain(hits, delta(rule.window)) else {
                continue;
            };
            hits.iter_mut().for_each(Vec::clear);
            open_alert(group, rule, aggregate, cx);
        }
    }

    /// The group for `key`, made room for when the rule is at its limit.
    fn group(&mut self, rule: &Rule, key: String, cx: &mut Context) -> &mut Group {
        if !self.groups.contains_key(&key) && self.groups.len() >= cx.limits.max_groups_per_rule {
            self.make_room(rule, cx);
        }
        let time = cx.view.event.time;
        let group = self.groups.entry(key).or_insert_with_key(|key| Group {
            key: key.clone(),
            last_activity: time,
            alert: None,
            pending: Pending::Nothing,
        });
        group.last_activity = group.last_activity.max(time);
        group
    }

    /// Drops expired groups, then the least recently active ones, down to
    /// 15/16 of the limit so that the next evictions are not one at a time.
    fn make_room(&mut self, rule: &Rule, cx: &mut Context) {
        let cutoff = cutoff(rule, cx.limits, cx.watermark);
        cx.stats.expired_groups += self.prune(rule, cutoff, cx.changes) as u64;

        let limit = cx.limits.max_groups_per_rule;
        let target = limit - limit / 16 - 1;
        if self.groups.len() <= target {
            return;
        }
        let excess = self.groups.len() - target;
        let mut ages: Vec<(DateTime<Utc>, String)> = self
            .groups
            .iter()
            .map(|(k, g)| (g.last_activity, k.clone()))
            .collect();
        ages.select_nth_unstable_by_key(excess - 1, |(time, _)| *time);
        for (_, key) in ages.into_iter().take(excess) {
            let evicted = self.groups.remove(&key);
            if let Some(open) = evicted.as_ref().and_then(|group| group.alert.as_ref()) {
                cx.changes.leaving(rule, open);
            }
        }
        cx.stats.evicted_groups += excess as u64;
        tracing::warn!(
            rule = %rule.id(),
            evicted = excess,
            limit,
            "correlation state full: evicted the least recently active groups"
        );
    }

    /// Drops state older than `cutoff`; returns how many groups went away.
    fn prune(&mut self, rule: &Rule, cutoff: DateTime<Utc>, changes: &mut Changes) -> usize {
        let before = self.groups.len();
        self.groups
            .retain(|_, group| group.prune(rule, cutoff, changes));
        before - self.groups.len()
    }
}

impl Group {
    /// Drops what is older than `cutoff`; false when nothing is left.
    fn prune(&mut self, rule: &Rule, cutoff: DateTime<Utc>, changes: &mut Changes) -> bool {
        if self
            .alert
            .as_ref()
            .is_some_and(|a| a.aggregate.last_seen < cutoff)
            && let Some(open) = self.alert.take()
        {
            changes.leaving(rule, &open);
        }
        let pending_left = match &mut self.pending {
            Pending::Nothing => false,
            Pending::Times { times, aggregate } => {
                times.retain(|t| *t >= cutoff);
                if times.is_empty() {
                    *aggregate = None;
                }
                !times.is_empty()
            }
            Pending::Steps(hits) => {
                hits.iter_mut().for_each(|h| h.retain(|d| d.time >= cutoff));
                hits.iter().any(|h| !h.is_empty())
            }
        };
        self.alert.is_some() || pending_left
    }
}

/// Adds the event to the group's open alert when the alert still covers it.
///
/// Returns false when there is no open alert, or it no longer covers the
/// event (it is then closed, and its last version kept if it changed).
fn update_open(group: &mut Group, rule: &Rule, digest: &Digest, cx: &mut Context) -> bool {
    let window = delta(rule.window);
    let Some(open) = group.alert.as_mut() else {
        return false;
    };
    if !open.aggregate.covers(digest.time, window) {
        cx.changes.leaving(rule, open);
        group.alert = None;
        return false;
    }
    open.aggregate.absorb(digest);
    cx.stats.alerts_updated += 1;
    cx.changes.note(cx.rule_index, &group.key, open);
    true
}

/// Opens a new alert for the group.
fn open_alert(group: &mut Group, rule: &Rule, aggregate: Aggregate, cx: &mut Context) {
    if let Some(previous) = group.alert.take() {
        cx.changes.leaving(rule, &previous);
    }
    let mut open = OpenAlert::new(aggregate);
    cx.changes.note(cx.rule_index, &group.key, &mut open);
    tracing::debug!(rule = %rule.id(), alert = %open.id, "alert raised");
    group.alert = Some(open);
    cx.stats.alerts_created += 1;
}

/// The grouping key: the values of the paths, missing ones empty.
fn group_key(view: &EventView, paths: &[FieldPath]) -> String {
    let mut key = String::new();
    for (index, path) in paths.iter().enumerate() {
        if index > 0 {
            key.push('\u{1f}');
        }
        key.push_str(&view.key(path).unwrap_or_default());
    }
    cap_key(key)
}

/// The steps the event matches, grouped by their join value.
///
/// A step whose join field the event lacks is skipped: unknown values never
/// join. Without any join field all events share one group.
fn step_keys(
    view: &EventView,
    steps: &[SequenceStep],
    join: Option<&FieldPath>,
) -> Vec<(String, Vec<usize>)> {
    let mut keyed: Vec<(String, Vec<usize>)> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        if !step.matcher.matches(view) {
            continue;
        }
        let key = match step.key.as_ref().or(join) {
            Some(path) => match view.key(path) {
                Some(value) if !value.is_empty() => cap_key(value),
                _ => continue,
            },
            None => String::new(),
        };
        match keyed.iter_mut().find(|(k, _)| *k == key) {
            Some((_, indexes)) => indexes.push(index),
            None => keyed.push((key, vec![index])),
        }
    }
    keyed
}

/// Finds an ordered chain, one match per step, spanning at most `window`,
/// and returns the aggregate of every pending match within the window
/// before its end (so the alert tells the whole story, not one path).
///
/// Tries each first-step match, latest first, and takes for every later step
/// the earliest match not before the previous one (the tightest chain).
fn complete_chain(hits: &[Vec<Digest>], window: TimeDelta) -> Option<Aggregate> {
    let end = chain_end(hits, window)?;
    let from = end
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);

    let mut story: Vec<&Digest> = hits.iter().flatten().filter(|d| d.time >= from).collect();
    story.sort_by_key(|d| (d.time, d.id));
    story.dedup_by_key(|d| d.id);
    Aggregate::of_chain(&story)
}

/// The time of the last match of a complete chain, if there is one.
fn chain_end(hits: &[Vec<Digest>], window: TimeDelta) -> Option<DateTime<Utc>> {
    let (first_step, later_steps) = hits.split_first()?;
    for start in first_step.iter().rev() {
        let mut chain: Vec<&Digest> = vec![start];
        for step in later_steps {
            let previous = chain.last().map_or(start.time, |d| d.time);
            let next = step
                .iter()
                .find(|d| d.time >= previous && !chain.iter().any(|c| c.id == d.id));
            match next {
                Some(digest) => chain.push(digest),
                None => break,
            }
        }
        let end = chain.last().map_or(start.time, |d| d.time);
        if chain.len() == hits.len() && end - start.time <= window {
            return Some(end);
        }
    }
    None
}

/// The first run of at least `count` sorted times within `window`: its
/// first and last time and its full size.
fn densest_run(
    times: &[DateTime<Utc>],
    count: usize,
    window: TimeDelta,
) -> Option<(DateTime<Utc>, DateTime<Utc>, usize)> {
    for (start, first) in times.iter().enumerate() {
        let end = match first.checked_add_signed(window) {
            Some(limit) => times.partition_point(|t| *t <= limit),
            None => times.len(),
        };
        let size = end.saturating_sub(start);
        if size >= count {
            let last = times.get(end.saturating_sub(1)).copied().unwrap_or(*first);
            return Some((*first, last, size));
        }
    }
    None
}

/// Inserts by time, keeping at most `cap` items (the oldest go first).
fn insert_sorted<T>(items: &mut Vec<T>, item: T, time: impl Fn(&T) -> DateTime<Utc>, cap: usize) {
    let at = items.partition_point(|existing| time(existing) <= time(&item));
    items.insert(at, item);
    if items.len() > cap {
        let excess = items.len() - cap;
        items.drain(..excess);
    }
}

/// State of `rule` older than this is of no more use at `reference`.
fn cutoff(rule: &Rule, limits: EngineLimits, reference: DateTime<Utc>) -> DateTime<Utc> {
    reference
        .checked_sub_signed(delta(rule.window))
        .and_then(|t| t.checked_sub_signed(lateness(limits)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn lateness(limits: EngineLimits) -> TimeDelta {
    delta(limits.lateness)
}

/// A std duration as a chrono one; rule windows are at most 30 days.
fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
