//! A physical service on a real broker, a publisher of native messages, and a listener
//! of the events and dead letters it produces.
//!
//! Mosquitto is expected at 127.0.0.1:1883 (override with SAFECARE_TEST_MQTT); a missing
//! broker fails the tests, it is never skipped. Each harness uses its own topic prefix
//! and a time base of its own in the past, so runs on a shared broker do not mix.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use safecare_bus::client::Qos;
use safecare_bus::{BrokerUrl, BusClient, ClientOptions, EmbeddedBroker, Incoming, topics};
use safecare_core::SecurityEvent;
use safecare_core::site::Site;
use safecare_physical::service::{self, PhysicalService, ServiceOptions};
use safecare_physical::{NativeTopics, Thresholds};
use serde_json::Value;
use ulid::Ulid;

pub fn mosquitto() -> BrokerUrl {
    let url = std::env::var("SAFECARE_TEST_MQTT").unwrap_or("mqtt://127.0.0.1:1883".into());
    BrokerUrl::parse(&url).expect("SAFECARE_TEST_MQTT must be mqtt://host:port")
}

pub fn embedded() -> BrokerUrl {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    EmbeddedBroker::start(any, None)
        .expect("embedded broker starts")
        .url()
}

pub struct Harness {
    pub topics: NativeTopics,
    pub base: DateTime<Utc>,
    pub service: PhysicalService,
    publisher: BusClient,
    incoming: Incoming,
    pub events: Vec<SecurityEvent>,
    pub dead_letters: Vec<(String, Value)>,
}

impl Harness {
    /// Starts the service on the demo site, with a base time at 00:00 UTC of a past day.
    pub async fn start(url: &BrokerUrl) -> Harness {
        Harness::start_with(url, Arc::new(Site::demo()), past_midnight()).await
    }

    pub async fn start_with(url: &BrokerUrl, site: Arc<Site>, base: DateTime<Utc>) -> Harness {
        Harness::start_full(url, site, base, ServiceOptions::default()).await
    }

    /// Starts with `options`, replacing its topics, client id, tick and time thresholds
    /// by the harness's (short, so the time-driven rules fire within a test).
    pub async fn start_full(
        url: &BrokerUrl,
        site: Arc<Site>,
        base: DateTime<Utc>,
        options: ServiceOptions,
    ) -> Harness {
        let run = Ulid::new().to_string().to_lowercase();
        let topics = NativeTopics {
            prefix: format!("test-{run}/site"),
            frigate: format!("test-{run}/frigate"),
        };
        let options = ServiceOptions {
            topics: topics.clone(),
            client_id: format!("test-physical-{run}"),
            tick: Duration::from_millis(200),
            thresholds: Thresholds {
                door_held_after: Duration::from_secs(2),
                camera_silence: Duration::from_secs(2),
                reorder_grace: Duration::from_millis(300),
                ..Thresholds::default()
            },
            ..options
        };

        let mut listen = ClientOptions::new("test-listener");
        listen.client_id = format!("test-listener-{run}");
        listen.heartbeat = None;
        listen = listen
            .subscribe(topics::ALL_EVENTS, Qos::AtLeastOnce)
            .subscribe(&format!("{}/deadletter/+", topics::ROOT), Qos::AtLeastOnce);
        let (_listener, incoming) = BusClient::connect(url, listen, Duration::from_secs(5))
            .await
            .unwrap_or_else(|err| panic!("{err}"));

        let mut publish = ClientOptions::new("test-publisher");
        publish.client_id = format!("test-publisher-{run}");
        publish.heartbeat = None;
        let (publisher, _) = BusClient::connect(url, publish, Duration::from_secs(5))
            .await
            .unwrap_or_else(|err| panic!("{err}"));

        let service = service::run_with(url, site, options)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        Harness {
            topics,
            base,
            service,
            publisher,
            incoming,
            events: Vec::new(),
            dead_letters: Vec::new(),
        }
    }

    /// RFC 3339 text of `base + seconds`.
    pub fn at(&self, seconds: i64) -> String {
        (self.base + TimeDelta::seconds(seconds)).to_rfc3339()
    }

    /// Seconds since 1970 of `base + seconds`.
    pub fn epoch(&self, seconds: i64) -> f64 {
        (self.base + TimeDelta::seconds(seconds)).timestamp() as f64 + 0.25
    }

