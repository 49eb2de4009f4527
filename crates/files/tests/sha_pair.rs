//! SHA-1 and SHA-256 computed together give the sha1 and sha2 crates' digests, on every
//! kernel of this CPU and however the bytes are split into updates.

use safecare_files::hash::sha_pair::{ShaKernel, ShaPair};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Lengths around the padding edges: 55 bytes fit one final block, 56 need two.
const EDGE_LENGTHS: [usize; 15] = [
    0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000,
];

/// A small deterministic generator (xorshift64), so a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Feeds `bytes` in pieces of the given sizes (cycled), then checks both digests.
fn assert_matches_crates(kernel: ShaKernel, bytes: &[u8], pieces: &[usize]) {
    let mut pair = ShaPair::with_kernel(kernel);
    let mut rest = bytes;
    for &piece in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at(piece.min(rest.len()));
        pair.update(now);
        rest = later;
    }
    let (sha1, sha256) = pair.finish();
    let context = format!("{kernel:?}, {} bytes in pieces of {pieces:?}", bytes.len());
    assert_eq!(
        sha1,
        <[u8; 20]>::from(Sha1::digest(bytes)),
        "SHA-1, {context}"
    );
    assert_eq!(
        sha256,
        <[u8; 32]>::from(Sha256::digest(bytes)),
        "SHA-256, {context}"
    );
}

#[test]
fn the_crates_kernel_is_always_available_and_listed_first() {
    let kernels = ShaKernel::available();
    assert_eq!(kernels[0], ShaKernel::Crates);
    assert_eq!(ShaKernel::fastest(), *kernels.last().unwrap());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sha") {
        assert!(kernels.contains(&ShaKernel::ShaExtensions));
    }
}

#[test]
fn edge_lengths_in_one_update() {
    for kernel in ShaKernel::available() {
        for len in EDGE_LENGTHS {
            assert_matches_crates(kernel, &noise(len as u64 + 1, len), &[usize::MAX]);
        }
    }
}

#[test]
fn updates_split_anywhere() {
    let bytes = noise(7, 5000);
    for kernel in ShaKernel::available() {
        for pieces in [
            &[1][..],
            &[63],
            &[64],
            &[65],
            &[7, 120, 1, 64, 300],
            &[4999],
        ] {
            assert_matches_crates(kernel, &bytes, pieces);
        }
        assert_matches_crates(kernel, &[], &[]);
    }
}

#[test]
fn random_lengths_up_to_a_few_megabytes() {
    let mut seed = 11u64;
    for round in 0..12 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let limit = if round % 4 == 0 { 3 << 20 } else { 70_000 };
        let len = (seed >> 33) as usize % limit;
        let bytes = noise(seed, len);
        for kernel in ShaKernel::available() {
            assert_matches_crates(kernel, &bytes, &[usize::MAX]);
            assert_matches_crates(kernel, &bytes, &[128 * 1024]);
        }
    }
}
