//! Measures the file analysis over a folder: files/s and MB/s.
//!
//! Usage: cargo run --release -p safecare-files --example scan_bench -- DIR
//! (with `--features yara`, the built-in YARA rules run on every file too).

use std::path::PathBuf;
use std::time::Instant;

use safecare_files::scan::collect_files;
use safecare_files::{AnalysisConfig, Analyzer};

fn main() -> anyhow::Result<()> {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    anyhow::ensure!(!dirs.is_empty(), "usage: scan_bench DIR...");

    #[allow(unused_mut)]
    let mut config = AnalysisConfig::default();
    #[cfg(feature = "yara")]
    {
        let (rules, _refused) = safecare_files::yara::load(&[]);
        config.yara = Some(std::sync::Arc::new(rules));
    }
    let analyzer = Analyzer::new(config);

    let mut skipped = Vec::new();
    let files = collect_files(&dirs, &mut skipped);
    let started = Instant::now();
    let mut bytes = 0u64;
    let mut flagged = 0u64;
    for path in &files {
        let verdict = analyzer.analyze_path(path)?;
        bytes += verdict.size;
        flagged += u64::from(verdict.verdict != safecare_files::VerdictLevel::Clean);
    }
    let seconds = started.elapsed().as_secs_f64();

    println!(
        "{} files, {:.1} MB in {seconds:.2} s: {:.0} files/s, {:.1} MB/s ({flagged} not clean)",
        files.len(),
        bytes as f64 / 1e6,
        files.len() as f64 / seconds,
        bytes as f64 / 1e6 / seconds
    );
    Ok(())
}
