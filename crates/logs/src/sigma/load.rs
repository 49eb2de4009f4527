//! Loading Sigma rules from files and folders.
//!
//! Every file is parsed on its own: a file that does not parse, or a rule
//! that does not compile (an invalid regular expression, an unknown
//! modifier), becomes a [`RuleError`] naming the file and the reason, and the
//! other rules load.

use std::path::{Path, PathBuf};

use rsigma_eval::{CompiledRule, Pipeline, apply_pipelines, compile_rule};
use rsigma_parser::{CorrelationRule, FilterRule, parse_sigma_yaml};
use thiserror::Error;

/// The largest rule file read: 1 MiB.
const MAX_RULE_FILE_BYTES: u64 = 1024 * 1024;
/// The deepest folder nesting followed.
const MAX_DEPTH: usize = 16;

/// A rule file, or one rule in it, that could not be loaded.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{}: {reason}", file.display())]
pub struct RuleError {
    /// The rule file.
    pub file: PathBuf,
    /// What is wrong, for a person.
    pub reason: String,
}

/// One compiled detection rule and the file it came from.
#[derive(Debug)]
pub struct LoadedRule {
    /// The rule file.
    pub file: PathBuf,
    /// The compiled rule.
    pub rule: CompiledRule,
}

/// Everything loaded from the rule paths, with the files that failed.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Compiled detection rules.
    pub rules: Vec<LoadedRule>,
    /// Correlation rules.
    pub correlations: Vec<CorrelationRule>,
    /// Sigma filters, applied to the rules they name.
    pub filters: Vec<FilterRule>,
    /// The detection rules as parsed, kept only when correlations need them.
    pub(crate) parsed: Vec<rsigma_parser::SigmaRule>,
    /// Files and rules that did not load.
    pub errors: Vec<RuleError>,
}

impl RuleSet {
    /// Number of detection and correlation rules loaded.
    pub fn len(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }

    /// True when nothing loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses and compiles the rules of one YAML text (one or more documents).
    pub fn add_yaml(&mut self, yaml: &str, file: &Path, pipelines: &[Pipeline]) {
        let collection = match parse_sigma_yaml(yaml) {
            Ok(collection) => collection,
            Err(err) => return self.error(file, format!("not a Sigma rule file: {err}")),
        };
        for reason in &collection.errors {
            self.error(file, reason.clone());
        }

        for mut rule in collection.rules {
            // Correlations find their rules through the id a detection reports,
            // so a rule known only by name gets its name as id.
            if rule.id.is_none()
                && let Some(name) = &rule.name
            {
                rule.id = Some(format!("name:{name}"));
            }
            if let Err(err) = apply_pipelines(pipelines, &mut rule) {
                self.error(
                    file,
                    format!("rule '{}': pipeline failed: {err}", rule.title),
                );
                continue;
            }
            match compile_rule(&rule) {
                Ok(compiled) => {
                    self.rules.push(LoadedRule {
                        file: file.to_path_buf(),
                        rule: compiled,
                    });
                    self.parsed.push(rule);
                }
                Err(err) => self.error(
                    file,
                    format!("rule '{}' does not compile: {err}", rule.title),
                ),
            }
        }
        self.correlations.extend(collection.correlations);
        self.filters.extend(collection.filters);
    }

    /// Drops the parsed copies when no correlation needs them, to save memory.
    pub(crate) fn trim(&mut self) {
        if self.correlations.is_empty() {
            self.parsed = Vec::new();
        }
    }

    fn error(&mut self, file: &Path, reason: String) {
        tracing::warn!(file = %file.display(), %reason, "Sigma rule skipped");
        self.errors.push(RuleError {
            file: file.to_path_buf(),
            reason,
        });
    }
}

/// Loads every `.yml`/`.yaml` file under the given files and folders.
///
/// `pipelines` (pySigma-style processing pipelines, e.g. for `expand`
/// placeholders) are applied to each rule before it is compiled.
pub fn load_rules(paths: &[PathBuf], pipelines: &[Pipeline]) -> RuleSet {
    let mut files = Vec::new();
    let mut set = RuleSet::default();
    for path in paths {
        if let Err(reason) = collect_files(path, 0, &mut files) {
            set.error(path, reason);
        }
    }
    files.sort();

    for file in files {
        match read_rule_file(&file) {
            Ok(text) => set.add_yaml(&text, &file, pipelines),
            Err(reason) => set.error(&file, reason),
        }
    }
    set.trim();
    tracing::info!(
        rules = set.rules.len(),
        correlations = set.correlations.len(),
        errors = set.errors.len(),
        "Sigma rules loaded"
    );
    set
}

fn collect_files(path: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|err| format!("cannot read: {err}"))?;
    if meta.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Err(format!(
            "folders nested deeper than {MAX_DEPTH} levels, not followed"
        ));
    }

    let entries = std::fs::read_dir(path).map_err(|err| format!("cannot list folder: {err}"))?;
    for entry in entries.flatten() {
        let child = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let is_rule = child
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if is_dir {
            collect_files(&child, depth + 1, files)?;
        } else if is_rule {
            files.push(child);
        }
    }
    Ok(())
}

fn read_rule_file(file: &Path) -> Result<String, String> {
    let size = std::fs::metadata(file)
        .map_err(|err| err.to_string())?
        .len();
    if size > MAX_RULE_FILE_BYTES {
        return Err(format!("rule file of {size} bytes is over the 1 MiB limit"));
    }
    let bytes = std::fs::read(file).map_err(|err| format!("cannot read: {err}"))?;
    String::from_utf8(bytes).map_err(|_| "rule file is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "title: Whoami\nid: 11111111-1111-1111-1111-111111111111\n\
        logsource: {product: windows, category: process_creation}\n\
        detection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\nlevel: low\n";

    #[test]
    fn a_bad_regex_is_reported_and_the_good_rule_loads() {
        let bad = "title: Bad\nlogsource: {product: windows}\n\
            detection:\n  sel:\n    CommandLine|re: '([a-'\n  condition: sel\n";
        let mut set = RuleSet::default();

        set.add_yaml(GOOD, Path::new("good.yml"), &[]);
        set.add_yaml(bad, Path::new("bad.yml"), &[]);

        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.errors.len(), 1);
        assert_eq!(set.errors[0].file, Path::new("bad.yml"));
        assert!(set.errors[0].to_string().starts_with("bad.yml: "));
    }

    #[test]
    fn broken_yaml_names_the_file() {
        let mut set = RuleSet::default();
        set.add_yaml("title: [unclosed", Path::new("broken.yml"), &[]);
        assert!(set.rules.is_empty());
        assert_eq!(set.errors.len(), 1, "{:?}", set.errors);
    }
}
