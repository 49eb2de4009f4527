//! The `safecare net` command line: scan, live, learn, eve.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Subcommand;
use safecare_capture::{Engine, EngineConfig, EngineStats};
use safecare_core::{AssetDirectory, EventSink};
use serde::Serialize;

use crate::anomaly::{AnomalyModel, TrainConfig};
use crate::eve;
use crate::live::{self, LiveCapture};
use crate::scan::{self, collect_features};
use crate::sensor::{NetSensor, SensorConfig};

/// Flows kept for learning; a larger baseline is sampled down to this.
const MAX_TRAINING_FLOWS: usize = 500_000;

/// IT network threat detection: capture files, live interfaces, Suricata logs.
#[derive(Debug, Clone, Subcommand)]
pub enum NetCommand {
    /// Scan pcap or pcapng files and report what the detections find.
    ///
    /// Files are read in order as one capture. Ethernet, Linux cooked (v1 and v2),
    /// raw IP and loopback captures are read, with VLAN tags, IPv4, IPv6 and
    /// fragments. Detections: port scans, SYN floods and volumetric DoS, brute force,
    /// devices missing from the site inventory, lateral movement, cleartext protocols
    /// to medical devices, unknown DICOM AE titles, DNS tunnelling, allowlist
    /// violations and, with --model, unusual flows.
    ///
    /// Examples:
    ///   safecare net scan capture.pcap
    ///   safecare net scan --model model.json monday.pcapng tuesday.pcapng
    ///   safecare net scan --dicom-ae CT01 --dicom-ae MRI01 radiology.pcap
    #[command(verbatim_doc_comment)]
    Scan {
        /// Capture files (pcap or pcapng), read in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Anomaly model written by `safecare net learn`.
        #[arg(long, value_name = "MODEL.json")]
        model: Option<PathBuf>,
        /// DICOM AE titles the site uses, besides those named in the site file.
        #[arg(long = "dicom-ae", value_name = "TITLE")]
        dicom_ae: Vec<String>,
        /// No progress bar, even on a terminal.
        #[arg(long)]
        no_progress: bool,
    },

    /// Capture live from a network interface (Linux, root or CAP_NET_RAW).
    ///
    /// Uses an AF_PACKET socket: no libpcap needed. Runs until Ctrl-C, --count
    /// packets or --duration seconds; open flows are ended and reported on exit.
    ///
    /// Examples:
    ///   sudo safecare net live -i eth1
    ///   safecare net live -i eth1 --model model.json --duration 3600
    #[command(verbatim_doc_comment)]
    Live {
        /// Interface to capture on, e.g. eth1 (a SPAN or TAP port).
        #[arg(short = 'i', long, value_name = "IFACE")]
        interface: String,
        /// Anomaly model written by `safecare net learn`.
        #[arg(long, value_name = "MODEL.json")]
        model: Option<PathBuf>,
        /// DICOM AE titles the site uses, besides those named in the site file.
        #[arg(long = "dicom-ae", value_name = "TITLE")]
        dicom_ae: Vec<String>,
        /// Stop after this many packets.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        duration: Option<u64>,
        /// Do not put the interface in promiscuous mode.
        #[arg(long)]
        no_promiscuous: bool,
    },

    /// Learn normal flows from a baseline capture into an anomaly model.
    ///
    /// Grows an isolation forest over per-flow features (durations, packet and byte
    /// counts per direction, inter-arrival times, TCP flags, payload sizes). The
    /// same files, seed and options always give the same model.
    ///
    /// Examples:
    ///   safecare net learn baseline.pcap -o model.json
    ///   safecare net learn week1.pcapng week2.pcapng -o model.json --trees 200
    #[command(verbatim_doc_comment)]
    Learn {
        /// Baseline captures of normal traffic.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Where to write the model (JSON).
        #[arg(short = 'o', long, value_name = "MODEL.json")]
        output: PathBuf,
        /// Trees in the forest.
        #[arg(long, default_value_t = 100)]
        trees: usize,
        /// Flows sampled per tree.
        #[arg(long, default_value_t = 256)]
        sample_size: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0x5afe_ca7e)]
        seed: u64,
        /// Share of baseline flows scored below the alarm threshold.
        #[arg(long, default_value_t = 0.995)]
        quantile: f64,
    },

    /// Read Suricata EVE JSON: alerts and anomalies become SafeCare events.
    ///
    /// Bad lines are reported with their line number and skipped.
    ///
    /// Examples:
    ///   safecare net eve /var/log/suricata/eve.json
    ///   safecare net eve --follow /var/log/suricata/eve.json
    ///   tail -F eve.json | safecare net eve -
    #[command(verbatim_doc_comment)]
    Eve {
        /// EVE file, or - for standard input.
        #[arg(value_name = "FILE|-")]
        input: String,
        /// Keep reading as Suricata appends lines.
        #[arg(long)]
        follow: bool,
    },
}

/// What a `safecare net` run did, printed by the caller on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NetSummary {
    /// Packets read.
    pub packets: u64,
    /// Flows tracked.
    pub flows: u64,
    /// Events raised.
    pub events: u64,
    /// Packets that could not be decoded.
    pub undecodable: u64,
    /// Flows evicted because the flow table was full.
    pub evictions: u64,
    /// Capture records (or EVE lines) that could not be read.
    pub read_errors: u64,
}

