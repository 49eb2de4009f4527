//! The learned anomaly model: an isolation forest over per-flow features.
//!
//! `safecare net learn` reads a baseline capture of normal traffic, takes the
//! features of every flow ([`FEATURE_NAMES`]), compresses them with `ln(1 + x)` so
//! that byte counts and durations weigh alike, and grows a forest with a fixed seed.
//! The alarm threshold is the score that a chosen share of the baseline flows stays
//! under.
//!
//! An isolation forest cannot split on a feature that never varied in the baseline
//! (no RST was ever seen, say), so a flow that differs only there scores as normal.
//! The model therefore also keeps each feature's baseline range, and a flow whose
//! compressed feature lies well outside it (by [`RANGE_MARGIN`] or a quarter of the
//! range, whichever is larger) is unusual too. `safecare net scan --model` scores
//! every ended flow and raises `network.anomaly` for flows flagged either way, naming
//! the features furthest from the baseline (in standard deviations).

pub mod forest;

use std::path::Path;

use safecare_capture::Flow;
use safecare_capture::flow::FEATURE_NAMES;
use serde::{Deserialize, Serialize};

use crate::context::{Context, Finding, Peer};
use forest::{SplitMix, Tree, average_path};

/// Why a model could not be learned, loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("could not read the anomaly model {path}: {source}")]
    /// The file could not be read.
    Read {
        /// The model file.
        path: String,
        /// The operating system error.
        source: std::io::Error,
    },
    #[error("{path} is not an anomaly model written by `safecare net learn`: {source}")]
    /// The file is not a model.
    Parse {
        /// The model file.
        path: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    #[error("could not write the anomaly model {path}: {source}")]
    /// The file could not be written.
    Write {
        /// The model file.
        path: String,
        /// The operating system error.
        source: std::io::Error,
    },
    #[error(
        "the model {path} has features {found:?}, this version computes {expected:?}; \
         learn it again with `safecare net learn`"
    )]
    /// The model was learned on other features.
    Features {
        /// The model file.
        path: String,
        /// Features in the file.
        found: Vec<String>,
        /// Features this version computes.
        expected: Vec<String>,
    },
    #[error(
        "the anomaly model {path} is {size} bytes, over the {MAX_MODEL_BYTES}-byte limit; \
         learn a smaller one (fewer --trees)"
    )]
    /// The file is larger than any model `learn` writes.
    TooLarge {
        /// The model file.
        path: String,
        /// Its size in bytes.
        size: u64,
    },
    #[error("only {0} flows in the baseline; at least 32 are needed to learn what is normal")]
    /// The baseline is too small to learn from.
    TooFewFlows(usize),
}

/// The largest model file read (a 100-tree model is about 1 MiB).
pub const MAX_MODEL_BYTES: u64 = 256 * 1024 * 1024;

/// How far outside its baseline range (in `ln(1 + x)` units, so about x1.65) a
/// feature must lie to make a flow unusual on its own.
pub const RANGE_MARGIN: f64 = 0.5;

/// How a forest is grown.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    /// Trees in the forest.
    pub trees: usize,
    /// Points per tree (ψ in the paper).
    pub sample_size: usize,
    /// Random seed: the same seed grows the same forest.
    pub seed: u64,
    /// Share of baseline flows scored below the alarm threshold.
    pub quantile: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            trees: 100,
            sample_size: 256,
            seed: 0x5afe_ca7e,
            quantile: 0.995,
        }
    }
}

/// A learned model, saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyModel {
    /// Model format version.
    pub version: u32,
    /// Feature names, in vector order.
    pub features: Vec<String>,
    /// Random seed: the same seed grows the same forest.
    pub seed: u64,
    /// Points per tree.
    pub sample_size: usize,
    /// Flows the model learned from.
    pub training_flows: usize,
    /// Scores at or above this raise an event.
    pub threshold: f64,
    /// Mean and standard deviation of each compressed feature over the baseline.
    pub mean: Vec<f64>,
    /// Standard deviation of each compressed feature.
    pub std_dev: Vec<f64>,
    /// Range of each compressed feature over the baseline.
    pub min: Vec<f64>,
    /// Largest value of each compressed feature.
    pub max: Vec<f64>,
    /// The isolation trees.
    pub trees: Vec<Tree>,
}

/// `ln(1 + x)` of each feature, negatives clamped to 0.
pub fn compress(features: &[f64]) -> Vec<f64> {
    features.iter().map(|x| x.max(0.0).ln_1p()).collect()
}

