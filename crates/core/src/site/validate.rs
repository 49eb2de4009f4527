//! Semantic checks of a parsed site: every problem is collected, none stops the others.

use std::net::IpAddr;

use super::error::{Anchor, MAX_PROBLEMS, Problem};
use super::hash::{FastMap as HashMap, FastSet as HashSet};
use super::model::{Asset, AssetType, BmsPoint, Dependency, DependencyKind, Polygon, SiteModel};
use super::net::{Cidr, check_ae_title, check_hostname, hostname_key, normalize_mac};
use super::schedule::WeeklyHours;

/// The longest id accepted.
const MAX_ID_LEN: usize = 128;

/// The highest BACnet device instance (4194303 is the wildcard).
const MAX_BACNET_DEVICE: u32 = 4_194_302;

/// Did-you-mean suggestions are skipped above this many candidates.
const MAX_SUGGESTION_CANDIDATES: usize = 5000;

/// A problem with the place in the text it belongs to.
pub(crate) struct Finding {
    pub problem: Problem,
    pub anchor: Anchor,
}

/// The outcome of a validation: the first findings and the total count.
pub(crate) struct Findings {
    pub found: Vec<Finding>,
    pub total: usize,
}

/// Checks a whole site model and returns every problem found.
pub(crate) fn check(model: &SiteModel) -> Findings {
    let mut checker = Checker::new(model);
    checker.check_header();
    checker.register_ids();
    checker.check_schedules();
    checker.check_places();
    checker.check_assets();
    checker.check_unique_identities();
    checker.check_dependencies();
    checker.check_services();
    checker.check_points();
    Findings {
        found: checker.found,
        total: checker.total,
    }
}

/// What an id names, to check references point at the right kind of thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Schedule,
    Building,
    Floor,
    Zone,
    Room,
    Asset(AssetType),
    Point,
}

impl IdKind {
    fn describe(self) -> String {
        match self {
            IdKind::Schedule => "a schedule".into(),
            IdKind::Building => "a building".into(),
            IdKind::Floor => "a floor".into(),
            IdKind::Zone => "a zone".into(),
            IdKind::Room => "a room".into(),
            IdKind::Asset(t) => format!("an asset of type {}", t.as_str()),
            IdKind::Point => "a BMS point".into(),
        }
    }
}

struct Checker<'a> {
    model: &'a SiteModel,
    found: Vec<Finding>,
    total: usize,
    ids: HashMap<&'a str, IdKind>,
    /// Room id -> zone id.
    room_zone: HashMap<&'a str, &'a str>,
    /// How many times each duplicated id has been seen.
    duplicates: HashMap<&'a str, usize>,
}

impl<'a> Checker<'a> {
    fn new(model: &'a SiteModel) -> Self {
        let mut ids = HashMap::default();
        ids.reserve(model.assets.len() + model.bms_points.len());
        Checker {
            model,
            found: Vec::new(),
            total: 0,
            ids,
            room_zone: HashMap::default(),
            duplicates: HashMap::default(),
        }
    }

    fn report(&mut self, anchor: Anchor, field: String, message: String, fix: String) {
        self.total += 1;
        if self.found.len() < MAX_PROBLEMS {
            let problem = Problem {
                line: None,
                field,
                message,
                fix,
            };
            self.found.push(Finding { problem, anchor });
        }
    }

    fn check_header(&mut self) {
        if self.model.id.trim().is_empty() {
            let anchor = target("id", "");
            self.report(anchor, "id".into(), "the site has no id".into(), fix_id());
        }
        if self.model.name.trim().is_empty() {
            let anchor = target("name", "");
            let fix = "give the hospital's name, e.g. `name: St. Aurelia General Hospital`";
            self.report(
                anchor,
                "name".into(),
                "the site has no name".into(),
                fix.into(),
            );
        }
    }

