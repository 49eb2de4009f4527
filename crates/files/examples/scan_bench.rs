//! Measures the file analysis over a folder: files/s and MB/s.
//!
//! Usage: cargo run --release -p safecare-files --example scan_bench -- ARGS, where ARGS is
//!        [--threads N] [--print] DIR...
//!        --stages DIR...
//!        --poll DIR
//!
//! The first form runs `files scan` itself (verdict lines serialised and
//! dropped, or printed with `--print` to compare two builds; events kept in
//! memory) on N threads, one per core by default. The
//! second reads every file into memory, then times each stage of the analysis
//! on one thread, to show where the time goes. The third times one listing
//! of `files watch` over the folder. With `--features yara`, the
//! built-in YARA rules run on every file too.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_files::cli::{ScanOptions, scan_with};
use safecare_files::hash::md5_lanes::Md5Kernel;
use safecare_files::scan::{collect_files, default_threads};
use safecare_files::watch::{DirectoryWatch, WatchOptions};
use safecare_files::{Analyzer, dicom, entropy, hash, magic};
use sha2::Digest;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    let mut threads = default_threads();
    let mut stages = false;
    let mut poll = false;
    let mut print = false;
    let mut dirs = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--stages" => stages = true,
            "--poll" => poll = true,
            "--print" => print = true,
            _ => dirs.push(PathBuf::from(arg)),
        }
    }
    anyhow::ensure!(
        !dirs.is_empty(),
        "usage: scan_bench [--threads N | --stages] DIR..."
    );

    if poll {
        return time_poll(&dirs[0]);
    }
    let analyzer = Analyzer::with_builtin_rules();
    if stages {
        time_stages(&analyzer, &dirs)
    } else {
        time_scan(&analyzer, &dirs, threads, print)
    }
}

/// The whole `files scan`, as the command runs it.
fn time_scan(
    analyzer: &Analyzer,
    dirs: &[PathBuf],
    threads: usize,
    print: bool,
) -> anyhow::Result<()> {
    let options = ScanOptions {
        quarantine: None,
        threads,
        progress: false,
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let started = Instant::now();
    let summary = scan_with(
        dirs,
        analyzer,
        &options,
        &EmptyDirectory,
        &mut events,
        &mut verdict_lines(print),
    )?;
    let seconds = started.elapsed().as_secs_f64();

    let report = format!(
        "{} files, {:.1} MB in {seconds:.2} s on {threads} threads: {:.0} files/s, {:.1} MB/s \
         ({} not clean, {} unreadable)",
        summary.files,
        summary.bytes as f64 / 1e6,
        summary.files as f64 / seconds,
        summary.bytes as f64 / 1e6 / seconds,
        summary.suspicious + summary.malicious,
        summary.unreadable.len()
    );
    // Verdict lines own stdout with `--print`.
    if print {
        eprintln!("{report}");
    } else {
        println!("{report}");
    }
    Ok(())
}

/// Where verdict lines go: stdout with `--print` (to compare two builds), else nowhere.
fn verdict_lines(print: bool) -> Box<dyn std::io::Write> {
    if print {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::io::sink())
    }
}

/// One listing of a watched folder, as `files watch` makes every poll interval.
fn time_poll(dir: &std::path::Path) -> anyhow::Result<()> {
    let options = WatchOptions::default();
    let started = Instant::now();
    let mut watch = DirectoryWatch::new(dir, &options, started);
    let first = started.elapsed();
    let mut unreadable = Vec::new();
    let again = Instant::now();
    let ready = watch.poll(Instant::now(), &mut unreadable);
    let poll = again.elapsed();
    println!(
        "{} files: first listing {:.0} ms, a poll {:.0} ms ({} ready)",
        watch.known_files(),
        first.as_secs_f64() * 1e3,
        poll.as_secs_f64() * 1e3,
        ready.len()
    );
    Ok(())
}

