//! Detections over decoded OT transactions: the learned allowlist, the site's safe
//! bounds, dangerous commands, sweeps, storms and zone crossings.

mod bacnet;
mod modbus;

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_core::event::Endpoint;
use safecare_core::site::Site;
use safecare_core::{AssetDirectory, Module, SecurityEvent};
use serde_json::{Map, Value, json};

use crate::baseline::Baseline;
use crate::sensor::{Malformed, Observation};
use crate::transaction::{Detail, Transaction};

/// The framework named on every event.
const FRAMEWORK: &str = "MITRE ATT&CK for ICS";

/// Keys kept per table (counting windows, raised events): the cap on per-device
/// state. A full table first drops the windows that have ended; if that frees less
/// than a quarter of it (a flood of distinct keys), it is emptied and the reset is
/// counted in [`Detector::table_resets`].
pub const MAX_KEYS: usize = 65_536;

/// Thresholds and options of the detections.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// The learned allowlist; without it only the stateless checks run.
    pub baseline: Option<Baseline>,
    /// Engineering value of one raw Modbus register step (0.1: tenths of a degree).
    pub modbus_scale: f64,
    /// Length of the counting windows and of the repeat suppression.
    pub window: TimeDelta,
    /// Distinct units one client reads in a window before it is a sweep.
    pub sweep_units: usize,
    /// Distinct start registers one client reads from one server in a window.
    pub sweep_registers: usize,
    /// Who-Is or Who-Has messages one sender broadcasts in a window before it is a scan.
    pub who_is_burst: usize,
    /// Exception, error, reject or abort responses from one device in a window.
    pub exception_storm: usize,
    /// Modbus requests one unit leaves unanswered in a window.
    pub unanswered: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            baseline: None,
            modbus_scale: 0.1,
            window: TimeDelta::seconds(60),
            sweep_units: 8,
            sweep_registers: 32,
            who_is_burst: 10,
            exception_storm: 20,
            unanswered: 5,
        }
    }
}

/// Distinct values counted in a window starting at `start`.
#[derive(Debug, Clone)]
struct Window {
    start: DateTime<Utc>,
    seen: std::collections::HashSet<u64>,
    count: usize,
}

/// Runs every detection over the sensor's observations and collects events.
pub struct Detector<'a> {
    directory: &'a dyn AssetDirectory,
    site: Option<&'a Site>,
    config: DetectConfig,
    windows: HashMap<String, Window>,
    raised: HashMap<String, DateTime<Utc>>,
    events: Vec<SecurityEvent>,
    table_resets: u64,
}

impl<'a> Detector<'a> {
    /// A detector naming assets through `directory`, checking bounds in `site`.
    pub fn new(
        directory: &'a dyn AssetDirectory,
        site: Option<&'a Site>,
        config: DetectConfig,
    ) -> Self {
        Detector {
            directory,
            site,
            config,
            windows: HashMap::new(),
            raised: HashMap::new(),
            events: Vec::new(),
            table_resets: 0,
        }
    }

    /// Keys held now in the counting and raised-event tables (each at most
    /// [`MAX_KEYS`]).
    pub fn tracked_keys(&self) -> usize {
        self.windows.len() + self.raised.len()
    }

    /// Times a table was emptied because it was full of live keys.
    pub fn table_resets(&self) -> u64 {
        self.table_resets
    }

    /// Checks one observation.
    pub fn observe(&mut self, observation: &Observation) {
        match observation {
            Observation::Transaction(t) => {
                self.zone_crossing(t);
                match &t.detail {
                    Detail::Modbus(x) => self.modbus(t, x),
                    Detail::Bacnet(x) => self.bacnet(t, x),
                }
            }
            Observation::Malformed(m) => self.malformed(m),
        }
    }

    /// Takes the events raised so far.
    pub fn drain_events(&mut self) -> Vec<SecurityEvent> {
        std::mem::take(&mut self.events)
    }

    fn malformed(&mut self, m: &Malformed) {
        let kind = format!("ot.{}.malformed", m.protocol);
        let key = format!("{kind}|{}|{}", m.client, m.server);
        if !self.first_in_window(&key, m.time) {
            return;
        }
        let ends = Ends::new(m.time, m.client, None, m.server, None);
        let summary = format!(
            "Malformed {} traffic from {} to {}: {}",
            m.protocol, m.client, m.server, m.error
        );
        let evidence = json!({"protocol": m.protocol, "error": m.error});
        self.raise(&kind, 45, 0.8, summary, &ends, &["T0814"], evidence);
    }