    /// Records every id with its kind; reports duplicates and malformed ids.
    fn register_ids(&mut self) {
        let model = self.model;
        for (i, s) in model.schedules.iter().enumerate() {
            self.register(&s.id, IdKind::Schedule, || format!("schedules[{i}].id"));
        }
        for (b, building) in model.buildings.iter().enumerate() {
            self.register(&building.id, IdKind::Building, || {
                format!("buildings[{b}].id")
            });
            for (f, floor) in building.floors.iter().enumerate() {
                let path = format!("buildings[{b}].floors[{f}]");
                self.register(&floor.id, IdKind::Floor, || format!("{path}.id"));
                for (z, zone) in floor.zones.iter().enumerate() {
                    let path = format!("{path}.zones[{z}]");
                    self.register(&zone.id, IdKind::Zone, || format!("{path}.id"));
                    for (r, room) in zone.rooms.iter().enumerate() {
                        self.register(&room.id, IdKind::Room, || format!("{path}.rooms[{r}].id"));
                        self.room_zone.insert(&room.id, &zone.id);
                    }
                }
            }
        }
        for (i, asset) in model.assets.iter().enumerate() {
            let kind = IdKind::Asset(asset.asset_type);
            self.register(&asset.id, kind, || format!("assets[{i}].id"));
        }
        for (i, point) in model.bms_points.iter().enumerate() {
            self.register(&point.id, IdKind::Point, || format!("bms_points[{i}].id"));
        }
    }

    fn register(&mut self, id: &'a str, kind: IdKind, field: impl FnOnce() -> String) {
        let Some(first) = self.ids.get(id).copied() else {
            if let Err(reason) = check_id(id) {
                self.report(owner(id, 0), field(), reason, fix_id());
            }
            self.ids.insert(id, kind);
            return;
        };

        // The n-th use of an id is on the n-th line that has it.
        let nth = self.duplicates.entry(id).or_insert(1);
        let anchor = owner(id, *nth);
        *nth += 1;
        let message = format!("id `{id}` is used twice: here and by {}", first.describe());
        let fix = "give each building, floor, zone, room, asset, schedule and point its own id";
        self.report(anchor, field(), message, fix.into());
    }

    fn check_schedules(&mut self) {
        for (i, schedule) in self.model.schedules.iter().enumerate() {
            let anchor = || owner(&schedule.id, 0);
            if schedule.open.is_empty() {
                let message = format!("schedule `{}` has no period", schedule.id);
                let fix = "add e.g. `open: [{ days: mon-fri, hours: \"07:00-19:00\" }]`".into();
                self.report(anchor(), format!("schedules[{i}].open"), message, fix);
            }
            if let Err(reason) = WeeklyHours::parse(schedule) {
                let fix = "write days as `mon-fri`, `sat,sun` or `daily` and hours as \
                           `HH:MM-HH:MM`"
                    .into();
                self.report(anchor(), format!("schedules[{i}].open"), reason, fix);
            }
        }
    }

    /// Floor plans, zone schedules and authorised staff.
    fn check_places(&mut self) {
        let model = self.model;
        for (b, building) in model.buildings.iter().enumerate() {
            for (f, floor) in building.floors.iter().enumerate() {
                let path = format!("buildings[{b}].floors[{f}]");
                self.check_polygon(&floor.id, floor.polygon.as_ref(), &path);
                for (z, zone) in floor.zones.iter().enumerate() {
                    let path = format!("{path}.zones[{z}]");
                    self.check_polygon(&zone.id, zone.polygon.as_ref(), &path);
                    if let Some(schedule) = &zone.schedule {
                        let field = || format!("{path}.schedule");
                        self.expect(&zone.id, "schedule", schedule, IdKind::Schedule, field);
                    }
                    for (a, staff) in zone.authorized.iter().enumerate() {
                        let field = || format!("{path}.authorized[{a}]");
                        let kind = IdKind::Asset(AssetType::Staff);
                        self.expect(&zone.id, "authorized", staff, kind, field);
                    }
                    for (r, room) in zone.rooms.iter().enumerate() {
                        let path = format!("{path}.rooms[{r}]");
                        self.check_polygon(&room.id, room.polygon.as_ref(), &path);
                    }
                }
            }
        }
    }

