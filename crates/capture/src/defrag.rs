//! IPv4 and IPv6 fragment reassembly, bounded in memory and time.
//!
//! Fragments are kept per (source, destination, protocol, id) until the datagram is
//! whole, it times out, or a cap is hit. Overlapping fragments keep the bytes that
//! arrived first, so a later fragment cannot rewrite what a sensor already accepted.

use std::collections::{HashMap, VecDeque};
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
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
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
    /// Keys in arrival order (with the arrival time), oldest first; entries of
    /// datagrams already gone are skipped when met.
    arrivals: VecDeque<(Timestamp, Key)>,
    held_bytes: usize,
    stats: DefragStats,
}

/// The largest IP payload a datagram can have.
const MAX_DATAGRAM: u32 = 65_535;

impl Defragmenter {
    /// An empty defragmenter with the given limits.
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            pending: HashMap::new(),
            arrivals: VecDeque::new(),
            held_bytes: 0,
            stats: DefragStats::default(),
        }
    }

    /// Counters so far.
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
        if !self.pending.contains_key(&key) {
            self.arrivals.push_back((ts, key));
            self.compact_arrivals();
        }
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
        self.remove(&key);
        self.stats.reassembled += 1;
        Some(whole)
    }

    /// Drops timed-out datagrams, then the oldest ones until `incoming` bytes fit.
    /// Walks the arrival queue from the front, so the cost is amortised per fragment.
    fn make_room(&mut self, now: Timestamp, incoming: usize) {
        while let Some(&(arrived, key)) = self.arrivals.front() {
            let Some(pending) = self.pending.get(&key) else {
                self.arrivals.pop_front();
                continue;
            };
            if pending.first_seen != arrived {
                // The key was reused by a later datagram; this entry is stale.
                self.arrivals.pop_front();
                continue;
            }
            let expired = now.since(arrived) > self.config.timeout;
            let full = self.pending.len() >= self.config.max_datagrams
                || self.held_bytes + incoming > self.config.max_bytes;
            if !expired && !full {
                break;
            }
            self.arrivals.pop_front();
            self.drop_datagram(&key);
        }
    }

    /// Drops queue entries of datagrams already completed, once the queue holds many
    /// more entries than datagrams: keeps the queue within a few times the datagram cap.
    fn compact_arrivals(&mut self) {
        if self.arrivals.len() <= 4 * self.config.max_datagrams.max(16) {
            return;
        }
        let pending = &self.pending;
        self.arrivals
            .retain(|(ts, key)| pending.get(key).is_some_and(|p| p.first_seen == *ts));
    }

    fn drop_datagram(&mut self, key: &Key) {
        if self.remove(key) {
            self.stats.dropped += 1;
        }
    }

    /// Forgets a datagram; true when it was held.
    fn remove(&mut self, key: &Key) -> bool {
        let Some(pending) = self.pending.remove(key) else {
            return false;
        };
        self.held_bytes -= pending.bytes;
        true
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> IpHeader {
        IpHeader {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            protocol: 17,
            ttl: 64,
        }
    }

    fn first_half(id: u32) -> FragmentInfo {
        FragmentInfo {
            id,
            offset: 0,
            more: true,
        }
    }

    #[test]
    fn a_flood_of_incomplete_datagrams_stays_within_the_caps() {
        let config = DefragConfig {
            max_datagrams: 64,
            max_bytes: 4096,
            ..DefragConfig::default()
        };
        let mut defrag = Defragmenter::new(config);
        for id in 0..100_000u32 {
            let ts = Timestamp::from_secs(1 + u64::from(id) / 1000);
            assert!(
                defrag
                    .push(ts, &header(), first_half(id), &[0; 100])
                    .is_none()
            );
            assert!(defrag.pending.len() <= 64);
            assert!(defrag.held_bytes <= 4096);
            assert!(defrag.arrivals.len() <= 4 * 64 + 1);
        }
        assert!(defrag.stats().dropped > 99_000);
    }

    #[test]
    fn timed_out_fragments_do_not_complete_a_later_datagram() {
        let mut defrag = Defragmenter::new(DefragConfig::default());
        defrag.push(Timestamp::from_secs(1), &header(), first_half(9), &[1; 8]);
        let last = FragmentInfo {
            id: 9,
            offset: 8,
            more: false,
        };
        assert!(
            defrag
                .push(Timestamp::from_secs(100), &header(), last, &[2; 8])
                .is_none()
        );
        assert_eq!(defrag.stats().dropped, 1);
    }

    #[test]
    fn overlapping_fragments_keep_the_first_bytes() {
        let mut defrag = Defragmenter::new(DefragConfig::default());
        let ts = Timestamp::from_secs(1);
        defrag.push(ts, &header(), first_half(3), &[1; 16]);
        let overlap = FragmentInfo {
            id: 3,
            offset: 8,
            more: false,
        };
        let whole = defrag.push(ts, &header(), overlap, &[2; 16]).unwrap();
        assert_eq!(&whole[..16], &[1; 16]);
        assert_eq!(&whole[16..], &[2; 8]);
    }
}
