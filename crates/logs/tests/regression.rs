//! SigmaHQ regression data: every sample must give its rule's expected match count.
//!
//! For each `info.yml` under `sigma/regression_data`, the named rule is
//! loaded alone from `sigma/rules`, its sample (EVTX, and the JSON rendering
//! beside it) is scanned through the same intake and plan as `safecare logs
//! scan`, and the matches of that rule are counted. A missing `match_count`
//! means "at least one". The pass rate is printed; a miss fails the test
//! unless it is listed in `KNOWN_MISSES` with the reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safecare_logs::intake::{self, Format};
use safecare_logs::sigma::{RulePlan, RuleSet};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/sigma");

/// Samples whose count differs from info.yml: (sample stem, count we give, why).
///
/// Each is checked: the test fails if the count changes, so an explanation
/// cannot outlive the behaviour it explains.
const KNOWN_MISSES: &[(&str, u64, &str)] = &[
    (
        "0b9ad457-2554-44c1-82c2-d56a99c42377",
        3,
        "AnyDesk artefact: the rule says TargetFilename|contains '\\AnyDesk\\user.conf'; three \
         records of the sample (user.conf.new twice, user.conf~RF…TMP) contain it; info.yml says 1",
    ),
    (
        "8fbf3271-1ef6-4e94-8210-03c2317947f6",
        3,
        "credential-dump tools: the sample drops procdump.exe, procdump64.exe and \
         procdump64a.exe, each in the rule's endswith list; info.yml says 1",
    ),
    (
        "45e112d0-7759-4c2a-aa36-9f8fb79d3393",
        3,
        "security zones: three SetValue records under ZoneMap\\Domains (https, http, *) with \
         Details DWORD 2, each outside the rule's filter; info.yml says 1",
    ),
];

/// Rule file by rule id. Four ids of the regression data are absent (their
/// rules live in SigmaHQ's rules-emerging-threats and rules-threat-hunting,
/// which the shared data does not include); their samples are counted as skipped.
fn rule_index(rules: &Path) -> HashMap<String, PathBuf> {
    let mut index = HashMap::new();
    let mut stack = vec![rules.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if let Some(id) = text.lines().find_map(|l| l.strip_prefix("id: ")) {
                    index.insert(id.trim().to_string(), path);
                }
            }
        }
    }
    index
}

fn info_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            info_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "info.yml") {
            out.push(path);
        }
    }
}

struct Case {
    rule_id: String,
    sample: PathBuf,
    format: Format,
    expected: Option<u64>,
}

fn cases(info: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(info).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let rule_id = doc["rule_metadata"][0]["id"].as_str().unwrap().to_string();
    let mut cases = Vec::new();
    let Some(tests) = doc["regression_tests_info"].as_sequence() else {
        return cases;
    };
    for test in tests {
        let sample = Path::new(DATA).join(test["path"].as_str().unwrap());
        let expected = test["match_count"].as_u64();
        cases.push(Case {
            rule_id: rule_id.clone(),
            sample: sample.clone(),
            format: Format::Evtx,
            expected,
        });
        let json = sample.with_extension("json");
        if json.exists() {
            cases.push(Case {
                rule_id: rule_id.clone(),
                sample: json,
                format: Format::Json,
                expected,
            });
        }
    }
    cases
}

fn count_matches(rule_file: &Path, rule_id: &str, case: &Case) -> Result<u64, String> {
    let mut set = RuleSet::default();
    let yaml = std::fs::read_to_string(rule_file).map_err(|e| e.to_string())?;
    set.add_yaml(&yaml, rule_file, &[]);
    if let Some(err) = set.errors.first() {
        return Err(err.to_string());
    }
    let plan = RulePlan::new(&mut set);

    let mut matches = 0u64;
    let mut errors = Vec::new();
    intake::read_file(&case.sample, case.format, &mut |record| match record {
        Ok(record) => {
            matches += plan
                .evaluate(&record)
                .iter()
                .filter(|r| r.header.rule_id.as_deref() == Some(rule_id))
                .count() as u64;
        }
        Err(err) => errors.push(err.to_string()),
    })
    .map_err(|e| e.to_string())?;
    if let Some(err) = errors.first() {
        return Err(err.clone());
    }
    Ok(matches)
}

#[test]
fn sigma_regression_data_pass_rate() {
    let index = rule_index(&Path::new(DATA).join("rules"));
    let mut infos = Vec::new();
    info_files(&Path::new(DATA).join("regression_data"), &mut infos);
    infos.sort();

    let (mut passed, mut known, mut absent, mut unexplained) = (0, 0, 0, Vec::new());
    let mut total = 0;
    for info in &infos {
        for case in cases(info) {
            let Some(rule_file) = index.get(&case.rule_id) else {
                absent += 1;
                continue;
            };
            total += 1;
            let name = case
                .sample
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let outcome = count_matches(rule_file, &case.rule_id, &case);
            let ok = match (&outcome, case.expected) {
                (Ok(n), Some(want)) => *n == want,
                (Ok(n), None) => *n >= 1,
                (Err(_), _) => false,
            };
            let explained = KNOWN_MISSES
                .iter()
                .any(|(sample, count, _)| *sample == name && outcome.as_ref() == Ok(count));
            if ok {
                passed += 1;
            } else if explained {
                known += 1;
            } else {
                unexplained.push(format!(
                    "{} ({}): expected {:?}, got {:?}",
                    rule_file.display(),
                    name,
                    case.expected,
                    outcome
                ));
            }
        }
    }

    println!(
        "Sigma regression: {passed}/{total} samples pass ({:.1}%), {known} explained misses, \
         {} unexplained, {absent} samples skipped (rule not in sigma/rules)",
        100.0 * passed as f64 / total.max(1) as f64,
        unexplained.len()
    );
    assert!(total > 150, "only {total} regression samples found");
    assert!(
        unexplained.is_empty(),
        "unexplained misses:\n{}",
        unexplained.join("\n")
    );
}
