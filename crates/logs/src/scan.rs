//! The scanner: records in, Sigma detections and device findings out.
//!
//! One [`Scanner`] holds the compiled rule plan, the correlation state and
//! the analytics state, so files scanned one after another (or lines
//! received over the network) share windows and counters.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::analytics::{Analytics, DeviceProfiles, Finding};
use crate::intake::{self, Format, IntakeError, RecordError};
use crate::record::LogRecord;
use crate::sigma::correlate::Correlator;
use crate::sigma::{Detection, PlanOptions, RuleError, RulePlan, RuleSet};

/// Most record errors kept for the summary; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 100;

/// What one record produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    /// A Sigma rule or correlation matched.
    Sigma(Detection),
    /// A device analytic found a pattern.
    Analytic(Finding),
}

/// Counts of a run, for the person who started it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogsSummary {
    /// Files scanned.
    pub files: u64,
    /// Records parsed and evaluated.
    pub records: u64,
    /// Records that could not be parsed.
    pub record_errors: u64,
    /// Detection rules in force.
    pub rules_loaded: usize,
    /// Correlation rules in force.
    pub correlations_loaded: usize,
    /// Rule files or rules that did not load, with file and reason.
    pub rule_errors: Vec<String>,
    /// Sigma detections and correlations.
    pub sigma_detections: u64,
    /// Device-analytics findings.
    pub analytic_findings: u64,
    /// Events handed to the sink.
    pub events_emitted: u64,
    /// Detections per rule title (or analytic kind).
    pub by_rule: BTreeMap<String, u64>,
    /// The first record errors, with file and record.
    pub first_errors: Vec<String>,
    /// Files that could not be read at all.
    pub file_errors: Vec<String>,
}

impl std::fmt::Display for LogsSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} files, {} records ({} unreadable), {} rules + {} correlations loaded ({} rule errors)",
            self.files,
            self.records,
            self.record_errors,
            self.rules_loaded,
            self.correlations_loaded,
            self.rule_errors.len()
        )?;
        write!(
            f,
            "{} Sigma detections, {} device findings, {} events emitted",
            self.sigma_detections, self.analytic_findings, self.events_emitted
        )?;
        for error in self.rule_errors.iter().take(20) {
            write!(f, "\nrule error: {error}")?;
        }
        for error in self.file_errors.iter().chain(&self.first_errors).take(20) {
            write!(f, "\nerror: {error}")?;
        }
        Ok(())
    }
}

/// Rules, correlations and analytics with their state.
pub struct Scanner {
    plan: RulePlan,
    correlator: Option<Correlator>,
    analytics: Analytics,
    summary: LogsSummary,
}

impl Scanner {
    /// A scanner over loaded rules, with device analytics driven by `profiles`.
    pub fn new(rules: RuleSet, profiles: DeviceProfiles) -> Self {
        Self::with_options(rules, profiles, PlanOptions::default())
    }

    /// A scanner whose rule plan uses the given prefilters.
    pub fn with_options(
        mut rules: RuleSet,
        profiles: DeviceProfiles,
        options: PlanOptions,
    ) -> Self {
        let correlator = Correlator::new(&mut rules);
        let plan = RulePlan::with_options(&mut rules, options);
        let summary = LogsSummary {
            rules_loaded: plan.rule_count(),
            correlations_loaded: correlator.as_ref().map_or(0, Correlator::len),
            rule_errors: rules.errors.iter().map(RuleError::to_string).collect(),
            ..LogsSummary::default()
        };
        Scanner {
            plan,
            correlator,
            analytics: Analytics::new(profiles),
            summary,
        }
    }

    /// The counts so far.
    pub fn summary(&self) -> &LogsSummary {
        &self.summary
    }

    /// Takes the counts, leaving the state in place.
    pub fn take_summary(&mut self) -> LogsSummary {
        let fresh = LogsSummary {
            rules_loaded: self.summary.rules_loaded,
            correlations_loaded: self.summary.correlations_loaded,
            rule_errors: self.summary.rule_errors.clone(),
            ..LogsSummary::default()
        };
        std::mem::replace(&mut self.summary, fresh)
    }

    /// Evaluates one record: Sigma rules, correlations, then analytics.
    pub fn process(&mut self, record: &LogRecord) -> Vec<Hit> {
        self.summary.records += 1;

        let results = self.plan.evaluate(record);
        let mut hits: Vec<Hit> = results
            .iter()
            .map(|r| Hit::Sigma(Detection::from_result(r)))
            .collect();
        if let Some(correlator) = &mut self.correlator {
            let fired = correlator.process(record, results);
            hits.extend(fired.iter().map(|r| Hit::Sigma(Detection::from_result(r))));
        }
        hits.extend(
            self.analytics
                .process(record)
                .into_iter()
                .map(Hit::Analytic),
        );

        for hit in &hits {
            let name = match hit {
                Hit::Sigma(detection) => {
                    self.summary.sigma_detections += 1;
                    detection.title.clone()
                }
                Hit::Analytic(finding) => {
                    self.summary.analytic_findings += 1;
                    finding.kind.to_string()
                }
            };
            *self.summary.by_rule.entry(name).or_default() += 1;
        }
        hits
    }

    /// Counts a record that could not be parsed, keeping the first few.
    pub fn record_error(&mut self, error: &RecordError) {
        self.summary.record_errors += 1;
        if self.summary.first_errors.len() < MAX_KEPT_ERRORS {
            self.summary.first_errors.push(error.to_string());
        }
        tracing::debug!(%error, "log record skipped");
    }

    /// Scans one file; `format` `None` means detect it.
    ///
    /// `on_hit` sees every hit with its record. A file that cannot be read
    /// is counted in the summary and returned as an error.
    pub fn scan_file(
        &mut self,
        path: &Path,
        format: Option<Format>,
        on_hit: &mut dyn FnMut(&Hit, &LogRecord),
    ) -> Result<(), IntakeError> {
        let result = format
            .map(Ok)
            .unwrap_or_else(|| intake::detect_format(path))
            .and_then(|format| {
                intake::read_file(path, format, &mut |record| match record {
                    Ok(record) => {
                        for hit in self.process(&record) {
                            on_hit(&hit, &record);
                        }
                    }
                    Err(error) => self.record_error(&error),
                })
            });
        self.summary.files += 1;
        if let Err(error) = &result {
            self.summary.file_errors.push(error.to_string());
        }
        result
    }
}
