//! `safecare bench pipeline`: events/s from publish to stored-and-evaluated.
//!
//! Each configuration is measured twice in the same run: first the broker's
//! ceiling (publish -> subscribe, nothing done with the message), then the
//! whole pipeline (publish -> exchange -> store -> correlation) with the same
//! pre-serialised events, so the pipeline is reported as a fraction of what
//! the broker alone can carry on this machine.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use safecare_bus::client::Qos;
use safecare_bus::mosquitto::MosquittoProcess;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions, EmbeddedBroker};
use safecare_core::{Module, SecurityEvent};
use safecare_correlate::RuleSet;
use safecare_exchange::ExchangeConfig;
use safecare_store::Store;
use serde::Serialize;
use ulid::Ulid;

use crate::platform::exchange_tuning;

/// Options of `safecare bench pipeline`.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Events per measurement.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Publishing clients.
    #[arg(long, default_value_t = 2)]
    pub publishers: usize,
    /// Also measure Mosquitto + PostgreSQL: start a Mosquitto of the bench's own
    /// (the `mosquitto` binary, with the settings of deploy/mosquitto.conf).
    #[arg(long)]
    pub with_mosquitto: bool,
    /// PostgreSQL database for the Mosquitto configuration (emptied of nothing:
    /// use a database made for the benchmark).
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/safecare_bench"
    )]
    pub postgres: String,
    /// Connections of the exchange service on its shared subscription, with the
    /// embedded broker when its in-process link is taken (an external broker
    /// gets one, as `safecare up` does).
    #[arg(long, default_value_t = ExchangeConfig::default().connections)]
    pub connections: usize,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One configuration's figures.
#[derive(Debug, Serialize)]
pub struct PipelineResult {
    pub configuration: String,
    pub events: usize,
    pub ceiling_events_per_s: f64,
    pub ceiling_p50_ms: f64,
    pub ceiling_p99_ms: f64,
    pub pipeline_events_per_s: f64,
    pub pipeline_p50_ms: f64,
    pub pipeline_p99_ms: f64,
    pub fraction_of_ceiling: f64,
    pub events_stored: u64,
    /// Store transactions the pipeline needed (events are batched per commit).
    pub batches: u64,
    pub resident_mb_after: f64,
}

pub async fn pipeline(args: PipelineArgs) -> Result<()> {
    let payloads = make_payloads(args.events);
    let mut results = Vec::new();

    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let broker = tokio::task::spawn_blocking(move || EmbeddedBroker::start(any, None)).await??;
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    results.push(
        measure(
            "embedded broker + SQLite",
            &broker.url(),
            &sqlite,
            &payloads,
            &args,
            Some(&broker),
        )
        .await?,
    );

    if args.with_mosquitto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mosquitto_dir = tempfile::tempdir()?;
        let mosquitto = MosquittoProcess::start(port, mosquitto_dir.path(), false)?;
        let url = BrokerUrl::parse(&format!("mqtt://127.0.0.1:{}", mosquitto.port))?;
        results.push(
            measure(
                "Mosquitto + PostgreSQL",
                &url,
                &args.postgres,
                &payloads,
                &args,
                None,
            )
            .await?,
        );
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print_table(&results);
    }
    Ok(())
}

