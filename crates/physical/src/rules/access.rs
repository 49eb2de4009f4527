//! Access-control rules: after hours, denied bursts, impossible travel, tailgating,
//! keypad codes new to a badge, doors forced or held.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::SecurityEvent;
use serde_json::json;

use super::make_room;
use crate::engine::{Subject, with, with_user};
use crate::observation::{Fact, Presentation};
use crate::site_view::SiteView;
use crate::thresholds::Thresholds;

/// Uses remembered per badge, and grants or denials per door.
const HISTORY: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct AccessRules {
    badges: HashMap<String, BadgeState>,
    doors: HashMap<String, DoorState>,
    /// Keypad code reference -> badges that used it.
    codes: HashMap<String, HashSet<String>>,
    /// Passages waiting for late grants, in receive order.
    pending: VecDeque<Passage>,
}

/// People counted through a door, judged after [`Thresholds::reorder_grace`].
#[derive(Debug)]
struct Passage {
    door: String,
    count: u32,
    from_video: bool,
    due: DateTime<Utc>,
    subject: Subject,
}

#[derive(Debug, Default)]
struct BadgeState {
    /// (time, door, zone) of recent granted uses.
    uses: VecDeque<(DateTime<Utc>, String, Option<String>)>,
    denials: VecDeque<DateTime<Utc>>,
    last_burst: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct DoorState {
    grants: VecDeque<DateTime<Utc>>,
    denials: VecDeque<DateTime<Utc>>,
    last_burst: Option<DateTime<Utc>>,
    open_since: Option<DateTime<Utc>>,
    /// Receive time of the opening, for the time-driven check.
    opened_received: Option<DateTime<Utc>>,
    held_reported: bool,
    /// Kept for tick-time events about the door.
    subject: Option<Subject>,
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Pushes a time keeping the deque at most `HISTORY` long.
fn remember<T>(deque: &mut VecDeque<T>, item: T) {
    deque.push_back(item);
    if deque.len() > HISTORY {
        deque.pop_front();
    }
}

impl AccessRules {
    pub fn observe(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        fact: &Fact,
        out: &mut Vec<SecurityEvent>,
    ) {
        let restricted = is_restricted(view, s);
        let name = s.name().to_string();
        match fact {
            Fact::Presented(p) if p.granted => self.granted(view, th, s, p, out),
            Fact::Presented(p) => self.denied(th, s, p, out),
            Fact::DoorForced => {
                let severity = if restricted { 85 } else { 75 };
                out.push(s.event(
                    "access.door_forced",
                    severity,
                    format!("{name} was forced open."),
                ));
                let door = self.door(th, s);
                door.open_since = Some(s.time);
                door.opened_received = Some(s.received);
            }
            Fact::DoorHeld { seconds } => {
                let summary = match seconds {
                    Some(seconds) => format!("{name} has been held open for {seconds} s."),
                    None => format!("{name} is held open."),
                };
                let event = s.event(
                    "access.door_held_open",
                    if restricted { 50 } else { 35 },
                    summary,
                );
                out.push(with(event, &[("held_seconds", json!(seconds))]));
                self.door(th, s).held_reported = true;
            }
            Fact::DoorOpened => {
                let door = self.door(th, s);
                door.open_since = Some(s.time);
                door.opened_received = Some(s.received);
                door.held_reported = false;
            }
            Fact::DoorClosed => self.closed(th, s, restricted, out),
            Fact::AntiPassback { badge, user } => {
                let summary =
                    format!("Anti-passback violation at {name}: the badge was not seen leaving.");
                let event = s.event("access.antipassback", 40, summary);
                out.push(with_user(event, user.as_deref(), badge.as_deref()));
            }
            Fact::ReaderTamper => {
                let summary = format!("The reader of {name} reports tampering.");
                out.push(s.event("access.reader_tamper", 65, summary));
            }
            Fact::Passage { count, door } => {
                let door = door.clone().unwrap_or_else(|| s.device_id.clone());
                self.passage(th, s, &door, *count, false);
            }
            _ => {}
        }
    }

    /// A credential accepted: after-hours entries, travel, codes, and the grant for tailgating.
    fn granted(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        p: &Presentation,
        out: &mut Vec<SecurityEvent>,
    ) {
        remember(&mut self.door(th, s).grants, s.time);
        let restricted = is_restricted(view, s);
        let open = s.zone().and_then(|z| view.zone_open(z, s.time));
        let who = who(p);
        let zone = s.zone().unwrap_or("an unknown zone").to_string();

        if restricted {
            let after_hours = open == Some(false);
            let local = view.local(s.time).format("%H:%M");
            let event = if after_hours {
                let summary = format!(
                    "{} opened at {local} with {} ({who}), outside the opening hours of {zone}.",
                    s.name(),
                    p.credential.as_str().replace('_', " ")
                );
                s.event("access.after_hours", 65, summary)
            } else {
                let summary = format!("{who} entered restricted zone {zone} through {}.", s.name());
                s.event("access.restricted_entry", 10, summary)
            };
            let event = with(
                event,
                &[
                    ("after_hours", json!(after_hours)),
                    ("credential", json!(p.credential.as_str())),
                    ("badge", json!(p.badge.as_deref().unwrap_or("none"))),
                ],
            );
            out.push(with_user(event, p.user.as_deref(), None));
        }

        if let Some(badge) = &p.badge {
            self.travel(view, th, s, p, badge, out);
            if let Some(code) = &p.code_id {
                self.code_use(th, s, p, badge, code, out);
            }
        }
    }

    /// A credential refused: the denial, and a burst when denials pile up.
    fn denied(
        &mut self,
        th: &Thresholds,
        s: &Subject,
        p: &Presentation,
        out: &mut Vec<SecurityEvent>,
    ) {
        let reason = p.reason.as_deref().unwrap_or("refused");
        let summary = format!("{} refused at {} ({reason}).", who(p), s.name());
        let event = with(
            s.event("access.badge_denied", 20, summary),
            &[("reason", json!(reason))],
        );
        out.push(with_user(event, p.user.as_deref(), p.badge.as_deref()));

        let window = delta(th.denied_window);
        let door = self.door(th, s);
        remember(&mut door.denials, s.time);
        if let Some(count) = burst(
            &door.denials,
            &mut door.last_burst,
            s.time,
            window,
            th.denied_burst,
        ) {
            let summary = format!(
                "{count} denied credentials at {} within {} s.",
                s.name(),
                window.num_seconds()
            );
            out.push(with(
                s.event("access.badge_denied_burst", 55, summary),
                &[("denials", json!(count))],
            ));
            return;
        }

        let Some(badge) = &p.badge else { return };
        make_room(&mut self.badges, th.limits.badges);
        let state = self.badges.entry(badge.clone()).or_default();
        remember(&mut state.denials, s.time);
        if let Some(count) = burst(
            &state.denials,
            &mut state.last_burst,
            s.time,
            window,
            th.denied_burst,
        ) {
            let summary = format!(
                "Badge {badge} was refused {count} times within {} s.",
                window.num_seconds()
            );
            let event = with(
                s.event("access.badge_denied_burst", 55, summary),
                &[("denials", json!(count))],
            );
            out.push(with_user(event, p.user.as_deref(), Some(badge)));
        }
    }

    /// The same badge granted at two places too far apart for the time between them.
    fn travel(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        p: &Presentation,
        badge: &str,
        out: &mut Vec<SecurityEvent>,
    ) {
        make_room(&mut self.badges, th.limits.badges);
        let state = self.badges.entry(badge.to_string()).or_default();
        let here = s.zone().map(String::from);

        let mut found = None;
        if let Some(here_zone) = &here {
            for (time, door, zone) in &state.uses {
                let Some(zone) = zone else { continue };
                let Some(metres) = view.distance(zone, here_zone, th.metres_per_level) else {
                    continue;
                };
                let seconds = (s.time - *time).num_milliseconds().abs() as f64 / 1000.0;
                let needed = metres / th.walking_speed;
                if metres >= th.min_travel_distance && seconds < needed {
                    found = Some((door.clone(), zone.clone(), metres, seconds));
                    break;
                }
            }
        }
        remember(&mut state.uses, (s.time, s.device_id.clone(), here));

        let Some((door, zone, metres, seconds)) = found else {
            return;
        };
        let summary = format!(
            "Badge {badge} used at {} and at {door} ({zone}) {seconds:.0} s apart, {metres:.0} m away: \
             too fast to walk; the badge may be cloned or shared.",
            s.name()
        );
        let event = with(
            s.event("access.impossible_travel", 60, summary),
            &[
                ("previous_door", json!(door)),
                ("previous_zone", json!(zone)),
                ("distance_m", json!(metres.round())),
                ("seconds", json!(seconds.round())),
            ],
        );
        out.push(with_user(event, p.user.as_deref(), Some(badge)));
    }

    /// A keypad code used by a badge with a history that never used it before.
    fn code_use(
        &mut self,
        th: &Thresholds,
        s: &Subject,
        p: &Presentation,
        badge: &str,
        code: &str,
        out: &mut Vec<SecurityEvent>,
    ) {
        let badge_known = self.badges.get(badge).is_some_and(|b| b.uses.len() > 1)
            || self.codes.values().any(|users| users.contains(badge));
        if !self.codes.contains_key(code) {
            make_room(&mut self.codes, th.limits.codes);
        }
        let users = self.codes.entry(code.to_string()).or_default();
        let first_use = !users.contains(badge);
        let code_known = !users.is_empty();
        if users.len() < th.limits.badges_per_code {
            users.insert(badge.to_string());
        }
        if !(first_use && code_known && badge_known) {
            return;
        }

        let summary = format!(
            "Keypad code {code} was typed at {} by badge {badge}, which never used it before.",
            s.name()
        );
        let event = with(
            s.event("access.code_first_use", 45, summary),
            &[("code_id", json!(code))],
        );
        out.push(with_user(event, p.user.as_deref(), Some(badge)));
    }

    /// A passage through a door: judged once late grants had time to arrive (on tick).
    pub fn passage(
        &mut self,
        th: &Thresholds,
        s: &Subject,
        door_id: &str,
        count: u32,
        from_video: bool,
    ) {
        if self.pending.len() >= th.limits.doors {
            self.pending.pop_front();
        }
        self.pending.push_back(Passage {
            door: door_id.to_string(),
            count,
            from_video,
            due: s.received + delta(th.reorder_grace),
            subject: s.clone(),
        });
    }

    /// Judges the passages whose grace is over: more people than grants around them.
    fn judge_passages(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        now: DateTime<Utc>,
        out: &mut Vec<SecurityEvent>,
    ) {
        while self.pending.front().is_some_and(|p| p.due <= now) {
            let Some(passage) = self.pending.pop_front() else {
                break;
            };
            out.extend(self.judge(view, th, &passage));
        }
    }

    fn judge(&self, view: &SiteView, th: &Thresholds, p: &Passage) -> Option<SecurityEvent> {
        let (window, time) = (delta(th.tailgate_window), p.subject.time);
        let grants = self.doors.get(&p.door).map_or(0, |door| {
            door.grants
                .iter()
                .filter(|t| **t >= time - window && **t <= time + TimeDelta::seconds(2))
                .count()
        });
        if p.count as usize <= grants {
            return None;
        }

        let door = view.device(&p.door);
        let door_name = door.as_ref().map_or(p.door.as_str(), |d| d.name.as_str());
        let summary = format!(
            "{} people passed {door_name} on {grants} credential(s).",
            p.count
        );
        let mut subject = p.subject.clone();
        if let Some(door) = &door {
            subject.location = Some(door.location.clone())
                .filter(|l| l.zone.is_some())
                .or(subject.location);
        }
        let restricted = is_restricted(view, &subject);
        let kind = if p.from_video {
            "video.tailgating"
        } else {
            "access.tailgating"
        };
        let mut event = subject.event(kind, if restricted { 60 } else { 45 }, summary);
        if let (false, Some(door)) = (p.from_video, door) {
            event.asset = Some(door.id);
        }
        Some(with(
            event,
            &[
                ("people", json!(p.count)),
                ("credentials", json!(grants)),
                ("door", json!(p.door)),
            ],
        ))
    }

    /// A door closed: held open when it stood open past the limit unreported.
    fn closed(
        &mut self,
        th: &Thresholds,
        s: &Subject,
        restricted: bool,
        out: &mut Vec<SecurityEvent>,
    ) {
        let door = self.door(th, s);
        let since = door.open_since.take();
        door.opened_received = None;
        let reported = std::mem::take(&mut door.held_reported);
        let Some(since) = since else { return };
        let open = s.time - since;
        if reported || open <= delta(th.door_held_after) {
            return;
        }
        let summary = format!("{} stood open for {} s.", s.name(), open.num_seconds());
        let event = s.event(
            "access.door_held_open",
            if restricted { 50 } else { 35 },
            summary,
        );
        out.push(with(event, &[("held_seconds", json!(open.num_seconds()))]));
    }

    /// Doors open past the limit (by receive time) and not yet reported.
    pub fn tick(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        now: DateTime<Utc>,
        out: &mut Vec<SecurityEvent>,
    ) {
        self.judge_passages(view, th, now, out);

        let limit = delta(th.door_held_after);
        for door in self.doors.values_mut() {
            let (Some(received), Some(opened), Some(subject)) =
                (door.opened_received, door.open_since, &door.subject)
            else {
                continue;
            };
            if door.held_reported || now - received <= limit {
                continue;
            }
            door.held_reported = true;
            let seconds = (now - received).num_seconds();
            let mut subject = subject.clone();
            subject.time = opened + (now - received);
            let summary = format!("{} has stood open for {seconds} s.", subject.name());
            let event = subject.event("access.door_held_open", 40, summary);
            out.push(with(event, &[("held_seconds", json!(seconds))]));
        }
    }

    fn door(&mut self, th: &Thresholds, s: &Subject) -> &mut DoorState {
        if !self.doors.contains_key(&s.device_id) {
            make_room(&mut self.doors, th.limits.doors);
        }
        let door = self.doors.entry(s.device_id.clone()).or_default();
        if door.subject.is_none() {
            door.subject = Some(s.clone());
        }
        door
    }
}

/// The count of times within `window` of `now`, when it reaches `threshold` and no burst
/// was reported within the window.
fn burst(
    times: &VecDeque<DateTime<Utc>>,
    last: &mut Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    window: TimeDelta,
    threshold: usize,
) -> Option<usize> {
    let count = times.iter().filter(|t| (now - **t).abs() <= window).count();
    if count < threshold || last.is_some_and(|l| (now - l).abs() <= window) {
        return None;
    }
    *last = Some(now);
    Some(count)
}

fn is_restricted(view: &SiteView, s: &Subject) -> bool {
    s.zone()
        .and_then(|z| view.zone(z))
        .is_some_and(|z| z.restricted)
}

fn who(p: &Presentation) -> String {
    match (&p.user, &p.badge) {
        (Some(user), _) => user.clone(),
        (None, Some(badge)) => format!("badge {badge}"),
        (None, None) => "no badge".into(),
    }
}