    fn check_polygon(&mut self, id: &str, polygon: Option<&Polygon>, path: &str) {
        let Some(polygon) = polygon else {
            return;
        };
        let field = format!("{path}.polygon");
        if polygon.len() < 3 {
            let message = format!("the polygon of `{id}` has {} point(s)", polygon.len());
            let fix = "list at least 3 corners in metres, e.g. [[0, 0], [10, 0], [10, 8]]".into();
            self.report(owned(id, "polygon", ""), field, message, fix);
        } else if polygon.iter().flatten().any(|c| !c.is_finite()) {
            let message = format!("the polygon of `{id}` has a coordinate that is not a number");
            let fix = "write every corner as two numbers in metres".into();
            self.report(owned(id, "polygon", ""), field, message, fix);
        }
    }

    fn check_assets(&mut self) {
        let model = self.model;
        for (i, asset) in model.assets.iter().enumerate() {
            let path = &Item::new("assets", i);
            self.check_location(asset, path);
            self.check_identities(asset, path);
            self.check_protection(asset, path);
            self.check_peers(asset, path);
            self.check_profile(asset, path);
            if let Some(subtype) = &asset.subtype
                && !is_snake_word(subtype)
            {
                let message = format!("subtype `{subtype}` is not one snake_case word");
                let fix = "write e.g. `door`, `camera`, `smoke_detector`".into();
                let anchor = owned(&asset.id, "subtype", subtype);
                self.report(anchor, format!("{path}.subtype"), message, fix);
            }
        }
    }

    fn check_location(&mut self, asset: &'a Asset, path: &Item) {
        if let Some(zone) = &asset.zone {
            let field = || format!("{path}.zone");
            self.expect(&asset.id, "zone", zone, IdKind::Zone, field);
        }
        if let Some(room) = &asset.room {
            let field = || format!("{path}.room");
            let known = self.expect(&asset.id, "room", room, IdKind::Room, field);
            let room_zone = self.room_zone.get(room.as_str()).copied();
            if let (true, Some(zone), Some(room_zone)) = (known, &asset.zone, room_zone)
                && zone != room_zone
            {
                let message = format!("room `{room}` is in zone `{room_zone}`, not `{zone}`");
                let fix = format!("set `zone: {room_zone}` or pick a room of zone `{zone}`");
                self.report(owned(&asset.id, "room", room), field(), message, fix);
            }
        }
        for (w, zone) in asset.watches.iter().enumerate() {
            let field = || format!("{path}.watches[{w}]");
            self.expect(&asset.id, "watches", zone, IdKind::Zone, field);
        }
    }

    fn check_identities(&mut self, asset: &'a Asset, path: &Item) {
        let ids = &asset.identities;
        let path = &Item::sub(path, "identities");
        for ip in &ids.ip {
            if ip.parse::<IpAddr>().is_err() {
                let message = format!("`{ip}` is not an IP address");
                let fix = "write an IPv4 address such as `10.20.4.21` or an IPv6 address".into();
                self.report(
                    owned(&asset.id, "ip", ip),
                    format!("{path}.ip"),
                    message,
                    fix,
                );
            }
        }
        for mac in &ids.mac {
            if let Err(message) = normalize_mac(mac) {
                let fix = "write six hex pairs separated by colons".into();
                self.report(
                    owned(&asset.id, "mac", mac),
                    format!("{path}.mac"),
                    message,
                    fix,
                );
            }
        }
        if let Some(name) = &ids.hostname
            && let Err(message) = check_hostname(name)
        {
            let fix = "write the short host name, e.g. `pacs-srv`".into();
            let anchor = owned(&asset.id, "hostname", name);
            self.report(anchor, format!("{path}.hostname"), message, fix);
        }
        if let Some(ae) = &ids.dicom_ae
            && let Err(message) = check_ae_title(ae)
        {
            let fix = "use the AE title configured on the modality, e.g. `CT01`".into();
            let anchor = owned(&asset.id, "dicom_ae", ae);
            self.report(anchor, format!("{path}.dicom_ae"), message, fix);
        }
        self.check_cidr(asset, path);
        self.check_field_devices(asset, path);
    }