async fn measure(
    name: &str,
    broker: &BrokerUrl,
    database: &str,
    payloads: &[(Ulid, Vec<u8>)],
    args: &PipelineArgs,
    embedded: Option<&EmbeddedBroker>,
) -> Result<PipelineResult> {
    eprintln!(
        "{name}: measuring the broker ceiling with {} events",
        payloads.len()
    );
    let ceiling = ceiling(broker, payloads, args.publishers).await?;

    eprintln!(
        "{name}: measuring the pipeline with {} events",
        payloads.len()
    );
    let store = Store::open(database)
        .await
        .with_context(|| format!("cannot open {database}"))?;
    let tuning = ExchangeConfig {
        connections: args.connections,
        ..ExchangeConfig::default()
    };
    let config = ExchangeConfig {
        client_id: format!("safecare-bench-exchange-{}", Ulid::new()),
        ..exchange_tuning(tuning, embedded)
    };
    let exchange = safecare_exchange::start(store, broker, RuleSet::defaults(), config).await?;
    let mut commits = exchange.subscribe_commits();
    let before = exchange.reader().counts().await?.events;
    // Let the subscription settle: messages sent before it is active go nowhere.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let sent = publish_all(broker, "safecare/v1/event/net", payloads, args.publishers).await?;
    let mut latencies = Vec::new();
    let mut committed = 0usize;
    let mut last = started;
    while committed < payloads.len() {
        let report = tokio::time::timeout(Duration::from_secs(60), commits.recv())
            .await
            .with_context(|| {
                format!(
                    "the pipeline stalled for 60 s after {committed} of {} events",
                    payloads.len()
                )
            })?
            .context("the exchange stopped")?;
        committed += report.event_ids.len();
        last = report.committed_at;
        for id in &report.event_ids {
            if let Some(at) = sent.get(id) {
                latencies.push(report.committed_at.saturating_duration_since(*at));
            }
        }
    }
    let elapsed = last.duration_since(started);
    let stored = exchange.reader().counts().await?.events - before;
    let batches = exchange
        .metrics()
        .batches_committed
        .load(std::sync::atomic::Ordering::Relaxed);
    exchange.shutdown().await;

    let rate = payloads.len() as f64 / elapsed.as_secs_f64();
    Ok(PipelineResult {
        configuration: name.to_string(),
        events: payloads.len(),
        ceiling_events_per_s: ceiling.rate,
        ceiling_p50_ms: percentile(&mut ceiling.latencies.clone(), 0.50),
        ceiling_p99_ms: percentile(&mut ceiling.latencies.clone(), 0.99),
        pipeline_events_per_s: rate,
        pipeline_p50_ms: percentile(&mut latencies.clone(), 0.50),
        pipeline_p99_ms: percentile(&mut latencies, 0.99),
        fraction_of_ceiling: rate / ceiling.rate,
        events_stored: stored,
        batches,
        resident_mb_after: resident_mb(),
    })
}

struct Ceiling {
    rate: f64,
    latencies: Vec<Duration>,
}

/// How long the ceiling's subscriber waits for the next message before it
/// concludes the broker lost some.
const CEILING_QUIET: Duration = Duration::from_secs(10);

/// Publish -> subscribe on the same broker, same QoS and payloads, nothing else.
async fn ceiling(
    broker: &BrokerUrl,
    payloads: &[(Ulid, Vec<u8>)],
    publishers: usize,
) -> Result<Ceiling> {
    let topic = format!("bench/{}/event/net", Ulid::new());
    let mut options = ClientOptions::new("bench-subscriber").subscribe(&topic, Qos::AtLeastOnce);
    options.client_id = format!("safecare-bench-sub-{}", Ulid::new());
    options.heartbeat = None;
    let (subscriber, mut incoming) =
        BusClient::connect(broker, options, Duration::from_secs(10)).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let target = payloads.len();
    // A broker that dropped messages never completes the count: give up after
    // a quiet spell instead of waiting for ever.
    let receiver = tokio::spawn(async move {
        let mut received = Vec::with_capacity(target);
        while received.len() < target {
            match tokio::time::timeout(CEILING_QUIET, incoming.recv()).await {
                Ok(Some(publish)) => received.push((id_of(&publish.payload), Instant::now())),
                Ok(None) | Err(_) => break,
            }
        }
        received
    });

    let started = Instant::now();
    let sent = publish_all(broker, &topic, payloads, publishers).await?;
    let received = receiver.await?;
    subscriber.shutdown().await;
    if received.len() < target {
        anyhow::bail!(
            "the broker delivered {} of {target} messages and then nothing for {} s; the \
             embedded broker keeps at most 128 MiB of messages per topic for a subscriber \
             that falls behind (crates/bus/src/broker.rs) and drops the oldest beyond that: \
             run with fewer --events (200,000 fit)",
            received.len(),
            CEILING_QUIET.as_secs()
        );
    }

    let last = received.last().map(|(_, at)| *at).unwrap_or(started);
    let latencies = received
        .iter()
        .filter_map(|(id, at)| {
            sent.get(&(*id)?)
                .map(|sent| at.saturating_duration_since(*sent))
        })
        .collect();
    Ok(Ceiling {
        rate: target as f64 / last.duration_since(started).as_secs_f64(),
        latencies,
    })
}

