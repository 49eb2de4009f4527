//! TCP stream reassembly: ordered bytes per direction, bounded in memory.
//!
//! Each direction of a followed flow keeps the next expected offset and the
//! out-of-order segments that arrived early. Bytes are handed out in order, once;
//! retransmitted bytes are dropped (first copy wins). When a direction would hold
//! more than its cap, or the engine-wide budget is spent, the hole is skipped and
//! reported as a gap, so a sensor never waits on memory that an attacker controls.

use std::collections::BTreeMap;

/// Limits on reassembly.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// Out-of-order bytes one direction may hold.
    pub max_pending_per_direction: usize,
    /// Out-of-order bytes held over all flows.
    pub max_pending_total: usize,
    /// Out-of-order segments one direction may hold.
    pub max_segments_per_direction: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            max_pending_per_direction: 256 * 1024,
            max_pending_total: 64 * 1024 * 1024,
            max_segments_per_direction: 512,
        }
    }
}

/// What a push into a stream produced.
pub enum StreamOutput<'a> {
    /// In-order bytes, each handed out once.
    Data(&'a [u8]),
    /// Bytes that will never be seen (lost, or dropped to respect a cap).
    Gap(u64),
}

/// One direction of a TCP connection being reassembled.
#[derive(Debug, Default)]
pub struct StreamDirection {
    /// Sequence number of offset 0 (ISN + 1, or the first seen data segment).
    base: Option<u32>,
    /// Offset of the next byte to hand out.
    delivered: u64,
    /// Stop after this many bytes.
    depth: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    finished: bool,
}

impl StreamDirection {
    /// A direction that hands out at most `depth` bytes.
    pub fn new(depth: u64) -> Self {
        StreamDirection {
            depth,
            ..StreamDirection::default()
        }
    }

    /// Bytes held out of order, counted against the engine-wide budget.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Bytes handed out so far (gaps included).
    pub fn offset(&self) -> u64 {
        self.delivered
    }

