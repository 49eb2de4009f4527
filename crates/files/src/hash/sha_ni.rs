//! SHA-1 and SHA-256 of the same blocks with the x86 SHA extensions, the two interleaved.
//!
//! Each SHA instruction waits for the one before it (a round needs the previous
//! round's state), so one digest alone leaves the SHA unit idle most cycles.
//! The two digests of a file are independent chains: issued side by side, each
//! fills the other's wait. Instruction semantics: Intel SDM, SHA1RNDS4,
//! SHA1NEXTE, SHA1MSG1/2, SHA256RNDS2, SHA256MSG1/2.

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_loadu_si128, _mm_set_epi32, _mm_set_epi64x,
    _mm_sha1msg1_epu32, _mm_sha1msg2_epu32, _mm_sha1nexte_epu32, _mm_sha1rnds4_epu32,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi8,
    _mm_shuffle_epi32, _mm_storeu_si128, _mm_xor_si128,
};

/// SHA-256 round constants: the first 32 bits of the fractional parts of the cube
/// roots of the first 64 primes (FIPS 180-4, 4.2.2).
pub(crate) const K256: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// Whether this CPU runs the kernel.
pub(crate) fn detected() -> bool {
    std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("ssse3")
}

/// SHA-1 group `$one`, then SHA-256 group `$two` if there is one, and so on.
macro_rules! interleave {
    ($sha1:ident, $sha256:ident; $($one:literal $(=> $two:literal)?),*) => {
        $(
            $sha1.rounds::<$one>();
            $( $sha256.rounds::<$two>(); )?
        )*
    };
}

/// Compresses `blocks` into both chaining values; only for a CPU where [`detected`] is true.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
pub(crate) fn compress_both(sha1: &mut [u32; 5], sha256: &mut [u32; 8], blocks: &[[u8; 64]]) {
    let mut one = Sha1State::load(sha1);
    let mut two = Sha256State::load(sha256);
    for block in blocks {
        let mut one_block = Sha1Block::start(&one, block);
        let mut two_block = Sha256Block::start(&two, block);

        // 20 groups of four SHA-1 rounds, 16 of four SHA-256 rounds: one SHA-256
        // group after each SHA-1 group but every fifth. Written out so that every
        // group number is a constant and every register stays a register.
        interleave!(one_block, two_block;
            0 => 0, 1 => 1, 2 => 2, 3 => 3, 4,
            5 => 4, 6 => 5, 7 => 6, 8 => 7, 9,
            10 => 8, 11 => 9, 12 => 10, 13 => 11, 14,
            15 => 12, 16 => 13, 17 => 14, 18 => 15, 19);
        one = one_block.finish(&one);
        two = two_block.finish(&two);
    }
    one.store(sha1);
    two.store(sha256);
}

/// One 16-byte quarter of a block.
#[inline]
#[target_feature(enable = "sse2")]
fn load_quarter(block: &[u8; 64], quarter: usize) -> __m128i {
    let bytes = &block[16 * quarter..16 * quarter + 16];
    // SAFETY: `bytes` is 16 bytes, the size of the read; `loadu` takes any alignment.
    unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
}

/// A register's four 32-bit words, lowest first.
#[inline]
#[target_feature(enable = "sse2")]
fn words_of(register: __m128i) -> [u32; 4] {
    let mut words = [0u32; 4];
    // SAFETY: `words` is 16 bytes, the size of the write; `storeu` takes any alignment.
    unsafe { _mm_storeu_si128(words.as_mut_ptr().cast(), register) };
    words
}

/// The SHA-1 state as the instructions want it: A..D in one register (A highest), E alone.
#[derive(Clone, Copy)]
struct Sha1State {
    abcd: __m128i,
    e: __m128i,
}

impl Sha1State {
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(state: &[u32; 5]) -> Sha1State {
        let [a, b, c, d, e] = state.map(|word| word as i32);
        Sha1State {
            abcd: _mm_set_epi32(a, b, c, d),
            e: _mm_set_epi32(e, 0, 0, 0),
        }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn store(&self, state: &mut [u32; 5]) {
        let [d, c, b, a] = words_of(self.abcd);
        *state = [a, b, c, d, words_of(self.e)[3]];
    }
}

/// SHA-1 of one block in progress.
struct Sha1Block {
    abcd: __m128i,
    /// E plus the next four message words, for the next group.
    next: __m128i,
    /// The state before the last group (its A gives the next E).
    before: __m128i,
    /// The last four groups of message words, W0 highest in each.
    words: [__m128i; 4],
}

impl Sha1Block {
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn start(state: &Sha1State, block: &[u8; 64]) -> Sha1Block {
        // Big-endian words, the first one highest: the 16 bytes reversed.
        let reverse = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        let words = std::array::from_fn(|q| _mm_shuffle_epi8(load_quarter(block, q), reverse));
        Sha1Block {
            abcd: state.abcd,
            next: _mm_add_epi32(state.e, words[0]),
            before: state.abcd,
            words,
        }
    }