    /// Publishes on `{prefix}/{suffix}`, or on Frigate's topic for `frigate`.
    pub async fn send(&self, suffix: &str, payload: impl Into<Vec<u8>>) {
        let topic = if suffix == "frigate" {
            format!("{}/events", self.topics.frigate)
        } else {
            format!("{}/{suffix}", self.topics.prefix)
        };
        self.publisher
            .publish(&topic, Qos::AtLeastOnce, false, payload.into())
            .await
            .unwrap();
    }

    pub async fn send_json(&self, suffix: &str, payload: Value) {
        self.send(suffix, serde_json::to_vec(&payload).unwrap())
            .await;
    }

    /// Waits up to 10 s for an event of this run that matches; returns it.
    pub async fn expect(
        &mut self,
        what: &str,
        matches: impl Fn(&SecurityEvent) -> bool,
    ) -> SecurityEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self.events.iter().find(|e| matches(e)) {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.incoming.recv()).await {
                Ok(Some(message)) => self.take(message),
                _ => panic!("no {what} within 10 s; got {:#?}", self.kinds()),
            }
        }
    }

    /// Waits up to 10 s for a dead letter whose topic ends with `suffix`.
    pub async fn expect_dead_letter(&mut self, suffix: &str) -> (String, Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self
                .dead_letters
                .iter()
                .find(|(_, l)| l["topic"].as_str().is_some_and(|t| t.ends_with(suffix)))
            {
                return found.clone();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.incoming.recv()).await {
                Ok(Some(message)) => self.take(message),
                _ => panic!("no dead letter for {suffix} within 10 s"),
            }
        }
    }

    /// Reads whatever arrives for `wait`.
    pub async fn drain(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, self.incoming.recv()).await
        {
            self.take(message);
        }
    }

    /// Events of this run (their time within a day of the base, or carrying a skew note).
    fn take(&mut self, message: safecare_bus::Publish) {
        if message.topic.contains("/deadletter/") {
            if let Ok(letter) = serde_json::from_slice::<Value>(&message.payload) {
                let ours = letter["topic"].as_str().is_some_and(|t| {
                    t.starts_with(self.topics.prefix.as_str())
                        || t.starts_with(self.topics.frigate.as_str())
                });
                if ours {
                    self.dead_letters.push((message.topic.clone(), letter));
                }
            }
            return;
        }
        let Ok(event) = SecurityEvent::from_json(&message.payload) else {
            return;
        };
        let in_run = event.time >= self.base && event.time < self.base + TimeDelta::days(1);
        let skewed = event.evidence.contains_key("clock_skew_s")
            && event.evidence.get("device").and_then(Value::as_str) == Some("door-or")
            && event.summary.contains("skew-test");
        if in_run || skewed {
            self.events.push(event);
        }
    }

    /// The publisher client, to send finished events too.
    pub fn publisher(&self) -> &BusClient {
        &self.publisher
    }

    /// A scenario's native topic (`site/...`, `frigate/events`) under this run's prefixes.
    pub fn native_topic(&self, topic: &str) -> String {
        if let Some(rest) = topic.strip_prefix("frigate/") {
            return format!("{}/{rest}", self.topics.frigate);
        }
        match topic.strip_prefix("site/") {
            Some(rest) => format!("{}/{rest}", self.topics.prefix),
            None => topic.to_string(),
        }
    }

    pub fn kinds(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| format!("{} {:?}", e.kind, e.asset))
            .collect()
    }

    pub fn count(&self, matches: impl Fn(&SecurityEvent) -> bool) -> usize {
        self.events.iter().filter(|e| matches(e)).count()
    }
}

/// 00:00 UTC of a random winter day of 2021-2024 (01:00 in Brussels).
pub fn past_midnight() -> DateTime<Utc> {
    let start: DateTime<Utc> = "2021-01-04T00:00:00Z".parse().unwrap();
    let pick = (Ulid::new().random() % 4) as i64;
    let week = (Ulid::new().random() % 6) as i64;
    start + TimeDelta::days(365 * pick + 7 * week)
}

pub fn device(event: &SecurityEvent) -> &str {
    event
        .evidence
        .get("device")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
