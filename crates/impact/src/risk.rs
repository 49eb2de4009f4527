//! The risk register: per asset and threat class, likelihood times impact.
//!
//! Likelihood blends the asset's exposure (how reachable it is: network reachability from
//! the IT network for cyber threats, the zone's access control for physical ones), lowered
//! by its protection degree, with its history (events and incidents of that class seen on
//! it: `1 - e^-(0.3 events + incidents)`). Impact is what propagation says
//! an incident of that class on the asset would take from the clinical services. The
//! register costs one propagation per asset and class: it is meant for a hospital site
//! (thousands of assets), not for the million-asset benchmark sites.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use safecare_core::site::{Asset, AssetType, DependencyKind, Site};
use safecare_core::{CapSeverity, Incident, IncidentState, IncidentType, SecurityEvent};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::names::CLASSES;
use crate::propagate::{Engine, round6};

/// Events and incidents seen per (asset, threat class).
#[derive(Debug, Clone, Default)]
pub struct RiskHistory {
    counts: HashMap<(String, IncidentType), (u32, u32)>,
    /// Lines of a history file that could not be read.
    pub skipped: usize,
}

impl RiskHistory {
    /// An empty history.
    pub fn new() -> RiskHistory {
        RiskHistory::default()
    }

    /// Counts one event on its asset, under the threat class its kind suggests.
    pub fn add_event(&mut self, event: &SecurityEvent) {
        let (Some(asset), Some(class)) = (&event.asset, threat_of_event_kind(&event.kind)) else {
            return;
        };
        self.record(asset, class, 1, 0);
    }

    /// Counts one incident on each of its assets.
    pub fn add_incident(&mut self, incident: &Incident) {
        for asset in &incident.assets {
            self.record(asset, incident.kind, 0, 1);
        }
    }

    /// Adds counts for one asset and class.
    pub fn record(&mut self, asset: &str, class: IncidentType, events: u32, incidents: u32) {
        let entry = self.counts.entry((asset.to_string(), class)).or_default();
        entry.0 = entry.0.saturating_add(events);
        entry.1 = entry.1.saturating_add(incidents);
    }

    /// (events, incidents) of an asset and class.
    pub fn counts(&self, asset: &str, class: IncidentType) -> (u32, u32) {
        self.counts
            .get(&(asset.to_string(), class))
            .copied()
            .unwrap_or_default()
    }

    /// Reads JSON lines of security events and incidents (as exported by the store or
    /// printed by the detectors); unreadable lines are counted in `skipped`.
    pub fn from_json_lines(text: &str) -> RiskHistory {
        let mut history = RiskHistory::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Ok(incident) = serde_json::from_str::<Incident>(line) {
                history.add_incident(&incident);
            } else if let Ok(event) = serde_json::from_str::<SecurityEvent>(line) {
                history.add_event(&event);
            } else {
                history.skipped += 1;
            }
        }
        history
    }
}

/// The threat class an event kind points to, from the event catalogue's prefixes.
pub fn threat_of_event_kind(kind: &str) -> Option<IncidentType> {
    let class = match kind {
        k if k.contains("encryption") || k.contains("ransom") => IncidentType::Ransomware,
        k if k.starts_with("file.") || k.contains("malware") || k == "mail.phishing" => {
            IncidentType::Malware
        }
        k if k.contains("tamper") || k.contains("manipulation") => IncidentType::DataManipulation,
        k if k.starts_with("fire.") => IncidentType::Fire,
        k if k.contains("power") || k.contains("ups") => IncidentType::PowerFailure,
        k if k.contains("flood") || k.contains("unavailable") || k.contains("dos") => {
            IncidentType::DenialOfService
        }
        k if k.starts_with("ot.") || k.starts_with("scada.") => IncidentType::Sabotage,
        k if k.contains("theft") || k.contains("removed") => IncidentType::Theft,
        k if k.starts_with("network.")
            || k.starts_with("auth.")
            || k.starts_with("access.")
            || k.starts_with("video.")
            || k.starts_with("intrusion.") =>
        {
            IncidentType::Intrusion
        }
        _ => return None,
    };
    Some(class)
}

