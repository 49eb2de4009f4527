//! Lookup tables built once at load: assets by id and by every identity, zones, links.

use std::net::IpAddr;

use super::hash::FastMap as HashMap;
use super::model::{AssetType, SiteModel};
use super::net::{Cidr, hostname_key, normalize_mac};
use super::schedule::WeeklyHours;
use crate::directory::AssetInfo;
use crate::event::Location;

/// Where a zone sits: building and floor ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZonePlace {
    pub building: String,
    pub floor: String,
    /// Index path into the model: building, floor, zone.
    pub path: (usize, usize, usize),
}

/// One directed link: dependency statement `dependency`, from asset `from` to asset `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkRef {
    pub dependency: u32,
    pub from: u32,
    pub to: u32,
}

/// Every index of a site. Entries that do not parse are skipped: validation reports them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    pub assets: HashMap<String, usize>,
    pub infos: Vec<AssetInfo>,
    pub ip: HashMap<IpAddr, usize>,
    pub mac: HashMap<String, usize>,
    pub hostname: HashMap<String, usize>,
    pub user: HashMap<String, usize>,
    pub modbus: HashMap<(IpAddr, u8), usize>,
    pub bacnet: HashMap<u32, usize>,
    pub dicom_ae: HashMap<String, usize>,
    /// Networks with a CIDR block, most specific first.
    pub networks: Vec<(Cidr, usize)>,
    pub zones: HashMap<String, ZonePlace>,
    /// Room id -> zone id.
    pub rooms: HashMap<String, String>,
    pub zone_assets: HashMap<String, Vec<usize>>,
    pub outgoing: Vec<Vec<LinkRef>>,
    pub incoming: Vec<Vec<LinkRef>>,
    pub schedules: HashMap<String, WeeklyHours>,
    pub points: HashMap<String, usize>,
    pub services: HashMap<String, usize>,
}

impl Index {
    /// Builds every index of a model in one pass over each section.
    pub fn build(model: &SiteModel) -> Index {
        let mut index = Index::default();
        index.add_places(model);
        index.add_assets(model);
        index.add_identities(model);
        index.add_links(model);
        index.add_sections(model);
        index
    }

    fn add_places(&mut self, model: &SiteModel) {
        for (b, building) in model.buildings.iter().enumerate() {
            for (f, floor) in building.floors.iter().enumerate() {
                for (z, zone) in floor.zones.iter().enumerate() {
                    let place = ZonePlace {
                        building: building.id.clone(),
                        floor: floor.id.clone(),
                        path: (b, f, z),
                    };
                    self.zones.insert(zone.id.clone(), place);
                    for room in &zone.rooms {
                        self.rooms.insert(room.id.clone(), zone.id.clone());
                    }
                }
            }
        }
    }

    fn add_assets(&mut self, model: &SiteModel) {
        let count = model.assets.len();
        self.infos.reserve(count);
        self.assets.reserve(count);
        self.ip.reserve(count);
        self.mac.reserve(count);
        self.hostname.reserve(count);
        for (i, asset) in model.assets.iter().enumerate() {
            self.assets.entry(asset.id.clone()).or_insert(i);

            let zone = asset.zone.clone().or_else(|| {
                let room = asset.room.as_ref()?;
                self.rooms.get(room).cloned()
            });
            let place = zone.as_ref().and_then(|z| self.zones.get(z));
            let location = Location {
                building: place.map(|p| p.building.clone()),
                floor: place.map(|p| p.floor.clone()),
                zone: zone.clone(),
                room: asset.room.clone(),
            };
            if let Some(zone) = zone {
                self.zone_assets.entry(zone).or_default().push(i);
            }

            self.infos.push(AssetInfo {
                id: asset.id.clone(),
                name: asset.name.clone(),
                asset_type: asset.asset_type.as_str().to_string(),
                location,
                allowed_peers: asset.allowed_peers.clone(),
            });
        }
    }

    fn add_identities(&mut self, model: &SiteModel) {
        for (i, asset) in model.assets.iter().enumerate() {
            let ids = &asset.identities;
            for ip in ids.ip.iter().filter_map(|ip| ip.parse().ok()) {
                self.ip.entry(ip).or_insert(i);
            }
            for mac in ids.mac.iter().filter_map(|m| normalize_mac(m).ok()) {
                self.mac.entry(mac).or_insert(i);
            }
            if let Some(name) = &ids.hostname {
                self.hostname.entry(hostname_key(name)).or_insert(i);
            }
            if let Some(user) = &ids.user {
                self.user.entry(user.to_ascii_lowercase()).or_insert(i);
            }
            if let Some(device) = ids.bacnet_device {
                self.bacnet.entry(device).or_insert(i);
            }
            if let Some(ae) = &ids.dicom_ae {
                self.dicom_ae.entry(ae.trim().to_string()).or_insert(i);
            }
            let cidr = ids.cidr.as_deref().and_then(|c| Cidr::parse(c).ok());
            if let (AssetType::Network, Some(cidr)) = (asset.asset_type, cidr) {
                self.networks.push((cidr, i));
            }
        }
        self.networks
            .sort_by_key(|(cidr, _)| std::cmp::Reverse(cidr.prefix()));

        // Modbus units resolve after all IPs are known, because of gateways.
        for (i, asset) in model.assets.iter().enumerate() {
            let ids = &asset.identities;
            let Some(unit) = ids.modbus_unit else {
                continue;
            };
            let host = match &ids.modbus_gateway {
                Some(gateway) => self.assets.get(gateway).map(|g| &model.assets[*g]),
                None => Some(asset),
            };
            let host_ip = host.and_then(|h| h.identities.ip.iter().find_map(|ip| ip.parse().ok()));
            if let Some(ip) = host_ip {
                self.modbus.entry((ip, unit)).or_insert(i);
            }
        }
    }

    fn add_links(&mut self, model: &SiteModel) {
        self.outgoing = vec![Vec::new(); model.assets.len()];
        self.incoming = vec![Vec::new(); model.assets.len()];
        for (d, dependency) in model.dependencies.iter().enumerate() {
            let Some(&from) = self.assets.get(&dependency.from) else {
                continue;
            };
            for to in &dependency.to {
                let Some(&to) = self.assets.get(to) else {
                    continue;
                };
                let link = LinkRef {
                    dependency: d as u32,
                    from: from as u32,
                    to: to as u32,
                };
                self.outgoing[from].push(link);
                self.incoming[to].push(link);
            }
        }
    }

    fn add_sections(&mut self, model: &SiteModel) {
        for schedule in &model.schedules {
            if let Ok(hours) = WeeklyHours::parse(schedule) {
                self.schedules.insert(schedule.id.clone(), hours);
            }
        }
        for (i, point) in model.bms_points.iter().enumerate() {
            self.points.entry(point.id.clone()).or_insert(i);
        }
        for (i, capacity) in model.services.iter().enumerate() {
            self.services.entry(capacity.service.clone()).or_insert(i);
        }
    }
}
