//! MD5 of many messages at once: each message takes a 32-bit lane of a SIMD register.
//!
//! One MD5 is a chain of 64 dependent steps per 64-byte block, so a single
//! message cannot use more than one scalar unit. Files, though, come by the
//! thousand: hashing up to 16 of them side by side (two groups of eight AVX2
//! lanes) does the same work per instruction on 16 independent messages. A lane
//! whose message ends is given the next one, so messages of any lengths mix in
//! one call. The kernel is chosen at run time; without AVX2 the md-5 crate's
//! compression function runs one message at a time through the same code.

use md5::block_api::compress as compress_scalar;

/// An MD5 digest, 16 bytes.
pub type Md5Digest = [u8; 16];

/// The MD5 chaining value before the first block (RFC 1321, section 3.3).
pub(crate) const MD5_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// MD5 block size in bytes.
pub(crate) const BLOCK: usize = 64;

/// A block read by lanes that have no message: their result is never used.
static IDLE_BLOCK: [u8; BLOCK] = [0; BLOCK];

/// A way to run the MD5 compression function over several lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Md5Kernel {
    /// One message at a time, with the md-5 crate's compression function.
    Scalar,
    /// 16 messages at a time in two groups of eight AVX2 lanes (x86-64 only).
    Avx2,
}

impl Md5Kernel {
    /// The fastest kernel this CPU runs.
    pub fn fastest() -> Md5Kernel {
        Md5Kernel::available().pop().unwrap_or(Md5Kernel::Scalar)
    }

    /// Every kernel this CPU runs, slowest first (the scalar one is always there).
    pub fn available() -> Vec<Md5Kernel> {
        let mut kernels = vec![Md5Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            kernels.push(Md5Kernel::Avx2);
        }
        kernels
    }

    /// How many messages the kernel hashes side by side.
    pub fn lanes(self) -> usize {
        match self {
            Md5Kernel::Scalar => 1,
            Md5Kernel::Avx2 => AVX2_LANES,
        }
    }

    /// The MD5 of each message, in the order given.
    ///
    /// # Panics
    ///
    /// If this CPU cannot run the kernel (it is not in [`Md5Kernel::available`]).
    pub fn digest_each(self, messages: &[&[u8]]) -> Vec<Md5Digest> {
        match self {
            Md5Kernel::Scalar => digest_in_lanes(messages, &mut ScalarKernel),
            Md5Kernel::Avx2 => digest_avx2(messages),
        }
    }
}

/// The MD5 of each message, in the order given, with the fastest kernel of this CPU.
pub fn md5_each(messages: &[&[u8]]) -> Vec<Md5Digest> {
    Md5Kernel::fastest().digest_each(messages)
}

#[cfg(target_arch = "x86_64")]
const AVX2_LANES: usize = super::md5_avx2::LANES;
#[cfg(not(target_arch = "x86_64"))]
const AVX2_LANES: usize = 16;

#[cfg(target_arch = "x86_64")]
fn digest_avx2(messages: &[&[u8]]) -> Vec<Md5Digest> {
    let mut kernel = super::md5_avx2::Avx2Kernel::new().expect("this CPU has no AVX2");
    digest_in_lanes(messages, &mut kernel)
}

#[cfg(not(target_arch = "x86_64"))]
fn digest_avx2(_messages: &[&[u8]]) -> Vec<Md5Digest> {
    panic!("the AVX2 MD5 kernel exists only on x86-64")
}

/// The blocks one lane compresses in a call: `blocks` of them, each `step` bytes
/// after the previous one (a step of 0 repeats one block, for idle lanes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneInput<'a> {
    pub bytes: &'a [u8],
    pub step: usize,
}

impl<'a> LaneInput<'a> {
    /// The `n`th block of the lane. Panics if the lane holds fewer bytes than promised.
    pub fn block(&self, n: usize) -> &'a [u8; BLOCK] {
        let start = n * self.step;
        self.bytes[start..start + BLOCK]
            .try_into()
            .expect("a block is 64 bytes")
    }
}