    fn check_cidr(&mut self, asset: &'a Asset, path: &Item) {
        let Some(cidr) = &asset.identities.cidr else {
            return;
        };
        let anchor = || owned(&asset.id, "cidr", cidr);
        if asset.asset_type != AssetType::Network {
            let message = format!("asset `{}` has a cidr but is not a network", asset.id);
            let fix = "set `type: network`, or move the block to the network asset".into();
            self.report(anchor(), format!("{path}.cidr"), message, fix);
        }
        if let Err(message) = Cidr::parse(cidr) {
            let fix = "write the block as `address/prefix`, e.g. `10.20.0.0/16`".into();
            self.report(anchor(), format!("{path}.cidr"), message, fix);
        }
    }

    /// BACnet and Modbus identities.
    fn check_field_devices(&mut self, asset: &'a Asset, path: &Item) {
        let ids = &asset.identities;
        if let Some(device) = ids.bacnet_device
            && device > MAX_BACNET_DEVICE
        {
            let message = format!("BACnet device {device} is over {MAX_BACNET_DEVICE}");
            let fix = "use the device instance configured on the controller".into();
            let anchor = owned(&asset.id, "bacnet_device", &device.to_string());
            self.report(anchor, format!("{path}.bacnet_device"), message, fix);
        }
        if let Some(gateway) = &ids.modbus_gateway {
            let field = || format!("{path}.modbus_gateway");
            self.expect_asset(&asset.id, "modbus_gateway", gateway, field);
            if ids.modbus_unit.is_none() {
                let message = "a Modbus gateway is given without a unit".into();
                let fix = "add `modbus_unit: N` with the device's unit id".into();
                self.report(
                    owned(&asset.id, "modbus_gateway", gateway),
                    field(),
                    message,
                    fix,
                );
            }
        } else if ids.modbus_unit.is_some() && ids.ip.is_empty() {
            let message = "a Modbus unit is given without an IP address or a gateway".into();
            let fix = "add `ip:` or `modbus_gateway: <asset id of the PLC or gateway>`".into();
            let anchor = owned(&asset.id, "modbus_unit", "");
            self.report(anchor, format!("{path}.modbus_unit"), message, fix);
        }
    }

    fn check_protection(&mut self, asset: &'a Asset, path: &Item) {
        for (class, degree) in asset.protection.entries() {
            if !(0.0..=1.0).contains(&degree) {
                let message = format!("protection degree {degree} against {class} is outside 0..1");
                let fix = "write a degree from 0.0 (no protection) to 1.0 (full protection)";
                let anchor = owned(&asset.id, class, "");
                let field = format!("{path}.protection.{class}");
                self.report(anchor, field, message, fix.into());
            }
        }
    }

    fn check_peers(&mut self, asset: &'a Asset, path: &Item) {
        for (p, peer) in asset.allowed_peers.iter().enumerate() {
            let is_address = peer.parse::<IpAddr>().is_ok() || Cidr::parse(peer).is_ok();
            if is_address || self.ids.contains_key(peer.as_str()) {
                continue;
            }
            let message = format!("peer `{peer}` is neither an asset id, an IP nor a CIDR block");
            let fix = self.fix_unknown(peer, "an asset id, `10.20.4.21` or `10.20.0.0/16`");
            let anchor = owned(&asset.id, "allowed_peers", peer);
            self.report(anchor, format!("{path}.allowed_peers[{p}]"), message, fix);
        }
    }

    fn check_profile(&mut self, asset: &'a Asset, path: &Item) {
        let Some(profile) = &asset.profile else {
            return;
        };
        if let Some(schedule) = &profile.working_hours {
            let field = || format!("{path}.profile.working_hours");
            self.expect(
                &asset.id,
                "working_hours",
                schedule,
                IdKind::Schedule,
                field,
            );
        }
    }

