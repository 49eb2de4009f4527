//! `safecare`: the hospital security platform and its tools, in one command.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use safecare_bus::{BrokerUrl, BusClient, ClientOptions};
use safecare_cli::capture_steps::CaptureFiles;
use safecare_cli::output::{BusSink, DetectorOutput, Format, PrintFormat, PrintSink};
use safecare_cli::platform::{BrokerChoice, Platform, PlatformConfig};
use safecare_cli::replay::ReplayPlan;
use safecare_cli::{bench, demo, replay};
use safecare_core::EventSink;
use safecare_core::scenario::{Publication, Scenario};
use safecare_core::site::{self, Site};
use safecare_correlate::RuleSet;

/// SafeCare: one platform for the cyber and physical security of a hospital.
#[derive(Parser)]
#[command(name = "safecare", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: broker, store, correlation, HTTP API.
    ///
    /// Examples:
    ///   safecare up
    ///   safecare up --broker mqtt://127.0.0.1:1883 --database postgres://postgres@127.0.0.1/safecare
    Up(UpArgs),
    /// Run the platform on its embedded defaults, replay the shipped attack scenarios, and
    /// print what it concluded.
    ///
    /// Examples:
    ///   safecare demo
    ///   safecare demo --json > demo.json
    ///   safecare demo --serve
    Demo(DemoArgs),
    /// Replay scenario files against a running platform.
    ///
    /// Example:
    ///   safecare replay scenarios/vaccine-theft.yaml --speed 600
    Replay(ReplayArgs),
    /// Print the JSON Schema of a document: event, alert or incident.
    ///
    /// Example:
    ///   safecare schema event
    Schema {
        /// event, alert or incident
        document: String,
    },
    /// Work with site files (the hospital's buildings, zones and assets).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Check a correlation rules file and list its rules.
    ///
    /// Example:
    ///   safecare rules check my-rules.yaml
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Measure the platform (see docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// IT network threat detection from capture files, live interfaces or Suricata.
    Net {
        #[command(flatten)]
        output: DetectorOutput,
        #[command(flatten)]
        print: PrintFormat,
        #[command(subcommand)]
        command: safecare_net::NetCommand,
    },
    /// Security analytics of device logs: Sigma rules, EVTX, syslog, JSON, CSV.
    Logs {
        #[command(flatten)]
        output: DetectorOutput,
        #[command(subcommand)]
        command: safecare_logs::cli::LogsCommand,
    },
    /// BMS/OT threat detection (Modbus/TCP and BACnet/IP) and SCADA polling.
    Ot {
        #[command(flatten)]
        output: DetectorOutput,
        #[command(subcommand)]
        command: safecare_ot::cli::OtCommand,
    },
    /// Advanced file analysis: DICOM inspection, polyglots, archives, hashes.
    Files {
        #[command(flatten)]
        output: DetectorOutput,
        #[command(subcommand)]
        command: safecare_files::cli::FilesCommand,
    },
    /// The risk register: likelihood times impact, per asset and threat class.
    #[command(subcommand)]
    Risk(safecare_impact::cli::RiskCommand),
    /// Hospital availability as EDXL-HAVE 1.0.
    #[command(subcommand)]
    Have(safecare_hams::cli::HaveCommand),
}

#[derive(Args)]
struct UpArgs {
    /// Address of the embedded MQTT 3.1.1 broker.
    #[arg(long, default_value = "127.0.0.1:1883", help_heading = "Bus")]
    mqtt_listen: SocketAddr,
    /// Also serve MQTT 5 on this address (embedded broker only).
    #[arg(long, help_heading = "Bus")]
    mqtt5_listen: Option<SocketAddr>,
    /// Use this running broker instead of the embedded one (mqtt://[user:pass@]host:port).
    #[arg(long, env = "SAFECARE_BROKER", help_heading = "Bus")]
    broker: Option<String>,
    /// The central store: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "SAFECARE_DATABASE",
        default_value = "sqlite://safecare.db",
        help_heading = "Store"
    )]
    database: String,
    /// Address of the HTTP API and status page.
    #[arg(long, default_value = "127.0.0.1:8080", help_heading = "HTTP")]
    http_listen: SocketAddr,
    /// The site file; the demo hospital when absent.
    #[arg(long, help_heading = "Site and rules")]
    site: Option<PathBuf>,
    /// Correlation rules; the shipped defaults when absent.
    #[arg(long, help_heading = "Site and rules")]
    rules: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Print the report as one JSON document.
    #[arg(long)]
    json: bool,
    /// Keep the platform running after the replay (Ctrl-C to stop).
    #[arg(long)]
    serve: bool,
    /// Replay speed (x real time); as fast as possible when absent.
    #[arg(long)]
    speed: Option<f64>,
    /// Use this running broker instead of an embedded one on a free port.
    #[arg(long)]
    broker: Option<String>,
    /// Store URL; a temporary SQLite file when absent.
    #[arg(long)]
    database: Option<String>,
    /// Address of the HTTP API (a free port when absent).
    #[arg(long, default_value = "127.0.0.1:0")]
    http_listen: SocketAddr,
}

