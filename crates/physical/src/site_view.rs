//! What the adapters and rules need of the site model: devices by id, zones with their
//! schedules, capacities and floor-plan positions, and local time.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use safecare_core::Location;
use safecare_core::site::{Polygon, Site};

/// A door, camera or sensor of the site, as events need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Asset id in the site model.
    pub id: String,
    pub name: String,
    pub subtype: Option<String>,
    pub location: Location,
    /// Zones the device covers (its own zone when the site lists none).
    pub watches: Vec<String>,
}

/// A zone's facts used by the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneFacts {
    pub id: String,
    pub name: String,
    pub floor: String,
    pub building: String,
    /// Storey number of the floor.
    pub level: i32,
    pub restricted: bool,
    pub capacity: Option<u32>,
    pub schedule: Option<String>,
    /// Centre of the zone's polygon in metres, when it has one.
    pub centre: Option<[f64; 2]>,
}

/// Read-only lookups over a site, built once per service.
#[derive(Debug, Clone)]
pub struct SiteView {
    site: Option<Arc<Site>>,
    timezone: Tz,
    zones: HashMap<String, ZoneFacts>,
}

impl SiteView {
    /// A view of `site`; its time zone falls back to UTC when missing or unknown.
    pub fn new(site: Arc<Site>) -> SiteView {
        let timezone = site
            .model()
            .timezone
            .as_deref()
            .and_then(|name| name.parse::<Tz>().ok())
            .unwrap_or(Tz::UTC);
        let zones = site
            .zones()
            .map(|(building, floor, zone)| {
                let facts = ZoneFacts {
                    id: zone.id.clone(),
                    name: zone.name.clone(),
                    floor: floor.id.clone(),
                    building: building.id.clone(),
                    level: floor.level,
                    restricted: zone.restricted,
                    capacity: zone.capacity,
                    schedule: zone.schedule.clone(),
                    centre: zone.polygon.as_ref().and_then(centre),
                };
                (zone.id.clone(), facts)
            })
            .collect();
        SiteView {
            site: Some(site),
            timezone,
            zones,
        }
    }

    /// A view without a site: nothing is known, nothing is flagged as unknown.
    pub fn empty() -> SiteView {
        SiteView {
            site: None,
            timezone: Tz::UTC,
            zones: HashMap::new(),
        }
    }

    /// The site, when there is one.
    pub fn site(&self) -> Option<&Arc<Site>> {
        self.site.as_ref()
    }

    /// True when device ids can be checked against a site.
    pub fn knows_devices(&self) -> bool {
        self.site.is_some()
    }

    /// The device with this id; Frigate-style names (`cam_pharmacy`) also find `cam-pharmacy`.
    pub fn device(&self, id: &str) -> Option<Device> {
        let site = self.site.as_ref()?;
        let asset = site
            .asset(id)
            .or_else(|| site.asset(&id.replace('_', "-")))?;
        let zone = asset
            .zone
            .clone()
            .or_else(|| site.zone_of(&asset.id).map(String::from));
        let location = zone
            .as_deref()
            .and_then(|z| site.zone_location(z))
            .map(|mut l| {
                l.room = asset.room.clone();
                l
            })
            .unwrap_or_default();
        let watches = if asset.watches.is_empty() {
            zone.into_iter().collect()
        } else {
            asset.watches.clone()
        };
        Some(Device {
            id: asset.id.clone(),
            name: asset.name.clone(),
            subtype: asset.subtype.clone(),
            location,
            watches,
        })
    }

    /// The zone with this id; Frigate-style names (`waiting_room`) also find `waiting-room`.
    pub fn zone(&self, id: &str) -> Option<&ZoneFacts> {
        self.zones
            .get(id)
            .or_else(|| self.zones.get(&id.replace('_', "-")))
    }

    /// Location ids of a zone.
    pub fn zone_location(&self, id: &str) -> Option<Location> {
        let zone = self.zone(id)?;
        Some(Location {
            building: Some(zone.building.clone()),
            floor: Some(zone.floor.clone()),
            zone: Some(zone.id.clone()),
            room: None,
        })
    }

    /// Local wall-clock time at the site.
    pub fn local(&self, time: DateTime<Utc>) -> NaiveDateTime {
        time.with_timezone(&self.timezone).naive_local()
    }

    /// Whether the zone is within its schedule at `time`; `None` without a schedule.
    pub fn zone_open(&self, zone: &str, time: DateTime<Utc>) -> Option<bool> {
        let schedule = self.zone(zone)?.schedule.as_deref()?;
        self.site
            .as_ref()?
            .schedule_is_open(schedule, self.local(time))
    }

    /// Walking distance between two zones in metres, approximated from polygon centres
    /// plus `per_level` metres per storey; `None` when either has no polygon or they are
    /// in different buildings.
    pub fn distance(&self, a: &str, b: &str, per_level: f64) -> Option<f64> {
        let (a, b) = (self.zone(a)?, self.zone(b)?);
        if a.building != b.building {
            return None;
        }
        let (p, q) = (a.centre?, b.centre?);
        let flat = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
        let levels = f64::from((a.level - b.level).unsigned_abs());
        Some(flat + levels * per_level)
    }
}

/// The mean of a polygon's corners; `None` for an empty polygon.
pub fn centre(polygon: &Polygon) -> Option<[f64; 2]> {
    if polygon.is_empty() {
        return None;
    }
    let n = polygon.len() as f64;
    let (x, y) = polygon
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
    Some([x / n, y / n])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> SiteView {
        SiteView::new(Arc::new(Site::demo()))
    }

    #[test]
    fn schedules_are_read_in_the_site_time_zone() {
        let view = view();
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        // The pharmacy is staffed 07:00-22:00 in Brussels (UTC+2 in July, UTC+1 in January).
        assert_eq!(
            view.zone_open("pharmacy", at("2025-07-01T04:30:00Z")),
            Some(false)
        );
        assert_eq!(
            view.zone_open("pharmacy", at("2025-07-01T05:30:00Z")),
            Some(true)
        );
        assert_eq!(
            view.zone_open("pharmacy", at("2025-01-06T05:30:00Z")),
            Some(false)
        );
        assert_eq!(
            view.zone_open("pharmacy", at("2025-01-06T20:30:00Z")),
            Some(true)
        );
        assert_eq!(
            view.zone_open("datacentre", at("2025-01-06T20:30:00Z")),
            None,
            "no schedule"
        );
    }

    #[test]
    fn devices_resolve_with_frigate_names_and_zones() {
        let view = view();
        let camera = view.device("cam_pharmacy").unwrap();
        assert_eq!(camera.id, "cam-pharmacy");
        assert_eq!(camera.location.zone.as_deref(), Some("pharmacy"));
        assert_eq!(camera.location.floor.as_deref(), Some("main-0"));
        assert_eq!(
            view.zone("waiting_room").map(|z| z.capacity),
            Some(Some(60))
        );
        assert!(view.device("cam-nowhere").is_none());
    }

    #[test]
    fn distances_add_storeys() {
        let view = view();
        let flat = view.distance("pharmacy", "waiting-room", 20.0).unwrap();
        assert!((flat - 16.0).abs() < 1.0, "{flat}");
        let stairs = view.distance("datacentre", "or", 20.0).unwrap();
        assert!(stairs > 80.0, "{stairs}");
    }
}
