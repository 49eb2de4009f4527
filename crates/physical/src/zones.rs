//! The live state of every zone: doors, cameras, sensors, people, arming, open alerts.
//!
//! [`ZoneStates`] is fed every security event (from any module) and every alert document
//! from `safecare/v1/alert`; [`ZoneStates::to_json`] and [`ZoneStates::zone_json`] give
//! the view the API serves, and [`crate::render_floor_svg`] draws it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use safecare_core::site::{AssetType, Site};
use safecare_core::{Alert, CapSeverity, SecurityEvent};
use serde::Serialize;
use serde_json::Value;
use ulid::Ulid;

/// Open alerts kept per zone; the oldest is dropped past this.
pub const MAX_ALERTS_PER_ZONE: usize = 100;

/// What a door is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorStatus {
    Normal,
    Forced,
    HeldOpen,
    Tampered,
}

/// What a camera is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraStatus {
    Online,
    Offline,
    Tampered,
}

/// What a detector or sensor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorStatus {
    Normal,
    Alarm,
    PreAlarm,
    Fault,
    Isolated,
}

/// A device's status and the event that set it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceState<S> {
    pub status: S,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// An open alert placed in a zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenAlert {
    pub id: Ulid,
    pub rule: String,
    pub title: String,
    pub severity: CapSeverity,
    pub last_seen: DateTime<Utc>,
}

/// The live state of one zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneState {
    pub zone: String,
    pub name: String,
    pub floor: String,
    pub restricted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// People last counted by video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub people: Option<u32>,
    /// Intrusion arming, when a panel reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub armed: Option<bool>,
    pub doors: BTreeMap<String, DeviceState<DoorStatus>>,
    pub cameras: BTreeMap<String, DeviceState<CameraStatus>>,
    pub sensors: BTreeMap<String, DeviceState<SensorStatus>>,
    pub alerts: Vec<OpenAlert>,
    /// The worst severity among open alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_level: Option<CapSeverity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

/// Which kind of device an asset is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Door,
    Camera,
    Sensor,
}

/// The state of every zone of a site.
#[derive(Debug, Clone)]
pub struct ZoneStates {
    site: Arc<Site>,
    zones: BTreeMap<String, ZoneState>,
    roles: HashMap<String, Role>,
    /// Alert id -> zone, to move or drop an alert when it changes.
    alert_zone: HashMap<Ulid, String>,
}

impl ZoneStates {
    /// Every zone of the site, with its doors, cameras and sensors in normal state.
    pub fn new(site: Arc<Site>) -> ZoneStates {
        let mut zones = BTreeMap::new();
        for (_, floor, zone) in site.zones() {
            zones.insert(
                zone.id.clone(),
                ZoneState {
                    zone: zone.id.clone(),
                    name: zone.name.clone(),
                    floor: floor.id.clone(),
                    restricted: zone.restricted,
                    capacity: zone.capacity,
                    people: None,
                    armed: None,
                    doors: BTreeMap::new(),
                    cameras: BTreeMap::new(),
                    sensors: BTreeMap::new(),
                    alerts: Vec::new(),
                    alert_level: None,
                    last_event: None,
                    updated: None,
                },
            );
        }

        let mut states = ZoneStates {
            site: site.clone(),
            zones,
            roles: HashMap::new(),
            alert_zone: HashMap::new(),
        };
        for asset in site.assets() {
            let Some(role) = role_of(asset.asset_type, asset.subtype.as_deref()) else {
                continue;
            };
            let Some(zone) = site.zone_of(&asset.id).map(String::from) else {
                continue;
            };
            states.roles.insert(asset.id.clone(), role);
            if let Some(state) = states.zones.get_mut(&zone) {
                state.place(&asset.id, role);
            }
        }
        states
    }

