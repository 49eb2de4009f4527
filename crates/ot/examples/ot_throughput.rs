//! Throughput of the OT sensor: Modbus transactions per second decoded from the
//! shared Modbus captures, looped in memory.
//!
//! Run: `cargo run --release -p safecare-ot --example ot_throughput -- [LOOPS]`

use std::time::Instant;

use safecare_capture::{CaptureReader, Engine, EngineConfig};
use safecare_ot::cli::scan_reader;
use safecare_ot::sensor::OtSensor;

const CAPTURES: [&str; 5] = [
    "modbusSmall.pcap",
    "modbus_test.pcap",
    "modbus_test_2.pcap",
    "modbus_test_data_part1.pcap",
    "modbus_test_data_part2.pcap",
];

fn main() -> anyhow::Result<()> {
    let loops: u32 = std::env::args().nth(1).map_or(Ok(200), |a| a.parse())?;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcap/modbus"
    );
    let files = CAPTURES
        .iter()
        .map(|name| std::fs::read(format!("{dir}/{name}")))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = files.iter().map(Vec::len).sum::<usize>() * loops as usize;

    let started = Instant::now();
    let (mut transactions, mut packets) = (0u64, 0u64);
    for _ in 0..loops {
        for file in &files {
            let mut engine = Engine::new(EngineConfig::default());
            let mut sensor = OtSensor::new();
            let mut reader = CaptureReader::new(file.as_slice())?;
            let path = std::path::Path::new("memory");
            scan_reader(path, &mut reader, &mut engine, &mut sensor, &mut |_| Ok(()))?;
            engine.finish(&mut sensor);
            transactions += sensor.stats().transactions;
            packets += engine.stats().packets;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{transactions} Modbus transactions, {packets} packets, {:.1} MB in {secs:.2} s: \
         {:.0} transactions/s, {:.0} packets/s, {:.1} MB/s",
        bytes as f64 / 1e6,
        transactions as f64 / secs,
        packets as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}