/// Each stage of the analysis alone, on one thread, over files already in memory.
fn time_stages(analyzer: &Analyzer, dirs: &[PathBuf]) -> anyhow::Result<()> {
    let mut skipped = Vec::new();
    let paths = collect_files(dirs, &mut skipped);
    let started = Instant::now();
    let files: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let read = started.elapsed();
    let bytes: usize = files.iter().map(Vec::len).sum();

    let mut stages: Vec<(&str, Duration)> = vec![("read (page cache)", read)];
    stages.push((
        "MD5 + SHA-1 + SHA-256, alone",
        time(&files, |b| drop(hash::hashes(b))),
    ));
    stages.push(("  MD5 alone", time(&files, digest::<md5::Md5>)));
    let kernel = Md5Kernel::fastest();
    let lanes = time_batches(&files, |batch| drop(black_box(kernel.digest_each(batch))));
    stages.push((lane_label(kernel), lanes));
    stages.push((
        "  SHA-1 + SHA-256",
        time(&files, |b| drop(hash::hashes_with_md5(&[0; 16], b))),
    ));
    stages.push(("  SHA-1 alone", time(&files, digest::<sha1::Sha1>)));
    stages.push(("  SHA-256 alone", time(&files, digest::<sha2::Sha256>)));
    stages.push((
        "entropy by region",
        time(&files, |b| drop(entropy::profile(b))),
    ));
    stages.push(("type + DICOM walk", time(&files, |b| inspect(analyzer, b))));
    #[cfg(feature = "yara")]
    if let Some(rules) = &analyzer.config().yara {
        let fresh = time(&files, |b| drop(rules.scan(b)));
        stages.push(("YARA (a scanner per file)", fresh));
        let mut scanner = rules.scanner();
        stages.push((
            "YARA (reused scanner)",
            time(&files, |b| drop(scanner.scan(b))),
        ));
    }
    let mut worker = analyzer.worker();
    let all = time(&files, |b| {
        drop(worker.analyze_bytes("f", b).to_json_line());
    });
    stages.push(("whole analysis + JSON line", all));

    println!(
        "{} files, {:.1} MB, one thread:",
        files.len(),
        bytes as f64 / 1e6
    );
    for (stage, took) in stages {
        let seconds = took.as_secs_f64();
        println!(
            "  {stage:<28} {seconds:>7.3} s  {:>8.1} MB/s",
            bytes as f64 / 1e6 / seconds
        );
    }
    Ok(())
}

fn inspect(analyzer: &Analyzer, bytes: &[u8]) {
    let file_type = magic::detect(bytes);
    if matches!(
        file_type,
        magic::FileType::Dicom | magic::FileType::DicomDataset
    ) {
        drop(dicom::inspect(bytes, &analyzer.config().dicom));
    }
}

fn digest<D: Digest>(bytes: &[u8]) {
    black_box(D::digest(bytes));
}

/// The MD5 stage's name with the kernel it ran on.
fn lane_label(kernel: Md5Kernel) -> &'static str {
    match kernel {
        Md5Kernel::Scalar => "  MD5 in lanes (scalar)",
        Md5Kernel::Avx2 => "  MD5 in lanes (AVX2, 16)",
    }
}

/// Times `stage` over batches of files of about 8 MiB, as a scan thread makes them.
fn time_batches(files: &[Vec<u8>], mut stage: impl FnMut(&[&[u8]])) -> Duration {
    let started = Instant::now();
    let mut batch: Vec<&[u8]> = Vec::new();
    let mut bytes = 0;
    for file in files {
        batch.push(file);
        bytes += file.len();
        if bytes >= 8 * 1024 * 1024 {
            stage(&batch);
            batch.clear();
            bytes = 0;
        }
    }
    stage(&batch);
    started.elapsed()
}

fn time(files: &[Vec<u8>], mut stage: impl FnMut(&[u8])) -> Duration {
    let started = Instant::now();
    for file in files {
        stage(file);
    }
    started.elapsed()
}
