//! The network sensor: feeds packets, flows and stream facts to every detection.

use safecare_capture::engine::FlowContext;
use safecare_capture::{DecodeError, Direction, EndReason, Flow, Handler, Packet};
use safecare_core::{AssetDirectory, SecurityEvent};

use crate::anomaly::{AnomalyModel, AnomalyScorer};
use crate::app::AppTracker;
use crate::context::Context;
use crate::detect::{self, Detector};

/// Which detections run and with what options.
#[derive(Debug, Clone, Default)]
pub struct SensorConfig {
    /// DICOM AE titles the site accepts besides those the directory knows by host name.
    pub known_ae_titles: Vec<String>,
    /// Learned model of normal flows; flows it finds unusual raise `network.anomaly`.
    pub model: Option<AnomalyModel>,
}

/// Counters of what the sensor saw beyond the engine's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// Events raised.
    pub events: u64,
    /// Flows scored by the anomaly model.
    pub flows_scored: u64,
    /// TCP flows whose first bytes were read.
    pub streams_followed: u64,
}

/// Runs every detection over what the capture engine reports.
pub struct NetSensor<'d> {
    cx: Context<'d>,
    detectors: Vec<Box<dyn Detector>>,
    apps: AppTracker,
    anomaly: Option<AnomalyScorer>,
    stats: SensorStats,
}

impl<'d> NetSensor<'d> {
    /// A sensor with all detections on, naming assets through `directory`.
    pub fn new(directory: &'d dyn AssetDirectory, config: SensorConfig) -> Self {
        NetSensor {
            cx: Context::new(directory),
            detectors: detect::all(&config),
            apps: AppTracker::default(),
            anomaly: config.model.map(AnomalyScorer::new),
            stats: SensorStats::default(),
        }
    }

    /// A sensor running only the given detections (tests, benchmarks).
    pub fn with_detectors(
        directory: &'d dyn AssetDirectory,
        detectors: Vec<Box<dyn Detector>>,
    ) -> Self {
        NetSensor {
            cx: Context::new(directory),
            detectors,
            apps: AppTracker::default(),
            anomaly: None,
            stats: SensorStats::default(),
        }
    }

    /// Takes the events raised since the last call.
    pub fn take_events(&mut self) -> Vec<SecurityEvent> {
        let events = self.cx.take_events();
        self.stats.events += events.len() as u64;
        events
    }

    /// Whether events are waiting to be taken.
    pub fn has_events(&self) -> bool {
        self.cx.has_events()
    }

    /// Counters so far.
    pub fn stats(&self) -> SensorStats {
        self.stats
    }
}

impl Handler for NetSensor<'_> {
    fn on_packet(&mut self, packet: &Packet<'_>, flow: Option<FlowContext<'_>>) {
        for detector in &mut self.detectors {
            detector.on_packet(packet, flow, &mut self.cx);
        }
    }

    fn on_flow_end(&mut self, flow: &Flow, reason: EndReason) {
        let facts = self.apps.finish(flow.id).unwrap_or_default();
        for detector in &mut self.detectors {
            detector.on_flow_end(flow, reason, &facts, &mut self.cx);
        }
        if let Some(scorer) = &mut self.anomaly {
            self.stats.flows_scored += 1;
            scorer.score(flow, &mut self.cx);
        }
    }

    fn stream_depth(&mut self, flow: &Flow) -> u64 {
        let depth = self.apps.depth_for(flow, &self.cx);
        if depth > 0 {
            self.stats.streams_followed += 1;
        }
        depth
    }

    fn on_stream_data(&mut self, flow: &Flow, direction: Direction, data: &[u8]) {
        self.apps.push(flow.id, direction, data);
    }

    fn on_undecodable(&mut self, index: u64, error: &DecodeError) {
        tracing::trace!(index, %error, "undecodable packet");
    }
}
