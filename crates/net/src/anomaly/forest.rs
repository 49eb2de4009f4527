//! An isolation forest (Liu, Ting and Zhou, 2008), deterministic for a given seed.
//!
//! Each tree splits a random subsample on random features at random thresholds until
//! every point is alone or a height limit is reached. Unusual points are isolated in
//! few splits, so a short average path means an anomaly.

use serde::{Deserialize, Serialize};

/// One node of a tree: a split (`feature` set) or a leaf holding `size` points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Split feature, `None` for a leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<u16>,
    #[serde(default)]
    /// Split value: smaller values go left.
    pub threshold: f64,
    #[serde(default)]
    /// Index of the left child.
    pub left: u32,
    #[serde(default)]
    /// Index of the right child.
    pub right: u32,
    /// Points that reached a leaf during training.
    #[serde(default)]
    pub size: u32,
}

/// One isolation tree, nodes stored flat with the root first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes, root first.
    pub nodes: Vec<Node>,
}

/// A small deterministic generator (SplitMix64): the same seed grows the same forest.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The average path length of an unsuccessful search in a binary search tree of `n`
/// points: the normaliser c(n) of the paper.
pub fn average_path(n: f64) -> f64 {
    if n <= 1.0 {
        return 0.0;
    }
    if n <= 2.0 {
        return 1.0;
    }
    2.0 * ((n - 1.0).ln() + 0.577_215_664_9) - 2.0 * (n - 1.0) / n
}

impl Tree {
    /// Grows a tree on `sample` (rows of equal width) up to `height_limit`.
    pub fn grow(
        data: &[Vec<f64>],
        sample: &mut [usize],
        height_limit: u32,
        rng: &mut SplitMix,
    ) -> Tree {
        let mut tree = Tree { nodes: Vec::new() };
        tree.split(data, sample, 0, height_limit, rng);
        tree
    }

    /// Adds the subtree for `rows` and returns its index.
    fn split(
        &mut self,
        data: &[Vec<f64>],
        rows: &mut [usize],
        depth: u32,
        limit: u32,
        rng: &mut SplitMix,
    ) -> u32 {
        let at = self.nodes.len() as u32;
        let leaf = Node {
            feature: None,
            threshold: 0.0,
            left: 0,
            right: 0,
            size: rows.len() as u32,
        };
        self.nodes.push(leaf);
        if rows.len() <= 1 || depth >= limit {
            return at;
        }

        // Pick a feature that varies among these rows; a constant subsample is a leaf.
        let width = data.first().map_or(0, Vec::len);
        let Some((feature, low, high)) = pick_feature(data, rows, width, rng) else {
            return at;
        };
        let threshold = low + rng.next_f64() * (high - low);

        // Partition in place, then grow both sides.
        let mut mid = 0;
        for i in 0..rows.len() {
            if value(data, rows[i], feature) < threshold {
                rows.swap(i, mid);
                mid += 1;
            }
        }
        let (left_rows, right_rows) = rows.split_at_mut(mid);
        let left = self.split(data, left_rows, depth + 1, limit, rng);
        let right = self.split(data, right_rows, depth + 1, limit, rng);
        self.nodes[at as usize] = Node {
            feature: Some(feature as u16),
            threshold,
            left,
            right,
            size: 0,
        };
        at
    }

    /// The path length of `point`, with the leaf's c(size) added for unresolved points.
    /// A malformed tree (indexes out of range, cycles) ends the walk at that node.
    pub fn path_length(&self, point: &[f64]) -> f64 {
        let mut index = 0usize;
        let mut depth = 0.0;
        for _ in 0..=self.nodes.len() {
            let Some(node) = self.nodes.get(index) else {
                break;
            };
            let Some(feature) = node.feature else {
                return depth + average_path(f64::from(node.size));
            };
            let x = point.get(usize::from(feature)).copied().unwrap_or(0.0);
            index = if x < node.threshold {
                node.left as usize
            } else {
                node.right as usize
            };
            depth += 1.0;
        }
        depth
    }
}

fn value(data: &[Vec<f64>], row: usize, feature: usize) -> f64 {
    data.get(row)
        .and_then(|r| r.get(feature))
        .copied()
        .unwrap_or(0.0)
}

/// A random feature with distinct values among `rows`, and its range.
fn pick_feature(
    data: &[Vec<f64>],
    rows: &[usize],
    width: usize,
    rng: &mut SplitMix,
) -> Option<(usize, f64, f64)> {
    let start = rng.below(width);
    (0..width).map(|i| (start + i) % width).find_map(|feature| {
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for &row in rows {
            let x = value(data, row, feature);
            low = low.min(x);
            high = high.max(x);
        }
        (high > low).then_some((feature, low, high))
    })
}
