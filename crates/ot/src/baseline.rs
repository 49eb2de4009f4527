//! The learned allowlist: who talks to which Modbus unit or BACnet device, with which
//! function codes or services, writing which registers or objects in which ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bacnet::{self, Service};
use crate::transaction::{Detail, Transaction};

/// The baseline file format version this crate writes and reads.
pub const VERSION: u32 = 1;

/// Why a baseline could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("could not read OT baseline {path}: {source}; write one with `safecare ot learn`")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file is not a baseline.
    #[error("OT baseline {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    /// The file was written by another format version.
    #[error("OT baseline {path} has version {found}, this build reads {VERSION}: learn it again")]
    Version { path: String, found: u32 },
    /// The file could not be written.
    #[error("could not write OT baseline {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Lowest and highest value seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueRange {
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
}

impl ValueRange {
    fn widen(range: &mut Option<ValueRange>, value: f64) {
        let r = range.get_or_insert(ValueRange {
            min: value,
            max: value,
        });
        r.min = r.min.min(value);
        r.max = r.max.max(value);
    }

    /// True when `value` lies in the range.
    pub fn contains(&self, value: f64) -> bool {
        (self.min..=self.max).contains(&value)
    }
}

/// What one Modbus unit (server address and unit id) was seen doing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnitProfile {
    /// Clients that sent it anything.
    pub clients: BTreeSet<String>,
    /// Clients that wrote to it.
    pub writers: BTreeSet<String>,
    /// Function codes it received.
    pub functions: BTreeSet<u8>,
    /// Written values per `coil:N` or `register:N`.
    pub written: BTreeMap<String, ValueRange>,
}

/// What one BACnet device (by address) was seen receiving.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceProfile {
    /// Addresses that sent it anything.
    pub clients: BTreeSet<String>,
    /// Addresses that wrote to it.
    pub writers: BTreeSet<String>,
    /// Service names it received.
    pub services: BTreeSet<String>,
    /// Written values per `object/property`, e.g. `analog-value:1/present-value`.
    pub written: BTreeMap<String, ValueRange>,
}

/// The learned allowlist of a BMS network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The file format version, [`VERSION`].
    pub version: u32,
    /// Modbus units by `ip/unit`.
    pub modbus: BTreeMap<String, UnitProfile>,
    /// BACnet devices by destination address.
    pub bacnet: BTreeMap<String, DeviceProfile>,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            version: VERSION,
            modbus: BTreeMap::new(),
            bacnet: BTreeMap::new(),
        }
    }
}

impl Baseline {
    /// Records one transaction of normal traffic.
    pub fn learn(&mut self, t: &Transaction) {
        let client = t.client.to_string();
        match &t.detail {
            Detail::Modbus(x) => {
                let Some(request) = &x.request else { return };
                let unit = self
                    .modbus
                    .entry(unit_key(t.server, x.unit_id))
                    .or_default();
                unit.clients.insert(client.clone());
                unit.functions.insert(x.function);
                if request.is_write() {
                    unit.writers.insert(client);
                    for (key, value) in modbus_writes(request) {
                        let mut range = unit.written.get(&key).copied();
                        ValueRange::widen(&mut range, value);
                        unit.written.extend(range.map(|r| (key, r)));
                    }
                }
            }
            Detail::Bacnet(x) => {
                let Some(apdu) = x.apdu().filter(|a| a.is_request()) else {
                    return;
                };
                let device = self.bacnet.entry(t.server.to_string()).or_default();
                device.clients.insert(client.clone());
                device
                    .services
                    .insert(apdu.service_name.unwrap_or("unknown").to_string());
                if is_bacnet_write(apdu) {
                    device.writers.insert(client);
                    for (key, value) in bacnet_writes(&apdu.service) {
                        let mut range = device.written.get(&key).copied();
                        ValueRange::widen(&mut range, value);
                        device.written.extend(range.map(|r| (key, r)));
                    }
                }
            }
        }
    }

    /// Reads a baseline written by [`Baseline::save`].
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let name = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| BaselineError::Read {
            path: name.clone(),
            source,
        })?;
        let baseline: Baseline =
            serde_json::from_slice(&text).map_err(|source| BaselineError::Parse {
                path: name.clone(),
                source,
            })?;
        if baseline.version != VERSION {
            return Err(BaselineError::Version {
                path: name,
                found: baseline.version,
            });
        }
        Ok(baseline)
    }

    /// Writes the baseline as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let write = |source| BaselineError::Write {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(self)
            .map_err(std::io::Error::other)
            .map_err(write)?;
        std::fs::write(path, json).map_err(write)
    }
}

/// The key of a Modbus unit in the baseline.
pub fn unit_key(server: std::net::IpAddr, unit: u8) -> String {
    format!("{server}/{unit}")
}

/// The coils or registers a Modbus request writes, keyed `coil:N` or `register:N`.
/// Register values are read as signed 16-bit integers, the usual encoding of
/// temperatures and other setpoints that go below zero.
pub fn modbus_writes(request: &crate::modbus::Pdu) -> Vec<(String, f64)> {
    use crate::modbus::Body;
    let coils = |address: u16, values: &[u16]| {
        (0u16..)
            .zip(values)
            .map(|(i, v)| (format!("coil:{}", address.wrapping_add(i)), f64::from(*v)))
            .collect()
    };
    match (&request.function, &request.body) {
        (5, Body::WriteSingle { address, value }) => {
            vec![(
                format!("coil:{address}"),
                f64::from(u16::from(*value == 0xff00)),
            )]
        }
        (
            15,
            Body::WriteMultiple {
                address, values, ..
            },
        ) => coils(*address, values),
        _ => request
            .written_registers()
            .into_iter()
            .map(|(a, v)| (format!("register:{a}"), f64::from(v as i16)))
            .collect(),
    }
}

/// True for BACnet services that change a device (writes of properties).
pub fn is_bacnet_write(apdu: &bacnet::Apdu) -> bool {
    apdu.pdu_type == bacnet::PduType::ConfirmedRequest
        && matches!(apdu.service_choice, Some(15 | 16))
}

/// The numeric values a BACnet write sets, keyed `object/property`.
pub fn bacnet_writes(service: &Service) -> Vec<(String, f64)> {
    let Service::Properties { refs } = service else {
        return Vec::new();
    };
    refs.iter()
        .filter_map(|r| {
            let key = format!("{}/{}", r.object, bacnet::names::property(r.property));
            r.value.map(|v| (key, v))
        })
        .collect()
}
