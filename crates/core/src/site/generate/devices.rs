//! The assets of one building: its infrastructure, then the contents of each clinical zone.

use super::super::Delay;
use super::super::model::{
    Asset, AssetType, BmsPoint, Dependency, DependencyKind, DeviceProfile, Protection, SiteModel,
};
use super::{SERVICES, XorShift, ZoneKind, ZoneSlot};

use AssetType::{AccessPoint, BuildingDevice, Computer, Controller, MedicalDevice, Software};
use DependencyKind::{Controls, DependsOn, Hosts, LeadsTo};

/// Networks per building, `10.{building}.{64 * k}.0/18`: suffix and name.
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
/// Highest BACnet device instance handed out.
const MAX_BACNET: u32 = 4_000_000;
/// Devices or staff per redundancy group of a service.
const GROUP_SIZE: usize = 4;
/// How long a theatre or ICU copes without its air handling unit.
const AHU_DELAY_SECS: u64 = 30 * 60;
/// How long a vaccine freezer stays cold without power or control.
const FREEZER_DELAY_SECS: u64 = 4 * 3600;

/// The ids of a building's infrastructure, created before its zones are filled.
struct Infra {
    ehr_server: String,
    ehr: String,
    pacs_server: String,
    pacs: String,
    lis_server: String,
    lis: String,
    bacnet: String,
    plc: String,
    chiller: String,
    fire_panel: String,
    access_control: String,
    services: Vec<String>,
    /// Per floor: its air handling unit, once created.
    ahus: Vec<Option<String>>,
    /// Per floor: a bit per service already linked to the floor's unit.
    ahu_services: Vec<u8>,
}

/// Builds the site model, building by building.
pub(super) struct Generator {
    pub model: SiteModel,
    pub rng: XorShift,
    counter: u64,
    bacnet_next: u32,
    building: usize,
    next_host: [u32; 4],
    plc_units: u8,
}

impl Generator {
    pub fn new(total: usize, seed: u64) -> Self {
        let model = SiteModel {
            id: format!("synthetic-{total}"),
            name: format!("Synthetic hospital of {total} assets (seed {seed})"),
            ..SiteModel::default()
        };
        Generator {
            model,
            rng: XorShift::new(seed),
            counter: 0,
            bacnet_next: 10_000,
            building: 0,
            next_host: [0; 4],
            plc_units: 1,
        }
    }

    /// Adds building `b`'s infrastructure, then spreads the rest of `budget` over its zones.
    pub fn fill_building(&mut self, b: usize, slots: &[ZoneSlot], budget: usize) {
        self.building = b;
        self.next_host = [0; 4];
        self.plc_units = 1;
        let stop_at = self.model.assets.len() + budget;

        let find = |kind| {
            slots
                .iter()
                .find(|s| s.kind == kind)
                .map_or("", |s| s.id.as_str())
        };
        let floors = slots.last().map_or(1, |s| s.floor + 1);
        let mut infra = self.infrastructure(find(ZoneKind::Technical), find(ZoneKind::Datacentre));
        infra.ahus = vec![None; floors];
        infra.ahu_services = vec![0; floors];

        let clinical: Vec<&ZoneSlot> = slots.iter().filter(|s| s.kind.is_clinical()).collect();
        for (done, slot) in clinical.iter().enumerate() {
            let left = stop_at.saturating_sub(self.model.assets.len());
            if left == 0 {
                break;
            }
            let quota = left.div_ceil(clinical.len() - done);
            self.fill_zone(&mut infra, slot, quota);
        }
    }

