//! `safecare demo`: the platform on its embedded defaults, fed the shipped scenarios.
//!
//! A demo has no operator, so a rule stands in for one and says so: every
//! alert of severity Severe or above, and every cyber-physical alert, is
//! confirmed into an incident (one per scenario and incident type); the
//! other alerts are acknowledged.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions};
use safecare_core::scenario::Scenario;
use safecare_core::{Alert, AlertDomain, CapSeverity, Incident, IncidentType};
use safecare_exchange::Command;
use safecare_impact::ImpactAssessment;
use safecare_store::AlertFilter;
use serde::Serialize;
use ulid::Ulid;

use crate::capture_steps::CaptureFiles;
use crate::platform::{BrokerChoice, Platform, PlatformConfig};
use crate::replay::{self, ReplayPlan, Speed};

/// Who the demo's stand-in operator is in the audit trail.
pub const DEMO_OPERATOR: &str = "demo-operator-rule";

/// What the stand-in operator did, in words, printed with every demo.
pub const OPERATOR_NOTE: &str = "No person watched this demo: a rule stood in for the operator. \
    It confirmed every alert of severity Severe or above and every cyber-physical alert into an \
    incident (one per scenario and incident type) and acknowledged the others.";

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Store URL; a temporary SQLite file when absent.
    pub database: Option<String>,
    /// An external broker; the embedded one on a free port when absent.
    pub broker: Option<BrokerUrl>,
    pub http_listen: SocketAddr,
    pub speed: Speed,
}

/// What the platform concluded, scenario by scenario.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub site: String,
    pub broker: String,
    pub database: String,
    pub http: String,
    pub scenarios: Vec<ScenarioReport>,
    pub totals: Totals,
    pub operator_note: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub description: String,
    /// Finished security events the scenario published.
    pub events_published: usize,
    /// Of those, the events sensors raised from the scenario's packet captures.
    pub events_from_captures: usize,
    /// Native messages (badge readers, cameras) the scenario sent to the adapters.
    pub native_messages: usize,
    /// Events the platform stored for this scenario, from both.
    pub expected_events: usize,
    pub alerts: Vec<Alert>,
    pub incidents: Vec<Incident>,
    /// What each incident takes away: impacted services, capacity left, when.
    pub impacts: Vec<ImpactAssessment>,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub events_stored: u64,
    pub alerts: u64,
    pub incidents: u64,
    pub dead_letters: u64,
}

/// Starts the platform, plays every shipped scenario, and lets the stand-in operator act.
///
/// The platform is returned running, so `--serve` can keep it up.
pub async fn run(
    options: DemoOptions,
) -> Result<(DemoReport, Platform, Option<tempfile::TempDir>)> {
    let scenarios = crate::scenarios::shipped_with_files()?;
    let (database, temp_dir) = match options.database {
        Some(url) => (url, None),
        None => {
            let dir = tempfile::tempdir()?;
            (
                format!("sqlite://{}", dir.path().join("demo.db").display()),
                Some(dir),
            )
        }
    };
    let broker = match options.broker {
        Some(url) => BrokerChoice::External(url),
        None => BrokerChoice::Embedded {
            listen: "127.0.0.1:0".parse()?,
            listen_v5: None,
        },
    };
    let platform = Platform::start(PlatformConfig {
        broker,
        instance: format!("safecare-demo-{}", Ulid::new()),
        ..PlatformConfig::embedded("127.0.0.1:0".parse()?, database, options.http_listen)
    })
    .await?;

    let mut client = ClientOptions::new("replay");
    client.client_id = format!("safecare-demo-replay-{}", Ulid::new());
    let (bus, _incoming) =
        BusClient::connect(&platform.broker_url, client, Duration::from_secs(10)).await?;

    let mut reports = Vec::new();
    let mut progress = DemoProgress::default();
    for (file, scenario) in &scenarios {
        let played = ShippedScenario { file, scenario };
        reports.push(play(&platform, &bus, played, options.speed, &mut progress).await?);
    }
    bus.shutdown().await;

    let counts = platform.exchange.reader().counts().await?;
    let report = DemoReport {
        site: platform.site.name().to_string(),
        broker: platform.broker_url.to_string(),
        database: platform.database.clone(),
        http: format!("http://{}", platform.http_addr),
        scenarios: reports,
        totals: Totals {
            events_stored: counts.events,
            alerts: counts.alerts,
            incidents: counts.incidents,
            dead_letters: counts.dead_letters,
        },
        operator_note: OPERATOR_NOTE,
    };
    Ok((report, platform, temp_dir))
}

/// One shipped scenario: its file name (which finds its captures) and its steps.
#[derive(Debug, Clone, Copy)]
pub struct ShippedScenario<'a> {
    pub file: &'static str,
    pub scenario: &'a Scenario,
}

/// What the demo carries from one scenario to the next.
#[derive(Debug, Default)]
pub struct DemoProgress {
    /// Alerts reported with an earlier scenario.
    seen_alerts: HashSet<Ulid>,
    /// Events the store should hold once everything so far is stored.
    published: u64,
}

