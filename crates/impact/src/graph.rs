//! The harm graph of a site: adjacency built once, read by every assessment.
//!
//! Each dependency statement becomes harm edges in the direction harm travels (provider to
//! dependent for `depends_on`, `from` to `to` for the other kinds). A `depends_on`
//! statement with `needed: k` of n targets becomes a redundancy group: its providers point
//! at the group, and the group fails only when more than n-k of them are harmed. Edges are
//! stored in compressed rows (one offset per asset), so a million-asset site costs a few
//! tens of megabytes and no per-incident copy.

use safecare_core::site::{Asset, AssetType, DependencyKind, Site};

use crate::names::ASSET_TYPES;

/// Marks an edge whose target is a redundancy group rather than an asset.
pub(crate) const GROUP_BIT: u32 = 1 << 31;

/// One harm edge: harm on the row's asset reaches `target` (an asset, or a group when
/// [`GROUP_BIT`] is set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub target: u32,
    pub kind: DependencyKind,
    /// Delay of the dependency statement, seconds.
    pub delay: u32,
}

/// A k-of-n redundancy group of one `depends_on` statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    /// The dependent asset.
    pub dependent: u32,
    /// Providers that must be harmed for the group to fail: n - k + 1.
    pub to_fail: u32,
    /// How many providers must work (k) and how many there are (n).
    pub needed: u32,
    pub size: u32,
}

/// Adjacency of a site's harm graph; build once with [`HarmGraph::build`].
#[derive(Debug)]
pub struct HarmGraph {
    /// Asset type slot of every asset, by position in `Site::assets()`.
    pub(crate) types: Vec<u8>,
    pub(crate) offsets: Vec<u32>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) groups: Vec<Group>,
    /// Identity of the site the graph was built from.
    site_id: String,
    assets: usize,
    dependencies: usize,
}

impl HarmGraph {
    /// Builds the harm graph of a site.
    ///
    /// Statements naming unknown assets are skipped (a loaded site has none).
    pub fn build(site: &Site) -> HarmGraph {
        let assets = site.assets();
        let types = assets
            .iter()
            .map(|a| crate::names::type_slot(a.asset_type) as u8)
            .collect();

        // 1. Collect (source, edge) pairs and the groups.
        let mut pairs: Vec<(u32, Edge)> = Vec::with_capacity(site.dependencies().len() * 2);
        let mut groups = Vec::new();
        for dependency in site.dependencies() {
            let Some(from) = position(site, &dependency.from) else {
                continue;
            };
            let delay = dependency.delay.map_or(0, |d| {
                d.duration().as_secs().min(u64::from(u32::MAX)) as u32
            });
            let targets = dependency.to.iter().filter_map(|id| position(site, id));
            let kind = dependency.kind;

            if kind != DependencyKind::DependsOn {
                for to in targets {
                    pairs.push((
                        from,
                        Edge {
                            target: to,
                            kind,
                            delay,
                        },
                    ));
                }
                continue;
            }
            if !dependency.is_redundant() {
                for to in targets {
                    pairs.push((
                        to,
                        Edge {
                            target: from,
                            kind,
                            delay,
                        },
                    ));
                }
                continue;
            }
            let group = groups.len() as u32 | GROUP_BIT;
            let size = dependency.to.len() as u32;
            let needed = dependency.required() as u32;
            groups.push(Group {
                dependent: from,
                to_fail: size - needed + 1,
                needed,
                size,
            });
            for to in targets {
                pairs.push((
                    to,
                    Edge {
                        target: group,
                        kind,
                        delay,
                    },
                ));
            }
        }

        // 2. Sort into compressed rows.
        let (offsets, edges) = compress(assets.len(), pairs);
        HarmGraph {
            types,
            offsets,
            edges,
            groups,
            site_id: site.id().to_string(),
            assets: assets.len(),
            dependencies: site.dependencies().len(),
        }
    }

