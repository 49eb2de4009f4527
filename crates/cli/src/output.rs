//! Where a detector run from the command line sends its events.

use std::io::{IsTerminal, Write};

use clap::{Args, ValueEnum};
use safecare_bus::{BrokerUrl, BusClient, ClientOptions};
use safecare_core::{EventSink, SecurityEvent};

/// How events are printed when they are not sent to a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON document per line (the default when stdout is not a terminal).
    Jsonl,
    /// One line per event for a person (the default on a terminal).
    Text,
}

/// How a detector that has no format option of its own prints events.
#[derive(Debug, Clone, Args)]
pub struct PrintFormat {
    /// Print events as JSON lines or text; JSON lines when stdout is not a terminal.
    #[arg(long, global = true, value_enum, help_heading = "Output")]
    pub format: Option<Format>,
}

/// Options shared by every detector command.
#[derive(Debug, Clone, Args)]
pub struct DetectorOutput {
    /// Publish events to this broker (mqtt://host:port) instead of printing them.
    #[arg(long, global = true, env = "SAFECARE_BROKER", help_heading = "Output")]
    pub broker: Option<String>,
    /// The site file that names assets and zones; the demo hospital when absent.
    #[arg(long, global = true, help_heading = "Site")]
    pub site: Option<std::path::PathBuf>,
}

/// Prints events to stdout.
pub struct PrintSink {
    format: Format,
    out: std::io::BufWriter<std::io::Stdout>,
}

impl PrintSink {
    pub fn new(format: Option<Format>) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let format = format.unwrap_or(if terminal {
            Format::Text
        } else {
            Format::Jsonl
        });
        PrintSink {
            format,
            out: std::io::BufWriter::new(std::io::stdout()),
        }
    }
}

impl EventSink for PrintSink {
    fn emit(&mut self, event: SecurityEvent) -> std::io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &event)?;
                self.out.write_all(b"\n")
            }
            Format::Text => writeln!(
                self.out,
                "{} {:>3} {:<28} {}",
                event.time.format("%Y-%m-%d %H:%M:%S"),
                event.severity,
                event.kind,
                event.summary
            ),
        }
    }
}

impl Drop for PrintSink {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// Publishes events to the bus from a blocking thread.
pub struct BusSink {
    bus: BusClient,
    runtime: tokio::runtime::Handle,
    pub published: u64,
}

impl BusSink {
    /// Connects as `module`; call from async code, then use from a blocking thread.
    pub async fn connect(url: &str, module: &str) -> anyhow::Result<BusSink> {
        let url = BrokerUrl::parse(url)?;
        let mut options = ClientOptions::new(module);
        options.client_id = format!("safecare-{module}-{}", ulid::Ulid::new());
        let (bus, _incoming) =
            BusClient::connect(&url, options, std::time::Duration::from_secs(10)).await?;
        Ok(BusSink {
            bus,
            runtime: tokio::runtime::Handle::current(),
            published: 0,
        })
    }

    /// Waits until every event was handed to the broker, then says goodbye.
    pub async fn finish(self) {
        self.bus.shutdown().await;
    }
}

impl EventSink for BusSink {
    fn emit(&mut self, event: SecurityEvent) -> std::io::Result<()> {
        self.runtime
            .block_on(self.bus.publish_event(&event))
            .map_err(std::io::Error::other)?;
        self.published += 1;
        Ok(())
    }
}