/// Plays one shipped scenario into the platform (its captures through their sensors),
/// waits until the store holds its events, lets the stand-in operator act on the new
/// alerts, and reports what the platform concluded.
pub async fn play(
    platform: &Platform,
    bus: &BusClient,
    shipped: ShippedScenario<'_>,
    speed: Speed,
    progress: &mut DemoProgress,
) -> Result<ScenarioReport> {
    let scenario = shipped.scenario;
    let base = replay::base_time(scenario, Utc::now());
    let files = CaptureFiles::Shipped(shipped.file);
    let plan = ReplayPlan::new(scenario, base, &files, &platform.site)?;
    let sent = replay::replay(bus, &plan, speed, |_| {}).await?;
    progress.published += sent.expected_events as u64;
    platform
        .wait_for_events(progress.published, Duration::from_secs(30))
        .await?;

    let alerts = new_alerts(platform, &mut progress.seen_alerts).await?;
    let incidents = stand_in_operator(platform, &alerts).await?;
    let alerts = refreshed(platform, &alerts).await?;
    let impacts = impacts_of(platform, &incidents).await;
    Ok(ScenarioReport {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        events_published: sent.events,
        events_from_captures: sent.from_captures,
        native_messages: sent.native,
        expected_events: sent.expected_events,
        alerts,
        incidents,
        impacts,
    })
}

/// Alerts not seen after an earlier scenario, oldest first.
async fn new_alerts(platform: &Platform, seen: &mut HashSet<Ulid>) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    let mut filter = AlertFilter {
        limit: Some(1000),
        ..AlertFilter::default()
    };
    loop {
        let page = platform.exchange.reader().alerts(&filter).await?;
        alerts.extend(page.items.into_iter().filter(|a| seen.insert(a.id)));
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => break,
        }
    }
    alerts.sort_by_key(|a| (a.first_seen, a.id));
    Ok(alerts)
}

/// The impact service's assessments of these incidents, waiting briefly for each.
async fn impacts_of(platform: &Platform, incidents: &[Incident]) -> Vec<ImpactAssessment> {
    let mut impacts = Vec::new();
    for incident in incidents {
        for _ in 0..100 {
            if let Some(assessment) = platform.impact.assessment(incident.id) {
                impacts.push(assessment);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    impacts
}

/// Confirms what a cautious operator would confirm; acknowledges the rest.
async fn stand_in_operator(platform: &Platform, alerts: &[Alert]) -> Result<Vec<Incident>> {
    let mut by_type: BTreeMap<&'static str, (IncidentType, Vec<Ulid>)> = BTreeMap::new();
    for alert in alerts {
        let serious =
            alert.severity >= CapSeverity::Severe || alert.domain == AlertDomain::CyberPhysical;
        if serious {
            let kind = safecare_exchange::workflow::infer_type(std::slice::from_ref(alert));
            by_type
                .entry(kind.as_str())
                .or_insert((kind, Vec::new()))
                .1
                .push(alert.id);
        } else {
            let command = Command::AcknowledgeAlert {
                alert: alert.id,
                actor: DEMO_OPERATOR.into(),
            };
            platform.exchange.act(command).await?;
        }
    }

    let mut incidents = Vec::new();
    for (_, (kind, ids)) in by_type {
        let command = Command::CreateIncident {
            alerts: ids,
            actor: DEMO_OPERATOR.into(),
            kind: Some(kind),
            title: None,
        };
        incidents.extend(platform.exchange.act(command).await?.incidents);
    }
    Ok(incidents)
}

async fn refreshed(platform: &Platform, alerts: &[Alert]) -> Result<Vec<Alert>> {
    let mut fresh = Vec::with_capacity(alerts.len());
    for alert in alerts {
        fresh.push(
            platform
                .exchange
                .reader()
                .alert(alert.id)
                .await?
                .unwrap_or_else(|| alert.clone()),
        );
    }
    Ok(fresh)
}

/// The report as a person reads it.
pub fn render_text(report: &DemoReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "SafeCare demo — {}", report.site);
    let _ = writeln!(
        out,
        "Platform: broker {}, store {}, API {}\n",
        report.broker, report.database, report.http
    );
    for scenario in &report.scenarios {
        let _ = writeln!(out, "▶ {} — {}", scenario.name, scenario.description.trim());
        let _ = writeln!(
            out,
            "  {} events ({} raised by sensors from packet captures) and {} native messages \
             (badge readers, cameras) published; {} events stored",
            scenario.events_published,
            scenario.events_from_captures,
            scenario.native_messages,
            scenario.expected_events
        );
        let _ = writeln!(out, "  alerts:");
        for alert in &scenario.alerts {
            let _ = writeln!(
                out,
                "    [{:<8} {:<14}] {:<10} {} ({} events, {})",
                alert.severity.as_str(),
                alert.domain.as_str(),
                alert.zone.as_deref().unwrap_or("-"),
                alert.title,
                alert.event_count,
                alert.status.as_str(),
            );
        }
        let _ = writeln!(out, "  incidents:");
        for incident in &scenario.incidents {
            let _ = writeln!(
                out,
                "    {:<18} {:<8} {} — {} alert(s); assets: {}; zones: {}",
                incident.kind.as_str(),
                incident.severity.as_str(),
                incident.title,
                incident.alert_ids.len(),
                incident.assets.join(", "),
                incident.zones.join(", "),
            );
            let impact = scenario.impacts.iter().find(|i| i.incident == incident.id);
            for service in impact.map(|i| i.services.as_slice()).unwrap_or_default() {
                let _ = writeln!(
                    out,
                    "      -> {} ({}): {:.0} % of capacity left, from +{}",
                    service.name,
                    service.service,
                    service.capacity * 100.0,
                    safecare_core::scenario::format_duration(Duration::from_secs(
                        service.time_to_impact_s
                    )),
                );
            }
        }
        let _ = writeln!(out);
    }
    let totals = &report.totals;
    let _ = writeln!(
        out,
        "Totals: {} events stored, {} alerts, {} incidents, {} dead letters.",
        totals.events_stored, totals.alerts, totals.incidents, totals.dead_letters
    );
    let _ = writeln!(out, "\n{}", report.operator_note);
    out
}
