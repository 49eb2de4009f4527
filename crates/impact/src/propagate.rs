//! Impact propagation: from an incident's assets over the harm graph.
//!
//! Scores only shrink along a path (factors and `1 - protection` are at most 1), so the
//! strongest harm reaching each asset is found like a shortest path: arrivals are taken
//! from a max-heap, each asset is settled once by its strongest arrival, and the settled
//! parent explains it. This terminates on any graph; a link back to an asset already on
//! the current path is a cycle, reported and not followed. A redundancy group fails when
//! its (n-k+1)-th strongest provider harm arrives, which the heap order gives directly.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use safecare_core::site::{AssetType, Delay, DependencyKind, Site};
use safecare_core::{Incident, IncidentType};

use crate::assessment::{
    Cycle, ImpactAssessment, ImpactedAsset, PathStep, Redundancy, ServiceImpact, is_cleared,
    origin_effect,
};
use crate::graph::{GROUP_BIT, HarmGraph, position};
use crate::names::{CLASSES, class_slot, domain_of};
use crate::rules::RuleSet;

/// Cycles listed in one assessment at most; more are counted in the log only.
pub const MAX_CYCLES: usize = 32;

const NONE: u32 = u32::MAX;
const NO_RULE: u16 = u16::MAX;

/// Propagation rules and a site's harm graph, built once and shared by every assessment.
#[derive(Debug)]
pub struct Engine {
    site: Arc<Site>,
    rules: Arc<RuleSet>,
    graph: HarmGraph,
}

impl Engine {
    /// Builds the harm graph of `site` (linear in its size; about a second at 1M assets).
    pub fn new(site: Arc<Site>, rules: Arc<RuleSet>) -> Engine {
        let graph = HarmGraph::build(&site);
        Engine { site, rules, graph }
    }

    /// An engine with the shipped default rules.
    pub fn with_default_rules(site: Arc<Site>) -> Engine {
        Engine::new(site, Arc::new(RuleSet::defaults()))
    }

    /// The site assessments are made against.
    pub fn site(&self) -> &Arc<Site> {
        &self.site
    }

    /// The propagation rules.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// The harm graph.
    pub fn graph(&self) -> &HarmGraph {
        &self.graph
    }

    /// Assesses one incident; a resolved, closed or merged incident gives a cleared
    /// assessment.
    pub fn assess(&self, incident: &Incident) -> ImpactAssessment {
        if is_cleared(incident) {
            return ImpactAssessment::cleared(incident, self.site.id());
        }
        let origins: Vec<&str> = incident.assets.iter().map(String::as_str).collect();
        self.assess_origins(incident, &origins)
    }

    /// Assesses an incident as if it touched only `origins` (the risk register uses this).
    pub fn assess_origins(&self, incident: &Incident, origins: &[&str]) -> ImpactAssessment {
        assess_with(&self.site, &self.rules, &self.graph, incident, origins)
    }
}

/// Assesses one incident against a site with the default rules, building the graph first.
///
/// For repeated assessments build an [`Engine`] once instead.
pub fn assess(site: &Site, incident: &Incident) -> ImpactAssessment {
    if is_cleared(incident) {
        return ImpactAssessment::cleared(incident, site.id());
    }
    let rules = RuleSet::defaults();
    let graph = HarmGraph::build(site);
    let origins: Vec<&str> = incident.assets.iter().map(String::as_str).collect();
    assess_with(site, &rules, &graph, incident, &origins)
}

/// Runs one propagation from `origins` and reports it.
fn assess_with(
    site: &Site,
    rules: &RuleSet,
    graph: &HarmGraph,
    incident: &Incident,
    origins: &[&str],
) -> ImpactAssessment {
    let mut assessment = ImpactAssessment::empty(incident, site.id(), rules.source());
    let mut run = Run::with(site, rules, graph);

    let mut unknown = HashSet::new();
    for id in origins {
        match position(site, id) {
            Some(asset) => run.push_origin(asset, incident.kind),
            None if unknown.insert(*id) => assessment.unknown_assets.push(id.to_string()),
            None => {}
        }
    }
    if !assessment.unknown_assets.is_empty() {
        tracing::warn!(
            incident = %incident.id,
            unknown = ?assessment.unknown_assets,
            "incident names assets the site does not know; they are left out of the assessment"
        );
    }

    run.propagate();
    run.report(&mut assessment);
    assessment
}

/// A multiplicative hash for the u32 keys of one run.
#[derive(Default, Clone, Copy)]
struct U32Hasher(u64);

impl Hasher for U32Hasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.0 = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

type FastMap<V> = HashMap<u32, V, BuildHasherDefault<U32Hasher>>;

/// Harm on its way to an asset or a redundancy group.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    value: f64,
    time: u64,
    seq: u64,
    target: u32,
    class: u8,
    depth: u16,
    source: u32,
    rule: u16,
    kind: Option<DependencyKind>,
    /// Redundancy group the harm came through, or NONE.
    group: u32,
}

