//! Decision support: playbooks that turn an assessment into actions with owners.
//!
//! A playbook file (YAML, one playbook per file, in `playbooks/`) applies to some incident
//! types when the impact reaches certain asset types, services or assets. Each action names
//! its owner role and its urgency (CAP terms: immediate, expected, future), and may narrow
//! itself to some impacted assets with `when`. The shipped playbooks are embedded; a site
//! can load its own folder instead.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use safecare_core::{Incident, IncidentType};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::assessment::{ImpactAssessment, ImpactedAsset};
use crate::names::{self, CLASSES};
use crate::problem::{self, Problem};

/// The shipped playbooks, by file name.
pub const DEFAULT_PLAYBOOKS: [(&str, &str); 6] = [
    (
        "vaccine-theft.yaml",
        include_str!("../../../playbooks/vaccine-theft.yaml"),
    ),
    (
        "power-and-fire.yaml",
        include_str!("../../../playbooks/power-and-fire.yaml"),
    ),
    (
        "pacs-ransomware.yaml",
        include_str!("../../../playbooks/pacs-ransomware.yaml"),
    ),
    (
        "or-ahu-tampering.yaml",
        include_str!("../../../playbooks/or-ahu-tampering.yaml"),
    ),
    (
        "datacentre-intrusion.yaml",
        include_str!("../../../playbooks/datacentre-intrusion.yaml"),
    ),
    (
        "clinical-continuity.yaml",
        include_str!("../../../playbooks/clinical-continuity.yaml"),
    ),
];

/// The largest playbook file accepted: 1 MiB.
pub const MAX_PLAYBOOK_BYTES: u64 = 1024 * 1024;
/// The most playbook files read from one folder.
pub const MAX_PLAYBOOK_FILES: usize = 1000;

/// How soon an action must be taken (CAP 1.2 urgency terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Now.
    Immediate,
    /// Within the hour.
    Expected,
    /// When the situation allows.
    Future,
}

impl Urgency {
    /// The snake_case name used in playbooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Immediate => "immediate",
            Urgency::Expected => "expected",
            Urgency::Future => "future",
        }
    }
}

/// One recommended action, attached to an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Id of the playbook the action comes from.
    pub playbook: String,
    /// Id of the action inside its playbook.
    pub id: String,
    /// What to do, for a person.
    pub action: String,
    /// Role that does it, e.g. `it-security`, `facility-manager`, `crisis-manager`.
    pub owner: String,
    pub urgency: Urgency,
    /// Impacted assets the action is about.
    #[serde(default)]
    pub assets: Vec<String>,
}

/// One validated playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub id: String,
    pub name: String,
    pub incident: Vec<IncidentType>,
    /// Asset types, `service`, or asset ids; empty means any impacted asset.
    pub impacted: Vec<String>,
    /// Impacted assets below this score do not trigger the playbook.
    pub min_score: f64,
    pub actions: Vec<PlaybookAction>,
    pub file: String,
}

/// One action as written in a playbook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookAction {
    pub id: String,
    pub action: String,
    pub owner: String,
    pub urgency: Urgency,
    /// Only when an impacted asset matches one of these (same forms as `impacted`).
    #[serde(default)]
    pub when: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    id: String,
    name: String,
    incident: Vec<String>,
    #[serde(default)]
    impacted: Vec<String>,
    #[serde(default)]
    min_score: Option<f64>,
    actions: Vec<PlaybookAction>,
}

/// Why playbooks could not be loaded.
#[derive(Debug, Error)]
pub enum PlaybookError {
    #[error("could not read the playbooks at {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the playbook {file} is {size} bytes, over the {max}-byte limit: split it")]
    TooLarge { file: String, size: u64, max: u64 },
    #[error(
        "{file}:{line}:{column}: {message} (a playbook has id, name, incident, impacted and a list of actions, each with id, action, owner and urgency)"
    )]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {} problem(s) in the playbook:\n{}", problems.len(), problem::list(problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

