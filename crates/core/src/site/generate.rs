//! Synthetic sites of any size for benchmarks, shaped like a hospital.
//!
//! Each building gets a technical room, a data centre and clinical zones on a grid of
//! floors; its infrastructure (power, UPS, servers, EHR/PACS/LIS, networks, BMS and
//! access-control controllers) is created first, then zones are filled with workstations,
//! medical devices, doors, cameras, sensors and staff. Services depend on software, on the
//! floor's air handling unit (with a delay) and on redundancy groups of devices and staff,
//! which gives the fan-in and fan-out of a real hospital graph. The same size and seed
//! always give the same site.

use super::Delay;
use super::Site;
use super::model::{
    Asset, AssetType, BedType, BmsPoint, Building, Dependency, DependencyKind, DeviceProfile,
    Floor, Period, Protection, Room, Schedule, ServiceCapacity, SiteModel, Zone,
};

/// The largest site the generator makes; larger requests are capped.
pub const MAX_GENERATED_ASSETS: usize = 10_000_000;

/// Assets per building before another building is added.
const ASSETS_PER_BUILDING: usize = 40_000;
/// Assets per zone, on average.
const ASSETS_PER_ZONE: usize = 30;
/// Zones per floor at most.
const ZONES_PER_FLOOR: usize = 24;
/// Devices per redundancy group of a service.
const GROUP_SIZE: usize = 4;
/// Zone size on the floor grid, metres.
const ZONE_WIDTH: f64 = 12.0;
const ZONE_DEPTH: f64 = 10.0;

/// What a clinical zone is used for, and the service it belongs to.
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

/// Services per building: id suffix, name, the zone kind it runs in, its bed type.
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

/// Network ranges per building: `10.{building}.{64 * k}.0/18`.
const NETWORKS: [(&str, &str); 4] = [
    ("net-it", "IT network"),
    ("net-medical", "Medical device network"),
    ("net-bms", "Building management network"),
    ("net-dc", "Data centre network"),
];
const NET_IT: usize = 0;
const NET_MEDICAL: usize = 1;
const NET_BMS: usize = 2;
const NET_DC: usize = 3;
/// Host addresses usable in a /18.
const HOSTS_PER_NETWORK: u32 = (1 << 14) - 2;

/// Generates a valid site of exactly `assets` assets (capped at [`MAX_GENERATED_ASSETS`]).
pub fn generate(assets: usize, seed: u64) -> Site {
    let assets = assets.min(MAX_GENERATED_ASSETS);
    let mut generator = Generator::new(assets, seed);
    generator.run();
    Site::indexed(generator.model)
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

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A degree 0.0-0.9 in steps of 0.1.
    fn degree(&mut self) -> f64 {
        self.below(10) as f64 / 10.0
    }
}

/// One zone being generated.
struct ZoneSlot {
    id: String,
    kind: ZoneKind,
    floor: usize,
}

/// The infrastructure of the building being generated; `None` until created.
#[derive(Default)]
struct Infra {
    mains: Option<String>,
    ups: Option<String>,
    ehr_server: Option<String>,
    ehr: Option<String>,
    pacs_server: Option<String>,
    pacs: Option<String>,
    lis_server: Option<String>,
    lis: Option<String>,
    bacnet: Option<String>,
    plc: Option<String>,
    plc_units: u8,
    chiller: Option<String>,
    fire_panel: Option<String>,
    acs: Option<String>,
    networks: [Option<String>; 4],
    next_host: [u32; 4],
    services: [Option<String>; 7],
    /// Air handling unit per floor.
    ahus: Vec<Option<String>>,
    /// Per floor, a bit per service already linked to the floor's unit.
    ahu_services: Vec<u8>,
}

struct Generator {
    model: SiteModel,
    rng: XorShift,
    total: usize,
    counter: u64,
    bacnet_next: u32,
    building: usize,
    infra: Infra,
}

impl Generator {
    fn new(total: usize, seed: u64) -> Self {
        let model = SiteModel {
            id: format!("synthetic-{total}"),
            name: format!("Synthetic hospital of {total} assets (seed {seed})"),
            ..SiteModel::default()
        };
        Generator {
            model,
            rng: XorShift::new(seed),
            total,
            counter: 0,
            bacnet_next: 10_000,
            building: 0,
            infra: Infra::default(),
        }
    }