    /// No two assets share an IP, MAC, host name, AE title, BACnet device, Modbus unit or user.
    fn check_unique_identities(&mut self) {
        let model = self.model;
        let first_ip: HashMap<&str, &str> = model
            .assets
            .iter()
            .filter_map(|a| Some((a.id.as_str(), a.identities.ip.first()?.as_str())))
            .collect();
        let mut owners: HashMap<(&'static str, String), &str> = HashMap::default();
        for (i, asset) in model.assets.iter().enumerate() {
            for (key, value) in identity_keys(asset, &first_ip) {
                let Some(first) = owners.get(&(key, value.clone())) else {
                    owners.insert((key, value), &asset.id);
                    continue;
                };
                if *first == asset.id {
                    continue;
                }
                let message = format!("{key} `{value}` is also given to asset `{first}`");
                let fix = "each identity names one asset: correct one of the two".into();
                let anchor = owned(&asset.id, key, &value);
                self.report(
                    anchor,
                    format!("assets[{i}].identities.{key}"),
                    message,
                    fix,
                );
            }
        }
    }

    fn check_dependencies(&mut self) {
        let model = self.model;
        let mut per_source: HashMap<&str, usize> = HashMap::default();
        for (i, dep) in model.dependencies.iter().enumerate() {
            let nth = per_source.entry(&dep.from).or_insert(0);
            self.check_dependency(i, dep, *nth);
            *nth += 1;
        }
    }

    /// Checks the `nth` statement starting at `dep.from`, statement `i` of the file.
    fn check_dependency(&mut self, i: usize, dep: &Dependency, nth: usize) {
        let path = Item::new("dependencies", i);
        let at = |key: &'static str, value: &str| Anchor {
            owner: Some(("from", dep.from.clone(), nth)),
            target: Some((key, value.to_string())),
        };

        if !self.is_asset(&dep.from) {
            let message = format!("dependency from unknown asset `{}`", dep.from);
            let fix = self.fix_unknown(&dep.from, "an asset id");
            self.report(at("from", &dep.from), format!("{path}.from"), message, fix);
        }
        if dep.to.is_empty() {
            let message = "the dependency has no target".into();
            let fix = "name the asset in `to:`, or a list of redundant assets".into();
            self.report(at("to", ""), format!("{path}.to"), message, fix);
        }
        let mut seen = HashSet::default();
        for (t, to) in dep.to.iter().enumerate() {
            let field = || format!("{path}.to[{t}]");
            if !self.is_asset(to) {
                let message = format!("dependency to unknown asset `{to}`");
                let fix = self.fix_unknown(to, "an asset id");
                self.report(at("to", to), field(), message, fix);
            } else if *to == dep.from {
                let message = format!("asset `{to}` depends on itself");
                let fix = "remove it from `to`".into();
                self.report(at("to", to), field(), message, fix);
            } else if !seen.insert(to) {
                let message = format!("`{to}` is listed twice");
                let fix = "list each redundant asset once".into();
                self.report(at("to", to), field(), message, fix);
            }
        }
        if dep.needed.is_some() && dep.kind != DependencyKind::DependsOn {
            let message = format!("`needed` is given for a {} link", dep.kind.as_str());
            let fix = "k-of-n redundancy applies to depends_on only: remove `needed`".into();
            self.report(at("needed", ""), format!("{path}.needed"), message, fix);
        }
        if let Some(needed) = dep.needed
            && (needed == 0 || needed as usize > dep.to.len())
        {
            let n = dep.to.len();
            let message = format!("needs {needed} of {n} targets");
            let fix = format!("set `needed` from 1 to {n}");
            let anchor = at("needed", &needed.to_string());
            self.report(anchor, format!("{path}.needed"), message, fix);
        }
    }

