//! The site file as written by a hospital engineer: plain serde types, one per YAML section.
//!
//! Every section but `id` and `name` is optional, so a site can start small (a few assets)
//! and grow floor plans, services, schedules and BMS points later. Unknown fields are
//! refused, so a misspelt key is reported instead of silently ignored.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::delay::Delay;
use super::one_or_many;
use crate::incident::IncidentType;

/// A floor-plan polygon: corners in metres, `[x, y]`, in drawing order.
pub type Polygon = Vec<[f64; 2]>;

/// One hospital, as written in its site file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteModel {
    /// Site id, e.g. `general-hospital`.
    pub id: String,
    /// Human name, e.g. "St. Aurelia General Hospital".
    pub name: String,
    /// IANA time zone the schedules are written in, e.g. `Europe/Brussels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Weekly opening or working hours, referred to by zones, services and device profiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
    /// Buildings with their floors, zones and rooms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buildings: Vec<Building>,
    /// Everything the impact model, the detectors and the operators reason about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<Asset>,
    /// Typed links between assets: `from <kind> to`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// Beds and staff of the clinical services (assets of type `service`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceCapacity>,
    /// BMS points with their safe bounds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bms_points: Vec<BmsPoint>,
}

/// A building and its floors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Building {
    /// Building id, e.g. `main`.
    pub id: String,
    /// Human name, e.g. "Main building".
    pub name: String,
    /// Street address, for reports to the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Floors, any order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floors: Vec<Floor>,
}

/// A floor: its outline and its zones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Floor {
    /// Floor id, e.g. `main-1`.
    pub id: String,
    /// Human name, e.g. "First floor".
    pub name: String,
    /// Storey number: 0 ground, -1 basement, 1 first floor.
    #[serde(default)]
    pub level: i32,
    /// Outline of the floor in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Polygon>,
    /// Zones on this floor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<Zone>,
}

/// A zone: the unit of location that detectors report and correlation keys on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Zone id, e.g. `pharmacy`: the id events carry in `location.zone`.
    pub id: String,
    /// Human name, e.g. "Pharmacy".
    pub name: String,
    /// Outline in metres, in the floor's coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Polygon>,
    /// Only authorised people may enter; entries outside schedule are findings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restricted: bool,
    /// Most people allowed in the zone at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Schedule id: when the zone is normally occupied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Staff asset ids allowed into a restricted zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized: Vec<String>,
    /// Rooms inside the zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<Room>,
}

/// A room inside a zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Room {
    /// Room id, e.g. `or-1`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Outline in metres, in the floor's coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Polygon>,
}

/// The asset types of DESIGN.md section 5.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AssetType {
    /// A clinical service, e.g. intensive care.
    Service,
    /// A process or activity of a service, e.g. scheduled surgery.
    Operation,
    /// A building as an asset of the impact model.
    Building,
    /// A room as an asset of the impact model.
    Room,
    /// A network segment; give its block in `identities.cidr`.
    Network,
    /// A person or role; give the account in `identities.user`.
    Staff,
    /// A workstation or server.
    Computer,
    /// A modality, monitor, pump or analyser.
    MedicalDevice,
    /// Power, HVAC, freezers, sensors.
    BuildingDevice,
    /// A BMS controller, PLC or fire panel.
    Controller,
    /// An application, e.g. the EHR or PACS.
    Software,
    /// A data set, e.g. patient records.
    Data,
    /// A door, camera or detector.
    AccessPoint,
}

impl AssetType {
    /// The snake_case name used in site files and in [`crate::AssetInfo::asset_type`].
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Service => "service",
            AssetType::Operation => "operation",
            AssetType::Building => "building",
            AssetType::Room => "room",
            AssetType::Network => "network",
            AssetType::Staff => "staff",
            AssetType::Computer => "computer",
            AssetType::MedicalDevice => "medical_device",
            AssetType::BuildingDevice => "building_device",
            AssetType::Controller => "controller",
            AssetType::Software => "software",
            AssetType::Data => "data",
            AssetType::AccessPoint => "access_point",
        }
    }
}

