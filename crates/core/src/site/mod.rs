//! The site model: one hospital, its buildings, zones, assets and dependencies.
//!
//! A site file (YAML, see `sites/demo-hospital.yaml`) is loaded with [`Site::load`] or
//! [`Site::from_yaml`]: syntax errors name the file, line and column; semantic problems
//! (unknown references, duplicate ids, bad addresses, degrees outside 0..1) are all listed
//! at once, each with its line, field and fix. A loaded [`Site`] answers lookups by id and
//! by every network identity, and implements [`AssetDirectory`] for the detectors.
//! [`generate`] makes synthetic sites of any size for benchmarks.

mod delay;
mod error;
mod generate;
mod hash;
mod index;
mod model;
mod net;
mod one_or_many;
mod schedule;
mod validate;

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use chrono::NaiveDateTime;

pub use delay::Delay;
pub use error::{MAX_PROBLEMS, Problem, SiteError};
pub use generate::{MAX_GENERATED_ASSETS, generate};
pub use model::{
    Asset, AssetType, BedType, BmsPoint, Building, Dependency, DependencyKind, DeviceProfile,
    Floor, Identities, Period, Polygon, Protection, Room, Schedule, ServiceCapacity, SiteModel,
    Zone,
};
pub use net::{Cidr, hostname_key, normalize_mac};
pub use schedule::WeeklyHours;

use crate::directory::{AssetDirectory, AssetInfo};
use crate::event::Location;
use error::LineFinder;
use index::{Index, LinkRef};

/// The largest site file accepted: 512 MiB. A generated site of a million assets is about
/// 300 MB of YAML and takes several GB of memory to parse: benchmarks should call
/// [`generate`] rather than load such a file.
pub const MAX_SITE_BYTES: u64 = 512 * 1024 * 1024;

/// The demo hospital's site file, as shipped in `sites/demo-hospital.yaml`.
pub const DEMO_SITE_YAML: &str = include_str!("../../../../sites/demo-hospital.yaml");

/// The JSON Schema of site files, for editors that check YAML against a schema.
///
/// It checks structure and types only; [`Site::from_yaml`] also checks references,
/// uniqueness and value formats.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(SiteModel)).unwrap_or_default()
}

/// A validated site with its lookup indexes.
#[derive(Debug, Clone)]
pub struct Site {
    model: SiteModel,
    index: Index,
}

/// One link of the asset graph: `from <kind> to`, from one dependency statement.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// The statement the link comes from (kind, redundancy, delay).
    pub dependency: &'a Dependency,
    /// The asset the statement starts at.
    pub from: &'a Asset,
    /// One target of the statement.
    pub to: &'a Asset,
}

impl Site {
    /// Reads and validates a site file.
    pub fn load(path: impl AsRef<Path>) -> Result<Site, SiteError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let read_error = |source| SiteError::Read {
            path: shown.clone(),
            source,
        };

        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_SITE_BYTES {
            return Err(too_large(&shown, size));
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Site::from_yaml(&text, &shown)
    }

    /// Parses and validates site YAML; `file_name` is only used in error messages.
    pub fn from_yaml(text: &str, file_name: &str) -> Result<Site, SiteError> {
        if text.len() as u64 > MAX_SITE_BYTES {
            return Err(too_large(file_name, text.len() as u64));
        }

        let model: SiteModel =
            serde_yaml_ng::from_str(text).map_err(|err| syntax_error(file_name, &err))?;

        let findings = validate::check(&model);
        if findings.total > 0 {
            return Err(invalid(file_name, text, findings));
        }
        Ok(Site::indexed(model))
    }

    /// Validates a model built in code (or edited after [`Site::into_model`]).
    pub fn from_model(model: SiteModel) -> Result<Site, SiteError> {
        let findings = validate::check(&model);
        if findings.total > 0 {
            let problems = findings.found.into_iter().map(|f| f.problem).collect();
            let file = format!("site {}", model.id);
            return Err(SiteError::Invalid {
                file,
                problems,
                total: findings.total,
            });
        }
        Ok(Site::indexed(model))
    }

    /// The demo hospital of DESIGN.md section 5 ("St. Aurelia General Hospital").
    ///
    /// Panics only if the embedded file is broken, which the tests rule out.
    pub fn demo() -> Site {
        match Site::from_yaml(DEMO_SITE_YAML, "sites/demo-hospital.yaml") {
            Ok(site) => site,
            Err(err) => panic!("the embedded demo site does not load: {err}"),
        }
    }

    /// Indexes a model without validating it (for the generator, which builds valid sites).
    pub(crate) fn indexed(model: SiteModel) -> Site {
        let index = Index::build(&model);
        Site { model, index }
    }

