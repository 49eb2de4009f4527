//! Real peers on loopback and a live capture of what they say, for the connector tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use safecare_capture::Timestamp;
use safecare_capture::live::LiveCapture;
use safecare_capture::reader::LinkType;
use safecare_capture::writer::PcapWriter;

const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers");
const INSTALL: &str = "install the peers with `pip install -r .ci/requirements-peers.txt` \
                       (pydicom, pynetdicom) or run .ci/run";

/// Frames captured on `lo` by the project's AF_PACKET reader, until stopped.
pub struct Recorder {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<(Timestamp, Vec<u8>, u32)>>,
}

impl Recorder {
    /// Starts capturing on the loopback interface; the socket is open on return.
    pub fn start() -> Recorder {
        let mut capture = LiveCapture::open("lo", false).unwrap_or_else(|err| {
            panic!("{err}: these tests capture on lo and must run as root (or with CAP_NET_RAW)")
        });
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut frames = Vec::new();
            let mut keep = |raw: safecare_capture::RawPacket<'_>| {
                frames.push((raw.ts, raw.data.to_vec(), raw.orig_len));
            };
            while !flag.load(Ordering::Relaxed) {
                if let Some(raw) = capture.next_packet().expect("receiving on lo") {
                    keep(raw);
                }
            }
            while let Some(raw) = capture.next_queued().expect("receiving on lo") {
                keep(raw);
            }
            frames
        });
        Recorder { stop, thread }
    }

    /// Stops after the frames already sent have been read, and writes them as a pcap.
    pub fn finish(self, path: &Path) {
        std::thread::sleep(Duration::from_millis(300));
        self.stop.store(true, Ordering::Relaxed);
        let frames = self.thread.join().expect("the capture thread");
        let file = std::fs::File::create(path).unwrap();
        let mut writer =
            PcapWriter::new(std::io::BufWriter::new(file), LinkType::ETHERNET).unwrap();
        for (ts, data, wire) in frames {
            writer.write_cut_packet(ts, &data, wire).unwrap();
        }
        writer.into_inner().unwrap();
    }
}

/// A Python peer that serves until its standard input closes.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The ports it listens on, as it printed them.
    pub ports: Vec<u16>,
}

impl Server {
    /// Starts `script` with `args`; it prints its ports on its first line.
    pub fn start(script: &str, args: &[&str]) -> Server {
        let mut child = python()
            .arg(Path::new(PEERS).join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("could not run python3 ({err}); {INSTALL}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Vec<u16> = line
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert!(!ports.is_empty(), "{script} did not start; {INSTALL}");
        let stdin = child.stdin.take();
        Server {
            child,
            stdin,
            ports,
        }
    }

    /// Closes its standard input and waits for it to end.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the peer exited with {status}");
    }
}

/// Runs a peer script to completion; it must succeed.
pub fn run(script: &str, args: &[&str]) {
    let output = python()
        .arg(Path::new(PEERS).join(script))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("could not run python3 ({err}); {INSTALL}"));
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}; {INSTALL}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fails with the way to install them when pydicom or pynetdicom are missing.
pub fn require_pynetdicom() {
    let output = python()
        .args(["-c", "import pydicom, pynetdicom"])
        .output()
        .unwrap_or_else(|err| panic!("could not run python3 ({err}); {INSTALL}"));
    assert!(
        output.status.success(),
        "pydicom or pynetdicom is missing: {}; {INSTALL}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn python() -> Command {
    Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
}

/// A real pydicom sample's path in shared/data.
pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/dicom/pydicom"
    ))
    .join(name)
}
