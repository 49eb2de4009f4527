//! Synthetic sites of any size for benchmarks, shaped like a hospital.
//!
//! Each building gets a technical room, a data centre and clinical zones on a grid of
//! floors. Its infrastructure (power, UPS, networks, servers, EHR/PACS/LIS, services, BMS
//! and access-control controllers) is created first, then the clinical zones are filled
//! with doors, cameras, workstations, medical devices, sensors and staff. Services depend
//! on software, on the floor's air handling unit (with a delay) and on k-of-n groups of
//! devices and staff, which gives the fan-in and fan-out of a real hospital graph. The
//! site is then cut to the exact size asked, dropping links to the assets cut. The same
//! size and seed always give the same site.

mod devices;

use super::Site;
use super::hash::FastSet;
use super::model::{
    BedType, Building, Floor, Period, Room, Schedule, ServiceCapacity, SiteModel, Zone,
};

/// The largest site the generator makes; larger requests are capped.
pub const MAX_GENERATED_ASSETS: usize = 10_000_000;

/// Assets per building before another building is added (at most 250 buildings).
const ASSETS_PER_BUILDING: usize = 40_000;
/// Assets per zone, on average.
const ASSETS_PER_ZONE: usize = 30;
/// Zones per floor at most.
const ZONES_PER_FLOOR: usize = 24;
/// Zone size on the floor grid, metres.
const ZONE_WIDTH: f64 = 12.0;
const ZONE_DEPTH: f64 = 10.0;

/// What a zone is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZoneKind {
    Technical,
    Datacentre,
    Ward,
    Icu,
    Theatre,
    Emergency,
    Radiology,
    Lab,
    Pharmacy,
    Admin,
}

/// The order clinical zones are laid out in.
const CLINICAL_CYCLE: [ZoneKind; 10] = [
    ZoneKind::Ward,
    ZoneKind::Icu,
    ZoneKind::Theatre,
    ZoneKind::Emergency,
    ZoneKind::Ward,
    ZoneKind::Radiology,
    ZoneKind::Lab,
    ZoneKind::Pharmacy,
    ZoneKind::Admin,
    ZoneKind::Ward,
];

/// A building's services: id suffix, name, the zones it runs in, its bed type.
const SERVICES: [(&str, &str, ZoneKind, Option<BedType>); 7] = [
    (
        "svc-emergency",
        "Emergency",
        ZoneKind::Emergency,
        Some(BedType::EmergencyDepartment),
    ),
    (
        "svc-icu",
        "Intensive care",
        ZoneKind::Icu,
        Some(BedType::AdultICU),
    ),
    ("svc-radiology", "Radiology", ZoneKind::Radiology, None),
    (
        "svc-surgery",
        "Surgery",
        ZoneKind::Theatre,
        Some(BedType::OperatingRooms),
    ),
    ("svc-laboratory", "Laboratory", ZoneKind::Lab, None),
    ("svc-pharmacy", "Pharmacy", ZoneKind::Pharmacy, None),
    (
        "svc-ward",
        "General ward",
        ZoneKind::Ward,
        Some(BedType::MedicalSurgical),
    ),
];

/// Generates a valid site of exactly `assets` assets (capped at [`MAX_GENERATED_ASSETS`]).
pub fn generate(assets: usize, seed: u64) -> Site {
    let total = assets.min(MAX_GENERATED_ASSETS);
    let mut generator = devices::Generator::new(total, seed);
    generator.model.schedules = schedules();

    let buildings = total.div_ceil(ASSETS_PER_BUILDING).max(1);
    for b in 0..buildings {
        let budget = total / buildings + usize::from(b < total % buildings);
        let slots = plan_building(&mut generator, b, budget);
        generator.fill_building(b, &slots, budget);
        add_capacities(&mut generator.model, b, &slots);
    }

    let mut model = generator.model;
    trim(&mut model, total);
    Site::indexed(model)
}

/// A xorshift64* generator: deterministic, dependency-free, good enough for layouts.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // One splitmix64 step spreads small seeds and avoids the all-zero state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A degree 0.0-0.9 in steps of 0.1.
    fn degree(&mut self) -> f64 {
        self.below(10) as f64 / 10.0
    }
}

/// One zone to fill.
struct ZoneSlot {
    id: String,
    kind: ZoneKind,
    floor: usize,
}

/// Adds building `b` with its floors, zones and rooms; returns its zones.
fn plan_building(generator: &mut devices::Generator, b: usize, budget: usize) -> Vec<ZoneSlot> {
    let zones = budget.div_ceil(ASSETS_PER_ZONE).max(3);
    let floors = zones.div_ceil(ZONES_PER_FLOOR);
    let per_floor = zones.div_ceil(floors);
    let columns = (per_floor as f64).sqrt().ceil() as usize;
    let rows = per_floor.div_ceil(columns);
    let outline = rectangle(
        0.0,
        0.0,
        columns as f64 * ZONE_WIDTH,
        rows as f64 * ZONE_DEPTH,
    );

    let mut slots = Vec::with_capacity(zones);
    let mut building = Building {
        id: format!("b{b}"),
        name: format!("Building {b}"),
        address: None,
        floors: Vec::with_capacity(floors),
    };
    for f in 0..floors {
        let mut floor = Floor {
            id: format!("b{b}-f{f}"),
            name: format!("Building {b}, floor {f}"),
            level: f as i32 - 1,
            polygon: Some(outline.clone()),
            zones: Vec::new(),
        };
        for z in 0..per_floor.min(zones.saturating_sub(f * per_floor)) {
            let kind = match (f, z) {
                (0, 0) => ZoneKind::Technical,
                (0, 1) => ZoneKind::Datacentre,
                _ => CLINICAL_CYCLE[(f * per_floor + z) % CLINICAL_CYCLE.len()],
            };
            let capacity = 5 + generator.rng.below(36) as u32;
            let zone = zone(format!("b{b}-f{f}-z{z}"), kind, z, columns, capacity);
            slots.push(ZoneSlot {
                id: zone.id.clone(),
                kind,
                floor: f,
            });
            floor.zones.push(zone);
        }
        building.floors.push(floor);
    }
    generator.model.buildings.push(building);
    slots
}

