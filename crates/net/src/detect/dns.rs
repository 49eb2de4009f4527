//! DNS tunnelling: data smuggled in query names or TXT answers.
//!
//! Queries are grouped per client and registered domain. Many distinct long,
//! high-entropy names under one domain (encoded data in the labels), or a flood of TXT/NULL
//! queries to one domain (the usual download channel of DNS tunnels), within five
//! minutes raise `network.dns_tunnel`.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::time::Duration;

use safecare_capture::Packet;
use safecare_capture::decode::Transport;
use safecare_capture::engine::FlowContext;

use super::Detector;
use crate::app::dns::{self, Question};
use crate::context::{Context, Finding, Peer, Subject};
use crate::window::{Cooldown, KeyedRecent};

/// Thresholds of the DNS tunnel detection.
#[derive(Debug, Clone, Copy)]
pub struct DnsConfig {
    /// How far back attempts are counted.
    pub window: Duration,
    /// Suspicious names under one domain within the window.
    pub suspicious_names: usize,
    /// TXT or NULL queries to one domain within the window.
    pub txt_queries: usize,
    /// Bits per character above which a subdomain looks encoded.
    pub min_entropy: f64,
    /// Characters of subdomain (without dots) below which entropy says nothing.
    pub min_subdomain: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            window: Duration::from_secs(300),
            suspicious_names: 10,
            txt_queries: 50,
            min_entropy: 3.5,
            min_subdomain: 24,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Query {
    /// A hash of the name: tunnels never repeat a name, caches do.
    name_hash: u64,
    suspicious: bool,
    txt: bool,
    name_len: usize,
}

fn hash(name: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

/// The DNS tunnel detection.
pub struct DnsTunnel {
    config: DnsConfig,
    queries: KeyedRecent<(IpAddr, String), Query>,
    reported: Cooldown<(IpAddr, String)>,
}

impl Default for DnsTunnel {
    fn default() -> Self {
        DnsTunnel::new(DnsConfig::default())
    }
}

impl DnsTunnel {
    /// A detection with the given thresholds.
    pub fn new(config: DnsConfig) -> Self {
        DnsTunnel {
            config,
            queries: KeyedRecent::new(4096, 50_000),
            reported: Cooldown::new(config.window, 10_000),
        }
    }

    fn classify(&self, question: &Question, base: &str) -> Query {
        let sub = question
            .name
            .strip_suffix(base)
            .unwrap_or("")
            .trim_end_matches('.');
        let letters: String = sub.chars().filter(|c| *c != '.').collect();
        let longest_label = sub.split('.').map(str::len).max().unwrap_or(0);
        let encoded = letters.len() >= self.config.min_subdomain
            && dns::entropy(&letters) >= self.config.min_entropy;
        let long = question.name.len() >= 60 || longest_label >= 40;
        Query {
            name_hash: hash(&question.name),
            suspicious: encoded && long,
            txt: matches!(question.qtype, dns::TYPE_TXT | dns::TYPE_NULL),
            name_len: question.name.len(),
        }
    }
}

impl Detector for DnsTunnel {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn on_packet(
        &mut self,
        packet: &Packet<'_>,
        _flow: Option<FlowContext<'_>>,
        cx: &mut Context<'_>,
    ) {
        let (Some(ip), Transport::Udp(udp)) = (packet.ip, packet.transport) else {
            return;
        };
        if udp.dst_port != 53 {
            return;
        }
        let Some(question) = dns::parse_question(udp.payload).filter(|q| !q.is_response) else {
            return;
        };
        let base = dns::base_domain(&question.name).to_string();
        let query = self.classify(&question, &base);
        if !query.suspicious && !query.txt {
            return;
        }

        // Count this client's suspicious and TXT queries to the domain in the window.
        let key = (ip.src, base);
        let window = self.config.window;
        let recent = self.queries.push(key.clone(), packet.ts, query, window);
        let (mut names, mut txt, mut longest) = (HashSet::new(), 0usize, 0usize);
        for q in recent.within(packet.ts, window) {
            if q.suspicious {
                names.insert(q.name_hash);
            }
            txt += usize::from(q.txt);
            longest = longest.max(q.name_len);
        }
        let suspicious = names.len();
        let reason = if suspicious >= self.config.suspicious_names {
            "high_entropy_names"
        } else if txt >= self.config.txt_queries {
            "txt_flood"
        } else {
            return;
        };
        if !self.reported.ready(key.clone(), packet.ts) {
            return;
        }

        let summary = format!(
            "DNS tunnelling suspected from {} through {}: {suspicious} encoded-looking names, {txt} TXT/NULL queries in {} minutes",
            cx.describe(ip.src),
            key.1,
            window.as_secs() / 60
        );
        let finding = Finding::new("network.dns_tunnel", 60, 0.7, packet.ts, summary)
            .source(Peer {
                mac: packet.link.src_mac,
                ..Peer::ip(ip.src)
            })
            .destination(Peer::with_port(ip.dst, 53))
            .subject(Subject::Source)
            .techniques(&["T1071.004", "T1048"])
            .evidence("detector", "dns")
            .evidence("dns.reason", reason)
            .evidence("dns.domain", key.1.clone())
            .evidence("dns.suspicious_names", suspicious)
            .evidence("dns.txt_queries", txt)
            .evidence("dns.longest_name", longest)
            .evidence(
                "dns.sample",
                question.name.chars().take(120).collect::<String>(),
            );
        cx.report(finding);
    }
}