/// A set of playbooks, in load order.
#[derive(Debug, Clone, Default)]
pub struct PlaybookSet {
    playbooks: Vec<Playbook>,
}

impl PlaybookSet {
    /// The shipped playbooks.
    ///
    /// Panics only if an embedded playbook is broken, which the tests rule out.
    pub fn defaults() -> PlaybookSet {
        let mut set = PlaybookSet::default();
        for (name, text) in DEFAULT_PLAYBOOKS {
            match Playbook::from_yaml(text, &format!("playbooks/{name}")) {
                Ok(playbook) => set.playbooks.push(playbook),
                Err(err) => panic!("a shipped playbook does not load: {err}"),
            }
        }
        set
    }

    /// Loads every `*.yaml` and `*.yml` file of a folder, in file-name order.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<PlaybookSet, PlaybookError> {
        let dir = dir.as_ref();
        let read_error = |source| PlaybookError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_error)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .take(MAX_PLAYBOOK_FILES)
            .collect();
        files.sort();

        let mut set = PlaybookSet::default();
        for file in files {
            set.playbooks.push(Playbook::load(&file)?);
        }
        Ok(set)
    }

    /// Adds a playbook.
    pub fn push(&mut self, playbook: Playbook) {
        self.playbooks.push(playbook);
    }

    /// Every playbook.
    pub fn playbooks(&self) -> &[Playbook] {
        &self.playbooks
    }

    /// The actions the playbooks recommend for an assessment, most urgent first.
    pub fn recommend(&self, assessment: &ImpactAssessment, incident: &Incident) -> Vec<Action> {
        if assessment.cleared {
            return Vec::new();
        }
        let mut actions = Vec::new();
        let mut seen = HashSet::new();
        for playbook in &self.playbooks {
            if !playbook.incident.contains(&incident.kind) {
                continue;
            }
            let impacted: Vec<&ImpactedAsset> = assessment
                .assets
                .iter()
                .filter(|a| a.score >= playbook.min_score)
                .filter(|a| playbook.impacted.is_empty() || matches_any(&playbook.impacted, a))
                .collect();
            if impacted.is_empty() {
                continue;
            }
            for action in &playbook.actions {
                let about: Vec<String> = impacted
                    .iter()
                    .filter(|a| action.when.is_empty() || matches_any(&action.when, a))
                    .map(|a| a.id.clone())
                    .collect();
                if about.is_empty() || !seen.insert((playbook.id.clone(), action.id.clone())) {
                    continue;
                }
                actions.push(Action {
                    playbook: playbook.id.clone(),
                    id: action.id.clone(),
                    action: action.action.clone(),
                    owner: action.owner.clone(),
                    urgency: action.urgency,
                    assets: about,
                });
            }
        }
        actions.sort_by_key(|a| a.urgency);
        actions
    }
}

/// The actions the shipped playbooks recommend for an assessment.
pub fn recommend(assessment: &ImpactAssessment, incident: &Incident) -> Vec<Action> {
    static DEFAULTS: OnceLock<PlaybookSet> = OnceLock::new();
    DEFAULTS
        .get_or_init(PlaybookSet::defaults)
        .recommend(assessment, incident)
}

/// True when an impacted asset is named by one of the entries: its id, its type, or
/// `service` for any service.
fn matches_any(entries: &[String], asset: &ImpactedAsset) -> bool {
    entries
        .iter()
        .any(|e| *e == asset.id || e == asset.asset_type.as_str())
}