/// Which assets and classes the register covers.
#[derive(Debug, Clone)]
pub struct RiskOptions {
    /// Threat classes to rate; empty means all.
    pub classes: Vec<IncidentType>,
    /// Networks that count as the IT zone: ids equal to or ending with one of these.
    pub it_networks: Vec<String>,
    /// Rows kept, highest risk first; `None` keeps all.
    pub top: Option<usize>,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            classes: Vec::new(),
            it_networks: vec!["net-it".to_string()],
            top: None,
        }
    }
}

/// One line of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskRow {
    pub asset: String,
    pub name: String,
    pub asset_type: AssetType,
    pub threat: IncidentType,
    /// How reachable the asset is for this threat, 0-1.
    pub exposure: f64,
    /// The asset's protection degree against this threat, 0-1.
    pub protection: f64,
    pub events: u32,
    pub incidents: u32,
    /// 0.5 x exposure x (1 - protection) + 0.5 x history, 0-1.
    pub likelihood: f64,
    /// Largest service loss an incident of this class on the asset causes, 0-1.
    pub impact: f64,
    /// likelihood x impact.
    pub risk: f64,
    /// The service that loses most, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_service: Option<String>,
}

/// The register of one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    pub site: String,
    pub generated: DateTime<Utc>,
    pub rows: Vec<RiskRow>,
}

/// Rates every asset of the engine's site (but services and operations) against every
/// threat class asked for.
pub fn risk_report(engine: &Engine, history: &RiskHistory, options: &RiskOptions) -> RiskReport {
    let site = engine.site();
    let exposure = Exposure::new(site, &options.it_networks);
    let classes: Vec<IncidentType> = if options.classes.is_empty() {
        CLASSES.to_vec()
    } else {
        options.classes.clone()
    };

    let mut rows = Vec::new();
    let targets = site.assets().iter().enumerate().filter(|(_, a)| {
        // Services and operations are what is lost, not what is attacked.
        !matches!(a.asset_type, AssetType::Service | AssetType::Operation)
    });
    for (index, asset) in targets {
        for &class in &classes {
            let reach = exposure.of(site, index, asset, class);
            let protection = asset.protection.degree(class).clamp(0.0, 1.0);
            let (events, incidents) = history.counts(&asset.id, class);
            let seen = 1.0 - (-(0.3 * f64::from(events) + f64::from(incidents))).exp();
            let likelihood = round6(0.5 * reach * (1.0 - protection) + 0.5 * seen);
            let (impact, worst_service) = impact_of(engine, asset, class);
            let risk = round6(likelihood * impact);
            if risk <= 0.0 {
                continue;
            }
            rows.push(RiskRow {
                asset: asset.id.clone(),
                name: asset.name.clone(),
                asset_type: asset.asset_type,
                threat: class,
                exposure: round6(reach),
                protection,
                events,
                incidents,
                likelihood,
                impact,
                risk,
                worst_service,
            });
        }
    }

    rows.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then_with(|| a.asset.cmp(&b.asset))
            .then_with(|| a.threat.as_str().cmp(b.threat.as_str()))
    });
    if let Some(top) = options.top {
        rows.truncate(top);
    }
    RiskReport {
        site: site.id().to_string(),
        generated: Utc::now(),
        rows,
    }
}

/// The largest service loss of a hypothetical incident of `class` on `asset`.
fn impact_of(engine: &Engine, asset: &Asset, class: IncidentType) -> (f64, Option<String>) {
    let incident = hypothetical(class, &asset.id);
    let assessment = engine.assess_origins(&incident, &[asset.id.as_str()]);
    match assessment.services.first() {
        Some(worst) => (worst.score, Some(worst.service.clone())),
        None if assessment.assets.len() > 1 => (0.1, None),
        None => (0.0, None),
    }
}

