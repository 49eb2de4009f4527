//! Assembling the platform in one process: broker, store, exchange, HTTP API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use safecare_bus::{BrokerUrl, EmbeddedBroker};
use safecare_core::site::Site;
use safecare_correlate::RuleSet;
use safecare_exchange::{AckPolicy, ExchangeConfig, ExchangeHandle};
use safecare_files::Analyzer;
use safecare_hams::AvailabilityHandle;
use safecare_hams::service::HamsService;
use safecare_impact::service::{ImpactConfig, ImpactService};
use safecare_physical::service::{PhysicalService, ServiceOptions};
use safecare_store::{Store, StoreOptions};
use safecare_web::{AppState, FilesModule, Modules};

/// Which MQTT broker the platform uses.
#[derive(Debug, Clone)]
pub enum BrokerChoice {
    /// Start the embedded broker on these addresses (MQTT 3.1.1, optional MQTT 5).
    Embedded {
        listen: SocketAddr,
        listen_v5: Option<SocketAddr>,
    },
    /// Use a running broker.
    External(BrokerUrl),
}

/// Everything `safecare up` needs to start.
pub struct PlatformConfig {
    pub broker: BrokerChoice,
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://...`.
    pub database: String,
    pub http_listen: SocketAddr,
    pub site: Site,
    pub rules: RuleSet,
    /// Tuning of the store (timeouts, size cap).
    pub store: StoreOptions,
    /// Tuning of the exchange service (batch size).
    pub exchange: ExchangeConfig,
    /// Prefix of the MQTT client ids of the platform's modules. Keep it stable
    /// across restarts (persistent sessions); make it unique per platform sharing a broker.
    pub instance: String,
}

impl PlatformConfig {
    /// The embedded defaults: embedded broker, the given store, the demo hospital, default rules.
    pub fn embedded(listen: SocketAddr, database: String, http_listen: SocketAddr) -> Self {
        PlatformConfig {
            broker: BrokerChoice::Embedded {
                listen,
                listen_v5: None,
            },
            database,
            http_listen,
            site: Site::demo(),
            rules: RuleSet::defaults(),
            store: StoreOptions::default(),
            exchange: ExchangeConfig::default(),
            instance: "safecare".to_string(),
        }
    }
}

/// Events the exchange holds acknowledged but not yet stored, with the embedded broker.
pub const EMBEDDED_ACK_QUEUE: usize = 20_000;

/// The exchange's connections and acknowledgements for the broker in use.
///
/// The embedded broker lives and dies with the process, so events are read
/// from it in-process and acknowledged once queued for the writer. An external
/// broker keeps what SafeCare has not stored: events are acknowledged after
/// the commit, on one connection with the large in-flight window of
/// deploy/mosquitto.conf (Mosquitto 2.0 does not restore shared subscriptions
/// from its persistence file after a restart, so one connection, not several).
pub fn exchange_tuning(
    config: ExchangeConfig,
    embedded: Option<&EmbeddedBroker>,
) -> ExchangeConfig {
    match embedded {
        Some(broker) => ExchangeConfig {
            ack: AckPolicy::OnReceipt {
                queue: EMBEDDED_ACK_QUEUE,
            },
            embedded: Some(broker.clone()),
            ..config
        },
        None => ExchangeConfig {
            connections: 1,
            ack: AckPolicy::AfterCommit,
            embedded: None,
            ..config
        },
    }
}

/// A running platform.
pub struct Platform {
    pub broker_url: BrokerUrl,
    pub embedded_broker: Option<EmbeddedBroker>,
    pub exchange: ExchangeHandle,
    pub impact: ImpactService,
    pub availability: AvailabilityHandle,
    pub hams: HamsService,
    /// `None` once shut down.
    pub physical: Option<PhysicalService>,
    pub http_addr: SocketAddr,
    pub site: Arc<Site>,
    pub database: String,
}

impl Platform {
    /// Starts every part; fails with a message that says what to change.
    pub async fn start(config: PlatformConfig) -> Result<Platform> {
        let (broker_url, embedded_broker) = match config.broker {
            BrokerChoice::Embedded { listen, listen_v5 } => {
                let broker =
                    tokio::task::spawn_blocking(move || EmbeddedBroker::start(listen, listen_v5))
                        .await
                        .context("the embedded broker thread failed")??;
                (broker.url(), Some(broker))
            }
            BrokerChoice::External(url) => (url, None),
        };

        let store = Store::open_with(&config.database, config.store)
            .await
            .with_context(|| format!("could not open the store at {}", redact(&config.database)))?;
        let exchange_config = ExchangeConfig {
            client_id: format!("{}-exchange", config.instance),
            ..exchange_tuning(config.exchange, embedded_broker.as_ref())
        };
        let exchange =
            safecare_exchange::start(store, &broker_url, config.rules, exchange_config).await?;

        let site = Arc::new(config.site);
        let impact_config = ImpactConfig {
            client_id: Some(format!("{}-impact", config.instance)),
            ..ImpactConfig::default()
        };
        let impact = safecare_impact::service::run_with(&broker_url, site.clone(), impact_config)
            .await
            .context("the impact service could not start")?;
        let availability = AvailabilityHandle::new(site.clone());
        let hams_id = Some(format!("{}-hams", config.instance));
        let hams = safecare_hams::service::run_with(&broker_url, availability.clone(), hams_id)
            .await
            .context("the availability service could not start")?;
        let physical_options = ServiceOptions {
            client_id: format!("{}-physical", config.instance),
            ..ServiceOptions::default()
        };
        let physical =
            safecare_physical::service::run_with(&broker_url, site.clone(), physical_options)
                .await
                .context("the physical security service could not start")?;

        let listener = tokio::net::TcpListener::bind(config.http_listen)
            .await
            .with_context(|| {
                format!(
                    "cannot serve HTTP on {}: pass --http-listen with a free address",
                    config.http_listen
                )
            })?;
        let http_addr = listener.local_addr()?;
        let state = AppState {
            exchange: exchange.clone(),
            site_name: site.name().to_string(),
            started: Instant::now(),
            modules: Modules {
                site: Some(site.clone()),
                availability: Some(availability.clone()),
                impact: Some(impact.clone()),
                zones: Some(physical.zone_states()),
                files: Some(FilesModule::new(Arc::new(Analyzer::with_builtin_rules()))),
            },
        };
        tokio::spawn(async move {
            if let Err(err) = safecare_web::serve(listener, state).await {
                tracing::error!(%err, "the HTTP API stopped; restart safecare");
            }
        });

        Ok(Platform {
            broker_url,
            embedded_broker,
            exchange,
            impact,
            availability,
            hams,
            physical: Some(physical),
            http_addr,
            site,
            database: redact(&config.database),
        })
    }

    /// Stops every module; what the exchange has not stored stays with the broker.
    pub async fn shutdown(&mut self) {
        if let Some(physical) = self.physical.take() {
            physical.shutdown().await;
        }
        self.hams.shutdown().await;
        self.impact.shutdown().await;
        self.exchange.shutdown().await;
    }

    /// Waits until the store holds at least `events` events and all received ones are processed.
    pub async fn wait_for_events(&self, events: u64, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            self.exchange.sync().await;
            let stored = self.exchange.reader().counts().await?.events;
            if stored >= events {
                return Ok(stored);
            }
            if Instant::now() > deadline {
                anyhow::bail!("only {stored} of {events} events were stored within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("sqlite://safecare.db"),
            "sqlite://safecare.db"
        );
    }
}