    /// Re-runs the semantic checks; empty for any site that was loaded.
    pub fn problems(&self) -> Vec<Problem> {
        let findings = validate::check(&self.model);
        findings.found.into_iter().map(|f| f.problem).collect()
    }

    /// The site as YAML, in the site file format.
    pub fn to_yaml(&self) -> Result<String, SiteError> {
        serde_yaml_ng::to_string(&self.model).map_err(|err| SiteError::Emit {
            message: err.to_string(),
        })
    }

    /// Writes the site as YAML to `out` without building the whole text in memory.
    pub fn write_yaml(&self, out: impl Write) -> Result<(), SiteError> {
        serde_yaml_ng::to_writer(out, &self.model).map_err(|err| SiteError::Emit {
            message: err.to_string(),
        })
    }

    /// Site id, e.g. `general-hospital`.
    pub fn id(&self) -> &str {
        &self.model.id
    }

    /// Human name of the hospital.
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// The whole model, read-only.
    pub fn model(&self) -> &SiteModel {
        &self.model
    }

    /// Gives the model back for editing; rebuild with [`Site::from_model`].
    pub fn into_model(self) -> SiteModel {
        self.model
    }

    /// Every asset, in file order.
    pub fn assets(&self) -> &[Asset] {
        &self.model.assets
    }

    /// The asset with this id.
    pub fn asset(&self, id: &str) -> Option<&Asset> {
        self.index.assets.get(id).map(|&i| &self.model.assets[i])
    }

    /// The zone with this id.
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        let (b, f, z) = self.index.zones.get(id)?.path;
        Some(&self.model.buildings[b].floors[f].zones[z])
    }

    /// Every zone of every floor, with its building and floor ids.
    pub fn zones(&self) -> impl Iterator<Item = (&Building, &Floor, &Zone)> {
        self.model.buildings.iter().flat_map(|b| {
            b.floors
                .iter()
                .flat_map(move |f| f.zones.iter().map(move |z| (b, f, z)))
        })
    }

    /// Building, floor and zone ids of a zone.
    pub fn zone_location(&self, zone: &str) -> Option<Location> {
        let place = self.index.zones.get(zone)?;
        Some(Location {
            building: Some(place.building.clone()),
            floor: Some(place.floor.clone()),
            zone: Some(zone.to_string()),
            room: None,
        })
    }

    /// The zone id of an asset (its own, or its room's).
    pub fn zone_of(&self, asset: &str) -> Option<&str> {
        self.by_id(asset)?.zone()
    }

    /// The assets located in a zone, in file order.
    pub fn assets_in_zone<'s>(&'s self, zone: &str) -> impl Iterator<Item = &'s Asset> + 's {
        let found = self.index.zone_assets.get(zone).map(Vec::as_slice);
        found
            .unwrap_or_default()
            .iter()
            .map(|&i| &self.model.assets[i])
    }

    /// The asset reached at Modbus unit `unit` of the Modbus/TCP server at `ip`.
    pub fn by_modbus(&self, ip: IpAddr, unit: u8) -> Option<&AssetInfo> {
        self.info(self.index.modbus.get(&(ip, unit)))
    }

    /// The asset with this BACnet device instance.
    pub fn by_bacnet_device(&self, device: u32) -> Option<&AssetInfo> {
        self.info(self.index.bacnet.get(&device))
    }

    /// The asset with this DICOM AE title (exact, surrounding spaces ignored).
    pub fn by_dicom_ae(&self, title: &str) -> Option<&AssetInfo> {
        self.info(self.index.dicom_ae.get(title.trim()))
    }

    /// The staff asset with this account name, case-insensitive.
    pub fn by_user(&self, name: &str) -> Option<&AssetInfo> {
        self.info(self.index.user.get(&name.to_ascii_lowercase()))
    }

    /// The most specific network (asset of type `network` with a `cidr`) holding `ip`.
    pub fn network_of(&self, ip: IpAddr) -> Option<&Asset> {
        let (_, i) = self
            .index
            .networks
            .iter()
            .find(|(cidr, _)| cidr.contains(ip))?;
        Some(&self.model.assets[*i])
    }

    /// True when `ip` belongs to one of the site's networks.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.network_of(ip).is_some()
    }

    /// Links that start at an asset (`asset <kind> other`).
    pub fn links_from(&self, asset: &str) -> Vec<Link<'_>> {
        self.links(asset, &self.index.outgoing)
    }

    /// Links that end at an asset (`other <kind> asset`).
    pub fn links_to(&self, asset: &str) -> Vec<Link<'_>> {
        self.links(asset, &self.index.incoming)
    }

    /// The assets harmed next when `asset` is harmed: those that depend on it, and those
    /// it hosts, controls, leads to or is part of.
    pub fn dependents(&self, asset: &str) -> Vec<&Asset> {
        let backward = self
            .links_to(asset)
            .into_iter()
            .filter(|l| !l.dependency.kind.harm_flows_forward())
            .map(|l| l.from);
        let forward = self
            .links_from(asset)
            .into_iter()
            .filter(|l| l.dependency.kind.harm_flows_forward())
            .map(|l| l.to);

        let mut dependents: Vec<&Asset> = backward.chain(forward).collect();
        dependents.sort_by(|a, b| a.id.cmp(&b.id));
        dependents.dedup_by(|a, b| a.id == b.id);
        dependents
    }

    /// Every dependency statement, in file order.
    pub fn dependencies(&self) -> &[Dependency] {
        &self.model.dependencies
    }

    /// Beds and staff of every service.
    pub fn services(&self) -> &[ServiceCapacity] {
        &self.model.services
    }

    /// Beds and staff of one service.
    pub fn capacity_of(&self, service: &str) -> Option<&ServiceCapacity> {
        self.index
            .services
            .get(service)
            .map(|&i| &self.model.services[i])
    }

    /// Every BMS point.
    pub fn bms_points(&self) -> &[BmsPoint] {
        &self.model.bms_points
    }

    /// The BMS point with this id.
    pub fn bms_point(&self, id: &str) -> Option<&BmsPoint> {
        self.index
            .points
            .get(id)
            .map(|&i| &self.model.bms_points[i])
    }

    /// Whether schedule `id` is on at local time `at`; `None` for an unknown schedule.
    pub fn schedule_is_open(&self, id: &str, at: NaiveDateTime) -> Option<bool> {
        Some(self.index.schedules.get(id)?.is_open(at))
    }

    fn info(&self, found: Option<&usize>) -> Option<&AssetInfo> {
        found.map(|&i| &self.index.infos[i])
    }

    fn links<'s>(&'s self, asset: &str, table: &'s [Vec<LinkRef>]) -> Vec<Link<'s>> {
        let Some(&i) = self.index.assets.get(asset) else {
            return Vec::new();
        };
        table[i]
            .iter()
            .map(|l| Link {
                dependency: &self.model.dependencies[l.dependency as usize],
                from: &self.model.assets[l.from as usize],
                to: &self.model.assets[l.to as usize],
            })
            .collect()
    }
}