impl Playbook {
    /// Reads and validates one playbook file.
    pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
        let shown = path.display().to_string();
        let read_error = |source| PlaybookError::Read {
            path: shown.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > MAX_PLAYBOOK_BYTES {
            return Err(PlaybookError::TooLarge {
                file: shown,
                size,
                max: MAX_PLAYBOOK_BYTES,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Playbook::from_yaml(&text, &shown)
    }

    /// Parses and validates one playbook; `file` names the source in errors.
    pub fn from_yaml(text: &str, file: &str) -> Result<Playbook, PlaybookError> {
        let raw: RawPlaybook = serde_yaml_ng::from_str(text).map_err(|err| {
            let (line, column, message) = problem::yaml_location(&err);
            PlaybookError::Syntax {
                file: file.to_string(),
                line,
                column,
                message,
            }
        })?;

        let mut problems = Vec::new();
        let incident = resolve_incidents(&raw, text, &mut problems);
        let min_score = raw.min_score.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&min_score) {
            problems.push(Problem::new(
                None,
                &raw.id,
                format!("min_score {min_score} is outside 0..1"),
                "write the lowest impact score that should trigger the playbook",
            ));
        }
        check_actions(&raw, text, &mut problems);
        if !problems.is_empty() {
            return Err(PlaybookError::Invalid {
                file: file.to_string(),
                problems,
            });
        }
        Ok(Playbook {
            id: raw.id,
            name: raw.name,
            incident,
            impacted: raw.impacted,
            min_score,
            actions: raw.actions,
            file: file.to_string(),
        })
    }
}

fn resolve_incidents(
    raw: &RawPlaybook,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Vec<IncidentType> {
    let line = problem::locate_ids(text, std::iter::once(raw.id.as_str()))[0];
    if raw.incident.is_empty() {
        problems.push(Problem::new(
            line,
            &raw.id,
            "`incident` is empty".into(),
            "list the incident types the playbook answers, or write `any`",
        ));
    }
    let mut found = Vec::new();
    for name in &raw.incident {
        if name == "any" {
            found.extend(CLASSES);
            continue;
        }
        match names::parse_class(name) {
            Some(class) => found.push(class),
            None => problems.push(Problem::new(
                line,
                &raw.id,
                format!("`{name}` is not an incident type"),
                &format!("use `any` or one of {}", names::class_names()),
            )),
        }
    }
    found.sort_by_key(|c| names::class_slot(*c));
    found.dedup();
    found
}

fn check_actions(raw: &RawPlaybook, text: &str, problems: &mut Vec<Problem>) {
    if raw.actions.is_empty() {
        problems.push(Problem::new(
            None,
            &raw.id,
            "the playbook has no actions".into(),
            "add at least one action with id, action, owner and urgency",
        ));
    }
    let lines = problem::locate_ids(
        text,
        std::iter::once(raw.id.as_str()).chain(raw.actions.iter().map(|a| a.id.as_str())),
    );
    let mut seen = HashSet::new();
    for (action, line) in raw.actions.iter().zip(lines.into_iter().skip(1)) {
        if !seen.insert(action.id.as_str()) {
            problems.push(Problem::new(
                line,
                &action.id,
                "the action id is used twice in this playbook".into(),
                "give every action a unique id",
            ));
        }
        if action.action.trim().is_empty() || action.owner.trim().is_empty() {
            problems.push(Problem::new(
                line,
                &action.id,
                "the action has an empty text or owner".into(),
                "say what to do and which role does it",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_playbooks_load() {
        let set = PlaybookSet::defaults();
        assert_eq!(set.playbooks().len(), DEFAULT_PLAYBOOKS.len());
    }

    #[test]
    fn bad_playbooks_are_refused_with_the_line() {
        let text = "id: p\nname: P\nincident: [fire, flood]\nactions:\n  - id: a\n    \
                    action: Leave\n    owner: everyone\n    urgency: immediate\n";
        let err = Playbook::from_yaml(text, "p.yaml").unwrap_err();
        let PlaybookError::Invalid { problems, .. } = &err else {
            panic!("expected invalid, got {err}");
        };
        assert_eq!(problems[0].line, Some(1));
        assert!(problems[0].message.contains("flood"), "{err}");

        let text = text.replace("urgency: immediate", "urgency: soonish");
        let err = Playbook::from_yaml(&text, "p.yaml").unwrap_err();
        assert!(
            matches!(err, PlaybookError::Syntax { line: 8, .. }),
            "{err}"
        );
    }
}
