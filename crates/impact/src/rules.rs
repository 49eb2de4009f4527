//! Propagation rules: how harm of one class on one asset type crosses one kind of link.
//!
//! A rule reads "harm of class C on an asset of type A reaches, over a link of kind K, an
//! asset of type B as harm of class C' with effect E, weakened by factor F". Rules are
//! compiled into a flat table indexed by (C, A, K, B), so the propagation looks a rule up in
//! constant time. Two rules that cover the same (C, A, K, B) and disagree are a
//! contradiction, reported at load with both lines. The defaults ship in
//! `crates/impact/rules/propagation.yaml`; a site can load its own file instead.

use std::collections::BTreeSet;
use std::path::Path;

use safecare_core::IncidentType;
use safecare_core::site::{AssetType, Delay, DependencyKind};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::names::{
    self, ASSET_TYPES, CLASSES, Domain, KINDS, class_slot, domain_of, kind_slot, type_slot,
};
use crate::problem::{self, Problem};

/// The shipped default rules.
pub const DEFAULT_RULES_YAML: &str = include_str!("../rules/propagation.yaml");

/// The largest rules file accepted: 4 MiB.
pub const MAX_RULES_BYTES: u64 = 4 * 1024 * 1024;
/// The most rules a file may hold.
pub const MAX_RULES: usize = 10_000;
/// The deepest explaining path allowed in a rules file.
pub const MAX_DEPTH_LIMIT: usize = 1024;

const NO_RULE: u16 = u16::MAX;
const TABLE_SIZE: usize = CLASSES.len() * ASSET_TYPES.len() * KINDS.len() * ASSET_TYPES.len();

/// What harm does to the asset it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Under an attacker's control or infected.
    Compromised,
    /// Not working at all.
    Unavailable,
    /// Working with less capacity or quality.
    Degraded,
    /// Working but no longer safe (wrong setpoints, unsafe conditions).
    Unsafe,
    /// Open to the threat (reachable by an intruder) without harm yet.
    Exposed,
    /// Physically damaged or taken.
    Damaged,
}

impl Effect {
    /// The snake_case name used in rule files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Compromised => "compromised",
            Effect::Unavailable => "unavailable",
            Effect::Degraded => "degraded",
            Effect::Unsafe => "unsafe",
            Effect::Exposed => "exposed",
            Effect::Damaged => "damaged",
        }
    }
}

/// One compiled rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    /// Threat classes the rule applies to.
    pub incident: Vec<IncidentType>,
    /// Asset types harm starts from.
    pub on: Vec<AssetType>,
    /// Link kinds harm crosses.
    pub over: Vec<DependencyKind>,
    /// Asset types harm reaches.
    pub to: Vec<AssetType>,
    /// Class of the harm on arrival; `None` keeps the incoming class.
    pub becomes: Option<IncidentType>,
    pub effect: Effect,
    /// Share of the incoming score that crosses the link, 0.0-1.0.
    pub factor: f64,
    /// Delay added to the link's own delay.
    pub delay: Option<Delay>,
    pub note: Option<String>,
    /// 1-based line of the rule's `id` in its file, when known.
    pub line: Option<usize>,
}

impl Rule {
    /// The directions this rule covers, e.g. (cyber, physical).
    pub fn directions(&self) -> BTreeSet<(Domain, Domain)> {
        let mut found = BTreeSet::new();
        for from in &self.on {
            for to in &self.to {
                found.insert((domain_of(*from), domain_of(*to)));
            }
        }
        found
    }
}

/// A validated, compiled set of propagation rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    table: Vec<u16>,
    min_score: f64,
    max_depth: usize,
    max_impacted: usize,
    source: String,
}