    /// Power, networks, servers, software, services and controllers, most essential first,
    /// so that a site cut very small still has a meaningful core.
    fn infrastructure(&mut self, technical: &str, datacentre: &str) -> Infra {
        let b = self.building;
        let tech = Some(technical);
        let mains = self.device(
            format!("b{b}-mains-power"),
            "Mains power",
            tech,
            "power_supply",
        );
        let ups = self.device(format!("b{b}-ups"), "UPS", tech, "ups");
        self.link(&ups, DependsOn, &mains, None);

        let dc_net = self.network(NET_DC);
        let ehr_server = self.server(format!("b{b}-ehr-server"), "EHR server", datacentre, &ups);
        let ehr = self.software(format!("b{b}-ehr"), "Electronic health record", &ehr_server);
        self.network(NET_IT);
        let services = self.services(&ehr);

        self.network(NET_MEDICAL);
        let pacs_server = self.server(format!("b{b}-pacs-server"), "PACS server", datacentre, &ups);
        let pacs = self.software(format!("b{b}-pacs"), "PACS", &pacs_server);
        let lis_server = self.server(format!("b{b}-lis-server"), "LIS server", datacentre, &ups);
        let lis = self.software(
            format!("b{b}-lis"),
            "Laboratory information system",
            &lis_server,
        );
        self.link(&services[2], DependsOn, &pacs, None);
        self.link(&services[4], DependsOn, &lis, None);

        let (bacnet, plc, chiller, fire_panel) = self.building_management(technical, &ups);
        let access_control = self.server(
            format!("b{b}-access-control-server"),
            "Access control",
            datacentre,
            &ups,
        );
        for server in [&ehr_server, &pacs_server, &lis_server, &access_control] {
            self.link(server, DependsOn, &dc_net, None);
        }

        Infra {
            ehr_server,
            ehr,
            pacs_server,
            pacs,
            lis_server,
            lis,
            bacnet,
            plc,
            chiller,
            fire_panel,
            access_control,
            services,
            ahus: Vec::new(),
            ahu_services: Vec::new(),
        }
    }

    /// The building's clinical services, each depending on the EHR.
    fn services(&mut self, ehr: &str) -> Vec<String> {
        let b = self.building;
        let mut services = Vec::with_capacity(SERVICES.len());
        for (suffix, name, _, _) in SERVICES {
            let name = format!("{name} (building {b})");
            let asset = self.asset(format!("b{b}-{suffix}"), &name, AssetType::Service, None);
            let service = self.push(asset);
            self.link(&service, DependsOn, ehr, None);
            services.push(service);
        }
        services
    }

    /// BACnet controller, Modbus PLC, chiller and fire panel.
    fn building_management(
        &mut self,
        technical: &str,
        ups: &str,
    ) -> (String, String, String, String) {
        let b = self.building;
        let bms_net = self.network(NET_BMS);

        let mut bacnet = self.asset(
            format!("b{b}-bacnet-controller"),
            "BACnet controller",
            Controller,
            Some(technical),
        );
        self.identify(&mut bacnet, NET_BMS, true);
        self.bacnet_device(&mut bacnet);
        let bacnet = self.push(bacnet);
        self.link(&bacnet, DependsOn, &bms_net, None);

        let mut plc = self.asset(
            format!("b{b}-modbus-plc"),
            "Modbus PLC",
            Controller,
            Some(technical),
        );
        self.identify(&mut plc, NET_BMS, false);
        plc.identities.modbus_unit = Some(1);
        let plc = self.push(plc);
        self.link(&plc, DependsOn, &bms_net, None);

        let chiller = self.device(
            format!("b{b}-chiller"),
            "Chiller",
            Some(technical),
            "chiller",
        );
        self.link(&bacnet, Controls, &chiller, None);
        self.link(&chiller, DependsOn, ups, None);
        let panel = self.asset(
            format!("b{b}-fire-panel"),
            "Fire panel",
            Controller,
            Some(technical),
        );
        let panel = self.push(panel);
        (bacnet, plc, chiller, panel)
    }