    fn run(&mut self) {
        self.model.schedules = schedules();
        let buildings = self.total.div_ceil(ASSETS_PER_BUILDING).max(1);
        for b in 0..buildings {
            let budget = self.total / buildings + usize::from(b < self.total % buildings);
            self.generate_building(b, budget);
        }
    }

    fn full(&self) -> bool {
        self.model.assets.len() >= self.total
    }

    fn generate_building(&mut self, b: usize, budget: usize) {
        self.building = b;
        self.infra = Infra::default();
        let stop_at = self.model.assets.len() + budget;
        let slots = self.add_building_plan(b, budget);
        let floors = slots.iter().map(|s| s.floor + 1).max().unwrap_or(1);
        self.infra.ahus = vec![None; floors];
        self.infra.ahu_services = vec![0; floors];

        self.add_infrastructure(&slots, stop_at);

        let clinical: Vec<&ZoneSlot> = slots.iter().filter(|s| s.kind.is_clinical()).collect();
        let mut left_zones = clinical.len();
        for slot in clinical {
            let left = stop_at.saturating_sub(self.model.assets.len());
            let quota = left.div_ceil(left_zones.max(1));
            self.fill_zone(slot, quota.min(left));
            left_zones -= 1;
        }
        self.add_capacities(&slots);
    }

    /// Adds the building, its floors and zones, and returns the zones to fill.
    fn add_building_plan(&mut self, b: usize, budget: usize) -> Vec<ZoneSlot> {
        let zones = budget.div_ceil(ASSETS_PER_ZONE).max(3);
        let floors = zones.div_ceil(ZONES_PER_FLOOR).max(1);
        let per_floor = zones.div_ceil(floors);
        let columns = (per_floor as f64).sqrt().ceil() as usize;
        let rows = per_floor.div_ceil(columns);

        let mut slots = Vec::new();
        let mut building = Building {
            id: format!("b{b}"),
            name: format!("Building {b}"),
            address: None,
            floors: Vec::new(),
        };
        for f in 0..floors {
            let mut floor = Floor {
                id: format!("b{b}-f{f}"),
                name: format!("Building {b}, floor {f}"),
                level: f as i32 - 1,
                polygon: Some(rectangle(
                    0.0,
                    0.0,
                    columns as f64 * ZONE_WIDTH,
                    rows as f64 * ZONE_DEPTH,
                )),
                zones: Vec::new(),
            };
            for z in 0..per_floor.min(zones.saturating_sub(f * per_floor)) {
                let kind = match (f, z) {
                    (0, 0) => ZoneKind::Technical,
                    (0, 1) => ZoneKind::Datacentre,
                    _ => CLINICAL_CYCLE[(f * per_floor + z) % CLINICAL_CYCLE.len()],
                };
                let zone = self.zone(b, f, z, kind, columns);
                slots.push(ZoneSlot {
                    id: zone.id.clone(),
                    kind,
                    floor: f,
                });
                floor.zones.push(zone);
            }
            building.floors.push(floor);
        }
        self.model.buildings.push(building);
        slots
    }

    fn zone(&mut self, b: usize, f: usize, z: usize, kind: ZoneKind, columns: usize) -> Zone {
        let id = format!("b{b}-f{f}-z{z}");
        let x = (z % columns) as f64 * ZONE_WIDTH;
        let y = (z / columns) as f64 * ZONE_DEPTH;
        let half = ZONE_WIDTH / 2.0;
        let rooms = (0..2)
            .map(|r| Room {
                id: format!("{id}-r{r}"),
                name: format!("{} room {r}", kind.label()),
                polygon: Some(rectangle(x + r as f64 * half, y, half, ZONE_DEPTH)),
            })
            .collect();
        Zone {
            name: format!("{} {b}.{f}.{z}", kind.label()),
            polygon: Some(rectangle(x, y, ZONE_WIDTH, ZONE_DEPTH)),
            restricted: kind.is_restricted(),
            capacity: Some(5 + self.rng.below(36) as u32),
            schedule: (kind == ZoneKind::Admin).then(|| "office-hours".to_string()),
            authorized: Vec::new(),
            rooms,
            id,
        }
    }