impl fmt::Display for NetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} packets, {} flows, {} events, {} undecodable, {} flows evicted, {} read errors",
            self.packets,
            self.flows,
            self.events,
            self.undecodable,
            self.evictions,
            self.read_errors
        )
    }
}

impl NetSummary {
    fn from_stats(engine: &EngineStats, events: u64) -> Self {
        NetSummary {
            packets: engine.packets,
            flows: engine.flows,
            events,
            undecodable: engine.undecodable,
            evictions: engine.evicted,
            read_errors: engine.read_errors,
        }
    }
}

/// Runs one `safecare net` command, naming assets through `site` and sending events
/// to `sink`.
pub fn run(
    command: NetCommand,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
) -> anyhow::Result<NetSummary> {
    match command {
        NetCommand::Scan {
            files,
            model,
            dicom_ae,
            no_progress,
        } => {
            let config = sensor_config(model, dicom_ae)?;
            run_scan(&files, site, config, sink, !no_progress)
        }
        NetCommand::Live {
            interface,
            model,
            dicom_ae,
            count,
            duration,
            no_promiscuous,
        } => {
            let config = sensor_config(model, dicom_ae)?;
            let limits = LiveLimits {
                count,
                duration: duration.map(Duration::from_secs),
            };
            run_live(&interface, !no_promiscuous, limits, site, config, sink)
        }
        NetCommand::Learn {
            files,
            output,
            trees,
            sample_size,
            seed,
            quantile,
        } => {
            let config = TrainConfig {
                trees,
                sample_size,
                seed,
                quantile: quantile.clamp(0.5, 1.0),
            };
            run_learn(&files, &output, &config)
        }
        NetCommand::Eve { input, follow } => run_eve(&input, follow, site, sink),
    }
}

fn sensor_config(model: Option<PathBuf>, dicom_ae: Vec<String>) -> anyhow::Result<SensorConfig> {
    let model = model.map(|path| AnomalyModel::load(&path)).transpose()?;
    Ok(SensorConfig {
        known_ae_titles: dicom_ae,
        model,
    })
}

/// Scans capture files.
pub fn run_scan(
    files: &[PathBuf],
    site: &dyn AssetDirectory,
    config: SensorConfig,
    sink: &mut dyn EventSink,
    progress: bool,
) -> anyhow::Result<NetSummary> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = NetSensor::new(site, config);
    scan::scan_files(files, &mut engine, &mut sensor, sink, progress)?;
    Ok(NetSummary::from_stats(
        &engine.stats(),
        sensor.stats().events,
    ))
}

/// When a live capture stops on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveLimits {
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Captures live until Ctrl-C or a limit.
pub fn run_live(
    interface: &str,
    promiscuous: bool,
    limits: LiveLimits,
    site: &dyn AssetDirectory,
    config: SensorConfig,
    sink: &mut dyn EventSink,
) -> anyhow::Result<NetSummary> {
    let mut capture = LiveCapture::open(interface, promiscuous)?;
    live::install_stop_handler();
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = NetSensor::new(site, config);
    let started = Instant::now();
    tracing::info!(interface, promiscuous, "live capture started");

    while !live::stop_requested() {
        if limits.count.is_some_and(|c| engine.stats().packets >= c)
            || limits.duration.is_some_and(|d| started.elapsed() >= d)
        {
            break;
        }
        match capture.next_packet()? {
            Some(raw) => engine.process(&raw, &mut sensor),
            None => engine.expire_at(live::now(), &mut sensor),
        }
        scan::drain(&mut sensor, sink)?;
    }

    engine.finish(&mut sensor);
    scan::drain(&mut sensor, sink)?;
    tracing::info!(interface, "live capture stopped");
    Ok(NetSummary::from_stats(
        &engine.stats(),
        sensor.stats().events,
    ))
}

/// Learns a model from baseline captures and writes it.
pub fn run_learn(
    files: &[PathBuf],
    output: &std::path::Path,
    config: &TrainConfig,
) -> anyhow::Result<NetSummary> {
    let (rows, stats) = collect_features(files, MAX_TRAINING_FLOWS)?;
    let model = AnomalyModel::train(&rows, config)?;
    model.save(output)?;
    tracing::info!(
        flows = rows.len(),
        threshold = model.threshold,
        output = %output.display(),
        "anomaly model written"
    );
    Ok(NetSummary::from_stats(&stats, 0))
}

/// Reads an EVE file or standard input.
pub fn run_eve(
    input: &str,
    follow: bool,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
) -> anyhow::Result<NetSummary> {
    let stats = if input == "-" {
        eve::ingest(std::io::stdin().lock(), follow, site, sink)?
    } else {
        let file = std::fs::File::open(input)
            .with_context(|| format!("could not open EVE file {input}"))?;
        eve::ingest(file, follow, site, sink)?
    };
    tracing::info!(
        lines = stats.lines,
        events = stats.events,
        skipped = stats.skipped,
        bad = stats.bad_lines,
        "EVE intake done"
    );
    Ok(NetSummary {
        events: stats.events,
        read_errors: stats.bad_lines,
        ..NetSummary::default()
    })
}
