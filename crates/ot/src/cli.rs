//! The `safecare ot` command line: scan, learn and live.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use safecare_capture::{CaptureReader, Engine, EngineConfig, EngineStats};
use safecare_core::site::Site;
use safecare_core::{AssetDirectory, EventSink};
use serde::Serialize;

use crate::baseline::Baseline;
use crate::detect::{DetectConfig, Detector};
use crate::live::{self, LiveArgs, PortArgs};
use crate::sensor::{Observation, OtSensor, SensorConfig, SensorStats};

/// Read errors logged per file; the rest are counted only.
const LOGGED_ERRORS_PER_FILE: u64 = 20;

/// BMS threat detection: Modbus/TCP and BACnet/IP.
#[derive(Debug, Clone, Subcommand)]
pub enum OtCommand {
    /// Decode Modbus/TCP (port 502) and BACnet/IP (UDP 47808) in captures and report
    /// what the detections find.
    ///
    /// Files are read in order as one capture. Without --baseline only the checks
    /// that need no learning run: diagnostics and identification functions,
    /// ReinitializeDevice, DeviceCommunicationControl, AtomicWriteFile, sweeps,
    /// exception storms, malformed frames, setpoints outside the site's safe bounds
    /// and traffic crossing site networks.
    ///
    /// Examples:
    ///   safecare ot scan bms.pcap
    ///   safecare ot scan --baseline baseline.json --transactions monday.pcap
    #[command(verbatim_doc_comment)]
    Scan {
        /// Capture files (pcap or pcapng), read in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Also print every decoded transaction as a JSON line on stdout.
        #[arg(long)]
        transactions: bool,
        /// Allowlist written by `safecare ot learn`.
        #[arg(long, value_name = "BASELINE.json")]
        baseline: Option<PathBuf>,
        /// Engineering value of one raw Modbus register step, for bound checks.
        #[arg(long, default_value_t = 0.1)]
        modbus_scale: f64,
        #[command(flatten)]
        ports: PortArgs,
    },

    /// Learn which hosts talk to which units and devices, with which function codes
    /// or services and which written values, from captures of normal traffic.
    ///
    /// Examples:
    ///   safecare ot learn week1.pcap week2.pcap -o baseline.json
    #[command(verbatim_doc_comment)]
    Learn {
        /// Baseline captures of normal traffic.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Where to write the baseline (JSON).
        #[arg(short = 'o', long, value_name = "BASELINE.json")]
        output: PathBuf,
        #[command(flatten)]
        ports: PortArgs,
    },

    /// Decode Modbus/TCP and BACnet/IP live from a network interface and report what
    /// the detections find (Linux, root or CAP_NET_RAW).
    ///
    /// Uses an AF_PACKET socket: no libpcap needed. Runs until Ctrl-C, --count
    /// packets or --duration seconds; frames received before Ctrl-C are still
    /// decoded and open connections are ended and reported on exit. Events go to
    /// the broker with --broker.
    ///
    /// Examples:
    ///   sudo safecare ot live -i eth1
    ///   safecare ot live -i eth1 --baseline baseline.json --transactions
    ///   safecare ot live -i lo --modbus-port 5020 --bacnet-port 47809 --duration 60
    #[command(verbatim_doc_comment)]
    Live(LiveArgs),

    /// Poll Modbus/TCP devices for building readings (temperature, humidity, medical gas
    /// pressure, mains and UPS power) and raise events on limits, rate of change, stuck
    /// values and silence.
    ///
    /// Events print as JSON lines; with --broker, readings go to telemetry/{sensor} and
    /// events to event/scada.
    ///
    /// Examples:
    ///   safecare ot poll deploy/scada-demo.yaml --readings
    ///   safecare ot poll deploy/scada-demo.yaml --broker mqtt://127.0.0.1:1883
    #[command(verbatim_doc_comment)]
    Poll(crate::scada::cli::PollArgs),

    /// Serve the points of a poll config from a simulated Modbus/TCP device, replaying a
    /// fault or an attack if asked.
    ///
    /// Examples:
    ///   safecare ot simulate deploy/scada-demo.yaml
    ///   safecare ot simulate deploy/scada-demo.yaml --fault freezer-thaw
    ///   safecare ot simulate deploy/scada-demo.yaml --listen 127.0.0.1:1502 --fault my-fault.yaml
    #[command(verbatim_doc_comment)]
    Simulate(crate::scada::cli::SimulateArgs),
}

impl OtCommand {
    /// True for the SCADA commands, which run on the async runtime through
    /// [`crate::scada::cli`] rather than through [`run_with_site`].
    pub fn is_scada(&self) -> bool {
        matches!(self, OtCommand::Poll(_) | OtCommand::Simulate(_))
    }
}

