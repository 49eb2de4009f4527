//! The shared evaluation plan: compiled rules indexed by log source.
//!
//! Rules are grouped by their `(product, service, category)`; each group is
//! one rsigma engine, which itself indexes its rules by the literal values
//! they require (such as `EventID`) and prefilters on them. A record is
//! evaluated only against the groups whose log source it satisfies, and the
//! list of groups per record source is worked out once and cached.

use std::collections::HashMap;
use std::sync::Mutex;

use rsigma_eval::{CompiledRule, Engine, EvaluationResult, JsonEvent};

use super::load::RuleSet;
use crate::record::{LogRecord, RecordSource};

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

/// Prefilters of the plan (rsigma features). Both are on by default: over
/// the SigmaHQ Windows rules and the EVTX attack samples they cut the cost
/// of evaluation by about half (see the `bench_evtx` example).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Per-field bloom filter over substring needles: skips substring
    /// matchers whose field cannot contain any needle.
    pub bloom: bool,
    /// One Aho-Corasick automaton per field over all rules' substring
    /// needles: drops rules none of whose needles occur.
    pub cross_rule_ac: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            bloom: true,
            cross_rule_ac: true,
        }
    }
}

struct Group {
    source: RuleSource,
    engine: Engine,
}

/// Compiled rules, ready to evaluate records.
pub struct RulePlan {
    groups: Vec<Group>,
    rule_count: usize,
    routes: Mutex<HashMap<RecordSource, Vec<usize>>>,
}

impl RulePlan {
    /// Builds the plan from loaded rules (the rule set keeps its correlations).
    pub fn new(rules: &mut RuleSet) -> Self {
        Self::with_options(rules, PlanOptions::default())
    }

    /// Builds the plan with the given prefilters.
    pub fn with_options(rules: &mut RuleSet, options: PlanOptions) -> Self {
        let mut by_source: HashMap<RuleSource, Vec<CompiledRule>> = HashMap::new();
        let rule_count = rules.rules.len();
        for loaded in rules.rules.drain(..) {
            by_source
                .entry(RuleSource::of(&loaded.rule))
                .or_default()
                .push(loaded.rule);
        }

        let mut groups: Vec<Group> = by_source
            .into_iter()
            .map(|(source, compiled)| {
                let mut engine = Engine::new();
                engine.set_bloom_prefilter(options.bloom);
                engine.set_cross_rule_ac(options.cross_rule_ac);
                engine.extend_compiled_rules(compiled);
                Group { source, engine }
            })
            .collect();
        groups.sort_by(|a, b| format!("{:?}", a.source).cmp(&format!("{:?}", b.source)));
        for filter in &rules.filters {
            for group in &mut groups {
                if let Err(err) = group.engine.apply_filter(filter) {
                    tracing::warn!(filter = %filter.title, %err, "Sigma filter not applied");
                }
            }
        }

        RulePlan {
            groups,
            rule_count,
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// Number of detection rules in the plan.
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// Number of log-source groups the rules fall into.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Evaluates one record against the rules written for its log source.
    pub fn evaluate(&self, record: &LogRecord) -> Vec<EvaluationResult> {
        let route = self.route(&record.source);
        let event = JsonEvent::borrow(&record.fields);
        let mut results = Vec::new();
        for index in route {
            if let Some(group) = self.groups.get(index) {
                results.extend(group.engine.evaluate(&event));
            }
        }
        results
    }

    /// The groups a record source reaches, computed once per distinct source.
    fn route(&self, source: &RecordSource) -> Vec<usize> {
        let mut routes = match self.routes.lock() {
            Ok(routes) => routes,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(route) = routes.get(source) {
            return route.clone();
        }
        let route: Vec<usize> = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.source.admits(source))
            .map(|(i, _)| i)
            .collect();
        routes.insert(source.clone(), route.clone());
        route
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