#[derive(Args)]
struct ReplayArgs {
    /// Scenario files (YAML).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The platform's broker.
    #[arg(long, env = "SAFECARE_BROKER", default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    /// Replay speed (x real time); as fast as possible when absent.
    #[arg(long)]
    speed: Option<f64>,
    /// The site file the sensors of `capture:` steps name assets from; the demo hospital
    /// when absent.
    #[arg(long)]
    site: Option<PathBuf>,
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Write a synthetic site of any size, for benchmarks.
    ///
    /// Example:
    ///   safecare site generate --assets 100000 -o big.yaml
    Generate {
        /// How many assets.
        #[arg(long)]
        assets: usize,
        /// Seed of the generator: the same seed gives the same site.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file; standard output when absent.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Check a site file and summarise it.
    Check { file: PathBuf },
    /// Print the demo hospital's site file.
    Demo,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check a rules file; prints each rule or the error with its line.
    Check { file: PathBuf },
    /// Print the shipped default rules.
    Defaults,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Events per second from publish to stored-and-evaluated, beside the broker's ceiling.
    Pipeline(bench::PipelineArgs),
}

fn main() -> ExitCode {
    safecare_cli::logging::init();

    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Up(args) => up(args).await,
        Command::Demo(args) => run_demo(args).await,
        Command::Replay(args) => run_replay(args).await,
        Command::Schema { document } => print_schema(&document),
        Command::Site(command) => site_command(command),
        Command::Rules(command) => rules_command(command),
        Command::Bench(BenchCommand::Pipeline(args)) => bench::pipeline(args).await,
        Command::Net {
            output,
            print,
            command,
        } => run_net(output, print, command).await,
        Command::Logs { output, command } => run_logs(output, command).await,
        Command::Ot { output, command } => run_ot(output, command).await,
        Command::Files { output, command } => run_files(output, command).await,
        Command::Risk(command) => safecare_impact::cli::run(command),
        Command::Have(command) => safecare_hams::cli::run(command),
    }
}

async fn up(args: UpArgs) -> Result<()> {
    let broker = match &args.broker {
        Some(url) => BrokerChoice::External(BrokerUrl::parse(url)?),
        None => BrokerChoice::Embedded {
            listen: args.mqtt_listen,
            listen_v5: args.mqtt5_listen,
        },
    };
    let site = load_site(args.site.as_deref())?;
    let rules = load_rules(args.rules.as_deref())?;
    let mut platform = Platform::start(PlatformConfig {
        broker,
        site,
        rules,
        ..PlatformConfig::embedded(args.mqtt_listen, args.database, args.http_listen)
    })
    .await?;

    eprintln!(
        "SafeCare is up for {}: API http://{}, broker {}{}, store {}. Ctrl-C stops it.",
        platform.site.name(),
        platform.http_addr,
        platform.broker_url,
        if platform.embedded_broker.is_some() {
            " (embedded)"
        } else {
            ""
        },
        platform.database,
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    platform.exchange.sync().await;
    platform.shutdown().await;
    eprintln!("SafeCare stopped.");
    Ok(())
}

async fn run_demo(args: DemoArgs) -> Result<()> {
    let options = demo::DemoOptions {
        database: args.database,
        broker: args.broker.as_deref().map(BrokerUrl::parse).transpose()?,
        http_listen: args.http_listen,
        speed: args.speed,
    };
    let (report, mut platform, _temp_dir) = demo::run(options).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", demo::render_text(&report));
    }

    if args.serve {
        eprintln!("Serving at http://{} until Ctrl-C.", platform.http_addr);
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
    }
    platform.shutdown().await;
    Ok(())
}

fn print_step(publication: &Publication) {
    match publication {
        Publication::Event(event) => {
            let time = event.time.format("%H:%M:%S");
            eprintln!("  {time} {} {}", event.kind, event.summary);
        }
        Publication::Native { topic, .. } => eprintln!("  native message on {topic}"),
    }
}

async fn run_replay(args: ReplayArgs) -> Result<()> {
    let url = BrokerUrl::parse(&args.broker)?;
    let site = load_site(args.site.as_deref())?;
    let mut plans = Vec::new();
    for file in &args.files {
        let scenario = Scenario::load(file)?;
        let base = replay::base_time(&scenario, chrono::Utc::now());
        let files = CaptureFiles::Beside(file.clone());
        plans.push((
            ReplayPlan::new(&scenario, base, &files, &site)?,
            scenario.name,
        ));
    }
    let mut options = ClientOptions::new("replay");
    options.client_id = format!("safecare-replay-{}", ulid::Ulid::new());
    let (bus, _incoming) = BusClient::connect(&url, options, Duration::from_secs(10)).await?;

    for (plan, name) in &plans {
        let sent = replay::replay(&bus, plan, args.speed, print_step).await?;
        eprintln!(
            "{name}: {} events ({} from captures) and {} native messages published to {url}",
            sent.events, sent.from_captures, sent.native
        );
    }
    bus.shutdown().await;
    Ok(())
}