/// One asset: a device, a piece of software, a service, a person, a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Asset id, e.g. `pacs-server`: the id events carry in `asset`.
    pub id: String,
    /// Human name, e.g. "PACS archive server".
    pub name: String,
    /// One of the asset types, written `type:` in the file.
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    /// Finer kind, as one snake_case word: `door`, `camera`, `smoke_detector`, `keypad`,
    /// `air_handling_unit`, `ct_scanner`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// Free text for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Manufacturer, for vulnerability look-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product model, for vulnerability look-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Zone id where the asset stands (or works, for staff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Room id inside `zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// How the asset shows up on the wire and in logs.
    #[serde(default, skip_serializing_if = "Identities::is_empty")]
    pub identities: Identities,
    /// Protection degree per threat class, 0.0 (none) to 1.0 (stops propagation).
    #[serde(default, skip_serializing_if = "Protection::is_empty")]
    pub protection: Protection,
    /// Peers the asset may talk to: asset ids, IP addresses or CIDR blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_peers: Vec<String>,
    /// What normal use of the device looks like, for log analytics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<DeviceProfile>,
    /// Credential readers of a door: `badge`, `keypad`, `biometric`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
    /// Zones a camera or sensor covers, when not only its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watches: Vec<String>,
}

impl Asset {
    /// A bare asset of a type, for building sites in code.
    pub fn new(id: impl Into<String>, name: impl Into<String>, asset_type: AssetType) -> Self {
        Asset {
            id: id.into(),
            name: name.into(),
            asset_type,
            subtype: None,
            description: None,
            vendor: None,
            model: None,
            zone: None,
            room: None,
            identities: Identities::default(),
            protection: Protection::default(),
            allowed_peers: Vec::new(),
            profile: None,
            readers: Vec::new(),
            watches: Vec::new(),
        }
    }
}

/// The identities of an asset on networks and in logs; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identities {
    /// One address or a list, IPv4 or IPv6.
    #[serde(default, with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "one_or_many::schema")]
    pub ip: Vec<String>,
    /// One MAC or a list, `aa:bb:cc:dd:ee:ff` (dashes and capitals accepted).
    #[serde(default, with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "one_or_many::schema")]
    pub mac: Vec<String>,
    /// Host name without domain; matched case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// For assets of type `network`: the address block, e.g. `10.20.0.0/16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// Modbus unit id, reached at the asset's own IP or through `modbus_gateway`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modbus_unit: Option<u8>,
    /// Asset id of the Modbus/TCP gateway or PLC this unit is read through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modbus_gateway: Option<String>,
    /// BACnet device instance, 0 to 4194302.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bacnet_device: Option<u32>,
    /// DICOM application entity title, at most 16 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dicom_ae: Option<String>,
    /// Account name of a person (assets of type `staff`), e.g. `n.jansen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Identities {
    /// True when no identity is set.
    pub fn is_empty(&self) -> bool {
        *self == Identities::default()
    }
}

/// Protection degrees per threat class (the incident types), 0.0 to 1.0.
///
/// `default` applies to the classes not listed; unset everywhere means 0.0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Protection {
    /// For every class not listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub default: Option<f64>,
    /// Against unauthorised entry, cyber or physical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub intrusion: Option<f64>,
    /// Against theft of equipment, drugs or data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub theft: Option<f64>,
    /// Against ransomware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ransomware: Option<f64>,
    /// Against other malware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub malware: Option<f64>,
    /// Against tampering with data or setpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub data_manipulation: Option<f64>,
    /// Against flooding or exhaustion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub denial_of_service: Option<f64>,
    /// Against fire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub fire: Option<f64>,
    /// Against deliberate physical damage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub sabotage: Option<f64>,
    /// Against loss of mains power.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub power_failure: Option<f64>,
    /// Against other threats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub other: Option<f64>,
}