impl AnomalyModel {
    /// Learns a model from raw flow feature vectors.
    pub fn train(rows: &[Vec<f64>], config: &TrainConfig) -> Result<AnomalyModel, ModelError> {
        if rows.len() < 32 {
            return Err(ModelError::TooFewFlows(rows.len()));
        }
        let data: Vec<Vec<f64>> = rows.iter().map(|r| compress(r)).collect();
        let sample_size = config.sample_size.min(data.len()).max(2);
        let height_limit = (sample_size as f64).log2().ceil() as u32;
        let mut rng = SplitMix::new(config.seed);

        // 1. Grow each tree on its own subsample, drawn without replacement.
        let mut trees = Vec::with_capacity(config.trees);
        let mut order: Vec<usize> = (0..data.len()).collect();
        for _ in 0..config.trees.max(1) {
            for i in 0..sample_size {
                let j = i + rng.below(order.len() - i);
                order.swap(i, j);
            }
            let mut sample = order[..sample_size].to_vec();
            trees.push(Tree::grow(&data, &mut sample, height_limit, &mut rng));
        }

        // 2. Baseline statistics for explanations.
        let width = FEATURE_NAMES.len();
        let (mean, std_dev) = column_stats(&data, width);
        let column = |i: usize| data.iter().map(move |r| r.get(i).copied().unwrap_or(0.0));
        let min = (0..width)
            .map(|i| column(i).fold(f64::INFINITY, f64::min))
            .collect();
        let max = (0..width)
            .map(|i| column(i).fold(f64::NEG_INFINITY, f64::max))
            .collect();
        let mut model = AnomalyModel {
            version: 2,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            seed: config.seed,
            sample_size,
            training_flows: data.len(),
            threshold: 1.0,
            mean,
            std_dev,
            min,
            max,
            trees,
        };

        // 3. The threshold: the chosen quantile of the baseline's own scores.
        let mut scores: Vec<f64> = data.iter().map(|x| model.score_compressed(x)).collect();
        scores.sort_by(f64::total_cmp);
        let at = ((scores.len() as f64 * config.quantile).ceil() as usize).min(scores.len() - 1);
        model.threshold = scores[at].max(0.5);
        Ok(model)
    }

    /// The anomaly score of raw features, in (0, 1]; above 0.5 is unusual.
    pub fn score(&self, features: &[f64]) -> f64 {
        self.score_compressed(&compress(features))
    }

    fn score_compressed(&self, x: &[f64]) -> f64 {
        if self.trees.is_empty() {
            return 0.0;
        }
        let mean_path =
            self.trees.iter().map(|t| t.path_length(x)).sum::<f64>() / self.trees.len() as f64;
        let norm = average_path(self.sample_size as f64).max(f64::MIN_POSITIVE);
        2f64.powf(-mean_path / norm)
    }

    /// Features well outside their baseline range, by name.
    pub fn out_of_range(&self, features: &[f64]) -> Vec<String> {
        let x = compress(features);
        x.iter()
            .enumerate()
            .filter(|(i, v)| {
                let (Some(low), Some(high)) = (self.min.get(*i), self.max.get(*i)) else {
                    return false;
                };
                let margin = RANGE_MARGIN.max((high - low) * 0.25);
                **v > high + margin || **v < low - margin
            })
            .map(|(i, _)| {
                self.features
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("feature_{i}"))
            })
            .collect()
    }

    /// Whether a flow is unusual: scored over the threshold, or out of range.
    pub fn is_unusual(&self, features: &[f64]) -> bool {
        self.score(features) >= self.threshold || !self.out_of_range(features).is_empty()
    }

    /// The features furthest from the baseline, as (name, z-score), largest first.
    pub fn explain(&self, features: &[f64], top: usize) -> Vec<(String, f64)> {
        let x = compress(features);
        let mut z: Vec<(String, f64)> = x
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mean = self.mean.get(i).copied().unwrap_or(0.0);
                let sd = self.std_dev.get(i).copied().unwrap_or(1.0).max(0.1);
                let name = self
                    .features
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("feature_{i}"));
                (name, (v - mean) / sd)
            })
            .collect();
        z.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        z.truncate(top);
        z
    }

    /// Reads a model and checks it matches this version's features.
    pub fn load(path: &Path) -> Result<AnomalyModel, ModelError> {
        let shown = path.display().to_string();
        let size = std::fs::metadata(path)
            .map_err(|source| ModelError::Read {
                path: shown.clone(),
                source,
            })?
            .len();
        if size > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge { path: shown, size });
        }
        let text = std::fs::read(path).map_err(|source| ModelError::Read {
            path: shown.clone(),
            source,
        })?;
        let model: AnomalyModel =
            serde_json::from_slice(&text).map_err(|source| ModelError::Parse {
                path: shown.clone(),
                source,
            })?;
        let expected: Vec<String> = FEATURE_NAMES.iter().map(|s| s.to_string()).collect();
        if model.features != expected {
            return Err(ModelError::Features {
                path: shown,
                found: model.features,
                expected,
            });
        }
        Ok(model)
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let shown = path.display().to_string();
        let json = serde_json::to_vec(self).map_err(|e| ModelError::Write {
            path: shown.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(path, json).map_err(|source| ModelError::Write {
            path: shown,
            source,
        })
    }
}