fn print_schema(document: &str) -> Result<()> {
    let schema = safecare_core::schema::schema_of(document).with_context(|| {
        format!(
            "no schema `{document}`; choose one of: {}",
            safecare_core::schema::DOCUMENTS.join(", ")
        )
    })?;
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(())
}

fn site_command(command: SiteCommand) -> Result<()> {
    match command {
        SiteCommand::Generate {
            assets,
            seed,
            output,
        } => {
            // Written as it is serialised: a million-asset site is not held twice.
            let site = site::generate(assets, seed);
            match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    site.write_yaml(std::io::BufWriter::new(file))?;
                }
                None => site.write_yaml(std::io::BufWriter::new(std::io::stdout().lock()))?,
            }
            Ok(())
        }
        SiteCommand::Check { file } => {
            let site = Site::load(&file)?;
            println!(
                "{}: site `{}` ({}) is valid: {} assets, {} zones.",
                file.display(),
                site.id(),
                site.name(),
                site.assets().len(),
                site.zones().count()
            );
            Ok(())
        }
        SiteCommand::Demo => {
            print!("{}", site::DEMO_SITE_YAML);
            Ok(())
        }
    }
}

fn rules_command(command: RulesCommand) -> Result<()> {
    match command {
        RulesCommand::Check { file } => {
            let rules = RuleSet::load(&file)?;
            for rule in rules.rules() {
                println!("{:<32} {:?} {}", rule.id(), rule.rule_type(), rule.title());
            }
            println!("{}: {} rules, all valid.", file.display(), rules.len());
            Ok(())
        }
        RulesCommand::Defaults => {
            print!("{}", RuleSet::default_yaml());
            Ok(())
        }
    }
}

/// Runs a detector on a blocking thread, its events printed or published.
///
/// `detect` gets the site and the sink; its summary goes to stderr.
async fn run_detector<S, F>(
    output: DetectorOutput,
    format: Option<Format>,
    module: &'static str,
    detect: F,
) -> Result<()>
where
    S: std::fmt::Display + Send + 'static,
    F: FnOnce(&Site, &mut dyn EventSink) -> Result<S> + Send + 'static,
{
    let site = load_site(output.site.as_deref())?;
    let summary = match &output.broker {
        Some(url) => {
            let mut sink = BusSink::connect(url, module).await?;
            let (summary, sink) = tokio::task::spawn_blocking(move || {
                let summary = detect(&site, &mut sink);
                (summary, sink)
            })
            .await?;
            eprintln!("{} events published to {url}", sink.published);
            sink.finish().await;
            summary?
        }
        None => {
            tokio::task::spawn_blocking(move || detect(&site, &mut PrintSink::new(format)))
                .await??
        }
    };
    eprintln!("{summary}");
    Ok(())
}

async fn run_net(
    output: DetectorOutput,
    print: PrintFormat,
    command: safecare_net::NetCommand,
) -> Result<()> {
    run_detector(output, print.format, "net", move |site, sink| {
        safecare_net::run(command, site, sink)
    })
    .await
}

async fn run_logs(output: DetectorOutput, command: safecare_logs::cli::LogsCommand) -> Result<()> {
    run_detector(output, Some(Format::Jsonl), "logs", move |site, sink| {
        safecare_logs::cli::run_with_profiles(command, site, sink, site_profiles(site))
    })
    .await
}

async fn run_ot(output: DetectorOutput, command: safecare_ot::cli::OtCommand) -> Result<()> {
    if command.is_scada() {
        // SCADA polling and simulation run here: they are async and publish telemetry too.
        let site = load_site(output.site.as_deref())?;
        return safecare_ot::scada::cli::run(command, output.broker.as_deref(), &site).await;
    }
    run_detector(output, Some(Format::Jsonl), "ot", move |site, sink| {
        safecare_ot::cli::run_with_site(command, site, Some(site), sink)
    })
    .await
}

async fn run_files(
    output: DetectorOutput,
    command: safecare_files::cli::FilesCommand,
) -> Result<()> {
    // Verdict lines go to stdout; events to the broker, or nowhere without one.
    run_detector(output, Some(Format::Jsonl), "files", move |site, sink| {
        safecare_files::cli::run(command, site, sink)
    })
    .await
}

/// The device profiles of the site model, used unless `--profiles` names a file.
fn site_profiles(site: &Site) -> safecare_logs::analytics::DeviceProfiles {
    safecare_logs::analytics::DeviceProfiles::from_site(site, chrono::Utc::now())
}

fn load_site(path: Option<&std::path::Path>) -> Result<Site> {
    match path {
        Some(path) => Ok(Site::load(path)?),
        None => Ok(Site::demo()),
    }
}

fn load_rules(path: Option<&std::path::Path>) -> Result<RuleSet> {
    match path {
        Some(path) => Ok(RuleSet::load(path)?),
        None => Ok(RuleSet::defaults()),
    }
}
