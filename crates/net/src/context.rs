//! What detections share: the asset directory and the events they raise.

use std::net::IpAddr;

use safecare_capture::Timestamp;
use safecare_capture::decode::MacAddr;
use safecare_core::event::Endpoint;
use safecare_core::{AssetDirectory, AssetInfo, Location, Module, SecurityEvent};
use serde_json::{Map, Value};

/// The ATT&CK framework name events carry.
pub const ATTACK: &str = "MITRE ATT&CK";

/// The detections' view of the site and their outbox.
pub struct Context<'d> {
    /// The site's assets, by IP, MAC and host name.
    pub directory: &'d dyn AssetDirectory,
    events: Vec<SecurityEvent>,
}

impl<'d> Context<'d> {
    /// A context naming assets through `directory`, with no events yet.
    pub fn new(directory: &'d dyn AssetDirectory) -> Self {
        Context {
            directory,
            events: Vec::new(),
        }
    }

    /// The asset at `ip`, when the site knows it.
    pub fn asset(&self, ip: IpAddr) -> Option<&'d AssetInfo> {
        self.directory.by_ip(ip)
    }

    /// Whether the asset at `ip` is a medical device.
    pub fn is_medical_device(&self, ip: IpAddr) -> bool {
        self.asset(ip)
            .is_some_and(|a| a.asset_type == "medical_device")
    }

    /// A short phrase naming a host for a summary: asset id and zone, or the address.
    pub fn describe(&self, ip: IpAddr) -> String {
        match self.asset(ip) {
            Some(asset) => match asset.zone() {
                Some(zone) => format!("{} ({ip}, zone {zone})", asset.id),
                None => format!("{} ({ip})", asset.id),
            },
            None => format!("{ip} (not in the site inventory)"),
        }
    }

    /// Turns a finding into an event and queues it.
    pub fn report(&mut self, finding: Finding) {
        let event = finding.into_event(self.directory);
        self.events.push(event);
    }

    /// Takes the events raised so far.
    pub fn take_events(&mut self) -> Vec<SecurityEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether events are waiting.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }
}

/// One end of what a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Address.
    pub ip: IpAddr,
    /// Port, for TCP and UDP.
    pub port: Option<u16>,
    /// MAC, when it identifies the host.
    pub mac: Option<MacAddr>,
}

impl Peer {
    /// A peer known by its address only.
    pub fn ip(ip: IpAddr) -> Peer {
        Peer {
            ip,
            port: None,
            mac: None,
        }
    }

    /// A peer with its port.
    pub fn with_port(ip: IpAddr, port: u16) -> Peer {
        Peer {
            ip,
            port: Some(port),
            mac: None,
        }
    }
}

/// Which end's asset the event is filed under (`asset` and `location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The source's asset.
    Source,
    /// The destination's asset.
    Destination,
}

/// What a detection found, before it becomes a [`SecurityEvent`].
#[derive(Debug, Clone)]
pub struct Finding {
    /// Event kind from docs/EVENTS.md.
    pub kind: &'static str,
    /// 0-100.
    pub severity: u8,
    /// 0.0-1.0.
    pub confidence: f64,
    /// One sentence for a person.
    pub summary: String,
    /// When it happened (capture time).
    pub time: Timestamp,
    /// Where the traffic came from.
    pub source: Option<Peer>,
    /// Where it went.
    pub destination: Option<Peer>,
    /// Which end's asset the event is filed under.
    pub subject: Subject,
    /// ATT&CK technique ids.
    pub techniques: &'static [&'static str],
    /// Detection details.
    pub evidence: Map<String, Value>,
    /// Where it happened when neither end is a known asset (e.g. a neighbour's zone).
    pub location: Option<Location>,
}

impl Finding {
    /// A finding with no endpoints or evidence yet, filed under its destination.
    pub fn new(
        kind: &'static str,
        severity: u8,
        confidence: f64,
        time: Timestamp,
        summary: String,
    ) -> Self {
        Finding {
            kind,
            severity,
            confidence,
            summary,
            time,
            source: None,
            destination: None,
            subject: Subject::Destination,
            techniques: &[],
            evidence: Map::new(),
            location: None,
        }
    }

    /// Sets the source end (ECS `source`).
    pub fn source(mut self, peer: Peer) -> Self {
        self.source = Some(peer);
        self
    }

    /// Sets the destination end (ECS `destination`).
    pub fn destination(mut self, peer: Peer) -> Self {
        self.destination = Some(peer);
        self
    }

    /// Files the event under the source or the destination asset.
    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject;
        self
    }

    /// Sets the ATT&CK technique ids.
    pub fn techniques(mut self, ids: &'static [&'static str]) -> Self {
        self.techniques = ids;
        self
    }

    /// Sets where it happened, for findings about unknown hosts.
    pub fn location(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Adds one evidence field.
    pub fn evidence(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.evidence.insert(key.to_string(), value.into());
        self
    }

    fn into_event(self, directory: &dyn AssetDirectory) -> SecurityEvent {
        let mut event = SecurityEvent::new(Module::Net, self.kind, self.severity, self.summary);
        event.time = self.time.to_datetime();
        event.confidence = self.confidence.clamp(0.0, 1.0);
        event.evidence = self.evidence;

        // Both ends, with their asset and zone in the evidence for correlation.
        for (peer, side) in [(self.source, "source"), (self.destination, "destination")] {
            let Some(peer) = peer else { continue };
            let asset = directory.by_ip(peer.ip);
            if let Some(asset) = asset {
                event
                    .evidence
                    .insert(format!("{side}.asset"), asset.id.clone().into());
                if let Some(zone) = asset.zone() {
                    event.evidence.insert(format!("{side}.zone"), zone.into());
                }
            }
            let endpoint = Endpoint {
                ip: Some(peer.ip.to_string()),
                port: peer.port,
                mac: peer.mac.map(|m| m.to_string()),
                ..Endpoint::default()
            };
            match side {
                "source" => event.source = Some(endpoint),
                _ => event.destination = Some(endpoint),
            }
        }

        // The event is filed under the subject's asset, or the other end's when unknown.
        let (first, second) = match self.subject {
            Subject::Source => (self.source, self.destination),
            Subject::Destination => (self.destination, self.source),
        };
        let filed = [first, second]
            .into_iter()
            .flatten()
            .find_map(|p| directory.by_ip(p.ip));
        if let Some(asset) = filed {
            event.asset = Some(asset.id.clone());
            if asset.location != Default::default() {
                event.location = Some(asset.location.clone());
            }
        }
        if event.location.is_none() {
            event.location = self.location;
        }
        if !self.techniques.is_empty() {
            event = event.with_techniques(ATTACK, self.techniques);
        }
        event
    }
}