fn column_stats(data: &[Vec<f64>], width: usize) -> (Vec<f64>, Vec<f64>) {
    let n = data.len().max(1) as f64;
    let mean: Vec<f64> = (0..width)
        .map(|i| {
            data.iter()
                .map(|r| r.get(i).copied().unwrap_or(0.0))
                .sum::<f64>()
                / n
        })
        .collect();
    let std_dev = (0..width)
        .map(|i| {
            let var = data
                .iter()
                .map(|r| (r.get(i).copied().unwrap_or(0.0) - mean[i]).powi(2))
                .sum::<f64>()
                / n;
            var.sqrt()
        })
        .collect();
    (mean, std_dev)
}

/// Scores ended flows against a model and reports the unusual ones.
pub struct AnomalyScorer {
    model: AnomalyModel,
}

impl AnomalyScorer {
    /// A scorer for `model`.
    pub fn new(model: AnomalyModel) -> Self {
        AnomalyScorer { model }
    }

    /// Scores one flow; raises `network.anomaly` when it is over the threshold.
    pub fn score(&mut self, flow: &Flow, cx: &mut Context<'_>) {
        let features = flow.features();
        let score = self.model.score(&features);
        let outside = self.model.out_of_range(&features);
        if score < self.model.threshold && outside.is_empty() {
            return;
        }
        cx.report(anomaly_finding(
            flow,
            &features,
            score,
            outside,
            &self.model,
            cx,
        ));
    }
}

fn anomaly_finding(
    flow: &Flow,
    features: &[f64; 24],
    score: f64,
    outside: Vec<String>,
    model: &AnomalyModel,
    cx: &Context<'_>,
) -> Finding {
    let reasons = model.explain(features, 3);
    let named: Vec<String> = reasons
        .iter()
        .map(|(name, z)| {
            format!(
                "{name} {} than normal ({z:+.1} sd)",
                if *z > 0.0 { "higher" } else { "lower" }
            )
        })
        .collect();
    let key = &flow.key;
    let summary = format!(
        "Unusual flow from {} to {} port {}: {}",
        cx.describe(key.initiator),
        cx.describe(key.responder),
        key.responder_port,
        named.join(", ")
    );
    let confidence = if outside.is_empty() {
        (0.5 + (score - model.threshold) * 2.0).clamp(0.5, 0.95)
    } else {
        0.7
    };
    let explained: serde_json::Map<String, serde_json::Value> = reasons
        .iter()
        .zip(
            reasons
                .iter()
                .map(|(name, _)| FEATURE_NAMES.iter().position(|n| n == name)),
        )
        .map(|((name, z), i)| {
            let raw = i.and_then(|i| features.get(i)).copied().unwrap_or(0.0);
            (
                name.clone(),
                serde_json::json!({ "value": raw, "z": (z * 10.0).round() / 10.0 }),
            )
        })
        .collect();
    Finding::new("network.anomaly", 40, confidence, flow.first_ts, summary)
        .source(Peer::with_port(key.initiator, key.initiator_port))
        .destination(Peer::with_port(key.responder, key.responder_port))
        .evidence("detector", "anomaly")
        .evidence("anomaly.score", (score * 1000.0).round() / 1000.0)
        .evidence(
            "anomaly.threshold",
            (model.threshold * 1000.0).round() / 1000.0,
        )
        .evidence("anomaly.features", serde_json::Value::Object(explained))
        .evidence("anomaly.out_of_range", outside)
        .evidence("anomaly.packets", flow.packets())
}