/// Every sampled event id (one in 50) with the instant it was handed to the client.
type SendTimes = HashMap<Ulid, Instant>;

/// Publishes the payloads from `publishers` clients at once, as fast as the broker takes them.
async fn publish_all(
    broker: &BrokerUrl,
    topic: &str,
    payloads: &[(Ulid, Vec<u8>)],
    publishers: usize,
) -> Result<SendTimes> {
    let publishers = publishers.max(1);
    let chunk = payloads.len().div_ceil(publishers);
    let mut tasks = Vec::new();
    for (n, part) in payloads.chunks(chunk.max(1)).enumerate() {
        let mut options = ClientOptions::new("bench-publisher");
        options.client_id = format!("safecare-bench-pub-{n}-{}", Ulid::new());
        options.heartbeat = None;
        let (client, _incoming) =
            BusClient::connect(broker, options, Duration::from_secs(10)).await?;
        let part = part.to_vec();
        let topic = topic.to_string();
        tasks.push(tokio::spawn(async move {
            let mut sent = SendTimes::new();
            for (i, (id, payload)) in part.into_iter().enumerate() {
                if i % 50 == 0 {
                    sent.insert(id, Instant::now());
                }
                client
                    .publish(&topic, Qos::AtLeastOnce, false, payload)
                    .await?;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, anyhow::Error>((sent, client, _incoming))
        }));
    }

    let mut all = SendTimes::new();
    for task in tasks {
        let (sent, client, _incoming) = task.await??;
        all.extend(sent);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            client.shutdown().await;
        });
    }
    Ok(all)
}

/// Realistic events (a port scan seen by the network sensor), serialised once up front.
fn make_payloads(count: usize) -> Vec<(Ulid, Vec<u8>)> {
    (0..count)
        .map(|i| {
            let mut event = SecurityEvent::new(
                Module::Net,
                "network.port_scan",
                40,
                format!(
                    "Host 10.10.{}.{} scanned 120 ports of pacs-server",
                    i % 250,
                    i % 200
                ),
            )
            .with_techniques("MITRE ATT&CK", &["T1046"]);
            event.asset = Some("pacs-server".into());
            event.location = Some(safecare_core::Location {
                zone: Some("datacentre".into()),
                ..Default::default()
            });
            event.evidence.insert("ports".into(), 120.into());
            let payload = serde_json::to_vec(&event).unwrap_or_default();
            (event.id, payload)
        })
        .collect()
}

/// The event id at the start of a serialised event (`{"id":"<26 chars>"`).
fn id_of(payload: &[u8]) -> Option<Ulid> {
    let text = std::str::from_utf8(payload.get(7..33)?).ok()?;
    Ulid::from_string(text).ok()
}

fn percentile(values: &mut [Duration], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index.min(values.len() - 1)].as_secs_f64() * 1000.0
}

fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|pages| pages * 4096.0 / 1_048_576.0)
        .unwrap_or(f64::NAN)
}

fn print_table(results: &[PipelineResult]) {
    println!(
        "{:<28} {:>10} {:>12} {:>9} {:>9} {:>12} {:>9} {:>9} {:>9} {:>8}",
        "configuration",
        "events",
        "ceiling/s",
        "p50 ms",
        "p99 ms",
        "pipeline/s",
        "p50 ms",
        "p99 ms",
        "fraction",
        "RSS MB"
    );
    for r in results {
        println!(
            "{:<28} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>8.0}",
            r.configuration,
            r.events,
            r.ceiling_events_per_s,
            r.ceiling_p50_ms,
            r.ceiling_p99_ms,
            r.pipeline_events_per_s,
            r.pipeline_p50_ms,
            r.pipeline_p99_ms,
            r.fraction_of_ceiling,
            r.resident_mb_after
        );
    }
}