    fn check_services(&mut self) {
        let model = self.model;
        let mut seen = HashSet::default();
        for (i, capacity) in model.services.iter().enumerate() {
            let path = format!("services[{i}]");
            let service = &capacity.service;
            let anchor = || Anchor {
                owner: Some(("service", service.clone(), 0)),
                target: None,
            };
            let kind = IdKind::Asset(AssetType::Service);
            if self.ids.get(service.as_str()) != Some(&kind) {
                let message = match self.ids.get(service.as_str()) {
                    Some(other) => format!("`{service}` is {}, not a service", other.describe()),
                    None => format!("service `{service}` is not defined"),
                };
                let fix = self.fix_unknown(service, "an asset of type service");
                self.report(anchor(), format!("{path}.service"), message, fix);
            }
            if !seen.insert(service) {
                let message = format!("service `{service}` has two capacity entries");
                let fix = "merge its beds and staff into one entry".into();
                self.report(anchor(), format!("{path}.service"), message, fix);
            }
            if let Some(schedule) = &capacity.schedule {
                let field = format!("{path}.schedule");
                let known = self.ids.get(schedule.as_str()) == Some(&IdKind::Schedule);
                if !known {
                    let message = format!("schedule `{schedule}` is not defined");
                    let fix = self.fix_unknown(schedule, "a schedule id");
                    self.report(anchor(), field, message, fix);
                }
            }
        }
    }

    fn check_points(&mut self) {
        let model = self.model;
        for (i, point) in model.bms_points.iter().enumerate() {
            let path = Item::new("bms_points", i);
            self.expect_asset(&point.id, "asset", &point.asset, || format!("{path}.asset"));
            if let Some(via) = &point.via {
                self.expect_asset(&point.id, "via", via, || format!("{path}.via"));
            }
            let message = bounds_problem(point);
            if let Some(message) = message {
                let fix = "give `min` and/or `max` with min <= max, e.g. 18 and 24 for an OR";
                let anchor = owned(&point.id, "min", "");
                self.report(anchor, format!("{path}.min"), message, fix.into());
            }
        }
    }

    /// Reports a reference that is not an id of the expected kind; true when it is.
    fn expect(
        &mut self,
        owner_id: &str,
        key: &'static str,
        value: &str,
        kind: IdKind,
        field: impl FnOnce() -> String,
    ) -> bool {
        let found = self.ids.get(value).copied();
        if found == Some(kind) {
            return true;
        }
        let message = match found {
            Some(other) => format!("`{value}` is {}, not {}", other.describe(), kind.describe()),
            None => format!("{} `{value}` is not defined", kind_noun(kind)),
        };
        let fix = self.fix_unknown(value, &kind.describe());
        self.report(owned(owner_id, key, value), field(), message, fix);
        false
    }

    fn expect_asset(
        &mut self,
        owner_id: &str,
        key: &'static str,
        value: &str,
        field: impl FnOnce() -> String,
    ) {
        if self.is_asset(value) {
            return;
        }
        let message = format!("asset `{value}` is not defined");
        let fix = self.fix_unknown(value, "an asset id");
        self.report(owned(owner_id, key, value), field(), message, fix);
    }

    fn is_asset(&self, id: &str) -> bool {
        matches!(self.ids.get(id), Some(IdKind::Asset(_)))
    }

    /// "did you mean" when a close id exists, else what to write.
    fn fix_unknown(&self, value: &str, wanted: &str) -> String {
        if self.ids.len() <= MAX_SUGGESTION_CANDIDATES
            && let Some(close) = closest(value, self.ids.keys().copied())
        {
            return format!("did you mean `{close}`? otherwise define `{value}` or name {wanted}");
        }
        format!("define `{value}` in the site file, or name {wanted} that exists")
    }
}

/// A field path written lazily, e.g. `assets[12]` or `assets[12].identities`.
struct Item {
    section: &'static str,
    index: usize,
    field: Option<&'static str>,
}

impl Item {
    fn new(section: &'static str, index: usize) -> Item {
        Item {
            section,
            index,
            field: None,
        }
    }

    fn sub(item: &Item, field: &'static str) -> Item {
        Item {
            field: Some(field),
            ..*item
        }
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.section, self.index)?;
        match self.field {
            Some(field) => write!(f, ".{field}"),
            None => Ok(()),
        }
    }
}

