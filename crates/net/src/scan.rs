//! Running capture files through the engine and the sensor.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use safecare_capture::flow::{EndReason, Flow};
use safecare_capture::reader::{CaptureReader, ReadError};
use safecare_capture::{Engine, EngineConfig, EngineStats, Handler};
use safecare_core::EventSink;

use crate::sensor::NetSensor;

/// Read errors logged per file; the rest are counted only.
const LOGGED_ERRORS_PER_FILE: u64 = 20;

/// Packets between progress bar updates.
const PROGRESS_EVERY: u64 = 16_384;

/// Why a scan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("could not open capture {path}: {source}")]
    /// A capture could not be opened.
    Open {
        /// The capture file.
        path: PathBuf,
        #[source]
        /// Why.
        source: ReadError,
    },
    #[error("none of the {0} capture files could be read; see the errors above")]
    /// No file could be read.
    NothingRead(usize),
    #[error("could not hand an event to its destination (is the broker still up?): {0}")]
    /// The event destination failed.
    Sink(#[source] std::io::Error),
}

/// Scans `files` in order as one capture: flows may span files, and all end after the
/// last one. Events go to `sink` as they are raised.
pub fn scan_files(
    files: &[PathBuf],
    engine: &mut Engine,
    sensor: &mut NetSensor<'_>,
    sink: &mut dyn EventSink,
    progress: bool,
) -> Result<(), ScanError> {
    let mut opened = 0;
    for path in files {
        match CaptureReader::open(path) {
            Ok(mut reader) => {
                opened += 1;
                tracing::info!(file = %path.display(), "scanning capture");
                scan_reader(path, &mut reader, engine, sensor, sink, progress)?;
            }
            Err(source) => {
                let err = ScanError::Open {
                    path: path.clone(),
                    source,
                };
                tracing::error!("{err}");
            }
        }
    }
    engine.finish(sensor);
    drain(sensor, sink)?;
    if opened == 0 {
        return Err(ScanError::NothingRead(files.len()));
    }
    Ok(())
}

fn scan_reader<R: std::io::Read>(
    path: &Path,
    reader: &mut CaptureReader<R>,
    engine: &mut Engine,
    sensor: &mut NetSensor<'_>,
    sink: &mut dyn EventSink,
    progress: bool,
) -> Result<(), ScanError> {
    let bar = progress_bar(path, progress);
    let mut errors = 0u64;
    let mut packets = 0u64;
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
            }
        }
        packets += 1;
        if sensor.has_events() {
            drain(sensor, sink)?;
        }
        if let Some(bar) = bar
            .as_ref()
            .filter(|_| packets.is_multiple_of(PROGRESS_EVERY))
        {
            bar.set_position(reader.position());
        }
    }
    if errors > LOGGED_ERRORS_PER_FILE {
        tracing::warn!(file = %path.display(), errors, "more read errors than logged");
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(())
}

/// A progress bar on stderr for files of more than 16 MiB, when stdout is a terminal.
fn progress_bar(path: &Path, wanted: bool) -> Option<ProgressBar> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if !wanted || !std::io::stdout().is_terminal() || size < 16 << 20 {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    Some(bar)
}

/// Hands the sensor's pending events to the sink.
pub fn drain(sensor: &mut NetSensor<'_>, sink: &mut dyn EventSink) -> Result<(), ScanError> {
    for event in sensor.take_events() {
        sink.emit(event).map_err(ScanError::Sink)?;
    }
    Ok(())
}

/// Collects the feature vectors of ended flows, for learning a model. Keeps at most
/// `cap` flows, a deterministic evenly spread sample of them when there are more.
pub struct FeatureCollector {
    /// Feature vectors kept.
    pub rows: Vec<Vec<f64>>,
    cap: usize,
    seen: u64,
}

impl FeatureCollector {
    /// A collector keeping at most `cap` flows.
    pub fn new(cap: usize) -> Self {
        FeatureCollector {
            rows: Vec::new(),
            cap: cap.max(1),
            seen: 0,
        }
    }
}

impl Handler for FeatureCollector {
    fn on_flow_end(&mut self, flow: &Flow, _reason: EndReason) {
        self.seen += 1;
        let row = flow.features().to_vec();
        if self.rows.len() < self.cap {
            self.rows.push(row);
            return;
        }
        // Reservoir sampling with a fixed hash of the flow count: reproducible.
        let slot = (self.seen.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) % self.seen;
        if let Some(kept) = self.rows.get_mut(slot as usize) {
            *kept = row;
        }
    }
}

/// Reads `files` into a feature collector; returns the engine's counters.
pub fn collect_features(
    files: &[PathBuf],
    cap: usize,
) -> Result<(Vec<Vec<f64>>, EngineStats), ScanError> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut collector = FeatureCollector::new(cap);
    let mut opened = 0;
    for path in files {
        let mut reader = match CaptureReader::open(path) {
            Ok(reader) => reader,
            Err(source) => {
                tracing::error!(
                    "{}",
                    ScanError::Open {
                        path: path.clone(),
                        source
                    }
                );
                continue;
            }
        };
        opened += 1;
        let mut errors = 0u64;
        engine.run(&mut reader, &mut collector, &mut |err| {
            errors += 1;
            if errors <= LOGGED_ERRORS_PER_FILE {
                tracing::warn!(file = %path.display(), "{err}");
            }
        });
    }
    engine.finish(&mut collector);
    if opened == 0 {
        return Err(ScanError::NothingRead(files.len()));
    }
    Ok((collector.rows, engine.stats()))
}
