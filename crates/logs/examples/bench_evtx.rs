//! Throughput of Sigma scanning over EVTX files against parsing alone.
//!
//! ```text
//! cargo run --release -p safecare-logs --example bench_evtx -- [EVTX_DIR] [RULES_DIR]
//! ```
//!
//! Defaults to the shared attack samples and the SigmaHQ rules. Runs three
//! passes over the same files: parsing (EVTX decoding and field flattening)
//! alone, then parsing plus every rule, and reports records per second for
//! each (thread CPU time, best of five rounds, so that other processes on a
//! shared machine do not skew it), the ratio, and the peak resident memory
//! (VmHWM) after each step.
//! `BENCH_BLOOM=1` / `BENCH_AC=1` turn on rsigma's optional prefilters for comparison.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Time spent by this thread on a CPU, in seconds, from /proc/thread-self/schedstat
/// (immune to other processes on a shared machine); wall time when unavailable.
fn cpu_now(wall: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e9)
        .unwrap_or_else(|| wall.elapsed().as_secs_f64())
}

use safecare_logs::analytics::DeviceProfiles;
use safecare_logs::intake::{self, Format};
use safecare_logs::scan::Scanner;
use safecare_logs::sigma::{PlanOptions, RulePlan, load_rules};

const ROUNDS: usize = 5;
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn main() {
    let origin = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let evtx_dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(DATA).join("evtx"));
    let rules_dir = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(DATA).join("sigma/rules"));

    let mut files = Vec::new();
    collect(&evtx_dir, &mut files);
    files.sort();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{} EVTX files, {:.1} MiB, from {}",
        files.len(),
        bytes as f64 / 1048576.0,
        evtx_dir.display()
    );

    // Warm the page cache so the first pass does not pay for disk reads.
    parse_only(&files);

    // 1. Parsing alone, best of ROUNDS.
    let mut parse_secs = f64::MAX;
    let mut records = 0;
    for _ in 0..ROUNDS {
        let started = cpu_now(origin);
        records = parse_only(&files);
        parse_secs = parse_secs.min(cpu_now(origin) - started);
    }
    let parse_rate = records as f64 / parse_secs;
    println!(
        "parse only:   {records} records in {parse_secs:.2} s = {parse_rate:.0} records/s; peak RSS {} MiB",
        peak_mib()
    );

    // 2. Rule loading.
    let started = cpu_now(origin);
    let rules = load_rules(std::slice::from_ref(&rules_dir), &[]);
    let windows = rules
        .rules
        .iter()
        .filter(|r| r.rule.logsource.product.as_deref() == Some("windows"))
        .count();
    println!(
        "rules:        {} loaded ({windows} windows), {} errors, in {:.2} s; peak RSS {} MiB",
        rules.rules.len(),
        rules.errors.len(),
        (cpu_now(origin) - started),
        peak_mib()
    );
    let options = PlanOptions {
        bloom: std::env::var_os("BENCH_BLOOM").is_some(),
        cross_rule_ac: std::env::var_os("BENCH_AC").is_some(),
    };
    println!("prefilters:   {options:?}");
    let mut scanner = Scanner::with_options(rules, DeviceProfiles::default(), options);

    // 3. Parsing plus every rule, best of ROUNDS.
    let mut scan_secs = f64::MAX;
    let mut hits = 0u64;
    let mut scanned = 0;
    for _ in 0..ROUNDS {
        hits = 0;
        let started = cpu_now(origin);
        for file in &files {
            let _ = scanner.scan_file(file, Some(Format::Evtx), &mut |_, _| hits += 1);
        }
        scan_secs = scan_secs.min(cpu_now(origin) - started);
        scanned = scanner.take_summary().records;
    }
    let scan_rate = scanned as f64 / scan_secs;
    println!(
        "parse + rules: {scanned} records in {scan_secs:.2} s = {scan_rate:.0} records/s, {hits} hits; peak RSS {} MiB",
        peak_mib()
    );
    println!(
        "cost of the full rule set: {:.2}x parsing alone",
        scan_secs / parse_secs
    );

    // 4. Rules alone, over records already parsed into memory.
    let mut parsed = Vec::new();
    for file in &files {
        let _ = intake::read_file(file, Format::Evtx, &mut |r| parsed.extend(r.ok()));
    }
    let mut rules = load_rules(std::slice::from_ref(&rules_dir), &[]);
    let plan = RulePlan::with_options(&mut rules, options);
    let mut eval_secs = f64::MAX;
    let mut matches = 0;
    for _ in 0..ROUNDS {
        let started = cpu_now(origin);
        matches = parsed.iter().map(|r| plan.evaluate(r).len()).sum::<usize>();
        eval_secs = eval_secs.min(cpu_now(origin) - started);
    }
    println!(
        "rules alone:  {} records in {eval_secs:.2} s = {:.0} records/s, {matches} matches, {} per-source engines",
        parsed.len(),
        parsed.len() as f64 / eval_secs,
        plan.route_count()
    );

    // 5. The whole scanner (rules, correlations, analytics) over parsed records.
    let mut scan_mem_secs = f64::MAX;
    for _ in 0..ROUNDS {
        let started = cpu_now(origin);
        for record in &parsed {
            scanner.process(record);
        }
        scan_mem_secs = scan_mem_secs.min(cpu_now(origin) - started);
    }
    println!(
        "scanner alone: {} records in {scan_mem_secs:.2} s",
        parsed.len()
    );
}

fn parse_only(files: &[PathBuf]) -> u64 {
    let mut records = 0u64;
    for file in files {
        let _ = intake::read_file(file, Format::Evtx, &mut |r| {
            if r.is_ok() {
                records += 1;
            }
        });
    }
    records
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        {
            out.push(path);
        }
    }
}

/// Peak resident set size of this process, from /proc (Linux only).
fn peak_mib() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map(|kb| format!("{:.0}", kb as f64 / 1024.0))
        .unwrap_or_else(|| "?".into())
}
