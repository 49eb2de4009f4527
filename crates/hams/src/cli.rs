//! The `safecare have` command line: write the EDXL-HAVE report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use safecare_core::Incident;
use safecare_core::site::Site;
use safecare_impact::{Engine, RuleSet};

use crate::have::have_xml;
use crate::model::AvailabilityModel;

/// The largest incidents file read: 64 MiB.
const MAX_INCIDENTS_BYTES: u64 = 64 * 1024 * 1024;

/// Format of the exported report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HaveFormat {
    /// EDXL-HAVE 1.0 XML.
    Xml,
    /// The availability document as JSON.
    Json,
}

/// Hospital availability reports (EDXL-HAVE 1.0).
#[derive(Debug, Clone, Subcommand)]
pub enum HaveCommand {
    /// Write the hospital's availability as an EDXL-HAVE 1.0 report.
    ///
    /// Without --incidents the report shows the site's baseline. With --incidents
    /// (a JSON array of incidents, or one incident per line) each open incident is
    /// assessed with the propagation rules and the services, beds and hospital states
    /// are lowered accordingly.
    ///
    /// Examples:
    ///   safecare have export
    ///   safecare have export --incidents open-incidents.json --output have.xml
    ///   safecare have export --site site.yaml --format json
    #[command(verbatim_doc_comment)]
    Export {
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Site file (YAML); the demo hospital when not given.
        #[arg(long, value_name = "SITE.yaml")]
        site: Option<PathBuf>,
        /// Open incidents to take into account (JSON array or JSON lines).
        #[arg(long, value_name = "INCIDENTS.json")]
        incidents: Option<PathBuf>,
        /// Propagation rules (YAML); the shipped rules when not given.
        #[arg(long, value_name = "RULES.yaml")]
        rules: Option<PathBuf>,
        /// xml (EDXL-HAVE) or json.
        #[arg(long, value_enum, default_value = "xml")]
        format: HaveFormat,
    },
}

/// Runs a `safecare have` subcommand.
pub fn run(command: HaveCommand) -> anyhow::Result<()> {
    let HaveCommand::Export {
        output,
        site,
        incidents,
        rules,
        format,
    } = command;

    // 1. Site, rules and incidents.
    let site = Arc::new(match site {
        Some(path) => Site::load(&path)?,
        None => Site::demo(),
    });
    let rules = match rules {
        Some(path) => RuleSet::load(&path)?,
        None => RuleSet::defaults(),
    };
    let incidents = match incidents {
        Some(path) => read_incidents(&path)?,
        None => Vec::new(),
    };

    // 2. Assess and compute.
    let engine = Engine::new(site.clone(), Arc::new(rules));
    let mut model = AvailabilityModel::new(site);
    for incident in &incidents {
        let assessment = engine.assess(incident);
        if !assessment.unknown_assets.is_empty() {
            tracing::warn!(incident = %incident.id, unknown = ?assessment.unknown_assets, "incident names assets the site does not know");
        }
        model.apply(assessment);
    }
    let availability = model.compute(Utc::now());
    let text = match format {
        HaveFormat::Xml => have_xml(&availability),
        HaveFormat::Json => serde_json::to_string_pretty(&availability)? + "\n",
    };

    // 3. Output.
    match output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("could not write the report to {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// Reads a JSON array of incidents or one incident per line.
pub fn read_incidents(path: &Path) -> anyhow::Result<Vec<Incident>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("could not read the incidents {}", path.display()))?
        .len();
    if size > MAX_INCIDENTS_BYTES {
        bail!(
            "the incidents file {} is {size} bytes, over the {MAX_INCIDENTS_BYTES}-byte limit",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the incidents {}", path.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON array of incidents", path.display()));
    }
    let mut incidents = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let incident = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: not an incident (JSON, one per line)",
                path.display(),
                n + 1
            )
        })?;
        incidents.push(incident);
    }
    Ok(incidents)
}