    /// Fills one clinical zone with `quota` assets: a door and a camera first, then a mix.
    fn fill_zone(&mut self, infra: &mut Infra, slot: &ZoneSlot, quota: usize) {
        let service = slot.kind.service_index().map(|i| infra.services[i].clone());
        let service = service.as_deref();
        let mut devices = None;
        let mut staff = None;

        for n in 0..quota {
            match (n, self.rng.below(20)) {
                (0, _) => self.door(infra, slot),
                (1, _) => self.camera(slot),
                (2, _) if matches!(slot.kind, ZoneKind::Theatre | ZoneKind::Icu) => {
                    self.air_handling(infra, slot, service)
                }
                (3, _) if slot.kind == ZoneKind::Pharmacy => self.freezer(infra, slot, service),
                (_, 0..=4) => self.workstation(infra, slot),
                (_, 5..=12) => {
                    let device = self.medical_device(infra, slot);
                    self.grow_group(&mut devices, service, device);
                }
                (_, 13..=14) => {
                    self.sensor(infra, slot);
                }
                (_, 15) => self.smoke_detector(infra, slot),
                _ => {
                    let person = self.staff(slot);
                    self.grow_group(&mut staff, service, person);
                }
            }
        }
    }

    /// Adds `member` to the service's open k-of-n group (k = n - 1), opening one when full.
    fn grow_group(&mut self, group: &mut Option<usize>, service: Option<&str>, member: String) {
        let Some(service) = service else {
            return;
        };
        let open = group.filter(|&g| self.model.dependencies[g].to.len() < GROUP_SIZE);
        let Some(g) = open else {
            *group = Some(self.model.dependencies.len());
            self.model
                .dependencies
                .push(Dependency::new(service, DependsOn, member));
            return;
        };
        let dependency = &mut self.model.dependencies[g];
        dependency.to.push(member);
        dependency.needed = Some(dependency.to.len() as u32 - 1);
    }

    fn door(&mut self, infra: &Infra, slot: &ZoneSlot) {
        let id = self.next_id("door");
        let mut door = self.asset(id, "Door", AccessPoint, Some(&slot.id));
        door.subtype = Some("door".into());
        door.readers = vec!["badge".into()];
        if self.rng.below(3) == 0 {
            door.readers.push("keypad".into());
        }
        let door = self.push(door);
        self.link(&infra.access_control, Controls, &door, None);
        self.link(&infra.fire_panel, Controls, &door, None);
    }

    fn camera(&mut self, slot: &ZoneSlot) {
        let id = self.next_id("cam");
        let mut camera = self.asset(id, "Camera", AccessPoint, Some(&slot.id));
        camera.subtype = Some("camera".into());
        camera.watches = vec![slot.id.clone()];
        self.identify(&mut camera, NET_IT, true);
        self.push(camera);
    }

    fn smoke_detector(&mut self, infra: &Infra, slot: &ZoneSlot) {
        let id = self.next_id("smoke");
        let mut detector = self.asset(id, "Smoke detector", AccessPoint, Some(&slot.id));
        detector.subtype = Some("smoke_detector".into());
        let detector = self.push(detector);
        self.link(&detector, LeadsTo, &infra.fire_panel, None);
    }

    fn workstation(&mut self, infra: &Infra, slot: &ZoneSlot) {
        let id = self.next_id("ws");
        let mut ws = self.asset(id, "Workstation", Computer, Some(&slot.id));
        self.identify(&mut ws, NET_IT, true);
        ws.allowed_peers = vec![infra.ehr_server.clone()];
        if slot.kind == ZoneKind::Admin {
            ws.profile = Some(DeviceProfile {
                working_hours: Some("office-hours".into()),
                ..DeviceProfile::default()
            });
        }
        let ws = self.push(ws);
        self.link(&ws, LeadsTo, &infra.ehr, None);
    }

    /// A device sending to PACS (radiology, with an AE title), the LIS (lab) or the EHR.
    fn medical_device(&mut self, infra: &Infra, slot: &ZoneSlot) -> String {
        let id = self.next_id("md");
        let mut device = self.asset(id.clone(), "Medical device", MedicalDevice, Some(&slot.id));
        self.identify(&mut device, NET_MEDICAL, true);
        let (target, server) = match slot.kind {
            ZoneKind::Radiology => (&infra.pacs, &infra.pacs_server),
            ZoneKind::Lab => (&infra.lis, &infra.lis_server),
            _ => (&infra.ehr, &infra.ehr_server),
        };
        if slot.kind == ZoneKind::Radiology {
            device.identities.dicom_ae = Some(format!("AE{:X}", self.counter));
        }
        device.allowed_peers = vec![server.clone()];
        device.profile = Some(DeviceProfile {
            auto_logon_account: Some(format!("{id}-auto")),
            ..DeviceProfile::default()
        });
        let device = self.push(device);
        self.link(&device, LeadsTo, target, None);
        device
    }