/// What a `safecare ot` run did, printed by the caller on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OtSummary {
    /// Packets read.
    pub packets: u64,
    /// Modbus frames decoded.
    pub modbus_frames: u64,
    /// BACnet/IP messages decoded.
    pub bacnet_messages: u64,
    /// Transactions decoded.
    pub transactions: u64,
    /// Modbus frames and BACnet datagrams that did not parse.
    pub malformed: u64,
    /// Segmented BACnet messages put back together.
    pub bacnet_reassembled: u64,
    /// BACnet segments refused (out of order, repeated, over the caps) or whose
    /// message was evicted unfinished.
    pub bacnet_segment_problems: u64,
    /// Events raised.
    pub events: u64,
    /// Times a detection table was flooded with live keys and emptied (its
    /// windows and suppressions started over).
    pub detection_table_resets: u64,
    /// Packets that could not be decoded below the application layer.
    pub undecodable: u64,
    /// Capture records that could not be read.
    pub read_errors: u64,
}

impl fmt::Display for OtSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} packets, {} Modbus frames, {} BACnet messages ({} reassembled from segments, \
             {} segment problems), {} transactions, {} malformed, {} events, \
             {} detection-table resets, {} undecodable, {} read errors",
            self.packets,
            self.modbus_frames,
            self.bacnet_messages,
            self.bacnet_reassembled,
            self.bacnet_segment_problems,
            self.transactions,
            self.malformed,
            self.events,
            self.detection_table_resets,
            self.undecodable,
            self.read_errors
        )
    }
}

impl OtSummary {
    fn new(engine: &EngineStats, sensor: &SensorStats, events: u64, table_resets: u64) -> Self {
        OtSummary {
            packets: engine.packets,
            modbus_frames: sensor.modbus_frames,
            bacnet_messages: sensor.bacnet_messages,
            transactions: sensor.transactions,
            malformed: sensor.modbus_errors + sensor.bacnet_errors,
            bacnet_reassembled: sensor.bacnet_reassembled,
            bacnet_segment_problems: sensor.bacnet_segment_errors + sensor.bacnet_segment_evictions,
            events,
            detection_table_resets: table_resets,
            undecodable: engine.undecodable,
            read_errors: engine.read_errors,
        }
    }
}

/// Runs one `safecare ot` command without the site model's BMS points.
pub fn run(
    command: OtCommand,
    site: &dyn AssetDirectory,
    sink: &mut dyn EventSink,
) -> anyhow::Result<OtSummary> {
    run_with_site(command, site, None, sink)
}

/// Runs one `safecare ot` command: assets named through `directory`, setpoints checked
/// against `site`'s BMS points and networks when given, events sent to `sink`,
/// transactions (with `--transactions`) printed on stdout.
pub fn run_with_site(
    command: OtCommand,
    directory: &dyn AssetDirectory,
    site: Option<&Site>,
    sink: &mut dyn EventSink,
) -> anyhow::Result<OtSummary> {
    match command {
        OtCommand::Scan {
            files,
            transactions,
            baseline,
            modbus_scale,
            ports,
        } => {
            let mut detector =
                Detector::new(directory, site, detect_config(baseline, modbus_scale)?);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let mut print = |o: &Observation| print_transaction(o, transactions, &mut out);
            let config = ports.sensor_config();
            run_scan(&files, config, &mut detector, sink, &mut print)
        }
        OtCommand::Learn {
            files,
            output,
            ports,
        } => run_learn(&files, ports.sensor_config(), &output),
        OtCommand::Live(args) => {
            let config = detect_config(args.baseline.clone(), args.modbus_scale)?;
            let mut detector = Detector::new(directory, site, config);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let mut print = |o: &Observation| print_transaction(o, args.transactions, &mut out);
            run_live(&args, &mut detector, sink, &mut print)
        }
        OtCommand::Poll(_) | OtCommand::Simulate(_) => anyhow::bail!(
            "`ot poll` and `ot simulate` run on the async runtime: call \
             safecare_ot::scada::cli::run_poll or run_simulate"
        ),
    }
}

fn detect_config(baseline: Option<PathBuf>, modbus_scale: f64) -> anyhow::Result<DetectConfig> {
    let baseline = baseline.map(|p| Baseline::load(&p)).transpose()?;
    Ok(DetectConfig {
        baseline,
        modbus_scale,
        ..DetectConfig::default()
    })
}

fn print_transaction(o: &Observation, wanted: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if let (true, Observation::Transaction(t)) = (wanted, o) {
        serde_json::to_writer(&mut *out, t)?;
        out.write_all(b"\n")
            .context("could not write a transaction to stdout")?;
    }
    Ok(())
}

