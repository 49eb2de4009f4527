//! Generates a large capture and measures `safecare net scan` throughput on it.
//!
//! ```text
//! cargo run --release -p safecare-net --example netbench -- generate /tmp/big.pcap 1024
//! cargo run --release -p safecare-net --example netbench -- scan /tmp/big.pcap
//! cargo run --release -p safecare-net --example netbench -- generate-flood /tmp/flood.pcap 2000000
//! ```

use std::path::PathBuf;

use safecare_core::EmptyDirectory;
use safecare_net::bench;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, path, mib] if cmd == "generate" => {
            let target: u64 = mib.parse()?;
            let written = bench::generate(&PathBuf::from(path), target << 20, 0x5afe)?;
            println!("wrote {path}: {:.1} MiB", written as f64 / (1 << 20) as f64);
        }
        [cmd, path, count] if cmd == "generate-flood" => {
            let written = bench::generate_syn_flood(&PathBuf::from(path), count.parse()?)?;
            println!("wrote {path}: {:.1} MiB", written as f64 / (1 << 20) as f64);
        }
        [cmd, path] if cmd == "scan" || cmd == "capture-only" => {
            let detections = cmd == "scan";
            let report = bench::measure(&PathBuf::from(path), &EmptyDirectory, detections)?;
            println!("{}", serde_json::to_string(&report)?);
        }
        _ => anyhow::bail!(
            "usage: netbench generate FILE MIB | netbench generate-flood FILE PACKETS | netbench scan|capture-only FILE"
        ),
    }
    Ok(())
}