    /// True when the graph was built from this site (same id and size).
    pub fn matches(&self, site: &Site) -> bool {
        self.site_id == site.id()
            && self.assets == site.assets().len()
            && self.dependencies == site.dependencies().len()
    }

    /// Number of harm edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Number of redundancy groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Approximate heap bytes held by the graph.
    pub fn heap_bytes(&self) -> usize {
        self.types.capacity()
            + self.offsets.capacity() * 4
            + self.edges.capacity() * std::mem::size_of::<Edge>()
            + self.groups.capacity() * std::mem::size_of::<Group>()
    }

    pub(crate) fn out_edges(&self, asset: u32) -> &[Edge] {
        let start = self.offsets[asset as usize] as usize;
        let end = self.offsets[asset as usize + 1] as usize;
        &self.edges[start..end]
    }

    pub(crate) fn asset_type(&self, asset: u32) -> AssetType {
        ASSET_TYPES[self.types[asset as usize] as usize]
    }
}

/// Counting sort of edges by source into offsets and a flat edge list.
fn compress(assets: usize, pairs: Vec<(u32, Edge)>) -> (Vec<u32>, Vec<Edge>) {
    let mut offsets = vec![0u32; assets + 1];
    for (source, _) in &pairs {
        offsets[*source as usize + 1] += 1;
    }
    for i in 0..assets {
        offsets[i + 1] += offsets[i];
    }
    let mut next = offsets.clone();
    let filler = Edge {
        target: 0,
        kind: DependencyKind::DependsOn,
        delay: 0,
    };
    let mut edges = vec![filler; pairs.len()];
    for (source, edge) in pairs {
        let slot = &mut next[source as usize];
        edges[*slot as usize] = edge;
        *slot += 1;
    }
    (offsets, edges)
}

/// Position of an asset in `site.assets()`.
///
/// `Site` answers lookups by id with a reference into its asset slice but does not expose
/// the position; the position is recovered from the reference's address, which stays
/// inside the slice (checked), so no index of our own has to be built.
pub fn position(site: &Site, id: &str) -> Option<u32> {
    let asset = site.asset(id)?;
    let assets = site.assets();
    let size = std::mem::size_of::<Asset>();
    let base = assets.as_ptr() as usize;
    let offset = (asset as *const Asset as usize).checked_sub(base)?;
    let index = offset / size;
    (offset % size == 0 && index < assets.len()).then_some(index as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_the_asset_slice() {
        let site = Site::demo();
        for (i, asset) in site.assets().iter().enumerate() {
            assert_eq!(position(&site, &asset.id), Some(i as u32));
        }
        assert_eq!(position(&site, "no-such-asset"), None);
    }

    #[test]
    fn redundancy_groups_and_directions() {
        let site = Site::demo();
        let graph = HarmGraph::build(&site);
        assert!(graph.matches(&site));

        // svc-icu depends_on [icu-monitor-1, icu-monitor-2] needed 1: a group of 2 that
        // fails when both are harmed.
        let monitor = position(&site, "icu-monitor-1").unwrap();
        let icu = position(&site, "svc-icu").unwrap();
        let group = graph
            .out_edges(monitor)
            .iter()
            .find(|e| e.target & GROUP_BIT != 0)
            .map(|e| graph.groups[(e.target & !GROUP_BIT) as usize])
            .unwrap();
        assert_eq!((group.dependent, group.needed, group.size), (icu, 1, 2));
        assert_eq!(group.to_fail, 2);

        // `svc-surgery depends_on ahu-or-1` (30m): harm runs from the unit to the service.
        let ahu = position(&site, "ahu-or-1").unwrap();
        let surgery = position(&site, "svc-surgery").unwrap();
        let edge = graph.out_edges(ahu).iter().find(|e| e.target == surgery);
        assert_eq!(edge.map(|e| e.delay), Some(1800));
    }
}