/// Why a rules file could not be used.
#[derive(Debug, Error)]
pub enum RuleError {
    #[error("could not read the propagation rules {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the propagation rules {file} are {size} bytes, over the {max}-byte limit: split out what the site does not use"
    )]
    TooLarge { file: String, size: u64, max: u64 },
    #[error("{file}:{line}:{column}: {message} ({fix})")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
        fix: String,
    },
    #[error("{file}: {} problem(s) in the propagation rules:\n{}", problems.len(), problem::list(problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl RuleError {
    /// The located problems, for an invalid file.
    pub fn problems(&self) -> &[Problem] {
        match self {
            RuleError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// A rules file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    /// Scores below this are not propagated further (default 0.05).
    #[serde(default)]
    min_score: Option<f64>,
    /// Longest explaining path, in links (default 64).
    #[serde(default)]
    max_depth: Option<usize>,
    /// Most assets one assessment may list (default 2,000,000).
    #[serde(default)]
    max_impacted: Option<usize>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    incident: Names,
    #[serde(default)]
    on: Names,
    #[serde(default)]
    over: Names,
    #[serde(default)]
    to: Names,
    #[serde(default)]
    becomes: Option<String>,
    effect: Effect,
    #[serde(default = "one")]
    factor: f64,
    #[serde(default)]
    delay: Option<Delay>,
    #[serde(default)]
    note: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// A name or a list of names; empty means "any".
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Names {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Names {
    fn items(&self) -> Vec<&str> {
        match self {
            Names::None => Vec::new(),
            Names::One(name) => vec![name.as_str()],
            Names::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

impl RuleSet {
    /// The shipped default rules.
    ///
    /// Panics only if the embedded file is broken, which the tests rule out.
    pub fn defaults() -> RuleSet {
        match RuleSet::from_yaml(DEFAULT_RULES_YAML, "crates/impact/rules/propagation.yaml") {
            Ok(rules) => rules,
            Err(err) => panic!("the shipped propagation rules do not load: {err}"),
        }
    }

    /// Reads and validates a rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<RuleSet, RuleError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let read_error = |source| RuleError::Read {
            path: shown.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_RULES_BYTES {
            return Err(RuleError::TooLarge {
                file: shown,
                size,
                max: MAX_RULES_BYTES,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        RuleSet::from_yaml(&text, &shown)
    }

    /// Parses and validates rules YAML; `file` names the source in errors.
    pub fn from_yaml(text: &str, file: &str) -> Result<RuleSet, RuleError> {
        if text.len() as u64 > MAX_RULES_BYTES {
            return Err(RuleError::TooLarge {
                file: file.to_string(),
                size: text.len() as u64,
                max: MAX_RULES_BYTES,
            });
        }

        // 1. Syntax and structure.
        let raw: RulesFile = serde_yaml_ng::from_str(text).map_err(|err| {
            let (line, column, message) = problem::yaml_location(&err);
            RuleError::Syntax {
                file: file.to_string(),
                line,
                column,
                message,
                fix: "write rules as a list under `rules:`, each with id, incident, on, over, \
                      to, effect and factor"
                    .to_string(),
            }
        })?;

        // 2. Each rule on its own, then the settings.
        let mut problems = Vec::new();
        if raw.rules.len() > MAX_RULES {
            problems.push(Problem::new(
                None,
                "",
                format!("{} rules, over the limit of {MAX_RULES}", raw.rules.len()),
                "merge rules that differ only by one list entry",
            ));
        }
        let lines = problem::locate_ids(text, raw.rules.iter().map(|r| r.id.as_str()));
        let mut rules = Vec::new();
        for (raw_rule, line) in raw.rules.iter().take(MAX_RULES).zip(lines) {
            if let Some(rule) = compile_rule(raw_rule, line, &mut problems) {
                rules.push(rule);
            }
        }
        let settings = Settings::check(&raw, &mut problems);
        check_duplicate_ids(&rules, &mut problems);

        // 3. The table, which finds contradictions.
        let table = build_table(&rules, &mut problems);
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line.unwrap_or(0));
            return Err(RuleError::Invalid {
                file: file.to_string(),
                problems,
            });
        }
        Ok(RuleSet {
            rules,
            table,
            min_score: settings.min_score,
            max_depth: settings.max_depth,
            max_impacted: settings.max_impacted,
            source: file.to_string(),
        })
    }

    /// The rule for harm of `class` on an asset of type `from` crossing a `kind` link to an
    /// asset of type `to`, if any.
    pub fn lookup(
        &self,
        class: IncidentType,
        from: AssetType,
        kind: DependencyKind,
        to: AssetType,
    ) -> Option<&Rule> {
        let slot = self.table[slot(class, from, kind, to)];
        (slot != NO_RULE).then(|| &self.rules[slot as usize])
    }

    /// Position in [`RuleSet::rules`] of the rule [`RuleSet::lookup`] would return.
    pub fn lookup_index(
        &self,
        class: IncidentType,
        from: AssetType,
        kind: DependencyKind,
        to: AssetType,
    ) -> Option<u16> {
        let slot = self.table[slot(class, from, kind, to)];
        (slot != NO_RULE).then_some(slot)
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Scores below this are not propagated.
    pub fn min_score(&self) -> f64 {
        self.min_score
    }

    /// Longest explaining path, in links.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Most assets one assessment lists.
    pub fn max_impacted(&self) -> usize {
        self.max_impacted
    }

    /// Where the rules came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every (from, to) domain pair some rule covers.
    pub fn directions(&self) -> BTreeSet<(Domain, Domain)> {
        self.rules.iter().flat_map(Rule::directions).collect()
    }
}

fn slot(class: IncidentType, from: AssetType, kind: DependencyKind, to: AssetType) -> usize {
    let n_types = ASSET_TYPES.len();
    ((class_slot(class) * n_types + type_slot(from)) * KINDS.len() + kind_slot(kind)) * n_types
        + type_slot(to)
}

struct Settings {
    min_score: f64,
    max_depth: usize,
    max_impacted: usize,
}

impl Settings {
    fn check(raw: &RulesFile, problems: &mut Vec<Problem>) -> Settings {
        let min_score = raw.min_score.unwrap_or(0.05);
        if !(0.0..=1.0).contains(&min_score) || min_score == 0.0 {
            problems.push(Problem::new(
                None,
                "min_score",
                format!("min_score {min_score} is outside (0, 1]"),
                "use a small positive score such as 0.05",
            ));
        }
        let max_depth = raw.max_depth.unwrap_or(64);
        if max_depth == 0 || max_depth > MAX_DEPTH_LIMIT {
            problems.push(Problem::new(
                None,
                "max_depth",
                format!("max_depth {max_depth} is outside 1..={MAX_DEPTH_LIMIT}"),
                "use the longest chain of links you expect, e.g. 64",
            ));
        }
        let max_impacted = raw.max_impacted.unwrap_or(2_000_000).max(1);
        Settings {
            min_score,
            max_depth,
            max_impacted,
        }
    }
}

/// Resolves the names of one rule; problems are collected, the rule dropped if any.
fn compile_rule(raw: &RawRule, line: Option<usize>, problems: &mut Vec<Problem>) -> Option<Rule> {
    let before = problems.len();
    let id = raw.id.as_str();
    if id.trim().is_empty() {
        problems.push(Problem::new(
            line,
            id,
            "a rule has an empty id".into(),
            "give every rule a short unique id",
        ));
    }

    let incident = resolve_classes(&raw.incident, line, id, problems);
    let on = resolve_types(&raw.on, "on", line, id, problems);
    let to = resolve_types(&raw.to, "to", line, id, problems);
    let over = resolve_kinds(&raw.over, line, id, problems);
    let becomes = raw.becomes.as_deref().and_then(|name| {
        if name == "same" {
            return None;
        }
        let class = names::parse_class(name);
        if class.is_none() {
            problems.push(Problem::new(
                line,
                id,
                format!("`becomes: {name}` is not an incident type"),
                &format!("write `same` or one of {}", names::class_names()),
            ));
        }
        class
    });
    if !(0.0..=1.0).contains(&raw.factor) {
        problems.push(Problem::new(
            line,
            id,
            format!("factor {} is outside 0..1", raw.factor),
            "write the share of harm that crosses the link, 0.0 to 1.0",
        ));
    }

    (problems.len() == before).then(|| Rule {
        id: raw.id.clone(),
        incident,
        on,
        over,
        to,
        becomes,
        effect: raw.effect,
        factor: raw.factor,
        delay: raw.delay,
        note: raw.note.clone(),
        line,
    })
}

fn resolve_classes(
    names_given: &Names,
    line: Option<usize>,
    id: &str,
    problems: &mut Vec<Problem>,
) -> Vec<IncidentType> {
    let items = names_given.items();
    if items.is_empty() {
        problems.push(Problem::new(
            line,
            id,
            "`incident` is empty".into(),
            "list the incident types the rule applies to, or write `any`",
        ));
        return Vec::new();
    }
    let mut found = BTreeSet::new();
    for item in items {
        if item == "any" {
            found.extend(CLASSES.map(class_slot));
            continue;
        }
        match names::parse_class(item) {
            Some(class) => {
                found.insert(class_slot(class));
            }
            None => problems.push(Problem::new(
                line,
                id,
                format!("`{item}` is not an incident type"),
                &format!("use `any` or one of {}", names::class_names()),
            )),
        }
    }
    found.into_iter().map(|i| CLASSES[i]).collect()
}

fn resolve_types(
    names_given: &Names,
    field: &str,
    line: Option<usize>,
    id: &str,
    problems: &mut Vec<Problem>,
) -> Vec<AssetType> {
    let items = names_given.items();
    if items.is_empty() {
        return ASSET_TYPES.to_vec();
    }
    let mut found = BTreeSet::new();
    for item in items {
        let domain = [Domain::Cyber, Domain::Physical, Domain::Service]
            .into_iter()
            .find(|d| d.as_str() == item);
        if item == "any" {
            found.extend(ASSET_TYPES.map(type_slot));
        } else if let Some(domain) = domain {
            let members = ASSET_TYPES.into_iter().filter(|t| domain_of(*t) == domain);
            found.extend(members.map(type_slot));
        } else if let Some(asset_type) = names::parse_asset_type(item) {
            found.insert(type_slot(asset_type));
        } else {
            problems.push(Problem::new(
                line,
                id,
                format!("`{field}: {item}` is not an asset type or domain"),
                &format!(
                    "use `any`, `cyber`, `physical`, `service` or one of {}",
                    names::asset_type_names()
                ),
            ));
        }
    }
    found.into_iter().map(|i| ASSET_TYPES[i]).collect()
}

fn resolve_kinds(
    names_given: &Names,
    line: Option<usize>,
    id: &str,
    problems: &mut Vec<Problem>,
) -> Vec<DependencyKind> {
    let items = names_given.items();
    if items.is_empty() {
        return KINDS.to_vec();
    }
    let mut found = BTreeSet::new();
    for item in items {
        match names::parse_kind(item) {
            Some(kind) => {
                found.insert(kind_slot(kind));
            }
            None if item == "any" => found.extend(KINDS.map(kind_slot)),
            None => problems.push(Problem::new(
                line,
                id,
                format!("`over: {item}` is not a dependency kind"),
                &format!("use `any` or one of {}", names::kind_names()),
            )),
        }
    }
    found.into_iter().map(|i| KINDS[i]).collect()
}

fn check_duplicate_ids(rules: &[Rule], problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashMap::new();
    for rule in rules {
        if let Some(first) = seen.insert(rule.id.as_str(), rule.line) {
            problems.push(Problem::new(
                rule.line,
                &rule.id,
                format!(
                    "the id is already used by the rule at line {}",
                    first.map_or("?".into(), |l| l.to_string())
                ),
                "give every rule a unique id",
            ));
        }
    }
}

/// Fills the lookup table; two rules covering one cell with different outcomes contradict.
fn build_table(rules: &[Rule], problems: &mut Vec<Problem>) -> Vec<u16> {
    let mut table = vec![NO_RULE; TABLE_SIZE];
    let mut reported = BTreeSet::new();
    for (r, rule) in rules.iter().enumerate() {
        for &class in &rule.incident {
            for &from in &rule.on {
                for &kind in &rule.over {
                    for &to in &rule.to {
                        let cell = &mut table[slot(class, from, kind, to)];
                        if *cell == NO_RULE {
                            *cell = r as u16;
                            continue;
                        }
                        let first = &rules[*cell as usize];
                        if same_outcome(first, rule) || !reported.insert((*cell, r)) {
                            continue;
                        }
                        problems.push(contradiction(first, rule, class, from, kind, to));
                    }
                }
            }
        }
    }
    table
}

fn same_outcome(a: &Rule, b: &Rule) -> bool {
    a.becomes == b.becomes && a.effect == b.effect && a.factor == b.factor && a.delay == b.delay
}

fn contradiction(
    first: &Rule,
    second: &Rule,
    class: IncidentType,
    from: AssetType,
    kind: DependencyKind,
    to: AssetType,
) -> Problem {
    let outcome = |r: &Rule| {
        let becomes = r.becomes.map_or("same", |c| c.as_str());
        format!("becomes {becomes}, {} x{}", r.effect.as_str(), r.factor)
    };
    let first_line = first.line.map_or("?".to_string(), |l| l.to_string());
    let mut problem = Problem::new(
        second.line,
        &second.id,
        format!(
            "contradicts rule `{}` (line {first_line}): both apply to {} on {} over {} to {} \
             but one says `{}` and the other `{}`",
            first.id,
            class.as_str(),
            from.as_str(),
            kind.as_str(),
            to.as_str(),
            outcome(first),
            outcome(second),
        ),
        "narrow the incident, on, over or to lists of one rule so they no longer overlap, \
         or make both say the same",
    );
    problem.contradiction = true;
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_RULES: &str = "rules:
  - id: hosted
    incident: [ransomware]
    on: computer
    over: hosts
    to: software
    effect: compromised
  - id: other
    incident: any
    on: physical
    over: [depends_on]
    to: service
    becomes: denial_of_service
    effect: degraded
    factor: 0.5
";

    #[test]
    fn rules_compile_into_lookups() {
        let rules = RuleSet::from_yaml(TWO_RULES, "two.yaml").unwrap();
        let hit = rules.lookup(
            IncidentType::Ransomware,
            AssetType::Computer,
            DependencyKind::Hosts,
            AssetType::Software,
        );
        assert_eq!(hit.map(|r| r.id.as_str()), Some("hosted"));
        assert_eq!(hit.map(|r| r.line), Some(Some(2)));
        let miss = rules.lookup(
            IncidentType::Malware,
            AssetType::Computer,
            DependencyKind::Hosts,
            AssetType::Software,
        );
        assert!(miss.is_none());
        let domain = rules.lookup(
            IncidentType::Fire,
            AssetType::BuildingDevice,
            DependencyKind::DependsOn,
            AssetType::Service,
        );
        assert_eq!(domain.map(|r| r.factor), Some(0.5));
    }

    #[test]
    fn unknown_names_are_located() {
        let text = TWO_RULES.replace("on: computer", "on: computr");
        let err = RuleSet::from_yaml(&text, "bad.yaml").unwrap_err();
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{err}");
        assert_eq!(problems[0].line, Some(2));
        assert!(problems[0].message.contains("computr"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let text = "rules:\n  - id: a\n    incident: fire\n    effect: melted\n";
        let err = RuleSet::from_yaml(text, "bad.yaml").unwrap_err();
        match err {
            RuleError::Syntax { line, .. } => assert_eq!(line, 4),
            other => panic!("expected a syntax error, got {other}"),
        }
    }

    #[test]
    fn the_defaults_load() {
        let rules = RuleSet::defaults();
        assert!(rules.rules().len() >= 10);
    }
}
