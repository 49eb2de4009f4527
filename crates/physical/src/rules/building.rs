//! Intrusion, fire and sensor-box mappings: armed zones, fire states, readings out of
//! their limits.

use std::collections::HashMap;

use safecare_core::SecurityEvent;
use serde_json::json;

use super::make_room;
use crate::adapters::environment::reading_value;
use crate::engine::{Subject, with};
use crate::observation::{Fact, FireState, Reading};
use crate::site_view::SiteView;
use crate::thresholds::Thresholds;

#[derive(Debug, Default)]
pub(crate) struct BuildingRules {
    /// Zone (or panel, when the zone is unknown) -> armed.
    armed: HashMap<String, bool>,
    /// (sensor, quantity) currently out of its limits: reported once until back.
    out_of_range: HashMap<(String, &'static str), bool>,
}

impl BuildingRules {
    pub fn observe(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        fact: &Fact,
        out: &mut Vec<SecurityEvent>,
    ) {
        let name = s.name().to_string();
        let area = s.zone().unwrap_or(&s.device_id).to_string();
        match fact {
            Fact::Arming { armed } => {
                make_room(&mut self.armed, th.limits.doors);
                self.armed.insert(area.clone(), *armed);
                let after_hours = closed(view, s) == Some(true);
                let word = if *armed { "armed" } else { "disarmed" };
                let severity = if !armed && after_hours { 30 } else { 5 };
                let event = s.event(
                    "intrusion.arming_changed",
                    severity,
                    format!("{area} {word} ({name})."),
                );
                out.push(with(
                    event,
                    &[("armed", json!(armed)), ("after_hours", json!(after_hours))],
                ));
            }
            Fact::Motion => {
                let armed = self.armed.get(&area).copied();
                let after_hours = closed(view, s) == Some(true);
                if armed == Some(true) || (armed.is_none() && after_hours) {
                    let summary =
                        format!("Motion detected by {name} in {area} while it should be empty.");
                    let event = s.event("intrusion.motion", 60, summary);
                    out.push(with(
                        event,
                        &[("armed", json!(armed)), ("after_hours", json!(after_hours))],
                    ));
                }
            }
            Fact::GlassBreak => {
                out.push(s.event(
                    "intrusion.glass_break",
                    80,
                    format!("Glass break detected by {name} in {area}."),
                ));
            }
            Fact::Tamper => {
                out.push(s.event(
                    "intrusion.tamper",
                    70,
                    format!("{name} reports its housing or wiring tampered."),
                ));
            }
            Fact::Fire(state) => out.extend(fire(s, *state, &area)),
            Fact::Flood => {
                out.push(s.event(
                    "scada.flood",
                    75,
                    format!("Water detected by {name} in {area}."),
                ));
            }
            Fact::Reading(reading) => self.reading(view, th, s, *reading, out),
            _ => {}
        }
    }

    /// A sensor-box reading checked against the site's BMS point or the default limits.
    fn reading(
        &mut self,
        view: &SiteView,
        th: &Thresholds,
        s: &Subject,
        reading: Reading,
        out: &mut Vec<SecurityEvent>,
    ) {
        let value = reading_value(reading);
        let (quantity, unit, bounds) = match reading {
            Reading::TemperatureC(_) => ("temperature", "C", Some(th.env.temperature_c)),
            Reading::HumidityPct(_) => ("humidity", "%", Some(th.env.humidity_pct)),
            Reading::SoundDb(_) => ("sound", "dB", Some((f64::MIN, th.env.sound_db))),
            Reading::LightLux(_) if closed(view, s) == Some(true) => {
                ("light", "lux", Some((f64::MIN, th.env.light_lux_closed)))
            }
            Reading::LightLux(_) => ("light", "lux", None),
        };
        let point = s.device.as_ref().and_then(|d| {
            let site = view.site()?;
            site.bms_points()
                .iter()
                .find(|p| p.asset == d.id && p.quantity == quantity)
                .map(|p| (p.min.unwrap_or(f64::MIN), p.max.unwrap_or(f64::MAX)))
        });
        let Some((min, max)) = point.or(bounds) else {
            return;
        };

        let key = (s.device_id.clone(), quantity);
        let outside = value < min || value > max;
        let was = self.out_of_range.get(&key).copied().unwrap_or(false);
        if !outside {
            self.out_of_range.remove(&key);
            return;
        }
        if was {
            return;
        }
        make_room(&mut self.out_of_range, th.limits.doors);
        self.out_of_range.insert(key, true);

        let (kind, severity) = match quantity {
            "temperature" => ("scada.temperature_alarm", 70),
            "light" => ("intrusion.light_after_hours", 45),
            "sound" => ("intrusion.sound", 45),
            _ => ("scada.reading_out_of_range", 40),
        };
        let summary = format!(
            "{} reads {quantity} {value} {unit}, outside {min}..{max}.",
            s.name()
        );
        let event = s.event(
            kind,
            severity,
            summary.replace(&f64::MIN.to_string(), "-inf"),
        );
        out.push(with(
            event,
            &[("quantity", json!(quantity)), ("value", json!(value))],
        ));
    }
}

/// The event of a fire state; `fire.restored` tells the floor plan the alarm is over.
fn fire(s: &Subject, state: FireState, area: &str) -> Option<SecurityEvent> {
    let name = s.name();
    let detector = s
        .device
        .as_ref()
        .and_then(|d| d.subtype.as_deref())
        .unwrap_or_default();
    let (kind, severity, summary) = match state {
        FireState::Smoke => (
            "fire.smoke",
            95,
            format!("Smoke detector {name} in alarm in {area}."),
        ),
        FireState::Heat => (
            "fire.heat",
            95,
            format!("Heat detector {name} in alarm in {area}."),
        ),
        FireState::ManualCallPoint => (
            "fire.alarm",
            98,
            format!("Manual call point {name} pressed in {area}."),
        ),
        FireState::GeneralAlarm if detector.contains("smoke") => (
            "fire.smoke",
            95,
            format!("Smoke detector {name} in alarm in {area}."),
        ),
        FireState::GeneralAlarm if detector.contains("heat") => (
            "fire.heat",
            95,
            format!("Heat detector {name} in alarm in {area}."),
        ),
        FireState::GeneralAlarm => (
            "fire.alarm",
            95,
            format!("Fire alarm from {name} in {area}."),
        ),
        FireState::PreAlarm => (
            "fire.pre_alarm",
            60,
            format!("{name} in pre-alarm in {area}."),
        ),
        FireState::Fault => ("fire.panel_fault", 50, format!("{name} reports a fault.")),
        FireState::Isolated => (
            "fire.isolation",
            45,
            format!("{name} is isolated: {area} is not protected by it until restored."),
        ),
        FireState::Restored => ("fire.restored", 0, format!("{name} back to normal.")),
    };
    Some(s.event(kind, severity, summary))
}

fn closed(view: &SiteView, s: &Subject) -> Option<bool> {
    view.zone_open(s.zone()?, s.time).map(|open| !open)
}