    /// Rounds `4 * group` to `4 * group + 3`, and the message words of the next group.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn rounds<const GROUP: usize>(&mut self) {
        self.before = self.abcd;
        self.abcd = match GROUP / 5 {
            0 => _mm_sha1rnds4_epu32::<0>(self.abcd, self.next),
            1 => _mm_sha1rnds4_epu32::<1>(self.abcd, self.next),
            2 => _mm_sha1rnds4_epu32::<2>(self.abcd, self.next),
            _ => _mm_sha1rnds4_epu32::<3>(self.abcd, self.next),
        };
        if GROUP == 19 {
            return;
        }

        // W[t] = (W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]) <<< 1, four at a time.
        let next = GROUP + 1;
        if next >= 4 {
            let w = &self.words;
            let (oldest, old, recent, newest) = (
                w[next % 4],
                w[(next + 1) % 4],
                w[(next + 2) % 4],
                w[(next + 3) % 4],
            );
            let mixed = _mm_xor_si128(_mm_sha1msg1_epu32(oldest, old), recent);
            self.words[next % 4] = _mm_sha1msg2_epu32(mixed, newest);
        }
        self.next = _mm_sha1nexte_epu32(self.before, self.words[next % 4]);
    }

    /// The state after the block: the 80 rounds added to the state before it.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn finish(self, state: &Sha1State) -> Sha1State {
        Sha1State {
            abcd: _mm_add_epi32(self.abcd, state.abcd),
            e: _mm_sha1nexte_epu32(self.before, state.e),
        }
    }
}

/// The SHA-256 state as the instructions want it: A, B, E, F and C, D, G, H (A and C highest).
#[derive(Clone, Copy)]
struct Sha256State {
    abef: __m128i,
    cdgh: __m128i,
}

impl Sha256State {
    #[inline]
    #[target_feature(enable = "sse2")]
    fn load(state: &[u32; 8]) -> Sha256State {
        let [a, b, c, d, e, f, g, h] = state.map(|word| word as i32);
        Sha256State {
            abef: _mm_set_epi32(a, b, e, f),
            cdgh: _mm_set_epi32(c, d, g, h),
        }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn store(&self, state: &mut [u32; 8]) {
        let [f, e, b, a] = words_of(self.abef);
        let [h, g, d, c] = words_of(self.cdgh);
        *state = [a, b, c, d, e, f, g, h];
    }
}

/// SHA-256 of one block in progress.
struct Sha256Block {
    state: Sha256State,
    /// The last four groups of message words, W0 lowest in each.
    words: [__m128i; 4],
}

impl Sha256Block {
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn start(state: &Sha256State, block: &[u8; 64]) -> Sha256Block {
        // Big-endian words in order: each word's four bytes reversed.
        let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let words = std::array::from_fn(|q| _mm_shuffle_epi8(load_quarter(block, q), swap));
        Sha256Block {
            state: *state,
            words,
        }
    }

    /// Rounds `4 * group` to `4 * group + 3`; the message words are made as needed.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn rounds<const GROUP: usize>(&mut self) {
        let group = GROUP;
        if group >= 4 {
            // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time.
            let w = &self.words;
            let (oldest, old, recent, newest) = (
                w[group % 4],
                w[(group + 1) % 4],
                w[(group + 2) % 4],
                w[(group + 3) % 4],
            );
            let seventh_back = _mm_alignr_epi8::<4>(newest, recent);
            let partial = _mm_add_epi32(_mm_sha256msg1_epu32(oldest, old), seventh_back);
            self.words[group % 4] = _mm_sha256msg2_epu32(partial, newest);
        }
        let constants = &K256[4 * group..4 * group + 4];
        let [k0, k1, k2, k3] = [0, 1, 2, 3].map(|i| constants[i] as i32);
        let scheduled = _mm_add_epi32(self.words[group % 4], _mm_set_epi32(k3, k2, k1, k0));

        // Two rounds on the low two words, two on the high two; ABEF and CDGH swap roles.
        let state = &mut self.state;
        state.cdgh = _mm_sha256rnds2_epu32(state.cdgh, state.abef, scheduled);
        let high = _mm_shuffle_epi32::<0x0e>(scheduled);
        state.abef = _mm_sha256rnds2_epu32(state.abef, state.cdgh, high);
    }

    /// The state after the block: the 64 rounds added to the state before it.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn finish(self, state: &Sha256State) -> Sha256State {
        Sha256State {
            abef: _mm_add_epi32(self.state.abef, state.abef),
            cdgh: _mm_add_epi32(self.state.cdgh, state.cdgh),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_constants_are_the_cube_roots_of_the_first_primes() {
        let primes = (2u32..).filter(|&n| (2..n).all(|d| n % d != 0));
        for (i, (constant, prime)) in K256.iter().zip(primes).enumerate() {
            let root = f64::from(prime).cbrt();
            let expected = ((root - root.floor()) * 4_294_967_296.0).floor() as u32;
            assert_eq!(*constant, expected, "K[{i}]");
        }
    }
}
