//! `safecare ot live`: the sensor on frames read from a network interface through the
//! capture crate's AF_PACKET reader, the same one `safecare net live` uses.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use safecare_capture::live::{self, LiveCapture};
use safecare_capture::{Engine, EngineConfig, EngineStats};

use crate::bacnet;
use crate::modbus;
use crate::sensor::{Observation, OtSensor, SensorConfig, SensorStats};

/// Frames read after a stop request, at most: what was queued before it, unless a
/// flood keeps the queue full.
const MAX_QUEUED_AFTER_STOP: u64 = 65_536;

/// Which ports carry Modbus/TCP and BACnet/IP.
#[derive(Debug, Clone, Args)]
pub struct PortArgs {
    /// TCP port Modbus servers listen on; repeat for several.
    #[arg(long = "modbus-port", value_name = "PORT", default_values_t = [modbus::PORT])]
    pub modbus_ports: Vec<u16>,
    /// UDP port of BACnet/IP devices; repeat for several.
    #[arg(long = "bacnet-port", value_name = "PORT", default_values_t = [bacnet::PORT])]
    pub bacnet_ports: Vec<u16>,
}

impl PortArgs {
    /// A sensor configuration on these ports, with the default caps.
    pub fn sensor_config(&self) -> SensorConfig {
        SensorConfig {
            modbus_ports: self.modbus_ports.clone(),
            bacnet_ports: self.bacnet_ports.clone(),
            ..SensorConfig::default()
        }
    }
}

/// Options of `safecare ot live`.
#[derive(Debug, Clone, Args)]
pub struct LiveArgs {
    /// Interface to capture on, e.g. eth1 (a SPAN or TAP port of the BMS network).
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: String,
    /// Also print every decoded transaction as a JSON line on stdout.
    #[arg(long)]
    pub transactions: bool,
    /// Allowlist written by `safecare ot learn`.
    #[arg(long, value_name = "BASELINE.json")]
    pub baseline: Option<PathBuf>,
    /// Engineering value of one raw Modbus register step, for bound checks.
    #[arg(long, default_value_t = 0.1)]
    pub modbus_scale: f64,
    /// Stop after this many packets.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promiscuous: bool,
    #[command(flatten)]
    pub ports: PortArgs,
}

impl LiveArgs {
    /// The limits given by --count and --duration.
    pub fn limits(&self) -> LiveLimits {
        LiveLimits {
            count: self.count,
            duration: self.duration.map(Duration::from_secs),
        }
    }
}

/// When a live capture stops on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveLimits {
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Runs the sensor on `capture` until `stop` answers true or a limit is reached,
/// handing each observation to `each`; returns the final counters.
///
/// After a stop request the frames already queued in the socket are still decoded
/// (at most 65,536), then open connections are ended and reported, so nothing seen
/// before the stop is lost.
pub fn run_capture(
    capture: &mut LiveCapture,
    limits: LiveLimits,
    config: SensorConfig,
    each: &mut dyn FnMut(Observation) -> anyhow::Result<()>,
    stop: &dyn Fn() -> bool,
) -> anyhow::Result<(EngineStats, SensorStats)> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = OtSensor::with_config(config);
    let started = Instant::now();

    // 1. Frames as they come; a quiet half second expires idle connections.
    let mut stopped = false;
    loop {
        stopped = stopped || stop();
        let limit_reached = limits.count.is_some_and(|c| engine.stats().packets >= c)
            || limits.duration.is_some_and(|d| started.elapsed() >= d);
        if stopped || limit_reached {
            break;
        }
        match capture.next_packet()? {
            Some(raw) => engine.process(&raw, &mut sensor),
            None => engine.expire_at(live::now(), &mut sensor),
        }
        hand_over(&mut sensor, each)?;
    }

    // 2. What was queued before the stop request.
    let mut queued = 0;
    while stopped && queued < MAX_QUEUED_AFTER_STOP {
        let Some(raw) = capture.next_queued()? else {
            break;
        };
        engine.process(&raw, &mut sensor);
        hand_over(&mut sensor, each)?;
        queued += 1;
    }

    // 3. End every open connection.
    engine.finish(&mut sensor);
    hand_over(&mut sensor, each)?;
    Ok((engine.stats(), sensor.stats()))
}

fn hand_over(
    sensor: &mut OtSensor,
    each: &mut dyn FnMut(Observation) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for observation in sensor.drain() {
        each(observation)?;
    }
    Ok(())
}

/// Opens `interface` and runs the sensor on it until Ctrl-C (SIGINT or SIGTERM) or a
/// limit in `args`.
pub fn capture_interface(
    args: &LiveArgs,
    each: &mut dyn FnMut(Observation) -> anyhow::Result<()>,
) -> anyhow::Result<(EngineStats, SensorStats)> {
    let promiscuous = !args.no_promiscuous;
    let mut capture = LiveCapture::open(&args.interface, promiscuous)?;
    live::install_stop_handler();
    tracing::info!(
        interface = %args.interface,
        promiscuous,
        modbus_ports = ?args.ports.modbus_ports,
        bacnet_ports = ?args.ports.bacnet_ports,
        "OT live capture started"
    );
    let config = args.ports.sensor_config();
    let result = run_capture(
        &mut capture,
        args.limits(),
        config,
        each,
        &live::stop_requested,
    );
    tracing::info!(interface = %args.interface, "OT live capture stopped");
    result
}