    /// Notes the SYN's sequence number: data starts right after it.
    pub fn syn(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq.wrapping_add(1));
        }
    }

    /// Adds one segment. `budget` is the engine-wide count of pending bytes; it is
    /// updated with what this direction holds.
    pub fn push(
        &mut self,
        seq: u32,
        payload: &[u8],
        config: &StreamConfig,
        budget: &mut usize,
        out: &mut dyn FnMut(StreamOutput<'_>),
    ) {
        if self.finished || payload.is_empty() {
            return;
        }
        let base = *self.base.get_or_insert(seq);

        // 1. Where the segment starts relative to what was handed out, across wraps.
        let expected = self.delivered as u32;
        let diff = seq.wrapping_sub(base).wrapping_sub(expected) as i32;
        let start = self.delivered as i64 + i64::from(diff);
        let end = start + payload.len() as i64;
        if end <= self.delivered as i64 || start < 0 {
            return;
        }

        // 2. In order (possibly overlapping what was sent): hand it out, then what it unblocked.
        if start <= self.delivered as i64 {
            let skip = (self.delivered as i64 - start) as usize;
            self.emit(payload.get(skip..).unwrap_or_default(), out);
            self.drain(budget, out);
            return;
        }

        // 3. Early: hold it, unless a cap says to skip the hole instead.
        let over_direction = self.pending_bytes + payload.len() > config.max_pending_per_direction
            || self.pending.len() >= config.max_segments_per_direction;
        let over_total = *budget + payload.len() > config.max_pending_total;
        if over_direction || over_total {
            self.insert(start as u64, payload, budget);
            self.skip_first_hole(budget, out);
            return;
        }
        self.insert(start as u64, payload, budget);
    }

    /// Hands out everything held, skipping holes; called when the flow ends.
    pub fn flush(&mut self, budget: &mut usize, out: &mut dyn FnMut(StreamOutput<'_>)) {
        while !self.finished && !self.pending.is_empty() {
            self.skip_first_hole(budget, out);
        }
        self.release(budget);
    }

    /// Frees everything held.
    pub fn release(&mut self, budget: &mut usize) {
        *budget = budget.saturating_sub(self.pending_bytes);
        self.pending.clear();
        self.pending_bytes = 0;
    }

    fn insert(&mut self, at: u64, payload: &[u8], budget: &mut usize) {
        if self.pending.contains_key(&at) {
            return;
        }
        self.pending.insert(at, payload.to_vec());
        self.pending_bytes += payload.len();
        *budget += payload.len();
    }

    /// Jumps over the hole before the first held segment and hands out what follows.
    fn skip_first_hole(&mut self, budget: &mut usize, out: &mut dyn FnMut(StreamOutput<'_>)) {
        if let Some((&first, _)) = self.pending.iter().next()
            && first > self.delivered
        {
            out(StreamOutput::Gap(first - self.delivered));
            self.delivered = first;
        }
        self.drain(budget, out);
    }

    /// Hands out held segments that now continue the stream.
    fn drain(&mut self, budget: &mut usize, out: &mut dyn FnMut(StreamOutput<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let at = *entry.key();
            if at > self.delivered {
                break;
            }
            let data = entry.remove();
            self.pending_bytes -= data.len();
            *budget = budget.saturating_sub(data.len());
            let skip = (self.delivered - at) as usize;
            if let Some(rest) = data.get(skip..) {
                self.emit(rest, out);
            }
        }
    }

    /// Hands out bytes up to the depth limit.
    fn emit(&mut self, data: &[u8], out: &mut dyn FnMut(StreamOutput<'_>)) {
        let room = self.depth.saturating_sub(self.delivered);
        let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if take > 0 {
            out(StreamOutput::Data(data.get(..take).unwrap_or_default()));
            self.delivered += take as u64;
        }
        if self.delivered >= self.depth {
            self.finished = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        stream: &mut StreamDirection,
        segments: &[(u32, &[u8])],
        config: &StreamConfig,
    ) -> (Vec<u8>, u64) {
        let mut budget = 0usize;
        let mut data = Vec::new();
        let mut gaps = 0;
        for (seq, payload) in segments {
            stream.push(*seq, payload, config, &mut budget, &mut |o| match o {
                StreamOutput::Data(d) => data.extend_from_slice(d),
                StreamOutput::Gap(g) => gaps += g,
            });
        }
        stream.flush(&mut budget, &mut |o| match o {
            StreamOutput::Data(d) => data.extend_from_slice(d),
            StreamOutput::Gap(g) => gaps += g,
        });
        assert_eq!(budget, 0, "flush must release the budget");
        (data, gaps)
    }

    #[test]
    fn out_of_order_and_retransmitted_segments_come_out_once_in_order() {
        let mut stream = StreamDirection::new(1 << 20);
        stream.syn(999);
        let segments: [(u32, &[u8]); 5] = [
            (1006, b"world"),
            (1000, b"hello "),
            (1000, b"hello "),
            (1011, b"!"),
            (1003, b"lo wo"),
        ];
        let (data, gaps) = run(&mut stream, &segments, &StreamConfig::default());
        assert_eq!(data, b"hello world!");
        assert_eq!(gaps, 0);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut stream = StreamDirection::new(1 << 20);
        stream.syn(u32::MAX - 2);
        let segments: [(u32, &[u8]); 2] = [(u32::MAX - 1, b"ab"), (0, b"cd")];
        let (data, _) = run(&mut stream, &segments, &StreamConfig::default());
        assert_eq!(data, b"abcd");
    }

    #[test]
    fn a_hole_over_the_cap_is_skipped_and_reported() {
        let config = StreamConfig {
            max_pending_per_direction: 4,
            ..StreamConfig::default()
        };
        let mut stream = StreamDirection::new(1 << 20);
        stream.syn(0);
        let segments: [(u32, &[u8]); 3] = [(1, b"ab"), (10, b"xyz"), (13, b"more")];
        let (data, gaps) = run(&mut stream, &segments, &config);
        assert_eq!(data, b"abxyzmore");
        assert_eq!(gaps, 7);
    }

    #[test]
    fn depth_limits_what_is_handed_out() {
        let mut stream = StreamDirection::new(3);
        stream.syn(0);
        let (data, _) = run(&mut stream, &[(1, b"abcdef")], &StreamConfig::default());
        assert_eq!(data, b"abc");
    }
}
