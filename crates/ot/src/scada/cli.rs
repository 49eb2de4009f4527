//! `safecare ot poll` and `safecare ot simulate`: the SCADA collection commands.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions, QoS, topics};
use safecare_core::site::Site;

use super::config::PollConfig;
use super::fault::Fault;
use super::poll::{Output, PollSummary, Poller};
use super::simulate::Simulator;
use crate::cli::OtCommand;

/// The module the poller speaks for on the bus: `event/scada`, `health/scada`.
const MODULE: &str = "scada";

/// Arguments of `safecare ot poll`.
#[derive(Debug, Clone, Args)]
pub struct PollArgs {
    /// The poll configuration (YAML): devices, points, limits; see deploy/scada-demo.yaml.
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Also print every reading as a JSON line on stdout.
    #[arg(long)]
    pub readings: bool,
    /// Stop after polling each device this many times (default: until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub cycles: Option<u64>,
}

/// Arguments of `safecare ot simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The poll configuration whose devices and points are served.
    #[arg(value_name = "CONFIG")]
    pub config: PathBuf,
    /// Serve every device on this address instead of the addresses in CONFIG.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Replay a fault or attack: a fault file, or freezer-thaw, stuck-sensor,
    /// setpoint-write, silence or power-loss.
    #[arg(long, value_name = "FILE|NAME")]
    pub fault: Option<String>,
    /// Seed of the simulated noise, to repeat a run exactly.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs `ot poll` or `ot simulate`; a poll's summary goes to stderr.
pub async fn run(command: OtCommand, broker: Option<&str>, site: &Site) -> anyhow::Result<()> {
    match command {
        OtCommand::Poll(args) => {
            let summary = run_poll(args, broker, site).await?;
            eprintln!("{summary}");
            Ok(())
        }
        OtCommand::Simulate(args) => run_simulate(args, site).await,
        _ => anyhow::bail!("not a SCADA command; run it through safecare_ot::cli::run_with_site"),
    }
}

/// Polls the devices of a config until Ctrl-C or the end of `--cycles`: events (and with
/// `--readings`, readings) as JSON lines on stdout, or published to `broker`.
pub async fn run_poll(
    args: PollArgs,
    broker: Option<&str>,
    site: &Site,
) -> anyhow::Result<PollSummary> {
    let config = PollConfig::load(&args.config, Some(site))?;
    let mut destination = match broker {
        Some(url) => Destination::bus(url).await?,
        None => Destination::Stdout,
    };
    let points: usize = config.devices.iter().map(|d| d.points.len()).sum();
    tracing::info!(devices = config.devices.len(), points, "polling started");

    let (mut poller, mut outputs) = Poller::start(&config, site, args.cycles);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            output = outputs.recv() => match output {
                Some(output) => destination.send(output, args.readings).await?,
                None => break,
            },
            _ = &mut ctrl_c => break,
        }
    }

    drop(outputs);
    poller.finished().await;
    destination.finish().await;
    Ok(poller.summary())
}

/// Serves the devices of a config until Ctrl-C, replaying `--fault` when given.
pub async fn run_simulate(args: SimulateArgs, site: &Site) -> anyhow::Result<()> {
    let config = PollConfig::load(&args.config, Some(site))?;
    let fault = args
        .fault
        .as_deref()
        .map(|f| Fault::load(f, &config))
        .transpose()?;
    let seed = args.seed.unwrap_or_else(clock_seed);

    let simulator = Simulator::start(&config, args.listen, fault, seed).await?;
    for (address, devices) in simulator.listeners() {
        eprintln!("serving {} on {address}", devices.join(", "));
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}

/// Where poll outputs go.
enum Destination {
    Stdout,
    Bus(BusClient),
}

impl Destination {
    async fn bus(url: &str) -> anyhow::Result<Destination> {
        let url = BrokerUrl::parse(url)?;
        let mut options = ClientOptions::new(MODULE);
        options.client_id = format!("safecare-{MODULE}-{}", ulid_like());
        let (bus, _incoming) = BusClient::connect(&url, options, Duration::from_secs(10)).await?;
        Ok(Destination::Bus(bus))
    }

    async fn send(&mut self, output: Output, print_readings: bool) -> anyhow::Result<()> {
        let bus_gone = "could not publish to the broker (is it still up?)";
        match (self, output) {
            (Destination::Stdout, Output::Event(event)) => print_line(&event),
            (Destination::Stdout, Output::Reading(reading)) if print_readings => {
                print_line(&reading)
            }
            (Destination::Stdout, Output::Reading(_)) => Ok(()),
            (Destination::Bus(bus), Output::Event(event)) => {
                bus.publish_event(&event).await.context(bus_gone)
            }
            (Destination::Bus(bus), Output::Reading(reading)) => {
                if print_readings {
                    print_line(&reading)?;
                }
                let topic = topics::telemetry(&reading.sensor);
                bus.publish_json(&topic, QoS::AtMostOnce, false, &reading)
                    .await
                    .context(bus_gone)
            }
        }
    }

    async fn finish(self) {
        if let Destination::Bus(bus) = self {
            bus.shutdown().await;
        }
    }
}

/// Writes one JSON line on stdout and flushes it, so that a pipe sees it at once.
fn print_line(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")
        .and_then(|()| out.flush())
        .context("could not write to stdout")
}

fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(1, |d| d.as_nanos() as u64)
}

/// A client id suffix unique enough for one host.
fn ulid_like() -> String {
    format!("{}-{:x}", std::process::id(), clock_seed())
}