/// Scans captures: every observation goes to the detector and to `each`, every
/// event to `sink`.
pub fn run_scan(
    files: &[PathBuf],
    config: SensorConfig,
    detector: &mut Detector<'_>,
    sink: &mut dyn EventSink,
    each: &mut dyn FnMut(&Observation) -> anyhow::Result<()>,
) -> anyhow::Result<OtSummary> {
    let mut events = 0u64;
    let mut handle = |o: Observation| detect(o, detector, sink, each, &mut events);
    let (engine, sensor) = scan_files_with(files, config, &mut handle)?;
    Ok(OtSummary::new(
        &engine,
        &sensor,
        events,
        detector.table_resets(),
    ))
}

/// Captures live as `args` say until Ctrl-C or a limit: every observation goes to the
/// detector and to `each`, every event to `sink`.
pub fn run_live(
    args: &LiveArgs,
    detector: &mut Detector<'_>,
    sink: &mut dyn EventSink,
    each: &mut dyn FnMut(&Observation) -> anyhow::Result<()>,
) -> anyhow::Result<OtSummary> {
    let mut events = 0u64;
    let mut handle = |o: Observation| detect(o, detector, sink, each, &mut events);
    let (engine, sensor) = live::capture_interface(args, &mut handle)?;
    Ok(OtSummary::new(
        &engine,
        &sensor,
        events,
        detector.table_resets(),
    ))
}

/// Hands one observation to `each` and the detector, and the events it raises to
/// `sink`, counting them in `events`.
fn detect(
    observation: Observation,
    detector: &mut Detector<'_>,
    sink: &mut dyn EventSink,
    each: &mut dyn FnMut(&Observation) -> anyhow::Result<()>,
    events: &mut u64,
) -> anyhow::Result<()> {
    each(&observation)?;
    detector.observe(&observation);
    for event in detector.drain_events() {
        *events += 1;
        sink.emit(event)
            .context("could not hand an event to its destination (is the broker still up?)")?;
    }
    Ok(())
}

/// Learns a baseline from captures and writes it.
pub fn run_learn(
    files: &[PathBuf],
    config: SensorConfig,
    output: &Path,
) -> anyhow::Result<OtSummary> {
    let mut baseline = Baseline::default();
    let mut learn = |o: Observation| -> anyhow::Result<()> {
        if let Observation::Transaction(t) = o {
            baseline.learn(&t);
        }
        Ok(())
    };
    let (engine, sensor) = scan_files_with(files, config, &mut learn)?;
    baseline.save(output)?;
    tracing::info!(
        units = baseline.modbus.len(),
        devices = baseline.bacnet.len(),
        output = %output.display(),
        "OT baseline written"
    );
    Ok(OtSummary::new(&engine, &sensor, 0, 0))
}

/// Reads capture files in order through one engine and sensor on the standard ports,
/// handing each observation to `each`; returns the final counters.
pub fn scan_files(
    files: &[PathBuf],
    each: &mut dyn FnMut(Observation) -> anyhow::Result<()>,
) -> anyhow::Result<(EngineStats, SensorStats)> {
    scan_files_with(files, SensorConfig::default(), each)
}

/// [`scan_files`] with the sensor on the ports of `config`.
pub fn scan_files_with(
    files: &[PathBuf],
    config: SensorConfig,
    each: &mut dyn FnMut(Observation) -> anyhow::Result<()>,
) -> anyhow::Result<(EngineStats, SensorStats)> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = OtSensor::with_config(config);
    let mut opened = 0;
    for path in files {
        match CaptureReader::open(path) {
            Ok(mut reader) => {
                opened += 1;
                tracing::info!(file = %path.display(), "scanning capture");
                scan_reader(path, &mut reader, &mut engine, &mut sensor, each)?;
            }
            Err(err) => tracing::error!("could not open capture {}: {err}", path.display()),
        }
    }
    engine.finish(&mut sensor);
    for o in sensor.drain() {
        each(o)?;
    }
    if opened == 0 {
        anyhow::bail!(
            "none of the {} capture files could be read; see the errors above",
            files.len()
        );
    }
    Ok((engine.stats(), sensor.stats()))
}

/// Runs one capture through `engine` and `sensor`, handing observations to `each`.
pub fn scan_reader<R: Read>(
    path: &Path,
    reader: &mut CaptureReader<R>,
    engine: &mut Engine,
    sensor: &mut OtSensor,
    each: &mut dyn FnMut(Observation) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut errors = 0u64;
    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => engine.process(&raw, sensor),
            Ok(None) => break,
            Err(err) => {
                errors += 1;
                engine.count_read_error();
                if errors <= LOGGED_ERRORS_PER_FILE {
                    tracing::warn!(file = %path.display(), "{err}");
                }
                if !err.is_recoverable() {
                    break;
                }
            }
        }
        for o in sensor.drain() {
            each(o)?;
        }
    }
    Ok(())
}