    /// A temperature sensor behind the BACnet controller, with a BMS point.
    fn sensor(&mut self, infra: &Infra, slot: &ZoneSlot) {
        let id = self.next_id("temp");
        let mut sensor = self.asset(id, "Temperature sensor", BuildingDevice, Some(&slot.id));
        sensor.subtype = Some("temperature_sensor".into());
        self.bacnet_device(&mut sensor);
        let sensor = self.push(sensor);
        self.link(&infra.bacnet, Controls, &sensor, None);
        self.point(&sensor, "temperature", (18.0, 26.0), &infra.bacnet);
    }

    /// The floor's air handling unit (made by its first theatre or ICU zone, which the
    /// service then depends on with a delay), else one more sensor.
    fn air_handling(&mut self, infra: &mut Infra, slot: &ZoneSlot, service: Option<&str>) {
        let existing = infra.ahus.get(slot.floor).cloned().flatten();
        let ahu = match existing {
            Some(ahu) => {
                self.sensor(infra, slot);
                ahu
            }
            None => self.new_air_handling_unit(infra, slot),
        };

        let (Some(service), Some(bit)) = (service, slot.kind.service_index().map(|i| 1u8 << i))
        else {
            return;
        };
        if let Some(linked) = infra.ahu_services.get_mut(slot.floor)
            && *linked & bit == 0
        {
            *linked |= bit;
            self.link(
                service,
                DependsOn,
                &ahu,
                Some(Delay::from_secs(AHU_DELAY_SECS)),
            );
        }
    }

    fn new_air_handling_unit(&mut self, infra: &mut Infra, slot: &ZoneSlot) -> String {
        let id = format!("b{}-f{}-ahu", self.building, slot.floor);
        let mut ahu = self.asset(id, "Air handling unit", BuildingDevice, Some(&slot.id));
        ahu.subtype = Some("air_handling_unit".into());
        self.bacnet_device(&mut ahu);
        let ahu = self.push(ahu);
        self.link(&infra.bacnet, Controls, &ahu, None);
        self.link(&infra.chiller, LeadsTo, &ahu, None);
        self.point(&ahu, "temperature", (18.0, 24.0), &infra.bacnet);
        if let Some(floor) = infra.ahus.get_mut(slot.floor) {
            *floor = Some(ahu.clone());
        }
        ahu
    }

    /// A vaccine freezer read through the PLC (as the next Modbus unit, while units last).
    fn freezer(&mut self, infra: &Infra, slot: &ZoneSlot, service: Option<&str>) {
        let id = self.next_id("freezer");
        let mut freezer = self.asset(id, "Vaccine freezer", BuildingDevice, Some(&slot.id));
        freezer.subtype = Some("freezer".into());
        if self.plc_units < 247 {
            self.plc_units += 1;
            freezer.identities.modbus_unit = Some(self.plc_units);
            freezer.identities.modbus_gateway = Some(infra.plc.clone());
        }
        let freezer = self.push(freezer);
        self.link(&infra.plc, Controls, &freezer, None);
        if let Some(service) = service {
            self.link(
                service,
                DependsOn,
                &freezer,
                Some(Delay::from_secs(FREEZER_DELAY_SECS)),
            );
        }
        self.point(&freezer, "temperature", (-25.0, -15.0), &infra.plc);
    }

    fn staff(&mut self, slot: &ZoneSlot) -> String {
        let id = self.next_id("staff");
        let mut person = self.asset(id, "Staff member", AssetType::Staff, Some(&slot.id));
        person.identities.user = Some(format!("u{}", self.counter));
        self.push(person)
    }

