//! SafeCare correlation: security events in, alerts out.
//!
//! Detectors report what they see as [`SecurityEvent`]s; operators should not
//! read those one by one. This crate groups them into [`Alert`]s by the rules
//! of a YAML file: deduplication of repeated events, thresholds (ten failed
//! logins in five minutes), and sequences across modules at the same place
//! (an after-hours badge into the data centre, then a new device on its
//! network) — the cyber-physical rules.
//!
//! ```no_run
//! use safecare_correlate::{Engine, RuleSet};
//! # fn events() -> Vec<safecare_core::SecurityEvent> { Vec::new() }
//! let mut engine = Engine::new(RuleSet::defaults());
//! for event in events() {
//!     for alert in engine.process(&event) {
//!         println!("{} {}", alert.rule, alert.summary);
//!     }
//! }
//! engine.expire(chrono::Utc::now());
//! ```
//!
//! # The rules file
//!
//! ```yaml
//! version: 1
//! rules:
//!   - id: brute-force-login            # unique: lowercase, digits, - and _
//!     type: threshold                  # single | threshold | sequence
//!     title: Brute-force login         # alert title
//!     summary: "{count} failed logins from {source.ip} on {asset}"
//!     description: For people tuning the rules (optional).
//!     window: 5m                       # d, h, m, s: 90s, 5m, 2h30m, 1d
//!     severity: from_events            # or Minor | Moderate | Severe | Extreme
//!     enabled: true                    # optional, default true
//!     match:
//!       kind: auth.failure             # exact, glob (auth.*), or a list
//!       module: logs                   # a module or a list
//!       domain: cyber                  # cyber | physical
//!       severity_min: 10               # event severity 0-100
//!       fields:                        # equality on dotted paths
//!         evidence.logon_type: 10      # a list of values means any of them
//!     group_by: [source.ip, asset]     # the alert's key; missing values count as empty
//!     count: 10                        # threshold only: events within the window
//! ```
//!
//! - `single`: every matching event raises an alert, or, when an alert of the
//!   same `group_by` key saw an event within `window`, updates it
//!   (`event_count`, `last_seen`, summary).
//! - `threshold`: `count` matching events of one key within `window` raise an
//!   alert; further events of that key within `window` of it update it.
//!   After the alert closes or goes quiet, the count starts again.
//! - `sequence`: `steps` (2 to 8 matchers, same settings as `match`, plus an
//!   optional `name` and `key`) in time order within `window`, joined on the
//!   field `join` (e.g. `zone`, `asset`, `source.ip`, `user.name`); a step's
//!   `key` joins that step on another field (e.g. the login's
//!   `destination.ip` meets the next step's `source.ip`). An event lacking
//!   the join field takes no part; without `join` all events share one chain.
//!   Once a chain completes, further step matches of that key within `window`
//!   update the alert; after it closes, a new full chain is needed.
//!
//! Paths start with an event field (`kind`, `module`, `severity`, `asset`,
//! `location`, `source`, `destination`, `user`, `host`, `file`, `threat`,
//! `evidence`...); `zone` is short for `location.zone`. On a list (such as
//! `threat.technique.id`) equality means "contains", a key takes the first.
//!
//! Summaries may name `{count}`, `{asset}`, `{zone}`, `{first_seen}`,
//! `{last_seen}`, `{window}`, `{kinds}` and any event path (`{source.ip}`,
//! `{user.name}`), which takes the value of the latest event that has it.
//! `{{` and `}}` are literal braces.
//!
//! An alert's severity is the CAP mapping of its highest event severity
//! unless the rule fixes it; its domain is cyber, physical or cyber-physical
//! from its events' domains; its techniques are the union of theirs. Asset
//! and zone come from the first event naming them, or for a sequence from
//! the latest event of the chain naming them.
//!
//! Errors in a file ([`RuleError`]) carry file, line, column and reason, for
//! YAML syntax and for rule mistakes alike.
//!
//! # Time
//!
//! Windows are measured on event time, so a replay at any speed raises the
//! same alerts. Events may arrive out of order by up to
//! [`EngineLimits::lateness`] (5 minutes by default) and still correlate.

mod aggregate;
mod engine;
mod error;
mod matcher;
mod path;
mod rules;
mod template;

pub use aggregate::MAX_EVENT_IDS;
pub use engine::{Engine, EngineLimits, EngineStats};
pub use error::{LoadError, RuleError};
pub use rules::{
    MAX_RULES, MAX_RULES_BYTES, MAX_STEPS, MAX_THRESHOLD, Rule, RuleSet, RuleType, SeveritySpec,
};

#[doc(no_inline)]
pub use safecare_core::{Alert, SecurityEvent};