/// The identity keys of an asset for the uniqueness check.
fn identity_keys(asset: &Asset, first_ip: &HashMap<&str, &str>) -> Vec<(&'static str, String)> {
    let ids = &asset.identities;
    let mut keys = Vec::new();
    for ip in &ids.ip {
        if let Ok(ip) = ip.parse::<IpAddr>() {
            keys.push(("ip", ip.to_string()));
        }
    }
    for mac in &ids.mac {
        if let Ok(mac) = normalize_mac(mac) {
            keys.push(("mac", mac));
        }
    }
    if let Some(name) = &ids.hostname {
        keys.push(("hostname", hostname_key(name)));
    }
    if let Some(ae) = &ids.dicom_ae {
        keys.push(("dicom_ae", ae.trim().to_string()));
    }
    if let Some(device) = ids.bacnet_device {
        keys.push(("bacnet_device", device.to_string()));
    }
    if let Some(user) = &ids.user {
        keys.push(("user", user.to_ascii_lowercase()));
    }
    if let Some(cidr) = ids.cidr.as_deref().and_then(|c| Cidr::parse(c).ok()) {
        keys.push(("cidr", cidr.to_string()));
    }
    if let Some(unit) = ids.modbus_unit {
        let host = match &ids.modbus_gateway {
            Some(gateway) => first_ip.get(gateway.as_str()).copied(),
            None => ids.ip.first().map(String::as_str),
        };
        if let Some(host) = host {
            keys.push(("modbus_unit", format!("{host}#{unit}")));
        }
    }
    keys
}

/// What is wrong with a point's safe bounds, if anything.
fn bounds_problem(point: &BmsPoint) -> Option<String> {
    let id = &point.id;
    let not_a_number = |bound: Option<f64>| bound.is_some_and(|v| !v.is_finite());
    match (point.min, point.max) {
        (None, None) => Some(format!("point `{id}` has no safe bound")),
        _ if not_a_number(point.min) || not_a_number(point.max) => {
            Some(format!("point `{id}` has a bound that is not a number"))
        }
        (Some(min), Some(max)) if min > max => {
            Some(format!("point `{id}` has min {min} above max {max}"))
        }
        _ => None,
    }
}

fn kind_noun(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Schedule => "schedule",
        IdKind::Building => "building",
        IdKind::Floor => "floor",
        IdKind::Zone => "zone",
        IdKind::Room => "room",
        IdKind::Asset(_) => "asset",
        IdKind::Point => "point",
    }
}

/// An anchor on an item's id line.
fn owner(id: &str, nth: usize) -> Anchor {
    Anchor {
        owner: Some(("id", id.to_string(), nth)),
        target: None,
    }
}

/// An anchor on a field of the item with id `id`.
fn owned(id: &str, key: &'static str, value: &str) -> Anchor {
    Anchor {
        owner: Some(("id", id.to_string(), 0)),
        target: Some((key, value.to_string())),
    }
}

/// An anchor on a top-level field.
fn target(key: &'static str, value: &str) -> Anchor {
    Anchor {
        owner: None,
        target: Some((key, value.to_string())),
    }
}

fn fix_id() -> String {
    "use letters, digits, `-`, `_` and `.`, starting with a letter or digit, e.g. `pacs-server`"
        .into()
}

fn check_id(id: &str) -> Result<(), String> {
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if first_ok && rest_ok && id.len() <= MAX_ID_LEN {
        Ok(())
    } else {
        Err(format!("`{id}` is not a valid id"))
    }
}

fn is_snake_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The candidate closest to `value` by edit distance, when close enough to be a typo.
fn closest<'b>(value: &str, candidates: impl Iterator<Item = &'b str>) -> Option<&'b str> {
    if value.len() > MAX_ID_LEN {
        return None;
    }
    let limit = (value.chars().count() / 3).max(1);
    candidates
        .map(|c| (edit_distance(value, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (typos like `wrad`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_ids_are_suggested() {
        let ids = ["radiology", "pharmacy", "icu"];
        assert_eq!(closest("radiolgy", ids.into_iter()), Some("radiology"));
        assert_eq!(closest("kitchen", ids.into_iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("wrad", "ward"), 1);
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("pacs-server").is_ok());
        assert!(check_id("-x").is_err());
        assert!(check_id("a b").is_err());
    }
}
