//! Dense indexes and names of the core enums the rule table is keyed on.
//!
//! The rule table is a flat array indexed by threat class, asset type and dependency kind;
//! these functions give each enum value its slot. A new variant in `safecare-core` fails to
//! compile here, which is the point: the table must grow with it.

use safecare_core::IncidentType;
use safecare_core::site::{AssetType, DependencyKind};
use serde::{Deserialize, Serialize};

/// Every threat class (incident type), in slot order.
pub const CLASSES: [IncidentType; 10] = [
    IncidentType::Intrusion,
    IncidentType::Theft,
    IncidentType::Ransomware,
    IncidentType::Malware,
    IncidentType::DataManipulation,
    IncidentType::DenialOfService,
    IncidentType::Fire,
    IncidentType::Sabotage,
    IncidentType::PowerFailure,
    IncidentType::Other,
];

/// Every asset type, in slot order.
pub const ASSET_TYPES: [AssetType; 13] = [
    AssetType::Service,
    AssetType::Operation,
    AssetType::Building,
    AssetType::Room,
    AssetType::Network,
    AssetType::Staff,
    AssetType::Computer,
    AssetType::MedicalDevice,
    AssetType::BuildingDevice,
    AssetType::Controller,
    AssetType::Software,
    AssetType::Data,
    AssetType::AccessPoint,
];

/// Every dependency kind, in slot order.
pub const KINDS: [DependencyKind; 5] = [
    DependencyKind::DependsOn,
    DependencyKind::LeadsTo,
    DependencyKind::Hosts,
    DependencyKind::Controls,
    DependencyKind::PartOf,
];

/// Slot of a threat class.
pub fn class_slot(class: IncidentType) -> usize {
    match class {
        IncidentType::Intrusion => 0,
        IncidentType::Theft => 1,
        IncidentType::Ransomware => 2,
        IncidentType::Malware => 3,
        IncidentType::DataManipulation => 4,
        IncidentType::DenialOfService => 5,
        IncidentType::Fire => 6,
        IncidentType::Sabotage => 7,
        IncidentType::PowerFailure => 8,
        IncidentType::Other => 9,
    }
}

/// Slot of an asset type.
pub fn type_slot(asset_type: AssetType) -> usize {
    match asset_type {
        AssetType::Service => 0,
        AssetType::Operation => 1,
        AssetType::Building => 2,
        AssetType::Room => 3,
        AssetType::Network => 4,
        AssetType::Staff => 5,
        AssetType::Computer => 6,
        AssetType::MedicalDevice => 7,
        AssetType::BuildingDevice => 8,
        AssetType::Controller => 9,
        AssetType::Software => 10,
        AssetType::Data => 11,
        AssetType::AccessPoint => 12,
    }
}

/// Slot of a dependency kind.
pub fn kind_slot(kind: DependencyKind) -> usize {
    match kind {
        DependencyKind::DependsOn => 0,
        DependencyKind::LeadsTo => 1,
        DependencyKind::Hosts => 2,
        DependencyKind::Controls => 3,
        DependencyKind::PartOf => 4,
    }
}

/// The threat class written as in site and rule files, e.g. `power_failure`.
pub fn parse_class(name: &str) -> Option<IncidentType> {
    CLASSES.into_iter().find(|c| c.as_str() == name)
}

/// The asset type written as in site files, e.g. `building_device`.
pub fn parse_asset_type(name: &str) -> Option<AssetType> {
    ASSET_TYPES.into_iter().find(|t| t.as_str() == name)
}

/// The dependency kind written as in site files, e.g. `depends_on`.
pub fn parse_kind(name: &str) -> Option<DependencyKind> {
    KINDS.into_iter().find(|k| k.as_str() == name)
}

/// Which side of the hospital an asset type belongs to, for the four propagation
/// directions (cyber->cyber, cyber->physical, physical->physical, physical->cyber).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Networks, computers, software, data, controllers and networked medical devices.
    Cyber,
    /// Buildings, rooms, building devices, doors and sensors, people.
    Physical,
    /// Clinical services and operations: where harm is counted.
    Service,
}

impl Domain {
    /// The snake_case name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Cyber => "cyber",
            Domain::Physical => "physical",
            Domain::Service => "service",
        }
    }
}

/// The domain of an asset type.
pub fn domain_of(asset_type: AssetType) -> Domain {
    match asset_type {
        AssetType::Network
        | AssetType::Computer
        | AssetType::Software
        | AssetType::Data
        | AssetType::Controller
        | AssetType::MedicalDevice => Domain::Cyber,
        AssetType::Building
        | AssetType::Room
        | AssetType::BuildingDevice
        | AssetType::AccessPoint
        | AssetType::Staff => Domain::Physical,
        AssetType::Service | AssetType::Operation => Domain::Service,
    }
}

/// Names accepted where a list of incident types is expected.
pub fn class_names() -> String {
    CLASSES.map(|c| c.as_str()).join(", ")
}

/// Names accepted where a list of asset types is expected.
pub fn asset_type_names() -> String {
    ASSET_TYPES.map(|t| t.as_str()).join(", ")
}

/// Names accepted where a list of dependency kinds is expected.
pub fn kind_names() -> String {
    KINDS.map(|k| k.as_str()).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_dense_and_match_the_lists() {
        for (i, class) in CLASSES.iter().enumerate() {
            assert_eq!(class_slot(*class), i);
            assert_eq!(parse_class(class.as_str()), Some(*class));
        }
        for (i, asset_type) in ASSET_TYPES.iter().enumerate() {
            assert_eq!(type_slot(*asset_type), i);
            assert_eq!(parse_asset_type(asset_type.as_str()), Some(*asset_type));
        }
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(kind_slot(*kind), i);
            assert_eq!(parse_kind(kind.as_str()), Some(*kind));
        }
    }
}