    /// Traffic between two different site networks (e.g. the IT network reaching the
    /// BMS network), once per pair and window.
    fn zone_crossing(&mut self, t: &Transaction) {
        let Some(site) = self.site else { return };
        let (Some(from), Some(to)) = (site.network_of(t.client), site.network_of(t.server)) else {
            return;
        };
        if from.id == to.id {
            return;
        }
        let protocol = protocol_of(t);
        let key = format!("zone|{}|{}", t.client, t.server);
        if !self.first_in_window(&key, t.time) {
            return;
        }
        let summary = format!(
            "{} from {} on {} reaches {} on {}",
            protocol, t.client, from.id, t.server, to.id
        );
        let evidence =
            json!({"protocol": protocol, "client_network": from.id, "server_network": to.id});
        let kind = format!("ot.{}.zone_crossing", protocol.to_ascii_lowercase());
        self.raise(&kind, 65, 0.8, summary, &Ends::of(t), &["T0886"], evidence);
    }

    /// Adds one to the window counter `key`, counting `value` as distinct; returns
    /// (events counted, distinct values) in the current window.
    fn count(&mut self, key: &str, time: DateTime<Utc>, value: u64) -> (usize, usize) {
        let window = self.config.window;
        if self.windows.len() >= MAX_KEYS && !self.windows.contains_key(key) {
            self.windows.retain(|_, w| time - w.start <= window);
            self.table_resets += u64::from(empty_if_crowded(&mut self.windows));
        }
        let w = self
            .windows
            .entry(key.to_string())
            .or_insert_with(|| Window {
                start: time,
                seen: Default::default(),
                count: 0,
            });
        if time - w.start > window {
            *w = Window {
                start: time,
                seen: Default::default(),
                count: 0,
            };
        }
        w.count += 1;
        if w.seen.len() < 4096 {
            w.seen.insert(value);
        }
        (w.count, w.seen.len())
    }

    /// True when `key` was not raised within the last window (and marks it raised).
    fn first_in_window(&mut self, key: &str, time: DateTime<Utc>) -> bool {
        if self.raised.len() >= MAX_KEYS && !self.raised.contains_key(key) {
            let window = self.config.window;
            self.raised.retain(|_, at| time - *at <= window);
            self.table_resets += u64::from(empty_if_crowded(&mut self.raised));
        }
        match self.raised.get(key) {
            Some(at) if time - *at <= self.config.window && time >= *at => false,
            _ => {
                self.raised.insert(key.to_string(), time);
                true
            }
        }
    }

    /// Builds an event about the exchange between `ends` and queues it.
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &mut self,
        kind: &str,
        severity: u8,
        confidence: f64,
        summary: String,
        ends: &Ends,
        techniques: &[&str],
        evidence: Value,
    ) {
        let mut event = SecurityEvent::new(Module::Ot, kind, severity, summary)
            .with_techniques(FRAMEWORK, techniques);
        event.time = ends.time;
        event.confidence = confidence;
        event.source = Some(endpoint(ends.client, ends.client_port));
        event.destination = Some(endpoint(ends.server, ends.server_port));
        if let Some(asset) = ends
            .asset
            .as_deref()
            .and_then(|id| self.directory.by_id(id))
        {
            event.asset = Some(asset.id.clone());
            event.location = Some(asset.location.clone());
        } else if let Some(asset) = self.directory.by_ip(ends.server) {
            event.asset = Some(asset.id.clone());
            event.location = Some(asset.location.clone());
        }
        if let Value::Object(map) = evidence {
            event.evidence = map;
        } else {
            event.evidence = Map::new();
        }
        self.events.push(event);
    }
}

/// Empties a table that pruning left more than three quarters full; true if it did.
fn empty_if_crowded<V>(table: &mut HashMap<String, V>) -> bool {
    let crowded = table.len() > MAX_KEYS / 4 * 3;
    if crowded {
        table.clear();
    }
    crowded
}

/// Who talked to whom, and when, for an event.
struct Ends {
    time: DateTime<Utc>,
    client: IpAddr,
    client_port: Option<u16>,
    server: IpAddr,
    server_port: Option<u16>,
    /// The asset the event is about, when known better than by the server address.
    asset: Option<String>,
}

impl Ends {
    fn new(
        time: DateTime<Utc>,
        client: IpAddr,
        client_port: Option<u16>,
        server: IpAddr,
        server_port: Option<u16>,
    ) -> Self {
        Ends {
            time,
            client,
            client_port,
            server,
            server_port,
            asset: None,
        }
    }

    fn of(t: &Transaction) -> Self {
        Ends::new(
            t.time,
            t.client,
            Some(t.client_port),
            t.server,
            Some(t.server_port),
        )
    }
}

fn endpoint(ip: IpAddr, port: Option<u16>) -> Endpoint {
    Endpoint {
        ip: Some(ip.to_string()),
        port,
        ..Endpoint::default()
    }
}

fn protocol_of(t: &Transaction) -> &'static str {
    match t.detail {
        Detail::Modbus(_) => "Modbus",
        Detail::Bacnet(_) => "BACnet",
    }
}

/// A stable number for a string, to count distinct values cheaply.
fn fingerprint(value: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}
