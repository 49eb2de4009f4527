//! Impact propagation, decision support and the risk register (DESIGN.md section 6).
//!
//! An incident of a type on some assets harms the assets that depend on them. [`Engine`]
//! builds the site's harm graph once and assesses each incident against typed
//! [`RuleSet`] propagation rules (cyber and physical, attenuated by protection degrees,
//! with k-of-n redundancy and delays), giving an [`ImpactAssessment`]: impacted assets
//! and services with score, explaining path and time to impact. [`recommend`] turns an
//! assessment into playbook actions; [`risk`] ranks assets by likelihood times impact;
//! [`service`] runs all this on the bus.

pub mod assessment;
pub mod cli;
pub mod graph;
pub mod names;
pub mod playbook;
pub mod problem;
pub mod propagate;
pub mod risk;
pub mod rules;
pub mod service;

pub use assessment::{Cycle, ImpactAssessment, ImpactedAsset, PathStep, Redundancy, ServiceImpact};
pub use graph::HarmGraph;
pub use names::Domain;
pub use playbook::{Action, Playbook, PlaybookError, PlaybookSet, Urgency, recommend};
pub use problem::Problem;
pub use propagate::{Engine, assess};
pub use risk::{RiskHistory, RiskReport, RiskRow, risk_report};
pub use rules::{Effect, Rule, RuleError, RuleSet};
