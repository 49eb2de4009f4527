//! Plays a scenario file through the default rules and prints the alerts.
//!
//! ```text
//! cargo run -p safecare-correlate --example correlate -- scenarios/vaccine-theft.yaml
//! ```

use std::collections::HashMap;
use std::process::ExitCode;

use chrono::{TimeZone, Utc};
use safecare_core::scenario::Scenario;
use safecare_correlate::{Engine, RuleSet};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: correlate SCENARIO.yaml [RULES.yaml]");
        return ExitCode::from(2);
    };
    let scenario = match Scenario::load(&path) {
        Ok(scenario) => scenario,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let rules = match std::env::args().nth(2) {
        Some(rules) => match RuleSet::load(&rules) {
            Ok(rules) => rules,
            Err(err) => {
                eprintln!("{err}");
                return ExitCode::FAILURE;
            }
        },
        None => RuleSet::defaults(),
    };

    // Replay from a fixed start so the output reads the same every time.
    let base = Utc
        .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let mut engine = Engine::new(rules);
    let mut alerts = HashMap::new();
    let mut order = Vec::new();
    for (_, event) in scenario.events(base) {
        for alert in engine.process(&event) {
            if !alerts.contains_key(&alert.id) {
                order.push(alert.id);
            }
            alerts.insert(alert.id, alert);
        }
    }

    for id in order {
        let Some(a) = alerts.get(&id) else { continue };
        println!(
            "{} {:<8} {:<14} {:<34} x{:<3} {}",
            a.first_seen.format("%d %H:%M"),
            a.severity.as_str(),
            a.domain.as_str(),
            a.rule,
            a.event_count,
            a.summary
        );
    }
    let stats = engine.stats();
    println!(
        "{} events, {} alerts, {} updates",
        stats.events, stats.alerts_created, stats.alerts_updated
    );
    ExitCode::SUCCESS
}
