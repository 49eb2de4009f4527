//! The scenarios shipped with SafeCare, built into the binary.

use safecare_core::scenario::Scenario;

/// Name and YAML text of every shipped scenario, in the order the demo plays them.
pub const SHIPPED: [(&str, &str); 3] = [
    (
        "vaccine-theft.yaml",
        include_str!("../../../scenarios/vaccine-theft.yaml"),
    ),
    (
        "pacs-ransomware.yaml",
        include_str!("../../../scenarios/pacs-ransomware.yaml"),
    ),
    (
        "or-ahu-tampering.yaml",
        include_str!("../../../scenarios/or-ahu-tampering.yaml"),
    ),
];

/// Parses the shipped scenarios; they are tested, so an error here is a build defect.
pub fn shipped() -> anyhow::Result<Vec<Scenario>> {
    SHIPPED
        .iter()
        .map(|(name, text)| Scenario::from_yaml(text, name).map_err(anyhow::Error::from))
        .collect()
}
