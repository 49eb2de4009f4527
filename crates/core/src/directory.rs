//! What detectors need to know of the site's assets, without the whole site model.

use std::net::IpAddr;

use crate::event::Location;

/// The facts about one asset that a detector puts into an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetInfo {
    /// Asset id from the site model.
    pub id: String,
    /// Human name, e.g. "PACS archive server".
    pub name: String,
    /// Asset type from the site model (`computer`, `medical_device`, ...).
    pub asset_type: String,
    /// Where the asset stands; `zone` is the one correlation keys on.
    pub location: Location,
    /// Peers (asset ids or CIDR blocks) the asset may talk to; empty means no allowlist.
    pub allowed_peers: Vec<String>,
}

impl AssetInfo {
    /// The zone id, when the asset's location names one.
    pub fn zone(&self) -> Option<&str> {
        self.location.zone.as_deref()
    }
}

/// Looks up assets by the identities a detector sees on the wire or in a log.
///
/// `None` means the site does not know the identity: for an inventory check
/// that is itself a finding.
pub trait AssetDirectory: Send + Sync {
    fn by_id(&self, id: &str) -> Option<&AssetInfo>;
    fn by_ip(&self, ip: IpAddr) -> Option<&AssetInfo>;
    /// `mac` in lowercase colon form, `aa:bb:cc:dd:ee:ff`.
    fn by_mac(&self, mac: &str) -> Option<&AssetInfo>;
    /// Case-insensitive host name, without domain.
    fn by_hostname(&self, name: &str) -> Option<&AssetInfo>;
}

/// A directory that knows nothing: for detectors run without a site file.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyDirectory;

impl AssetDirectory for EmptyDirectory {
    fn by_id(&self, _: &str) -> Option<&AssetInfo> {
        None
    }
    fn by_ip(&self, _: IpAddr) -> Option<&AssetInfo> {
        None
    }
    fn by_mac(&self, _: &str) -> Option<&AssetInfo> {
        None
    }
    fn by_hostname(&self, _: &str) -> Option<&AssetInfo> {
        None
    }
}
