//! MD5 side by side in SIMD lanes gives the md-5 crate's digest, on every kernel of this CPU.

use md5::{Digest, Md5};
use safecare_files::hash::md5_lanes::{Md5Kernel, md5_each};

/// Lengths around the padding edges: 55 bytes fit one tail block, 56 need two.
const EDGE_LENGTHS: [usize; 16] = [
    0, 1, 2, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 1000,
];

/// A small deterministic generator (xorshift64), so a failure can be replayed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn reference(messages: &[&[u8]]) -> Vec<[u8; 16]> {
    messages.iter().map(|m| Md5::digest(m).into()).collect()
}

/// Checks every kernel of this CPU against the md-5 crate on `messages`.
fn assert_all_kernels_agree(messages: &[&[u8]]) {
    let expected = reference(messages);
    for kernel in Md5Kernel::available() {
        let digests = kernel.digest_each(messages);
        assert_eq!(digests.len(), messages.len(), "{kernel:?}");
        for (i, (digest, want)) in digests.iter().zip(&expected).enumerate() {
            assert_eq!(
                digest,
                want,
                "{kernel:?}: message {i} of {} bytes",
                messages[i].len()
            );
        }
    }
}

#[test]
fn the_scalar_kernel_is_always_available_and_listed_first() {
    let kernels = Md5Kernel::available();
    assert_eq!(kernels[0], Md5Kernel::Scalar);
    assert_eq!(Md5Kernel::fastest(), *kernels.last().unwrap());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert!(kernels.contains(&Md5Kernel::Avx2));
        assert_eq!(Md5Kernel::Avx2.lanes(), 16);
    }
}

#[test]
fn no_messages_give_no_digests() {
    for kernel in Md5Kernel::available() {
        assert!(kernel.digest_each(&[]).is_empty());
    }
}

#[test]
fn each_edge_length_alone() {
    let mut noise = Noise(1);
    for len in EDGE_LENGTHS {
        let message = noise.bytes(len);
        assert_all_kernels_agree(&[&message]);
    }
}

#[test]
fn edge_lengths_mixed_in_one_call() {
    let mut noise = Noise(2);
    let messages: Vec<Vec<u8>> = EDGE_LENGTHS.iter().map(|&len| noise.bytes(len)).collect();
    let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    assert_all_kernels_agree(&slices);
}

#[test]
fn equal_lengths_end_in_every_lane_at_once() {
    let mut noise = Noise(3);
    for len in EDGE_LENGTHS.into_iter().chain([4096]) {
        let messages: Vec<Vec<u8>> = (0..33).map(|_| noise.bytes(len)).collect();
        let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        assert_all_kernels_agree(&slices);
    }
}

#[test]
fn many_more_messages_than_lanes_with_random_lengths() {
    let mut noise = Noise(4);
    let messages: Vec<Vec<u8>> = (0..300)
        .map(|i| {
            let len = if i % 25 == 0 {
                noise.below(3 * 1024 * 1024)
            } else {
                noise.below(20_000)
            };
            noise.bytes(len)
        })
        .collect();
    let slices: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    assert_all_kernels_agree(&slices);
}

#[test]
fn one_long_message_among_short_ones_and_alone() {
    let mut noise = Noise(5);
    let long = noise.bytes(4 * 1024 * 1024 + 17);
    let short: Vec<Vec<u8>> = (0..40)
        .map(|_| {
            let len = noise.below(300);
            noise.bytes(len)
        })
        .collect();
    let mut slices: Vec<&[u8]> = short.iter().map(Vec::as_slice).collect();
    slices.insert(7, &long);
    assert_all_kernels_agree(&slices);
    assert_all_kernels_agree(&[&long]);
}

#[test]
fn messages_at_odd_addresses_within_one_buffer() {
    let mut noise = Noise(6);
    let buffer = noise.bytes(200_000);
    let mut slices = Vec::new();
    let mut at = 1;
    while at < buffer.len() {
        let len = noise.below(5000).min(buffer.len() - at);
        slices.push(&buffer[at..at + len]);
        at += len + 3;
    }
    assert_all_kernels_agree(&slices);
}

#[test]
fn the_same_message_twice_gives_the_same_digest_in_different_lanes() {
    let message = b"The quick brown fox jumps over the lazy dog";
    let digests = md5_each(&[message, b"", message]);
    assert_eq!(hex_of(&digests[0]), "9e107d9d372bb6826bd81d3542a419d6");
    assert_eq!(digests[0], digests[2]);
    assert_eq!(hex_of(&digests[1]), "d41d8cd98f00b204e9800998ecf8427e");
}

fn hex_of(digest: &[u8; 16]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