    /// A new asset with, for one in four, random protection degrees.
    fn asset(
        &mut self,
        id: String,
        name: &str,
        asset_type: AssetType,
        zone: Option<&str>,
    ) -> Asset {
        let mut asset = Asset::new(id, name, asset_type);
        asset.zone = zone.filter(|z| !z.is_empty()).map(String::from);
        if self.rng.below(4) == 0 {
            asset.protection = Protection {
                ransomware: Some(self.rng.degree()),
                fire: Some(self.rng.degree()),
                intrusion: Some(self.rng.degree()),
                ..Protection::default()
            };
        }
        asset
    }

    fn push(&mut self, asset: Asset) -> String {
        let id = asset.id.clone();
        self.model.assets.push(asset);
        id
    }

    fn device(&mut self, id: String, name: &str, zone: Option<&str>, subtype: &str) -> String {
        let mut asset = self.asset(id, name, BuildingDevice, zone);
        asset.subtype = Some(subtype.into());
        self.push(asset)
    }

    /// A data-centre server powered by the UPS.
    fn server(&mut self, id: String, name: &str, datacentre: &str, ups: &str) -> String {
        let mut server = self.asset(id, name, Computer, Some(datacentre));
        self.identify(&mut server, NET_DC, true);
        let server = self.push(server);
        self.link(&server, DependsOn, ups, None);
        server
    }

    fn software(&mut self, id: String, name: &str, host: &str) -> String {
        let software = self.asset(id, name, Software, None);
        let software = self.push(software);
        self.link(host, Hosts, &software, None);
        software
    }

    fn network(&mut self, k: usize) -> String {
        let b = self.building;
        let (suffix, name) = NETWORKS[k];
        let name = format!("{name} (building {b})");
        let mut network = self.asset(format!("b{b}-{suffix}"), &name, AssetType::Network, None);
        network.identities.cidr = Some(format!("10.{}.{}.0/18", b % 256, k * 64));
        self.push(network)
    }

    /// Gives an asset the next address of network `net`, a MAC and maybe a host name.
    fn identify(&mut self, asset: &mut Asset, net: usize, hostname: bool) {
        let host = self.next_host[net] + 1;
        if host > HOSTS_PER_NETWORK || self.building > 255 {
            return;
        }
        self.next_host[net] = host;
        let third = net as u32 * 64 + host / 256;
        asset.identities.ip = vec![format!("10.{}.{third}.{}", self.building, host % 256)];

        // The asset's future index makes the MAC unique.
        let serial = self.model.assets.len() as u64;
        let bytes = serial.to_be_bytes();
        let mac = format!(
            "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
            bytes[4], bytes[5], bytes[6], bytes[7]
        );
        asset.identities.mac = vec![mac];
        if hostname {
            asset.identities.hostname = Some(asset.id.clone());
        }
    }

    fn bacnet_device(&mut self, asset: &mut Asset) {
        if self.bacnet_next <= MAX_BACNET {
            asset.identities.bacnet_device = Some(self.bacnet_next);
            self.bacnet_next += 1;
        }
    }

    fn point(&mut self, asset: &str, quantity: &str, (min, max): (f64, f64), via: &str) {
        self.model.bms_points.push(BmsPoint {
            id: format!("{asset}-{quantity}"),
            name: None,
            asset: asset.to_string(),
            quantity: quantity.into(),
            unit: "C".into(),
            min: Some(min),
            max: Some(max),
            writable: false,
            via: Some(via.to_string()),
            bacnet_object: None,
            modbus_register: None,
        });
    }

    /// Adds the statement `from <kind> to`.
    fn link(&mut self, from: &str, kind: DependencyKind, to: &str, delay: Option<Delay>) {
        let mut dependency = Dependency::new(from, kind, to);
        dependency.delay = delay;
        self.model.dependencies.push(dependency);
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("b{}-{prefix}-{}", self.building, self.counter)
    }
}
