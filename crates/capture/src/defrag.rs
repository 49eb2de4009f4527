//! IPv4 and IPv6 fragment reassembly, bounded in memory and time.
//!
//! Fragments are kept per (source, destination, protocol, id) until the datagram is
//! whole, it times out, or a cap is hit. Overlapping fragments keep the bytes that
//! arrived first, so a later fragment cannot rewrite what a sensor already accepted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::decode::{FragmentInfo, IpHeader};
use crate::time::Timestamp;

/// Limits on fragment reassembly.
#[derive(Debug, Clone, Copy)]
pub struct DefragConfig {
    /// Datagrams in reassembly at once; the oldest is dropped past this.
    pub max_datagrams: usize,
    /// Bytes held over all datagrams in reassembly.
    pub max_bytes: usize,
    /// Fragments of one datagram.
    pub max_fragments: usize,
    /// A datagram not completed within this time is dropped.
    pub timeout: Duration,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes: 16 * 1024 * 1024,
            max_fragments: 64,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Counters of what reassembly did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    /// Datagrams dropped: timed out, over a cap, or inconsistent.
    pub dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

struct Pending {
    first_seen: Timestamp,
    parts: Vec<(u32, Vec<u8>)>,
    /// Known once the last fragment (more = false) arrived.
    total_len: Option<u32>,
    bytes: usize,
}

/// Reassembles fragmented IP datagrams.
pub struct Defragmenter {
    config: DefragConfig,
    pending: HashMap<Key, Pending>,
    held_bytes: usize,
    stats: DefragStats,
}

/// The largest IP payload a datagram can have.
const MAX_DATAGRAM: u32 = 65_535;

impl Defragmenter {
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            pending: HashMap::new(),
            held_bytes: 0,
            stats: DefragStats::default(),
        }
    }

    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Adds one fragment; returns the whole payload when this fragment completed it.
    pub fn push(
        &mut self,
        ts: Timestamp,
        header: &IpHeader,
        fragment: FragmentInfo,
        payload: &[u8],
    ) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        let key = Key {
            src: header.src,
            dst: header.dst,
            protocol: header.protocol,
            id: fragment.id,
        };

        // 1. Refuse what cannot belong to a valid datagram.
        let end = fragment.offset.saturating_add(payload.len() as u32);
        if end > MAX_DATAGRAM {
            self.drop_datagram(&key);
            return None;
        }

        // 2. Make room, then file the fragment.
        self.make_room(ts, payload.len());
        let entry = self.pending.entry(key).or_insert_with(|| Pending {
            first_seen: ts,
            parts: Vec::new(),
            total_len: None,
            bytes: 0,
        });
        if entry.parts.len() >= self.config.max_fragments {
            self.drop_datagram(&key);
            return None;
        }
        if !fragment.more {
            entry.total_len = Some(end);
        }
        entry.parts.push((fragment.offset, payload.to_vec()));
        entry.bytes += payload.len();
        self.held_bytes += payload.len();

        // 3. Hand over the datagram when it is whole.
        let whole = self.pending.get(&key).and_then(assemble)?;
        self.drop_datagram(&key);
        self.stats.dropped -= 1;
        self.stats.reassembled += 1;
        Some(whole)
    }

    /// Drops timed-out datagrams, then the oldest ones until `incoming` bytes fit.
    fn make_room(&mut self, now: Timestamp, incoming: usize) {
        let timeout = self.config.timeout;
        let expired: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now.since(p.first_seen) > timeout)
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            self.drop_datagram(&key);
        }

        while !self.pending.is_empty()
            && (self.pending.len() >= self.config.max_datagrams
                || self.held_bytes + incoming > self.config.max_bytes)
        {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_seen)
                .map(|(k, _)| *k);
            match oldest {
                Some(key) => self.drop_datagram(&key),
                None => break,
            }
        }
    }

    fn drop_datagram(&mut self, key: &Key) {
        if let Some(pending) = self.pending.remove(key) {
            self.held_bytes -= pending.bytes;
            self.stats.dropped += 1;
        }
    }
}

/// The whole payload, when the fragments cover it without a hole.
fn assemble(pending: &Pending) -> Option<Vec<u8>> {
    let total = pending.total_len? as usize;
    let mut order: Vec<&(u32, Vec<u8>)> = pending.parts.iter().collect();
    order.sort_by_key(|(offset, _)| *offset);

    // Check coverage first, so nothing is allocated for an incomplete datagram.
    let mut covered = 0usize;
    for (offset, data) in &order {
        if *offset as usize > covered {
            return None;
        }
        covered = covered.max(*offset as usize + data.len());
    }
    if covered < total {
        return None;
    }

    // Copy in arrival order, first arrival winning where fragments overlap.
    let mut whole = vec![0u8; total];
    let mut written = vec![false; total];
    for (offset, data) in &pending.parts {
        let start = *offset as usize;
        for (i, byte) in data.iter().enumerate() {
            let at = start + i;
            if at < total && !written[at] {
                whole[at] = *byte;
                written[at] = true;
            }
        }
    }
    Some(whole)
}