fn hypothetical(class: IncidentType, asset: &str) -> Incident {
    let now = Utc::now();
    Incident {
        id: Ulid::nil(),
        title: format!("what if: {} on {asset}", class.as_str()),
        kind: class,
        state: IncidentState::Open,
        severity: CapSeverity::Moderate,
        assets: vec![asset.to_string()],
        zones: Vec::new(),
        alert_ids: Vec::new(),
        owner: None,
        notes: Vec::new(),
        timeline: Vec::new(),
        created: now,
        updated: now,
        merged_into: None,
    }
}

/// Network reachability from the IT zone, computed once per report.
struct Exposure {
    /// Network asset positions that are IT networks or reachable from them.
    it: BTreeSet<usize>,
    reachable: BTreeSet<usize>,
    /// Software and data position -> hosting computer positions.
    hosts: HashMap<usize, Vec<usize>>,
}

impl Exposure {
    fn new(site: &Site, it_networks: &[String]) -> Exposure {
        let index_of = |id: &str| crate::graph::position(site, id).map(|p| p as usize);
        let it: BTreeSet<usize> = site
            .assets()
            .iter()
            .enumerate()
            .filter(|(_, a)| a.asset_type == AssetType::Network)
            .filter(|(_, a)| {
                it_networks
                    .iter()
                    .any(|n| a.id == *n || a.id.ends_with(n.as_str()))
            })
            .map(|(i, _)| i)
            .collect();

        // Networks reached from the IT networks over leads_to, breadth first.
        let mut reachable = it.clone();
        let mut frontier: Vec<usize> = it.iter().copied().collect();
        let mut hosts: HashMap<usize, Vec<usize>> = HashMap::new();
        let links: Vec<(usize, usize, DependencyKind)> = site
            .dependencies()
            .iter()
            .filter_map(|d| Some((index_of(&d.from)?, d)))
            .flat_map(|(from, d)| {
                d.to.iter()
                    .filter_map(move |to| Some((from, index_of(to)?, d.kind)))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut leads: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(from, to, kind) in &links {
            match kind {
                DependencyKind::Hosts => hosts.entry(to).or_default().push(from),
                DependencyKind::LeadsTo => leads.entry(from).or_default().push(to),
                _ => {}
            }
        }
        while let Some(net) = frontier.pop() {
            for &to in leads.get(&net).into_iter().flatten() {
                if reachable.insert(to) {
                    frontier.push(to);
                }
            }
        }
        Exposure {
            it,
            reachable,
            hosts,
        }
    }

    fn of(&self, site: &Site, index: usize, asset: &Asset, class: IncidentType) -> f64 {
        match class {
            IncidentType::Ransomware
            | IncidentType::Malware
            | IncidentType::DataManipulation
            | IncidentType::DenialOfService => self.network(site, index, asset, 0),
            IncidentType::Theft
            | IncidentType::Fire
            | IncidentType::Sabotage
            | IncidentType::PowerFailure => physical(site, asset),
            IncidentType::Intrusion => self
                .network(site, index, asset, 0)
                .max(physical(site, asset)),
            IncidentType::Other => 0.1,
        }
    }

    /// 1.0 on an IT network, 0.7 on a network reached from it, 0.4 on another network,
    /// 0.9 of the host's for hosted software and data, 0.1 off the network.
    fn network(&self, site: &Site, index: usize, asset: &Asset, depth: u8) -> f64 {
        if asset.asset_type == AssetType::Network {
            return self.network_level(index);
        }
        let on_network = asset
            .identities
            .ip
            .iter()
            .filter_map(|ip| ip.parse::<IpAddr>().ok())
            .filter_map(|ip| site.network_of(ip))
            .filter_map(|net| crate::graph::position(site, &net.id))
            .map(|net| self.network_level(net as usize))
            .fold(None, |best: Option<f64>, level| {
                Some(best.map_or(level, |b| b.max(level)))
            });
        if let Some(level) = on_network {
            return level;
        }
        let hosted = self.hosts.get(&index).filter(|_| depth < 4);
        let from_host = hosted
            .into_iter()
            .flatten()
            .map(|&host| 0.9 * self.network(site, host, &site.assets()[host], depth + 1));
        from_host.fold(0.1, f64::max)
    }

    fn network_level(&self, network: usize) -> f64 {
        if self.it.contains(&network) {
            1.0
        } else if self.reachable.contains(&network) {
            0.7
        } else {
            0.4
        }
    }
}

/// 0.6 in an open zone, 0.3 in a restricted zone, 0.1 without a zone.
fn physical(site: &Site, asset: &Asset) -> f64 {
    let zone = asset.zone.as_deref().and_then(|z| site.zone(z));
    match zone {
        Some(zone) if zone.restricted => 0.3,
        Some(_) => 0.6,
        None => 0.1,
    }
}

impl RiskReport {
    /// A fixed-width text table for a terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>6}  {:>10}  {:>6}  {:<28} {:<16} {:<18} {:>6} {:>9}  WORST SERVICE",
            "RISK", "LIKELIHOOD", "IMPACT", "ASSET", "TYPE", "THREAT", "EVENTS", "INCIDENTS",
        );
        for row in &self.rows {
            let _ = writeln!(
                out,
                "{:>6.3}  {:>10.3}  {:>6.3}  {:<28} {:<16} {:<18} {:>6} {:>9}  {}",
                row.risk,
                row.likelihood,
                row.impact,
                row.asset,
                row.asset_type.as_str(),
                row.threat.as_str(),
                row.events,
                row.incidents,
                row.worst_service.as_deref().unwrap_or("-"),
            );
        }
        out
    }

