//! YARA rules through yara-x: the built-in rule set plus rule folders the site names.
//!
//! Each rule file is compiled in its own namespace; a file yara-x refuses is
//! reported with its reason and the others still load.

use std::path::{Path, PathBuf};

use crate::verdict::{Finding, Severity};

/// The rules written for this project, always loaded.
pub const BUILTIN_RULES: &str = include_str!("../rules/safecare.yar");

/// Files larger than this are scanned on their first bytes only.
const MAX_SCAN_BYTES: usize = 256 * 1024 * 1024;

/// A rule file yara-x would not compile, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRule {
    pub file: String,
    /// The first line of the compiler's message.
    pub reason: String,
}

/// Compiled rules ready to scan.
pub struct YaraRules {
    rules: yara_x::Rules,
    /// How many rule files compiled (the built-in set counts as one).
    pub files_loaded: usize,
}

impl std::fmt::Debug for YaraRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YaraRules")
            .field("files_loaded", &self.files_loaded)
            .finish()
    }
}

/// Compiles the built-in rules and every `.yar`/`.yara` file under `dirs`.
///
/// Returns the rules and the files refused; a refused file never stops the load.
pub fn load(dirs: &[PathBuf]) -> (YaraRules, Vec<RefusedRule>) {
    let mut compiler = yara_x::Compiler::new();
    let mut refused = Vec::new();
    let mut loaded = 0;

    compiler.new_namespace("safecare");
    match compiler.add_source(BUILTIN_RULES) {
        Ok(_) => loaded += 1,
        Err(err) => refused.push(RefusedRule {
            file: "<built-in>".into(),
            reason: first_line(&err),
        }),
    }

    for (index, file) in rule_files(dirs, &mut refused).into_iter().enumerate() {
        let source = match std::fs::read(&file) {
            Ok(source) => source,
            Err(err) => {
                refused.push(RefusedRule {
                    file: file.display().to_string(),
                    reason: err.to_string(),
                });
                continue;
            }
        };
        compiler.new_namespace(&format!("site{index}"));
        let origin = file.display().to_string();
        let code = yara_x::SourceCode::from(source.as_slice()).with_origin(origin.as_str());
        match compiler.add_source(code) {
            Ok(_) => loaded += 1,
            Err(err) => refused.push(RefusedRule {
                file: origin,
                reason: first_line(&err),
            }),
        }
    }

    let rules = YaraRules {
        rules: compiler.build(),
        files_loaded: loaded,
    };
    (rules, refused)
}

/// The message of a compile error, first line only (the rest is a source excerpt).
fn first_line(err: &impl std::fmt::Display) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Rule files under `dirs` (or the files themselves), sorted; unreadable folders are refused.
fn rule_files(dirs: &[PathBuf], refused: &mut Vec<RefusedRule>) -> Vec<PathBuf> {
    let mut unreadable = Vec::new();
    let mut files: Vec<PathBuf> = crate::scan::collect_files(dirs, &mut unreadable)
        .into_iter()
        .filter(|path| is_rule_file(path))
        .collect();
    files.sort();
    for (file, reason) in unreadable {
        refused.push(RefusedRule { file, reason });
    }
    files
}

fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yar" | "yara")
    )
}

impl YaraRules {
    /// Scans bytes and turns each matching rule into a finding.
    ///
    /// Builds a scanner for this call only; a loop over many files should keep
    /// one [`YaraScanner`] per thread instead.
    pub fn scan(&self, bytes: &[u8]) -> Vec<Finding> {
        self.scanner().scan(bytes)
    }

    /// A scanner to reuse from one thread: building one is far dearer than a scan of a small file.
    pub fn scanner(&self) -> YaraScanner<'_> {
        let mut scanner = yara_x::Scanner::new(&self.rules);
        scanner.set_timeout(std::time::Duration::from_secs(10));
        YaraScanner { scanner }
    }
}

/// The rules ready to scan file after file on one thread.
pub struct YaraScanner<'r> {
    scanner: yara_x::Scanner<'r>,
}

impl YaraScanner<'_> {
    /// Scans bytes and turns each matching rule into a finding.
    ///
    /// Rules tagged `ransom_note` give `yara.ransom_note`, the others `yara.match`.
    pub fn scan(&mut self, bytes: &[u8]) -> Vec<Finding> {
        let bytes = &bytes[..bytes.len().min(MAX_SCAN_BYTES)];
        let results = match self.scanner.scan(bytes) {
            Ok(results) => results,
            Err(err) => {
                return vec![Finding::whole(
                    "yara.scan_failed",
                    Severity::Low,
                    format!("the YARA scan did not finish: {err}"),
                )];
            }
        };
        results
            .matching_rules()
            .map(|rule| rule_finding(&rule))
            .collect()
    }
}

fn rule_finding(rule: &yara_x::Rule<'_, '_>) -> Finding {
    let ransom = rule.tags().any(|tag| tag.identifier() == "ransom_note");
    let kind = if ransom {
        "yara.ransom_note"
    } else {
        "yara.match"
    };
    let detail = format!(
        "YARA rule {}:{} matched",
        rule.namespace(),
        rule.identifier()
    );
    let offset = rule
        .patterns()
        .flat_map(|pattern| pattern.matches())
        .map(|m| m.range().start as u64)
        .min();
    Finding {
        kind: kind.to_string(),
        severity: Severity::High,
        detail,
        offset,
    }
}