    /// Power, networks, servers, software, services and controllers, in priority order so
    /// that a small site still has a meaningful core.
    fn add_infrastructure(&mut self, slots: &[ZoneSlot], stop_at: usize) {
        let technical = slots
            .iter()
            .find(|s| s.kind == ZoneKind::Technical)
            .map(|s| s.id.clone());
        let datacentre = slots
            .iter()
            .find(|s| s.kind == ZoneKind::Datacentre)
            .map(|s| s.id.clone());
        let steps: [fn(&mut Generator, &Option<String>, &Option<String>); 6] = [
            Generator::add_power,
            Generator::add_ehr,
            Generator::add_clinical_services,
            Generator::add_imaging_and_lab,
            Generator::add_bms,
            Generator::add_access_control,
        ];
        for step in steps {
            if self.model.assets.len() >= stop_at || self.full() {
                return;
            }
            step(self, &technical, &datacentre);
        }
    }

    fn add_power(&mut self, technical: &Option<String>, _: &Option<String>) {
        let b = self.building;
        let mains = self.asset(
            &format!("b{b}-mains-power"),
            "Mains power",
            AssetType::BuildingDevice,
            technical,
        );
        if let Some(mains) = &mains {
            self.set_subtype(mains, "power_supply");
        }
        let ups = self.asset(
            &format!("b{b}-ups"),
            "UPS",
            AssetType::BuildingDevice,
            technical,
        );
        self.link(&ups, DependencyKind::DependsOn, &mains, None);
        self.infra.mains = mains;
        self.infra.ups = ups;
    }

    fn add_ehr(&mut self, _: &Option<String>, datacentre: &Option<String>) {
        let b = self.building;
        let net = self.network(NET_DC);
        let server = self.server(
            &format!("b{b}-ehr-server"),
            "EHR server",
            datacentre,
            NET_DC,
        );
        let ehr = self.asset(
            &format!("b{b}-ehr"),
            "Electronic health record",
            AssetType::Software,
            &None,
        );
        self.link(&server, DependencyKind::Hosts, &ehr, None);
        self.link(&server, DependencyKind::DependsOn, &net, None);
        self.infra.ehr_server = server;
        self.infra.ehr = ehr;
        self.infra.networks[NET_IT] = self.network(NET_IT);
    }

    fn add_clinical_services(&mut self, _: &Option<String>, _: &Option<String>) {
        let b = self.building;
        for (i, (suffix, name, _, _)) in SERVICES.iter().enumerate() {
            let id = format!("b{b}-{suffix}");
            let service = self.asset(
                &id,
                &format!("{name} (building {b})"),
                AssetType::Service,
                &None,
            );
            let ehr = self.infra.ehr.clone();
            self.link(&service, DependencyKind::DependsOn, &ehr, None);
            self.infra.services[i] = service;
        }
    }

    fn add_imaging_and_lab(&mut self, _: &Option<String>, datacentre: &Option<String>) {
        let b = self.building;
        self.infra.networks[NET_MEDICAL] = self.network(NET_MEDICAL);
        let pacs_server = self.server(
            &format!("b{b}-pacs-server"),
            "PACS server",
            datacentre,
            NET_DC,
        );
        let pacs = self.asset(&format!("b{b}-pacs"), "PACS", AssetType::Software, &None);
        self.link(&pacs_server, DependencyKind::Hosts, &pacs, None);
        let lis_server = self.server(
            &format!("b{b}-lis-server"),
            "LIS server",
            datacentre,
            NET_DC,
        );
        let lis = self.asset(
            &format!("b{b}-lis"),
            "Laboratory information system",
            AssetType::Software,
            &None,
        );
        self.link(&lis_server, DependencyKind::Hosts, &lis, None);

        let radiology = self.infra.services[2].clone();
        let laboratory = self.infra.services[4].clone();
        self.link(&radiology, DependencyKind::DependsOn, &pacs, None);
        self.link(&laboratory, DependencyKind::DependsOn, &lis, None);
        self.infra.pacs_server = pacs_server;
        self.infra.pacs = pacs;
        self.infra.lis_server = lis_server;
        self.infra.lis = lis;
    }