impl AssetDirectory for Site {
    fn by_id(&self, id: &str) -> Option<&AssetInfo> {
        self.info(self.index.assets.get(id))
    }

    fn by_ip(&self, ip: IpAddr) -> Option<&AssetInfo> {
        self.info(self.index.ip.get(&ip))
    }

    fn by_mac(&self, mac: &str) -> Option<&AssetInfo> {
        if let Some(found) = self.index.mac.get(mac) {
            return self.info(Some(found));
        }
        let normalized = normalize_mac(mac).ok()?;
        self.info(self.index.mac.get(&normalized))
    }

    fn by_hostname(&self, name: &str) -> Option<&AssetInfo> {
        self.info(self.index.hostname.get(&hostname_key(name)))
    }
}

fn too_large(file: &str, size: u64) -> SiteError {
    SiteError::TooLarge {
        file: file.to_string(),
        size,
        max: MAX_SITE_BYTES,
    }
}

/// Turns a YAML or structure error into a located [`SiteError::Syntax`].
fn syntax_error(file: &str, err: &serde_yaml_ng::Error) -> SiteError {
    let (line, column) = err.location().map_or((1, 1), |l| (l.line(), l.column()));
    let text = err.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let (field, message) = match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_string(), rest.to_string()),
        _ => (String::new(), text.to_string()),
    };
    let message = if field.is_empty() {
        message
    } else {
        format!("{field}: {message}")
    };
    let fix = syntax_fix(&message).to_string();
    SiteError::Syntax {
        file: file.to_string(),
        line,
        column,
        field,
        message,
        fix,
    }
}

fn syntax_fix(message: &str) -> &'static str {
    if message.contains("unknown field") {
        "check the spelling of the key against the allowed fields listed"
    } else if message.contains("unknown variant") {
        "use one of the values listed"
    } else if message.contains("missing field") {
        "add the missing field to this item"
    } else if message.contains("invalid type") || message.contains("invalid value") {
        "write the value in the expected form"
    } else {
        "check the YAML: indent with spaces, write `key: value`, start list items with `- `"
    }
}

/// Locates every finding in the text and sorts them by line.
fn invalid(file: &str, text: &str, findings: validate::Findings) -> SiteError {
    let finder = LineFinder::new(text);
    let mut problems: Vec<Problem> = findings
        .found
        .into_iter()
        .map(|finding| {
            let mut problem = finding.problem;
            problem.line = finder.locate(&finding.anchor);
            problem
        })
        .collect();
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    SiteError::Invalid {
        file: file.to_string(),
        problems,
        total: findings.total,
    }
}