/// MD5 compression over `LANES` independent chaining values.
pub(crate) trait LaneKernel<const LANES: usize> {
    /// Compresses `blocks` blocks into each lane's chaining value.
    ///
    /// `state[w][lane]` is word `w` of a lane's chaining value (one array per
    /// word, as SIMD registers hold them).
    fn compress(
        &mut self,
        state: &mut [[u32; LANES]; 4],
        lanes: &[LaneInput; LANES],
        blocks: usize,
    );
}

/// One lane, one message at a time: the md-5 crate's compression function.
struct ScalarKernel;

impl LaneKernel<1> for ScalarKernel {
    fn compress(&mut self, state: &mut [[u32; 1]; 4], lanes: &[LaneInput; 1], blocks: usize) {
        let (whole, _) = lanes[0].bytes.as_chunks::<BLOCK>();
        let mut words = state.map(|word| word[0]);
        compress_scalar(&mut words, &whole[..blocks]);
        *state = words.map(|word| [word]);
    }
}

/// Where a lane stands in its message: the body is read in place, then the padded tail.
#[derive(Clone)]
struct Lane {
    /// Index of the message in the caller's list; `None` when the lane is idle.
    message: Option<usize>,
    /// Bytes of whole blocks of the body still to compress, from `body_at`.
    body_at: usize,
    body_end: usize,
    /// The last partial block of the message, its padding and its length in bits.
    tail: [u8; 2 * BLOCK],
    tail_at: usize,
    tail_end: usize,
}

impl Lane {
    fn idle() -> Lane {
        Lane {
            message: None,
            body_at: 0,
            body_end: 0,
            tail: [0; 2 * BLOCK],
            tail_at: 0,
            tail_end: 0,
        }
    }

    /// Starts a message: its whole blocks, then one or two blocks of padding (RFC 1321, 3.1-3.2).
    fn start(&mut self, index: usize, message: &[u8]) {
        let body_end = message.len() / BLOCK * BLOCK;
        let rest = &message[body_end..];
        let tail_end = if rest.len() < BLOCK - 8 {
            BLOCK
        } else {
            2 * BLOCK
        };

        self.tail = [0; 2 * BLOCK];
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail[rest.len()] = 0x80;
        let bits = (message.len() as u64).wrapping_mul(8);
        self.tail[tail_end - 8..tail_end].copy_from_slice(&bits.to_le_bytes());

        self.message = Some(index);
        self.body_at = 0;
        self.body_end = body_end;
        self.tail_at = 0;
        self.tail_end = tail_end;
    }

    /// The blocks the lane can compress before its body or its tail ends.
    fn blocks_in_segment(&self) -> usize {
        if self.body_at < self.body_end {
            (self.body_end - self.body_at) / BLOCK
        } else {
            (self.tail_end - self.tail_at) / BLOCK
        }
    }

    /// The bytes of the current segment, from the next block on.
    fn segment<'a>(&'a self, message: &'a [u8]) -> &'a [u8] {
        if self.body_at < self.body_end {
            &message[self.body_at..self.body_end]
        } else {
            &self.tail[self.tail_at..self.tail_end]
        }
    }

    /// Moves past `blocks` compressed blocks; true when the message is done.
    fn advance(&mut self, blocks: usize) -> bool {
        if self.body_at < self.body_end {
            self.body_at += blocks * BLOCK;
        } else {
            self.tail_at += blocks * BLOCK;
        }
        self.tail_at == self.tail_end
    }
}