    fn add_bms(&mut self, technical: &Option<String>, _: &Option<String>) {
        let b = self.building;
        let net = self.network(NET_BMS);
        let bacnet = self.asset(
            &format!("b{b}-bacnet-controller"),
            "BACnet controller",
            AssetType::Controller,
            technical,
        );
        self.identify(&bacnet, NET_BMS, true);
        self.link(&bacnet, DependencyKind::DependsOn, &net, None);
        let plc = self.asset(
            &format!("b{b}-modbus-plc"),
            "Modbus PLC",
            AssetType::Controller,
            technical,
        );
        self.identify(&plc, NET_BMS, false);
        if let Some(plc) = &plc {
            self.with_asset(plc, |a| a.identities.modbus_unit = Some(1));
            self.infra.plc_units = 1;
        }
        let chiller = self.asset(
            &format!("b{b}-chiller"),
            "Chiller",
            AssetType::BuildingDevice,
            technical,
        );
        self.link(&bacnet, DependencyKind::Controls, &chiller, None);
        let ups = self.infra.ups.clone();
        self.link(&chiller, DependencyKind::DependsOn, &ups, None);
        let fire_panel = self.asset(
            &format!("b{b}-fire-panel"),
            "Fire panel",
            AssetType::Controller,
            technical,
        );
        self.infra.bacnet = bacnet;
        self.infra.plc = plc;
        self.infra.chiller = chiller;
        self.infra.fire_panel = fire_panel;
    }

    fn add_access_control(&mut self, _: &Option<String>, datacentre: &Option<String>) {
        let b = self.building;
        let acs = self.server(
            &format!("b{b}-access-control-server"),
            "Access control server",
            datacentre,
            NET_DC,
        );
        self.infra.acs = acs;
    }

    /// Fills one clinical zone with up to `quota` assets.
    fn fill_zone(&mut self, slot: &ZoneSlot, quota: usize) {
        let service = slot
            .kind
            .service_index()
            .and_then(|i| self.infra.services[i].clone());
        let mut devices: Option<usize> = None;
        let mut staff: Option<usize> = None;
        let zone = Some(slot.id.clone());

        for n in 0..quota {
            if self.full() {
                return;
            }
            let made = match (n, self.rng.below(20)) {
                (0, _) => self.door(&zone),
                (1, _) => self.camera(&zone),
                (2, _) if slot.kind == ZoneKind::Theatre || slot.kind == ZoneKind::Icu => {
                    self.ahu_for(slot, &service)
                }
                (3, _) if slot.kind == ZoneKind::Pharmacy => self.freezer(&zone, &service),
                (_, 0..=4) => self.workstation(slot),
                (_, 5..=12) => {
                    let device = self.medical_device(slot);
                    self.grow_group(&mut devices, &service, &device, DependencyKind::DependsOn);
                    device
                }
                (_, 13..=14) => self.sensor(&zone),
                (_, 15) => self.smoke_detector(&zone),
                _ => {
                    let person = self.staff(&zone);
                    self.grow_group(&mut staff, &service, &person, DependencyKind::DependsOn);
                    person
                }
            };
            if made.is_none() {
                return;
            }
        }
    }

    /// Adds `member` to the service's open redundancy group, opening a new one when full.
    fn grow_group(
        &mut self,
        group: &mut Option<usize>,
        service: &Option<String>,
        member: &Option<String>,
        kind: DependencyKind,
    ) {
        let (Some(service), Some(member)) = (service, member) else {
            return;
        };
        let open = group.filter(|&g| self.model.dependencies[g].to.len() < GROUP_SIZE);
        let Some(g) = open else {
            *group = Some(self.model.dependencies.len());
            self.model
                .dependencies
                .push(Dependency::new(service.clone(), kind, member.clone()));
            return;
        };
        let dependency = &mut self.model.dependencies[g];
        dependency.to.push(member.clone());
        dependency.needed = Some(dependency.to.len() as u32 - 1);
    }