impl PartialEq for Arrival {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Arrival {}

impl PartialOrd for Arrival {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Arrival {
    /// Strongest first, then earliest, then first pushed: the order is deterministic.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value
            .total_cmp(&other.value)
            .then_with(|| other.time.cmp(&self.time))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// How an asset was reached.
#[derive(Debug, Clone, Copy)]
struct Reached {
    score: f64,
    time: u64,
    class: u8,
    depth: u16,
    parent: u32,
    rule: u16,
    kind: Option<DependencyKind>,
    group: u32,
}

/// The state of one assessment.
struct Run<'a> {
    site: &'a Site,
    rules: &'a RuleSet,
    graph: &'a HarmGraph,
    heap: BinaryHeap<Arrival>,
    reached: FastMap<Reached>,
    /// Settled assets in settling order.
    order: Vec<u32>,
    groups: FastMap<u32>,
    cycles: Vec<Vec<u32>>,
    cycle_keys: HashSet<(u32, u32)>,
    truncated: bool,
    seq: u64,
}

impl<'a> Run<'a> {
    fn with(site: &'a Site, rules: &'a RuleSet, graph: &'a HarmGraph) -> Run<'a> {
        Run {
            site,
            rules,
            graph,
            heap: BinaryHeap::new(),
            reached: FastMap::default(),
            order: Vec::new(),
            groups: FastMap::default(),
            cycles: Vec::new(),
            cycle_keys: HashSet::new(),
            truncated: false,
            seq: 0,
        }
    }

    fn push(&mut self, mut arrival: Arrival) {
        arrival.seq = self.seq;
        self.seq += 1;
        self.heap.push(arrival);
    }

    fn push_origin(&mut self, asset: u32, class: IncidentType) {
        self.push(Arrival {
            value: 1.0,
            time: 0,
            seq: 0,
            target: asset,
            class: class_slot(class) as u8,
            depth: 0,
            source: NONE,
            rule: NO_RULE,
            kind: None,
            group: NONE,
        });
    }

    fn propagate(&mut self) {
        while let Some(arrival) = self.heap.pop() {
            if arrival.target & GROUP_BIT != 0 {
                self.arrive_at_group(arrival);
                continue;
            }
            if self.reached.contains_key(&arrival.target) {
                continue;
            }
            if self.order.len() >= self.rules.max_impacted() {
                self.truncated = true;
                break;
            }
            self.settle(arrival);
            self.spread(arrival.target);
        }
    }

    /// Counts a provider loss; the group fails on the (n-k+1)-th strongest one.
    fn arrive_at_group(&mut self, arrival: Arrival) {
        let index = arrival.target & !GROUP_BIT;
        let group = self.graph.groups[index as usize];
        if self.reached.contains_key(&group.dependent) {
            return;
        }
        let lost = self.groups.entry(index).or_insert(0);
        *lost += 1;
        if *lost != group.to_fail {
            return;
        }

        let class = CLASSES[arrival.class as usize];
        let value = arrival.value * (1.0 - self.protection(group.dependent, class));
        if value < self.rules.min_score() {
            return;
        }
        self.push(Arrival {
            value,
            target: group.dependent,
            group: index,
            ..arrival
        });
    }

    fn settle(&mut self, arrival: Arrival) {
        let reached = Reached {
            score: arrival.value,
            time: arrival.time,
            class: arrival.class,
            depth: arrival.depth,
            parent: arrival.source,
            rule: arrival.rule,
            kind: arrival.kind,
            group: arrival.group,
        };
        self.reached.insert(arrival.target, reached);
        self.order.push(arrival.target);
    }

    /// Pushes the harm of a settled asset along its out-edges.
    fn spread(&mut self, asset: u32) {
        let Some(here) = self.reached.get(&asset).copied() else {
            return;
        };
        if usize::from(here.depth) >= self.rules.max_depth() {
            self.truncated |= !self.graph.out_edges(asset).is_empty();
            return;
        }
        let class = CLASSES[here.class as usize];
        let from_type = self.graph.asset_type(asset);

        for edge in self.graph.out_edges(asset) {
            let is_group = edge.target & GROUP_BIT != 0;
            let dependent = if is_group {
                self.graph.groups[(edge.target & !GROUP_BIT) as usize].dependent
            } else {
                edge.target
            };
            if self.reached.contains_key(&dependent) {
                self.check_cycle(asset, dependent);
                continue;
            }
            let to_type = self.graph.asset_type(dependent);
            let Some((rule_index, rule)) = self.rule(class, from_type, edge.kind, to_type) else {
                continue;
            };

            let next_class = rule.becomes.unwrap_or(class);
            let mut value = here.score * rule.factor;
            if !is_group {
                value *= 1.0 - self.protection(dependent, next_class);
            }
            if value < self.rules.min_score() {
                continue;
            }
            let extra = rule.delay.map_or(0, |d| d.duration().as_secs());
            self.push(Arrival {
                value,
                time: here.time + u64::from(edge.delay) + extra,
                seq: 0,
                target: edge.target,
                class: class_slot(next_class) as u8,
                depth: here.depth.saturating_add(1),
                source: asset,
                rule: rule_index,
                kind: Some(edge.kind),
                group: NONE,
            });
        }
    }

    fn rule(
        &self,
        class: IncidentType,
        from: AssetType,
        kind: DependencyKind,
        to: AssetType,
    ) -> Option<(u16, &'a crate::rules::Rule)> {
        let index = self.rules.lookup_index(class, from, kind, to)?;
        Some((index, &self.rules.rules()[usize::from(index)]))
    }

    fn protection(&self, asset: u32, class: IncidentType) -> f64 {
        let degree = self.site.assets()[asset as usize].protection.degree(class);
        degree.clamp(0.0, 1.0)
    }

    /// Records a cycle when `target` is `asset` itself or one of its ancestors.
    fn check_cycle(&mut self, asset: u32, target: u32) {
        if self.cycle_keys.contains(&(target, asset)) {
            return;
        }
        let mut chain = vec![asset];
        let mut current = asset;
        let limit = self.rules.max_depth() + 1;
        while current != target {
            let Some(parent) = self.reached.get(&current).map(|r| r.parent) else {
                return;
            };
            if parent == NONE || chain.len() > limit {
                return;
            }
            chain.push(parent);
            current = parent;
        }

        self.cycle_keys.insert((target, asset));
        if self.cycles.len() < MAX_CYCLES {
            chain.reverse();
            chain.push(target);
            self.cycles.push(chain);
        }
    }

    /// Fills the assessment from the settled assets.
    fn report(&self, assessment: &mut ImpactAssessment) {
        let assets = self.site.assets();
        let mut impacted: Vec<(u32, Reached)> =
            self.order.iter().map(|&a| (a, self.reached[&a])).collect();
        impacted.sort_by(|(a, ra), (b, rb)| {
            rb.score
                .total_cmp(&ra.score)
                .then_with(|| assets[*a as usize].id.cmp(&assets[*b as usize].id))
        });

        for (asset, reached) in impacted {
            let item = self.impacted_asset(asset, &reached);
            if item.asset_type == AssetType::Service {
                assessment.services.push(ServiceImpact {
                    service: item.id.clone(),
                    name: item.name.clone(),
                    score: item.score,
                    capacity: round6(1.0 - item.score),
                    threat: item.threat,
                    effect: item.effect,
                    time_to_impact: item.time_to_impact,
                    time_to_impact_s: item.time_to_impact_s,
                    path: item.path.clone(),
                });
            }
            assessment.assets.push(item);
        }

        assessment.cycles = self
            .cycles
            .iter()
            .map(|c| Cycle {
                assets: c.iter().map(|&a| assets[a as usize].id.clone()).collect(),
            })
            .collect();
        if !self.cycles.is_empty() {
            tracing::debug!(
                cycles = self.cycle_keys.len(),
                "propagation met dependency cycles"
            );
        }
        assessment.truncated = self.truncated;
    }

    fn impacted_asset(&self, asset: u32, reached: &Reached) -> ImpactedAsset {
        let site_asset = &self.site.assets()[asset as usize];
        let threat = CLASSES[reached.class as usize];
        let effect = if reached.rule == NO_RULE {
            origin_effect(threat)
        } else {
            self.rules.rules()[reached.rule as usize].effect
        };
        ImpactedAsset {
            id: site_asset.id.clone(),
            name: site_asset.name.clone(),
            asset_type: site_asset.asset_type,
            domain: domain_of(site_asset.asset_type),
            score: round6(reached.score),
            threat,
            effect,
            time_to_impact: Delay::from_secs(reached.time),
            time_to_impact_s: reached.time,
            path: self.path(asset),
        }
    }

    /// The explaining path from an incident asset to `asset`.
    fn path(&self, asset: u32) -> Vec<PathStep> {
        let assets = self.site.assets();
        let mut steps = Vec::new();
        let mut current = asset;
        while let Some(reached) = self.reached.get(&current) {
            let redundancy = (reached.group != NONE).then(|| {
                let group = self.graph.groups[reached.group as usize];
                Redundancy {
                    needed: group.needed,
                    of: group.size,
                    lost: group.to_fail,
                }
            });
            steps.push(PathStep {
                asset: assets[current as usize].id.clone(),
                via: reached.kind,
                rule: (reached.rule != NO_RULE)
                    .then(|| self.rules.rules()[reached.rule as usize].id.clone()),
                redundancy,
            });
            if reached.parent == NONE || steps.len() > self.rules.max_depth() + 1 {
                break;
            }
            current = reached.parent;
        }
        steps.reverse();
        steps
    }
}

/// Rounds to six decimals so scores print as people write them (0.16, not 0.16000000000000003).
pub(crate) fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}
