//! The shared evaluation plan: compiled rules indexed by log source.
//!
//! Each distinct record log source (say Sysmon process creation, or the
//! Security channel) gets one rsigma engine holding exactly the rules that
//! apply to it, built the first time such a record arrives. Inside that
//! engine rsigma indexes the rules by the literal values they require (such
//! as `EventID`), looks each field of the record up once, and prefilters
//! substring needles with one Aho-Corasick automaton per field, so a record
//! is tested only against the rules that can still match it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rsigma_eval::{CompiledRule, Engine, EvaluationResult, JsonEvent, MatchDetailLevel};
use rsigma_parser::FilterRule;

use super::load::RuleSet;
use crate::record::{LogRecord, RecordSource};

/// Most per-source engines kept; past it the cache starts again (a guard
/// against JSON input inventing endless product/service/category values).
const MAX_ROUTES: usize = 256;

/// A log source as written in a rule, lowercased; `None` means any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RuleSource {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
}

impl RuleSource {
    fn of(rule: &CompiledRule) -> Self {
        let lower = |v: &Option<String>| v.as_ref().map(|s| s.to_ascii_lowercase());
        RuleSource {
            product: lower(&rule.logsource.product),
            service: lower(&rule.logsource.service),
            category: lower(&rule.logsource.category),
        }
    }

    /// True when every part the rule names is among the record's.
    fn admits(&self, record: &RecordSource) -> bool {
        let product_ok = match (&self.product, &record.product) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
        };
        let service_ok = self
            .service
            .as_ref()
            .is_none_or(|want| record.services.iter().any(|s| s == want));
        let category_ok = self
            .category
            .as_ref()
            .is_none_or(|want| record.categories.iter().any(|c| c == want));
        product_ok && service_ok && category_ok
    }
}

/// Extra prefilters of the plan (rsigma features), off by default: with one
/// engine per log source, the SigmaHQ Windows rules over the EVTX attack
/// samples evaluate faster without them (see the `bench_evtx` example).
/// They may pay off for large substring-heavy (IOC) rule sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanOptions {
    /// Per-field bloom filter over substring needles: skips substring
    /// matchers whose field cannot contain any needle.
    pub bloom: bool,
    /// One Aho-Corasick automaton per field over all rules' substring
    /// needles: drops rules none of whose needles occur.
    pub cross_rule_ac: bool,
}

/// Compiled rules, ready to evaluate records.
pub struct RulePlan {
    rules: Vec<(RuleSource, CompiledRule)>,
    filters: Vec<FilterRule>,
    options: PlanOptions,
    routes: Mutex<HashMap<RecordSource, Arc<Engine>>>,
}

impl RulePlan {
    /// Builds the plan from loaded rules (the rule set keeps its correlations).
    pub fn new(rules: &mut RuleSet) -> Self {
        Self::with_options(rules, PlanOptions::default())
    }

    /// Builds the plan with the given prefilters.
    pub fn with_options(rules: &mut RuleSet, options: PlanOptions) -> Self {
        let compiled = rules
            .rules
            .drain(..)
            .map(|loaded| (RuleSource::of(&loaded.rule), loaded.rule))
            .collect();
        RulePlan {
            rules: compiled,
            filters: rules.filters.clone(),
            options,
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// Number of detection rules in the plan.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of per-source engines built so far.
    pub fn route_count(&self) -> usize {
        self.lock_routes().len()
    }

    /// Evaluates one record against the rules written for its log source.
    pub fn evaluate(&self, record: &LogRecord) -> Vec<EvaluationResult> {
        let engine = self.engine_for(&record.source);
        if engine.rule_count() == 0 {
            return Vec::new();
        }
        engine.evaluate(&JsonEvent::borrow(&record.fields))
    }

    /// The engine of a record source, built on first use.
    fn engine_for(&self, source: &RecordSource) -> Arc<Engine> {
        if let Some(engine) = self.lock_routes().get(source) {
            return engine.clone();
        }

        let engine = Arc::new(self.build_engine(source));
        let mut routes = self.lock_routes();
        if routes.len() >= MAX_ROUTES {
            tracing::warn!(
                routes = routes.len(),
                "too many distinct log sources, rule cache reset"
            );
            routes.clear();
        }
        routes.insert(source.clone(), engine.clone());
        engine
    }

    fn build_engine(&self, source: &RecordSource) -> Engine {
        let admitted: Vec<CompiledRule> = self
            .rules
            .iter()
            .filter(|(rule_source, _)| rule_source.admits(source))
            .map(|(_, rule)| rule.clone())
            .collect();
        tracing::debug!(
            ?source,
            rules = admitted.len(),
            "rule engine built for log source"
        );

        let mut engine = Engine::new();
        // Summary detail also reports which keyword matched, for the evidence.
        engine.set_match_detail(MatchDetailLevel::Summary);
        engine.set_bloom_prefilter(self.options.bloom);
        engine.set_cross_rule_ac(self.options.cross_rule_ac);
        engine.extend_compiled_rules(admitted);
        for filter in &self.filters {
            if let Err(err) = engine.apply_filter(filter) {
                tracing::warn!(filter = %filter.title, %err, "Sigma filter not applied");
            }
        }
        engine
    }

    fn lock_routes(&self) -> std::sync::MutexGuard<'_, HashMap<RecordSource, Arc<Engine>>> {
        match self.routes.lock() {
            Ok(routes) => routes,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Origin;
    use serde_json::{Map, Value, json};
    use std::path::Path;

    fn plan(yaml: &str) -> RulePlan {
        let mut set = RuleSet::default();
        set.add_yaml(yaml, Path::new("t.yml"), &[]);
        assert!(set.errors.is_empty(), "{:?}", set.errors);
        RulePlan::new(&mut set)
    }

    fn record(fields: Value, source: RecordSource) -> LogRecord {
        let map: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        let mut record = LogRecord::new(map, Origin::default());
        record.source = source;
        record
    }

    const PROC: &str = "title: Whoami\nlogsource: {product: windows, category: process_creation}\n\
        detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";

    #[test]
    fn a_rule_sees_only_records_of_its_log_source() {
        let plan = plan(PROC);
        let fields = json!({"Image": "C:\\Windows\\System32\\whoami.exe"});
        let sysmon_1 =
            RecordSource::new("windows", Some("sysmon")).with_category("process_creation");
        let sysmon_3 =
            RecordSource::new("windows", Some("sysmon")).with_category("network_connection");
        let linux = RecordSource::new("linux", Some("syslog"));

        assert_eq!(plan.evaluate(&record(fields.clone(), sysmon_1)).len(), 1);
        assert!(plan.evaluate(&record(fields.clone(), sysmon_3)).is_empty());
        assert!(plan.evaluate(&record(fields, linux)).is_empty());
    }

    #[test]
    fn a_service_rule_matches_any_of_the_record_services() {
        let plan = plan(
            "title: Sshd\nlogsource: {product: linux, service: auth}\n\
             detection:\n  keywords:\n    - 'Invalid user'\n  condition: keywords\n",
        );
        let source = RecordSource::new("linux", Some("syslog"))
            .with_service("sshd")
            .with_service("auth");
        let hit = record(
            json!({"message": "Invalid user admin from 10.0.0.1"}),
            source,
        );

        assert_eq!(plan.evaluate(&hit).len(), 1);
    }
}