    fn door(&mut self, zone: &Option<String>) -> Option<String> {
        let id = self.next_id("door");
        let door = self.asset(&id, "Door", AssetType::AccessPoint, zone)?;
        let readers = if self.rng.below(3) == 0 {
            vec!["badge", "keypad"]
        } else {
            vec!["badge"]
        };
        self.with_asset(&door, |a| {
            a.subtype = Some("door".into());
            a.readers = readers.into_iter().map(String::from).collect();
        });
        let acs = self.infra.acs.clone();
        self.link(&acs, DependencyKind::Controls, &Some(door.clone()), None);
        Some(door)
    }

    fn camera(&mut self, zone: &Option<String>) -> Option<String> {
        let id = self.next_id("cam");
        let camera = self.asset(&id, "Camera", AssetType::AccessPoint, zone)?;
        self.set_subtype(&camera, "camera");
        self.identify(&Some(camera.clone()), NET_IT, true);
        Some(camera)
    }

    fn smoke_detector(&mut self, zone: &Option<String>) -> Option<String> {
        let id = self.next_id("smoke");
        let detector = self.asset(&id, "Smoke detector", AssetType::AccessPoint, zone)?;
        self.set_subtype(&detector, "smoke_detector");
        let panel = self.infra.fire_panel.clone();
        self.link(
            &Some(detector.clone()),
            DependencyKind::LeadsTo,
            &panel,
            None,
        );
        Some(detector)
    }

    fn workstation(&mut self, slot: &ZoneSlot) -> Option<String> {
        let id = self.next_id("ws");
        let ws = self.asset(
            &id,
            "Workstation",
            AssetType::Computer,
            &Some(slot.id.clone()),
        )?;
        self.identify(&Some(ws.clone()), NET_IT, true);
        let office = slot.kind == ZoneKind::Admin;
        self.with_asset(&ws, |a| {
            a.profile = Some(DeviceProfile {
                auto_logon_account: None,
                working_hours: office.then(|| "office-hours".to_string()),
                accounts: Vec::new(),
            });
        });
        let ehr = self.infra.ehr.clone();
        self.link(&Some(ws.clone()), DependencyKind::LeadsTo, &ehr, None);
        Some(ws)
    }

    fn medical_device(&mut self, slot: &ZoneSlot) -> Option<String> {
        let id = self.next_id("md");
        let device = self.asset(
            &id,
            "Medical device",
            AssetType::MedicalDevice,
            &Some(slot.id.clone()),
        )?;
        self.identify(&Some(device.clone()), NET_MEDICAL, true);

        let (target, server) = match slot.kind {
            ZoneKind::Radiology => (self.infra.pacs.clone(), self.infra.pacs_server.clone()),
            ZoneKind::Lab => (self.infra.lis.clone(), self.infra.lis_server.clone()),
            _ => (self.infra.ehr.clone(), self.infra.ehr_server.clone()),
        };
        let ae = (slot.kind == ZoneKind::Radiology).then(|| format!("AE{:X}", self.counter));
        let account = format!("{id}-auto");
        self.with_asset(&device, |a| {
            a.identities.dicom_ae = ae;
            a.allowed_peers = server.into_iter().collect();
            a.profile = Some(DeviceProfile {
                auto_logon_account: Some(account),
                working_hours: None,
                accounts: Vec::new(),
            });
        });
        self.link(
            &Some(device.clone()),
            DependencyKind::LeadsTo,
            &target,
            None,
        );
        Some(device)
    }

    fn sensor(&mut self, zone: &Option<String>) -> Option<String> {
        let id = self.next_id("temp");
        let sensor = self.asset(&id, "Temperature sensor", AssetType::BuildingDevice, zone)?;
        self.set_subtype(&sensor, "temperature_sensor");
        self.bacnet_device(&sensor);
        let controller = self.infra.bacnet.clone();
        self.link(
            &controller,
            DependencyKind::Controls,
            &Some(sensor.clone()),
            None,
        );
        self.point(&sensor, "temperature", "C", 18.0, 26.0, &controller);
        Some(sensor)
    }

