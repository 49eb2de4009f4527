//! Sigma correlation rules (event_count, value_count, temporal,
//! temporal_ordered) over the detections of the plan.
//!
//! Detection runs once, in the [`RulePlan`](super::RulePlan); its results
//! are fed into rsigma's correlation engine, which keeps the per-group
//! windows and fires when a threshold is crossed within the timespan.

use rsigma_eval::{CorrelationConfig, CorrelationEngine, EvaluationResult, JsonEvent};
use rsigma_parser::SigmaCollection;

use super::load::{RuleError, RuleSet};
use crate::record::LogRecord;

/// Correlation state over a stream of records.
pub struct Correlator {
    engine: CorrelationEngine,
    count: usize,
}

impl Correlator {
    /// Builds the correlator from the rule set; `None` when it has no correlations.
    ///
    /// A correlation that cannot be set up (for instance one naming a rule
    /// that is not loaded) is added to `rules.errors`.
    pub fn new(rules: &mut RuleSet) -> Option<Self> {
        if rules.correlations.is_empty() {
            return None;
        }
        let mut engine = CorrelationEngine::new(CorrelationConfig::default());
        let mut collection = SigmaCollection::new();
        collection.rules = std::mem::take(&mut rules.parsed);
        if let Err(err) = engine.add_collection(&collection) {
            tracing::warn!(%err, "rules for correlations not loaded");
        }

        let mut count = 0;
        for correlation in &rules.correlations {
            match engine.add_correlation(correlation) {
                Ok(()) => count += 1,
                Err(err) => rules.errors.push(RuleError {
                    file: "correlations".into(),
                    reason: format!("correlation '{}' not loaded: {err}", correlation.title),
                }),
            }
        }
        Some(Correlator { engine, count })
    }

    /// Number of correlation rules in force.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no correlation loaded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Feeds one record's detections; returns the correlations that fired.
    pub fn process(
        &mut self,
        record: &LogRecord,
        detections: Vec<EvaluationResult>,
    ) -> Vec<EvaluationResult> {
        let timestamp = record
            .time
            .map(|t| t.timestamp())
            .unwrap_or_else(|| chrono::Utc::now().timestamp());
        let event = JsonEvent::borrow(&record.fields);
        self.engine
            .process_with_detections(&event, detections, timestamp)
            .into_iter()
            .filter(EvaluationResult::is_correlation)
            .collect()
    }
}