impl Protection {
    /// True when no degree is set.
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// The degree against one threat class: its own, else `default`, else 0.0.
    pub fn degree(&self, threat: IncidentType) -> f64 {
        let own = match threat {
            IncidentType::Intrusion => self.intrusion,
            IncidentType::Theft => self.theft,
            IncidentType::Ransomware => self.ransomware,
            IncidentType::Malware => self.malware,
            IncidentType::DataManipulation => self.data_manipulation,
            IncidentType::DenialOfService => self.denial_of_service,
            IncidentType::Fire => self.fire,
            IncidentType::Sabotage => self.sabotage,
            IncidentType::PowerFailure => self.power_failure,
            IncidentType::Other => self.other,
        };
        own.or(self.default).unwrap_or(0.0)
    }

    /// The degrees that are set, by field name.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, f64)> {
        [
            ("default", self.default),
            ("intrusion", self.intrusion),
            ("theft", self.theft),
            ("ransomware", self.ransomware),
            ("malware", self.malware),
            ("data_manipulation", self.data_manipulation),
            ("denial_of_service", self.denial_of_service),
            ("fire", self.fire),
            ("sabotage", self.sabotage),
            ("power_failure", self.power_failure),
            ("other", self.other),
        ]
        .into_iter()
        .filter_map(|(name, degree)| degree.map(|d| (name, d)))
    }
}

/// What normal use of a device looks like, for the log analytics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    /// Account the device logs on with by itself (kiosk or modality account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_logon_account: Option<String>,
    /// Schedule id: when the device is normally used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<String>,
    /// Accounts expected to log on interactively.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
}

/// How one asset relates to others; each statement reads `from <kind> to`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// `from` needs `to` to operate: harm to `to` reaches `from`.
    DependsOn,
    /// `from` gives access to or talks to `to`: harm to `from` reaches `to`.
    LeadsTo,
    /// `from` runs `to` (a server hosts software): harm to `from` reaches `to`.
    Hosts,
    /// `from` commands `to` (a controller drives a device): harm to `from` reaches `to`.
    Controls,
    /// `from` is a part of `to`: harm to the part reaches the whole.
    PartOf,
}

impl DependencyKind {
    /// The snake_case name used in site files.
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::DependsOn => "depends_on",
            DependencyKind::LeadsTo => "leads_to",
            DependencyKind::Hosts => "hosts",
            DependencyKind::Controls => "controls",
            DependencyKind::PartOf => "part_of",
        }
    }

    /// True when harm travels from `from` to `to`; false for `depends_on`, where it
    /// travels from `to` back to `from`.
    pub fn harm_flows_forward(self) -> bool {
        self != DependencyKind::DependsOn
    }
}

/// One dependency statement: `from <kind> to`, where `to` may list redundant assets.
///
/// With several targets and `needed: k`, `from` keeps working while `k` of them do
/// (k-of-n redundancy); without `needed`, every target is needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// Asset id the statement starts at.
    pub from: String,
    /// One asset id or a list (a redundancy group with `needed`).
    #[serde(with = "one_or_many")]
    #[schemars(schema_with = "one_or_many::schema")]
    pub to: Vec<String>,
    /// How `from` relates to `to`.
    pub kind: DependencyKind,
    /// How many of `to` must work for `from` to work (k of n).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed: Option<u32>,
    /// How long before harm to one end is felt at the other, e.g. `30m`, `2h`, `1d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Why the link exists, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Dependency {
    /// A plain statement `from <kind> to` without redundancy or delay.
    pub fn new(from: impl Into<String>, kind: DependencyKind, to: impl Into<String>) -> Self {
        Dependency {
            from: from.into(),
            to: vec![to.into()],
            kind,
            needed: None,
            delay: None,
            note: None,
        }
    }

    /// How many of the targets must work (k of n); all of them unless `needed` says less.
    pub fn required(&self) -> usize {
        let all = self.to.len();
        self.needed.map_or(all, |k| (k as usize).min(all))
    }

    /// True when fewer targets are needed than listed.
    pub fn is_redundant(&self) -> bool {
        self.required() < self.to.len()
    }
}