    /// The floor's air handling unit, created by the first theatre or ICU zone on the floor.
    fn ahu_for(&mut self, slot: &ZoneSlot, service: &Option<String>) -> Option<String> {
        if let Some(Some(ahu)) = self.infra.ahus.get(slot.floor) {
            let ahu = Some(ahu.clone());
            self.link_service_to_ahu(slot, service, &ahu);
            return self.sensor(&Some(slot.id.clone()));
        }
        let id = format!("b{}-f{}-ahu", self.building, slot.floor);
        let ahu = self.asset(
            &id,
            "Air handling unit",
            AssetType::BuildingDevice,
            &Some(slot.id.clone()),
        )?;
        self.set_subtype(&ahu, "air_handling_unit");
        self.bacnet_device(&ahu);
        let (controller, chiller) = (self.infra.bacnet.clone(), self.infra.chiller.clone());
        let some_ahu = Some(ahu.clone());
        self.link(&controller, DependencyKind::Controls, &some_ahu, None);
        self.link(&chiller, DependencyKind::LeadsTo, &some_ahu, None);
        self.link_service_to_ahu(slot, service, &some_ahu);
        self.point(&ahu, "temperature", "C", 18.0, 24.0, &controller);
        if let Some(slot_ahu) = self.infra.ahus.get_mut(slot.floor) {
            *slot_ahu = Some(ahu.clone());
        }
        Some(ahu)
    }

    /// `service depends_on ahu` with a 30-minute delay, once per service and floor.
    fn link_service_to_ahu(
        &mut self,
        slot: &ZoneSlot,
        service: &Option<String>,
        ahu: &Option<String>,
    ) {
        let Some(bit) = slot.kind.service_index().map(|i| 1u8 << i) else {
            return;
        };
        let Some(linked) = self.infra.ahu_services.get_mut(slot.floor) else {
            return;
        };
        if *linked & bit == 0 {
            *linked |= bit;
            self.link(
                service,
                DependencyKind::DependsOn,
                ahu,
                Some(Delay::from_secs(1800)),
            );
        }
    }

    fn freezer(&mut self, zone: &Option<String>, service: &Option<String>) -> Option<String> {
        let id = self.next_id("freezer");
        let freezer = self.asset(&id, "Vaccine freezer", AssetType::BuildingDevice, zone)?;
        self.set_subtype(&freezer, "freezer");
        let plc = self.infra.plc.clone();
        if let Some(plc_id) = &plc
            && self.infra.plc_units < 247
        {
            self.infra.plc_units += 1;
            let unit = self.infra.plc_units;
            let gateway = plc_id.clone();
            self.with_asset(&freezer, |a| {
                a.identities.modbus_unit = Some(unit);
                a.identities.modbus_gateway = Some(gateway);
            });
        }
        self.link(
            service,
            DependencyKind::DependsOn,
            &Some(freezer.clone()),
            Some(Delay::from_secs(4 * 3600)),
        );
        self.point(&freezer, "temperature", "C", -25.0, -15.0, &plc);
        Some(freezer)
    }

    fn staff(&mut self, zone: &Option<String>) -> Option<String> {
        let id = self.next_id("staff");
        let person = self.asset(&id, "Staff member", AssetType::Staff, zone)?;
        let user = format!("u{}", self.counter);
        self.with_asset(&person, |a| a.identities.user = Some(user));
        Some(person)
    }

    /// Creates an asset unless the site is full; random protection degrees.
    fn asset(
        &mut self,
        id: &str,
        name: &str,
        asset_type: AssetType,
        zone: &Option<String>,
    ) -> Option<String> {
        if self.full() {
            return None;
        }
        let mut asset = Asset::new(id, name, asset_type);
        asset.zone = zone.clone();
        if self.rng.below(4) == 0 {
            asset.protection = Protection {
                ransomware: Some(self.rng.degree()),
                fire: Some(self.rng.degree()),
                intrusion: Some(self.rng.degree()),
                ..Protection::default()
            };
        }
        self.model.assets.push(asset);
        Some(id.to_string())
    }

    fn server(
        &mut self,
        id: &str,
        name: &str,
        zone: &Option<String>,
        net: usize,
    ) -> Option<String> {
        let server = self.asset(id, name, AssetType::Computer, zone);
        self.identify(&server, net, true);
        let ups = self.infra.ups.clone();
        self.link(&server, DependencyKind::DependsOn, &ups, None);
        server
    }