    /// Applies one security event to the zone it names (or its asset's zone).
    pub fn apply_event(&mut self, event: &SecurityEvent) {
        let zone = event.zone().map(String::from).or_else(|| {
            event
                .asset
                .as_deref()
                .and_then(|a| self.site.zone_of(a))
                .map(String::from)
        });
        let Some(state) = zone.and_then(|z| self.zones.get_mut(&z)) else {
            return;
        };

        state.last_event = Some(event.summary.clone());
        state.updated = Some(state.updated.map_or(event.time, |t| t.max(event.time)));
        let counted = matches!(
            event.kind.as_str(),
            "video.crowding" | "video.person_detected"
        );
        if let Some(people) = event.evidence.get("people").and_then(Value::as_u64)
            && counted
        {
            state.people = u32::try_from(people).ok();
        }
        if event.kind == "intrusion.arming_changed" {
            state.armed = event.evidence.get("armed").and_then(Value::as_bool);
        }

        let Some(asset) = &event.asset else { return };
        let role = self
            .roles
            .get(asset)
            .copied()
            .unwrap_or(match event.module.as_str() {
                "access" => Role::Door,
                "video" => Role::Camera,
                _ => Role::Sensor,
            });
        state.device_event(asset, role, event);
    }

    /// Applies an alert document: open alerts are listed in their zone, closed ones leave.
    pub fn apply_alert(&mut self, alert: &Alert) {
        if let Some(old) = self.alert_zone.remove(&alert.id)
            && let Some(state) = self.zones.get_mut(&old)
        {
            state.alerts.retain(|a| a.id != alert.id);
            state.refresh_level();
        }
        if alert.status.is_closed() {
            return;
        }
        let zone = alert.zone.clone().or_else(|| {
            alert
                .asset
                .as_deref()
                .and_then(|a| self.site.zone_of(a))
                .map(String::from)
        });
        let Some((zone, state)) = zone.and_then(|z| self.zones.get_mut(&z).map(|s| (z, s))) else {
            return;
        };
        if state.alerts.len() >= MAX_ALERTS_PER_ZONE {
            let dropped = state.alerts.remove(0);
            self.alert_zone.remove(&dropped.id);
        }
        state.alerts.push(OpenAlert {
            id: alert.id,
            rule: alert.rule.clone(),
            title: alert.title.clone(),
            severity: alert.severity,
            last_seen: alert.last_seen,
        });
        state.refresh_level();
        self.alert_zone.insert(alert.id, zone);
    }

    /// The state of one zone.
    pub fn zone(&self, id: &str) -> Option<&ZoneState> {
        self.zones.get(id)
    }

    /// Every zone's state, by zone id.
    pub fn zones(&self) -> impl Iterator<Item = &ZoneState> {
        self.zones.values()
    }

    /// The site the states describe.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// One zone as JSON; `None` for an unknown zone.
    pub fn zone_json(&self, id: &str) -> Option<Value> {
        self.zones
            .get(id)
            .and_then(|z| serde_json::to_value(z).ok())
    }

    /// Every zone as a JSON object keyed by zone id.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.zones).unwrap_or(Value::Null)
    }
}

impl ZoneState {
    fn place(&mut self, asset: &str, role: Role) {
        match role {
            Role::Door => {
                self.doors
                    .insert(asset.to_string(), fresh(DoorStatus::Normal));
            }
            Role::Camera => {
                self.cameras
                    .insert(asset.to_string(), fresh(CameraStatus::Online));
            }
            Role::Sensor => {
                self.sensors
                    .insert(asset.to_string(), fresh(SensorStatus::Normal));
            }
        }
    }

    /// Updates the device an event is about, by the event's kind.
    fn device_event(&mut self, asset: &str, role: Role, event: &SecurityEvent) {
        let kind = event.kind.as_str();
        match role {
            Role::Door => {
                // A forced door stays forced while it is held; a granted entry shows the
                // door working normally again.
                let now = self
                    .doors
                    .get(asset)
                    .map_or(DoorStatus::Normal, |d| d.status);
                let status = match kind {
                    "access.door_forced" => DoorStatus::Forced,
                    "access.door_held_open" if now == DoorStatus::Forced => now,
                    "access.door_held_open" => DoorStatus::HeldOpen,
                    "access.reader_tamper" => DoorStatus::Tampered,
                    "access.after_hours" | "access.restricted_entry" => DoorStatus::Normal,
                    _ => now,
                };
                self.doors.insert(asset.to_string(), stamped(status, event));
            }
            Role::Camera => {
                let status = match kind {
                    "video.camera_offline" => CameraStatus::Offline,
                    "video.camera_tamper" => CameraStatus::Tampered,
                    _ => CameraStatus::Online,
                };
                self.cameras
                    .insert(asset.to_string(), stamped(status, event));
            }
            Role::Sensor => {
                let status = match kind {
                    "fire.restored" => SensorStatus::Normal,
                    "fire.pre_alarm" => SensorStatus::PreAlarm,
                    "fire.panel_fault" => SensorStatus::Fault,
                    "fire.isolation" => SensorStatus::Isolated,
                    "intrusion.arming_changed" => SensorStatus::Normal,
                    _ if event.severity >= 40 => SensorStatus::Alarm,
                    _ => SensorStatus::Normal,
                };
                self.sensors
                    .insert(asset.to_string(), stamped(status, event));
            }
        }
    }