/// A zone at grid cell `cell`, split into two rooms.
fn zone(id: String, kind: ZoneKind, cell: usize, columns: usize, capacity: u32) -> Zone {
    let x = (cell % columns) as f64 * ZONE_WIDTH;
    let y = (cell / columns) as f64 * ZONE_DEPTH;
    let half = ZONE_WIDTH / 2.0;
    let rooms = (0..2)
        .map(|r| Room {
            id: format!("{id}-r{r}"),
            name: format!("{} room {r}", kind.label()),
            polygon: Some(rectangle(x + r as f64 * half, y, half, ZONE_DEPTH)),
        })
        .collect();
    Zone {
        name: format!("{} {id}", kind.label()),
        polygon: Some(rectangle(x, y, ZONE_WIDTH, ZONE_DEPTH)),
        restricted: kind.is_restricted(),
        capacity: Some(capacity),
        schedule: (kind == ZoneKind::Admin).then(|| "office-hours".to_string()),
        authorized: Vec::new(),
        rooms,
        id,
    }
}

/// Beds and staff of building `b`'s services, in proportion to their zones.
fn add_capacities(model: &mut SiteModel, b: usize, slots: &[ZoneSlot]) {
    for (suffix, _, kind, bed_type) in SERVICES {
        let zones = slots.iter().filter(|s| s.kind == kind).count().max(1) as u32;
        let mut capacity = ServiceCapacity {
            service: format!("b{b}-{suffix}"),
            ..ServiceCapacity::default()
        };
        if let Some(bed_type) = bed_type {
            let per_zone = if bed_type == BedType::OperatingRooms {
                1
            } else {
                6
            };
            capacity.beds.insert(bed_type, zones * per_zone);
        }
        capacity.staff.insert("nurse".into(), zones * 4);
        capacity.staff.insert("physician".into(), zones);
        model.services.push(capacity);
    }
}

/// Cuts the site to `total` assets and drops every reference to the assets cut.
fn trim(model: &mut SiteModel, total: usize) {
    if model.assets.len() <= total {
        return;
    }
    let cut: FastSet<String> = model.assets.drain(total..).map(|a| a.id).collect();
    let gone = |id: &String| cut.contains(id);

    model.dependencies.retain_mut(|d| {
        d.to.retain(|t| !gone(t));
        let n = d.to.len() as u32;
        d.needed = d.needed.map(|k| k.min(n)).filter(|k| *k < n);
        !gone(&d.from) && n > 0
    });
    model.bms_points.retain_mut(|p| {
        p.via = p.via.take().filter(|v| !gone(v));
        !gone(&p.asset)
    });
    model.services.retain(|s| !gone(&s.service));
    for asset in &mut model.assets {
        asset.allowed_peers.retain(|p| !gone(p));
        if asset.identities.modbus_gateway.as_ref().is_some_and(gone) {
            asset.identities.modbus_gateway = None;
            asset.identities.modbus_unit = None;
        }
    }
}

impl ZoneKind {
    fn label(self) -> &'static str {
        match self {
            ZoneKind::Technical => "Technical room",
            ZoneKind::Datacentre => "Data centre",
            ZoneKind::Ward => "Ward",
            ZoneKind::Icu => "ICU",
            ZoneKind::Theatre => "Operating theatre",
            ZoneKind::Emergency => "Emergency",
            ZoneKind::Radiology => "Radiology",
            ZoneKind::Lab => "Laboratory",
            ZoneKind::Pharmacy => "Pharmacy",
            ZoneKind::Admin => "Administration",
        }
    }

    fn is_clinical(self) -> bool {
        !matches!(self, ZoneKind::Technical | ZoneKind::Datacentre)
    }

    fn is_restricted(self) -> bool {
        use ZoneKind::*;
        matches!(self, Technical | Datacentre | Pharmacy | Theatre)
    }

    /// Index into [`SERVICES`] of the service running in this kind of zone.
    fn service_index(self) -> Option<usize> {
        SERVICES.iter().position(|(_, _, kind, _)| *kind == self)
    }
}

fn rectangle(x: f64, y: f64, width: f64, depth: f64) -> Vec<[f64; 2]> {
    vec![
        [x, y],
        [x + width, y],
        [x + width, y + depth],
        [x, y + depth],
    ]
}

fn schedules() -> Vec<Schedule> {
    let schedule = |id: &str, name: &str, days: &str, hours: &str| Schedule {
        id: id.into(),
        name: Some(name.into()),
        open: vec![Period {
            days: days.into(),
            hours: hours.into(),
        }],
    };
    vec![
        schedule("office-hours", "Office hours", "mon-fri", "07:00-19:00"),
        schedule("pharmacy-hours", "Pharmacy staffed", "daily", "07:00-22:00"),
        schedule(
            "around-the-clock",
            "Around the clock",
            "daily",
            "00:00-24:00",
        ),
    ]
}
