//! The `safecare risk` command line: the risk register.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Subcommand, ValueEnum};
use safecare_core::site::Site;

use crate::names;
use crate::propagate::Engine;
use crate::risk::{RiskHistory, RiskOptions, risk_report};
use crate::rules::RuleSet;

/// The largest history file read: 256 MiB.
const MAX_HISTORY_BYTES: u64 = 256 * 1024 * 1024;

/// Output format of the risk register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RiskFormat {
    Table,
    Csv,
    Html,
    Json,
}

/// The risk register: per asset and threat, likelihood times impact.
#[derive(Debug, Clone, Subcommand)]
pub enum RiskCommand {
    /// Rate every asset of the site against every threat class.
    ///
    /// Likelihood blends exposure (reachability from the IT network, zone access
    /// control) with the events and incidents seen on the asset (--history, JSON lines
    /// of security events and incidents). Impact is the largest service loss that an
    /// incident of that class on the asset would cause, from the propagation rules.
    ///
    /// Examples:
    ///   safecare risk report
    ///   safecare risk report --format csv --output risk.csv
    ///   safecare risk report --site site.yaml --history events.jsonl --top 20
    ///   safecare risk report --threat ransomware --threat fire --format html -o risk.html
    #[command(verbatim_doc_comment)]
    Report {
        /// table, csv, html or json.
        #[arg(long, value_enum, default_value = "table")]
        format: RiskFormat,
        /// Site file (YAML); the demo hospital when not given.
        #[arg(long, value_name = "SITE.yaml")]
        site: Option<PathBuf>,
        /// Propagation rules (YAML); the shipped rules when not given.
        #[arg(long, value_name = "RULES.yaml")]
        rules: Option<PathBuf>,
        /// Event and incident history, one JSON document per line.
        #[arg(long, value_name = "HISTORY.jsonl")]
        history: Option<PathBuf>,
        /// Rate only these threat classes (repeat for several).
        #[arg(long = "threat", value_name = "TYPE")]
        threats: Vec<String>,
        /// Networks that count as the IT zone (id or id suffix).
        #[arg(long = "it-network", value_name = "ID", default_value = "net-it")]
        it_networks: Vec<String>,
        /// Keep only the highest risks.
        #[arg(long)]
        top: Option<usize>,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Runs a `safecare risk` subcommand.
pub fn run(command: RiskCommand) -> anyhow::Result<()> {
    let RiskCommand::Report {
        format,
        site,
        rules,
        history,
        threats,
        it_networks,
        top,
        output,
    } = command;

    // 1. Inputs.
    let site = match site {
        Some(path) => Site::load(&path)?,
        None => Site::demo(),
    };
    let rules = match rules {
        Some(path) => RuleSet::load(&path)?,
        None => RuleSet::defaults(),
    };
    let history = match history {
        Some(path) => read_history(&path)?,
        None => RiskHistory::new(),
    };
    let mut classes = Vec::new();
    for name in &threats {
        match names::parse_class(name) {
            Some(class) => classes.push(class),
            None => bail!(
                "`--threat {name}` is not an incident type; use one of {}",
                names::class_names()
            ),
        }
    }

    // 2. The register.
    let engine = Engine::new(Arc::new(site), Arc::new(rules));
    let options = RiskOptions {
        classes,
        it_networks,
        top,
    };
    let report = risk_report(&engine, &history, &options);
    let text = match format {
        RiskFormat::Table => report.to_table(),
        RiskFormat::Csv => report.to_csv(),
        RiskFormat::Html => report.to_html(),
        RiskFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };

    // 3. Output.
    match output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("could not write the risk register to {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

fn read_history(path: &PathBuf) -> anyhow::Result<RiskHistory> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("could not read the history {}", path.display()))?
        .len();
    if size > MAX_HISTORY_BYTES {
        bail!(
            "the history {} is {size} bytes, over the {MAX_HISTORY_BYTES}-byte limit: pass a shorter period",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the history {}", path.display()))?;
    let history = RiskHistory::from_json_lines(&text);
    if history.skipped > 0 {
        tracing::warn!(
            file = %path.display(),
            skipped = history.skipped,
            "history lines that are neither a security event nor an incident were skipped"
        );
    }
    Ok(history)
}