    fn refresh_level(&mut self) {
        self.alert_level = self.alerts.iter().map(|a| a.severity).max();
    }
}

fn stamped<S>(status: S, event: &SecurityEvent) -> DeviceState<S> {
    DeviceState {
        status,
        last_kind: Some(event.kind.clone()),
        since: Some(event.time),
    }
}

fn fresh<S>(status: S) -> DeviceState<S> {
    DeviceState {
        status,
        last_kind: None,
        since: None,
    }
}

/// Doors and cameras by subtype; detectors, sensors and building devices as sensors.
fn role_of(asset_type: AssetType, subtype: Option<&str>) -> Option<Role> {
    let subtype = subtype.unwrap_or_default();
    match (asset_type, subtype) {
        (_, "door") => Some(Role::Door),
        (_, "camera") => Some(Role::Camera),
        (AssetType::AccessPoint, _) => Some(Role::Sensor),
        (AssetType::BuildingDevice, _) => Some(Role::Sensor),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safecare_core::{AlertDomain, AlertStatus, Module};

    fn states() -> ZoneStates {
        ZoneStates::new(Arc::new(Site::demo()))
    }

    fn alert(zone: &str, status: AlertStatus) -> Alert {
        let now = Utc::now();
        Alert {
            id: Ulid::new(),
            rule: "fire".into(),
            title: "Fire detected".into(),
            summary: "Fire".into(),
            status,
            severity: CapSeverity::Extreme,
            domain: AlertDomain::Physical,
            kinds: vec!["fire.smoke".into()],
            event_ids: Vec::new(),
            event_count: 1,
            asset: None,
            zone: Some(zone.into()),
            techniques: Vec::new(),
            first_seen: now,
            last_seen: now,
            created: now,
            updated: now,
            dismiss_reason: None,
            incident: None,
        }
    }

    #[test]
    fn demo_zones_start_with_their_devices() {
        let states = states();
        let pharmacy = states.zone("pharmacy").unwrap();
        assert!(pharmacy.restricted);
        assert_eq!(pharmacy.doors["door-pharmacy"].status, DoorStatus::Normal);
        assert_eq!(
            pharmacy.cameras["cam-pharmacy"].status,
            CameraStatus::Online
        );
        let technical = states.zone("technical-room").unwrap();
        assert!(technical.sensors.contains_key("smoke-technical-room"));
    }

    #[test]
    fn events_set_device_states_and_alerts_come_and_go() {
        let mut states = states();
        let mut forced = SecurityEvent::new(Module::Access, "access.door_forced", 80, "forced");
        forced.asset = Some("door-pharmacy".into());
        states.apply_event(&forced);
        let pharmacy = states.zone("pharmacy").unwrap();
        assert_eq!(pharmacy.doors["door-pharmacy"].status, DoorStatus::Forced);

        let open = alert("pharmacy", AlertStatus::New);
        states.apply_alert(&open);
        assert_eq!(
            states.zone("pharmacy").unwrap().alert_level,
            Some(CapSeverity::Extreme)
        );
        let mut closed = open.clone();
        closed.status = AlertStatus::Dismissed;
        states.apply_alert(&closed);
        assert!(states.zone("pharmacy").unwrap().alerts.is_empty());
        assert_eq!(
            states.zone_json("pharmacy").unwrap()["doors"]["door-pharmacy"]["status"],
            "forced"
        );
    }
}
