//! Throughput measurement: a generated hospital capture of any size, and a timed scan
//! with every detection on. `examples/netbench.rs` and `bench/compare.sh` drive it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use safecare_capture::reader::CaptureReader;
use safecare_capture::synth::{Host, PortState, Synth};
use safecare_capture::{Engine, EngineConfig, Timestamp};
use safecare_core::AssetDirectory;
use serde::Serialize;

use crate::app::dns::build_query;
use crate::sensor::{NetSensor, SensorConfig};

/// Sessions generated per in-memory chunk before it is appended to the file.
const SESSIONS_PER_CHUNK: u32 = 2000;

/// What one timed scan measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// Wall time of the scan.
    pub seconds: f64,
    /// Throughput in packets.
    pub packets_per_sec: f64,
    /// Throughput in megabits of wire bytes.
    pub mbit_per_sec: f64,
    /// Flows tracked.
    pub flows: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Events raised.
    pub events: u64,
    /// Peak resident memory of the process, from /proc (0 where unavailable).
    pub peak_rss_mib: f64,
}

/// Writes a pcap of about `target_bytes` of mixed hospital traffic: DICOM transfers,
/// web sessions, DNS, SMB, HL7 from a thousand clients, with a few scans sprinkled in.
pub fn generate(path: &Path, target_bytes: u64, seed: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = seed | 1;
    let mut start = Timestamp::from_secs(1_796_263_200);
    let mut written = 0u64;
    let mut chunk_index = 0u32;
    while written < target_bytes {
        let mut synth = Synth::starting_at(start);
        for i in 0..SESSIONS_PER_CHUNK {
            session(
                &mut synth,
                &mut rng,
                chunk_index.wrapping_mul(SESSIONS_PER_CHUNK) + i,
            );
        }
        start = synth.now();
        let bytes = synth.finish();
        // Every chunk is a whole pcap; keep the first file header only.
        let body = if written == 0 {
            &bytes[..]
        } else {
            bytes.get(24..).unwrap_or_default()
        };
        out.write_all(body)?;
        written += body.len() as u64;
        chunk_index += 1;
    }
    out.flush()?;
    Ok(written)
}

/// Writes a worst case for the flow table: `packets` SYNs from spoofed sources at
/// 200,000 per second, every one a new flow.
pub fn generate_syn_flood(path: &Path, packets: u32) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let target = Host::v4("10.40.0.20");
    let mut start = Timestamp::from_secs(1_796_263_200);
    let mut written = 0u64;
    let mut sent = 0u32;
    while sent < packets {
        let mut synth = Synth::starting_at(start);
        synth.set_step(Duration::from_micros(5));
        for _ in 0..100_000.min(packets - sent) {
            let source = Host::from_ip(std::net::IpAddr::V4((0x0b00_0000 + sent).into()));
            let flags = safecare_capture::decode::TcpFlags::SYN;
            synth.tcp(
                &source,
                1024 + (sent % 60_000) as u16,
                &target,
                443,
                flags,
                sent,
                0,
                b"",
            );
            sent += 1;
        }
        start = synth.now();
        let bytes = synth.finish();
        let body = if written == 0 {
            &bytes[..]
        } else {
            bytes.get(24..).unwrap_or_default()
        };
        out.write_all(body)?;
        written += body.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

fn next(rng: &mut u64) -> u64 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    *rng
}

fn session(synth: &mut Synth, rng: &mut u64, n: u32) {
    let r = next(rng);
    let client = Host::v4(&format!("10.10.{}.{}", 1 + (r % 4), 1 + (r >> 8) % 250));
    let port = 1024 + (n % 60_000) as u16;
    synth.set_step(Duration::from_micros(50 + (r >> 20) % 2000));
    let chunk = [0x42u8; 1400];
    match (r >> 32) % 100 {
        0..=19 => {
            let segments = 20 + (r >> 40) % 200;
            let exchanges: Vec<(&[u8], &[u8])> =
                (0..segments).map(|_| (&chunk[..], &b""[..])).collect();
            synth.tcp_session(
                &Host::v4("10.20.4.21"),
                port,
                &Host::v4("10.40.0.10"),
                104,
                &exchanges,
            );
        }
        20..=64 => {
            let replies = (r >> 40) % 12;
            let mut exchanges: Vec<(&[u8], &[u8])> = vec![(&chunk[..400], &chunk[..900])];
            exchanges.extend((0..replies).map(|_| (&b""[..], &chunk[..])));
            synth.tcp_session(&client, port, &Host::v4("10.40.0.20"), 443, &exchanges);
        }
        65..=84 => {
            let name = format!("host{}.hospital.local", r % 500);
            let resolver = Host::v4("10.40.0.53");
            synth.udp(
                &client,
                port,
                &resolver,
                53,
                &build_query(n as u16, &name, 1),
            );
            synth.udp(
                &resolver,
                53,
                &client,
                port,
                &build_query(n as u16, &name, 1),
            );
        }
        85..=97 => {
            let exchanges: Vec<(&[u8], &[u8])> =
                (0..8).map(|_| (&chunk[..200], &chunk[..1200])).collect();
            synth.tcp_session(&client, port, &Host::v4("10.40.0.40"), 445, &exchanges);
        }
        _ => {
            let target = Host::v4(&format!("10.20.4.{}", 1 + r % 60));
            synth.syn_probe(
                &Host::v4("10.10.9.99"),
                port,
                &target,
                (r >> 16) as u16 % 1024,
                PortState::Closed,
            );
        }
    }
}

/// Scans `path` with every detection on (or, with `detections` false, the capture
/// layer alone: decoding, flows, reassembly) and measures it.
pub fn measure(
    path: &Path,
    directory: &dyn AssetDirectory,
    detections: bool,
) -> Result<BenchReport, safecare_capture::ReadError> {
    let mut reader = CaptureReader::open(path)?;
    let mut engine = Engine::new(EngineConfig::default());
    let mut sensor = if detections {
        NetSensor::new(directory, SensorConfig::default())
    } else {
        NetSensor::with_detectors(directory, Vec::new())
    };
    let started = Instant::now();
    let mut events = 0u64;
    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => engine.process(&raw, &mut sensor),
            Ok(None) => break,
            Err(_) => engine.count_read_error(),
        }
        if sensor.has_events() {
            events += sensor.take_events().len() as u64;
        }
    }
    engine.finish(&mut sensor);
    events += sensor.take_events().len() as u64;
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let stats = engine.stats();
    Ok(BenchReport {
        packets: stats.packets,
        bytes: stats.bytes,
        seconds,
        packets_per_sec: stats.packets as f64 / seconds,
        mbit_per_sec: stats.bytes as f64 * 8.0 / 1e6 / seconds,
        flows: stats.flows,
        evicted: stats.evicted,
        events,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// VmHWM of this process in MiB, from /proc/self/status.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
