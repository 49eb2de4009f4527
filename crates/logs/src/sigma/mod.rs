//! The Sigma engine: rule loading, the shared evaluation plan, correlations.
//!
//! Parsing, modifiers and condition evaluation come from `rsigma-parser` and
//! `rsigma-eval` (MIT), which cover the Sigma specification including
//! correlation rules. This module adds what a scanner over many log
//! formats needs: loading whole rule trees with one error per broken file,
//! and a plan that indexes the compiled rules by log source so that each
//! record is tested only against the rules written for its kind of log.

pub mod correlate;
pub mod detection;
pub mod load;
pub mod plan;

pub use detection::{Detection, DetectionKind};
pub use load::{LoadedRule, RuleError, RuleSet, load_rules};
pub use plan::{PlanOptions, RulePlan};