    fn network(&mut self, k: usize) -> Option<String> {
        if let Some(existing) = &self.infra.networks[k] {
            return Some(existing.clone());
        }
        let b = self.building;
        let (suffix, name) = NETWORKS[k];
        let id = self.asset(
            &format!("b{b}-{suffix}"),
            &format!("{name} (building {b})"),
            AssetType::Network,
            &None,
        )?;
        let cidr = format!("10.{}.{}.0/18", b % 256, k * 64);
        self.with_asset(&id, |a| a.identities.cidr = Some(cidr));
        self.infra.networks[k] = Some(id.clone());
        Some(id)
    }

    /// Gives an asset the next address of a network, a MAC and (optionally) a host name.
    fn identify(&mut self, id: &Option<String>, net: usize, hostname: bool) {
        let Some(id) = id else {
            return;
        };
        let host = self.infra.next_host[net] + 1;
        if host > HOSTS_PER_NETWORK || self.building > 255 {
            return;
        }
        self.infra.next_host[net] = host;
        let ip = format!(
            "10.{}.{}.{}",
            self.building,
            net as u32 * 64 + host / 256,
            host % 256
        );
        let serial = self.model.assets.len() as u64;
        let mac = format!(
            "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
            (serial >> 24) & 0xff,
            (serial >> 16) & 0xff,
            (serial >> 8) & 0xff,
            serial & 0xff
        );
        let name = id.clone();
        self.with_asset(id, |a| {
            a.identities.ip = vec![ip];
            a.identities.mac = vec![mac];
            a.identities.hostname = hostname.then_some(name);
        });
    }

    fn bacnet_device(&mut self, id: &str) {
        if self.bacnet_next > 4_000_000 {
            return;
        }
        let device = self.bacnet_next;
        self.bacnet_next += 1;
        self.with_asset(id, |a| a.identities.bacnet_device = Some(device));
    }

    fn point(
        &mut self,
        asset: &str,
        quantity: &str,
        unit: &str,
        min: f64,
        max: f64,
        via: &Option<String>,
    ) {
        self.model.bms_points.push(BmsPoint {
            id: format!("{asset}-{quantity}"),
            name: None,
            asset: asset.to_string(),
            quantity: quantity.into(),
            unit: unit.into(),
            min: Some(min),
            max: Some(max),
            writable: false,
            via: via.clone(),
            bacnet_object: None,
            modbus_register: None,
        });
    }

    /// Adds `from <kind> to` when both ends exist.
    fn link(
        &mut self,
        from: &Option<String>,
        kind: DependencyKind,
        to: &Option<String>,
        delay: Option<Delay>,
    ) {
        let (Some(from), Some(to)) = (from, to) else {
            return;
        };
        let mut dependency = Dependency::new(from.clone(), kind, to.clone());
        dependency.delay = delay;
        self.model.dependencies.push(dependency);
    }

    fn set_subtype(&mut self, id: &str, subtype: &str) {
        self.with_asset(id, |a| a.subtype = Some(subtype.to_string()));
    }

    /// Edits the asset just created (always the last one pushed).
    fn with_asset(&mut self, id: &str, edit: impl FnOnce(&mut Asset)) {
        if let Some(asset) = self
            .model
            .assets
            .iter_mut()
            .rev()
            .take(64)
            .find(|a| a.id == id)
        {
            edit(asset);
        }
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("b{}-{prefix}-{}", self.building, self.counter)
    }

    /// Beds and staff of the building's services, from the zones generated for them.
    fn add_capacities(&mut self, slots: &[ZoneSlot]) {
        for (i, (_, _, kind, bed_type)) in SERVICES.iter().enumerate() {
            let Some(service) = self.infra.services[i].clone() else {
                continue;
            };
            let zones = slots.iter().filter(|s| s.kind == *kind).count().max(1) as u32;
            let mut capacity = ServiceCapacity {
                service,
                ..ServiceCapacity::default()
            };
            if let Some(bed_type) = bed_type {
                let per_zone = if *bed_type == BedType::OperatingRooms {
                    1
                } else {
                    6
                };
                capacity.beds.insert(*bed_type, zones * per_zone);
            }
            capacity.staff.insert("nurse".into(), zones * 4);
            capacity.staff.insert("physician".into(), zones);
            self.model.services.push(capacity);
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
        matches!(
            self,
            ZoneKind::Technical | ZoneKind::Datacentre | ZoneKind::Pharmacy | ZoneKind::Theatre
        )
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