    /// CSV with a header line (RFC 4180 quoting).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "asset,name,asset_type,threat,exposure,protection,events,incidents,likelihood,impact,risk,\
             worst_service\n",
        );
        for row in &self.rows {
            let fields = [
                csv_field(&row.asset),
                csv_field(&row.name),
                row.asset_type.as_str().to_string(),
                row.threat.as_str().to_string(),
                row.exposure.to_string(),
                row.protection.to_string(),
                row.events.to_string(),
                row.incidents.to_string(),
                row.likelihood.to_string(),
                row.impact.to_string(),
                row.risk.to_string(),
                csv_field(row.worst_service.as_deref().unwrap_or("")),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// A standalone HTML page with the register as a table.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        let title = format!("Risk register - {}", html_escape(&self.site));
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title}</title>\n<style>body{{font-family:sans-serif}}\
             table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:2px 6px}}\
             td.n{{text-align:right}}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
             <p>Generated {}.</p>\n<table>\n<tr><th>Risk</th><th>Likelihood</th><th>Impact</th>\
             <th>Asset</th><th>Type</th><th>Threat</th><th>Events</th><th>Incidents</th>\
             <th>Worst service</th></tr>\n",
            self.generated.to_rfc3339()
        );
        for row in &self.rows {
            let _ = writeln!(
                out,
                "<tr><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td>\
                 <td title=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td>{}</td></tr>",
                row.risk,
                row.likelihood,
                row.impact,
                html_escape(&row.name),
                html_escape(&row.asset),
                row.asset_type.as_str(),
                row.threat.as_str(),
                row.events,
                row.incidents,
                html_escape(row.worst_service.as_deref().unwrap_or("-")),
            );
        }
        out.push_str("</table>\n</body>\n</html>\n");
        out
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    safecare_core::markup::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_map_to_threat_classes() {
        assert_eq!(
            threat_of_event_kind("host.mass_file_encryption"),
            Some(IncidentType::Ransomware)
        );
        assert_eq!(
            threat_of_event_kind("ot.bacnet.write_property"),
            Some(IncidentType::Sabotage)
        );
        assert_eq!(threat_of_event_kind("fire.smoke"), Some(IncidentType::Fire));
        assert_eq!(
            threat_of_event_kind("scada.power_loss"),
            Some(IncidentType::PowerFailure)
        );
        assert_eq!(
            threat_of_event_kind("auth.brute_force"),
            Some(IncidentType::Intrusion)
        );
        assert_eq!(threat_of_event_kind("heartbeat"), None);
    }

    #[test]
    fn csv_and_html_escape_what_they_must() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(html_escape("<b>&'\""), "&lt;b&gt;&amp;&#39;&quot;");
    }
}