/// Runs `kernel` over all messages, longest first, refilling each lane as its message ends.
pub(crate) fn digest_in_lanes<const LANES: usize>(
    messages: &[&[u8]],
    kernel: &mut impl LaneKernel<LANES>,
) -> Vec<Md5Digest> {
    // Longest first, so that the lanes end close together.
    let mut queue: Vec<usize> = (0..messages.len()).collect();
    queue.sort_by_key(|&index| std::cmp::Reverse(messages[index].len()));
    let mut queue = queue.into_iter();

    let mut digests = vec![[0u8; 16]; messages.len()];
    let mut lanes: [Lane; LANES] = std::array::from_fn(|_| Lane::idle());
    let mut state = [[0u32; LANES]; 4];
    loop {
        // 1. Give every idle lane the next message.
        for (number, lane) in lanes.iter_mut().enumerate() {
            if lane.message.is_none()
                && let Some(index) = queue.next()
            {
                lane.start(index, messages[index]);
                set_lane_state(&mut state, number, MD5_INIT);
            }
        }
        let busy = lanes.iter().filter(|lane| lane.message.is_some()).count();
        if busy == 0 {
            return digests;
        }

        // 2. Few lanes left and no message to refill them: one at a time is cheaper.
        if LANES > 1 && busy <= LANES / 8 {
            for (number, lane) in lanes.iter_mut().enumerate() {
                if let Some(index) = lane.message {
                    let words = finish_alone(lane, messages[index], lane_state(&state, number));
                    digests[index] = digest_bytes(words);
                }
            }
            return digests;
        }

        // 3. Compress until the first lane reaches the end of its body or tail.
        let blocks = lanes
            .iter()
            .filter(|lane| lane.message.is_some())
            .map(Lane::blocks_in_segment)
            .min()
            .unwrap_or(0);
        let inputs: [LaneInput; LANES] = std::array::from_fn(|number| {
            let lane = &lanes[number];
            match lane.message {
                Some(index) => LaneInput {
                    bytes: lane.segment(messages[index]),
                    step: BLOCK,
                },
                None => LaneInput {
                    bytes: &IDLE_BLOCK,
                    step: 0,
                },
            }
        });
        kernel.compress(&mut state, &inputs, blocks);

        // 4. Collect the digests of the messages that ended.
        for (number, lane) in lanes.iter_mut().enumerate() {
            if let Some(index) = lane.message
                && lane.advance(blocks)
            {
                digests[index] = digest_bytes(lane_state(&state, number));
                lane.message = None;
            }
        }
    }
}

/// Compresses what is left of a lane's message with the scalar function; the final state.
fn finish_alone(lane: &mut Lane, message: &[u8], mut words: [u32; 4]) -> [u32; 4] {
    while lane.message.is_some() {
        let blocks = lane.blocks_in_segment();
        let (whole, _) = lane.segment(message).as_chunks::<BLOCK>();
        compress_scalar(&mut words, whole);
        if lane.advance(blocks) {
            lane.message = None;
        }
    }
    words
}

fn lane_state<const LANES: usize>(state: &[[u32; LANES]; 4], lane: usize) -> [u32; 4] {
    std::array::from_fn(|word| state[word][lane])
}

fn set_lane_state<const LANES: usize>(state: &mut [[u32; LANES]; 4], lane: usize, words: [u32; 4]) {
    for (word, value) in state.iter_mut().zip(words) {
        word[lane] = value;
    }
}

/// The digest: the four state words, little-endian (RFC 1321, 3.5).
fn digest_bytes(words: [u32; 4]) -> Md5Digest {
    let mut digest = [0u8; 16];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_takes_one_block_up_to_55_bytes_and_two_from_56() {
        let mut lane = Lane::idle();
        lane.start(0, &[0xaa; 55]);
        assert_eq!((lane.body_end, lane.tail_end), (0, 64));
        assert_eq!(lane.tail[55], 0x80);
        assert_eq!(&lane.tail[56..64], &(55u64 * 8).to_le_bytes());

        lane.start(0, &[0xaa; 56 + 64]);
        assert_eq!((lane.body_end, lane.tail_end), (64, 128));
        assert_eq!(lane.tail[56], 0x80);
        assert!(lane.tail[57..120].iter().all(|&b| b == 0));
        assert_eq!(&lane.tail[120..128], &(120u64 * 8).to_le_bytes());
    }

    #[test]
    fn rfc_1321_test_suite_on_every_kernel() {
        let suite: [(&[u8], &str); 4] = [
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        let messages: Vec<&[u8]> = suite.iter().map(|(message, _)| *message).collect();
        for kernel in Md5Kernel::available() {
            let digests = kernel.digest_each(&messages);
            for (digest, (_, expected)) in digests.iter().zip(suite) {
                assert_eq!(hex::encode(digest), expected, "{kernel:?}");
            }
        }
    }
}
