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

/// The captures the shipped scenarios' `capture:` steps name, as written in the steps
/// (relative to `scenarios/`), built into the binary with them.
pub const SHIPPED_CAPTURES: [(&str, &[u8]); 2] = [
    (
        "captures/bms-normal.pcap",
        include_bytes!("../../../scenarios/captures/bms-normal.pcap"),
    ),
    (
        "captures/or-ahu-tampering.pcap",
        include_bytes!("../../../scenarios/captures/or-ahu-tampering.pcap"),
    ),
];

/// The bytes of a shipped capture, by the name a scenario step gives it.
pub fn shipped_capture(name: &str) -> Option<&'static [u8]> {
    let name = name.strip_prefix("./").unwrap_or(name);
    SHIPPED_CAPTURES
        .iter()
        .find(|(shipped, _)| *shipped == name)
        .map(|(_, bytes)| *bytes)
}

/// Parses the shipped scenarios; they are tested, so an error here is a build defect.
pub fn shipped() -> anyhow::Result<Vec<Scenario>> {
    Ok(shipped_with_files()?
        .into_iter()
        .map(|(_, scenario)| scenario)
        .collect())
}

/// The shipped scenarios with their file names, which find their captures.
pub fn shipped_with_files() -> anyhow::Result<Vec<(&'static str, Scenario)>> {
    SHIPPED
        .iter()
        .map(|(name, text)| Ok((*name, Scenario::from_yaml(text, name)?)))
        .collect()
}