/// Bed types of EDXL-HAVE 1.0 (`BedType` values of `HospitalBedCapacityStatus`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum BedType {
    /// Adult intensive care.
    AdultICU,
    /// Paediatric intensive care.
    PediatricICU,
    /// Neonatal intensive care.
    NeonatalICU,
    /// Emergency department beds.
    EmergencyDepartment,
    /// Nursery beds.
    NurseryBeds,
    /// Medical and surgical ward beds.
    MedicalSurgical,
    /// Rehabilitation and long-term care.
    RehabLongTermCare,
    /// Burn unit.
    Burn,
    /// Paediatric ward beds.
    Pediatrics,
    /// Adult psychiatric beds (also written `Psychiatric`).
    #[serde(alias = "Psychiatric")]
    AdultPsychiatric,
    /// Paediatric psychiatric beds.
    PediatricPsychiatric,
    /// Negative air-flow isolation rooms.
    NegativeFlowIsolation,
    /// Other isolation rooms.
    OtherIsolation,
    /// Operating rooms.
    OperatingRooms,
}

impl BedType {
    /// The EDXL-HAVE name.
    pub fn as_str(self) -> &'static str {
        match self {
            BedType::AdultICU => "AdultICU",
            BedType::PediatricICU => "PediatricICU",
            BedType::NeonatalICU => "NeonatalICU",
            BedType::EmergencyDepartment => "EmergencyDepartment",
            BedType::NurseryBeds => "NurseryBeds",
            BedType::MedicalSurgical => "MedicalSurgical",
            BedType::RehabLongTermCare => "RehabLongTermCare",
            BedType::Burn => "Burn",
            BedType::Pediatrics => "Pediatrics",
            BedType::AdultPsychiatric => "AdultPsychiatric",
            BedType::PediatricPsychiatric => "PediatricPsychiatric",
            BedType::NegativeFlowIsolation => "NegativeFlowIsolation",
            BedType::OtherIsolation => "OtherIsolation",
            BedType::OperatingRooms => "OperatingRooms",
        }
    }
}

/// Beds and staff of one clinical service at full capacity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCapacity {
    /// Asset id of the service (type `service`).
    pub service: String,
    /// Beds per EDXL-HAVE bed type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "beds_schema")]
    pub beds: BTreeMap<BedType, u32>,
    /// Staff on duty per role, e.g. `nurse: 24`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub staff: BTreeMap<String, u32>,
    /// Schedule id: opening hours, when the service is not open around the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// Weekly hours, e.g. administration office hours or pharmacy staffing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Schedule id, e.g. `office-hours`.
    pub id: String,
    /// Human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Periods when the schedule is "on"; outside them it is "off".
    pub open: Vec<Period>,
}

/// One weekly period: `days: mon-fri`, `hours: "07:00-19:00"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Days: `mon-fri`, `sat,sun`, `daily`.
    pub days: String,
    /// Local hours, `HH:MM-HH:MM`; an end before the start runs past midnight.
    pub hours: String,
}

/// One BMS point (sensor reading or setpoint) and the bounds it must stay within.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BmsPoint {
    /// Point id, e.g. `or-temperature`.
    pub id: String,
    /// Human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Asset the point belongs to (the sensor, the air handling unit, the freezer).
    pub asset: String,
    /// What is measured or set: `temperature`, `humidity`, `pressure`, ...
    pub quantity: String,
    /// Unit of the value: `C`, `%`, `Pa`, ...
    pub unit: String,
    /// Lowest safe value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest safe value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// True for a setpoint that can be written over the network.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writable: bool,
    /// Controller asset id the point is read or written through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// BACnet object, e.g. `analog-value:3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bacnet_object: Option<String>,
    /// Modbus register address (holding or input register).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modbus_register: Option<u16>,
}

impl BmsPoint {
    /// True when `value` lies within the point's safe bounds.
    pub fn is_safe(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// Bed counts keyed by bed type: the keys are checked against [`BedType`].
fn beds_schema(generator: &mut SchemaGenerator) -> Schema {
    let bed_type = generator.subschema_for::<BedType>();
    json_schema!({
        "type": "object",
        "propertyNames": bed_type,
        "additionalProperties": { "type": "integer", "minimum": 0 }
    })
}
