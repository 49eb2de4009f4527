//! The AVX2 MD5 kernel: 16 lanes in two groups of eight 32-bit lanes.
//!
//! One group alone would wait on its own chain of dependent steps; two groups
//! side by side give the CPU independent work in every step. The round
//! functions, constants and rotations are those of RFC 1321, section 3.4.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256, _mm256_loadu_si256,
    _mm256_or_si256, _mm256_permute2x128_si256, _mm256_set1_epi32, _mm256_setzero_si256,
    _mm256_slli_epi32, _mm256_srli_epi32, _mm256_storeu_si256, _mm256_unpackhi_epi32,
    _mm256_unpackhi_epi64, _mm256_unpacklo_epi32, _mm256_unpacklo_epi64, _mm256_xor_si256,
};

use super::md5_lanes::{BLOCK, LaneInput, LaneKernel};

/// Groups of eight lanes hashed side by side.
const GROUPS: usize = 2;
/// Messages hashed side by side.
pub(crate) const LANES: usize = 8 * GROUPS;

/// The additive constants: the integer part of 2^32 * |sin(i + 1)|.
pub(crate) const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// The AVX2 kernel; it exists only once the CPU is known to run AVX2.
pub(crate) struct Avx2Kernel {
    _detected: (),
}

impl Avx2Kernel {
    /// The kernel, if this CPU runs AVX2.
    pub fn new() -> Option<Avx2Kernel> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Avx2Kernel { _detected: () })
    }
}

impl LaneKernel<LANES> for Avx2Kernel {
    fn compress(
        &mut self,
        state: &mut [[u32; LANES]; 4],
        lanes: &[LaneInput; LANES],
        blocks: usize,
    ) {
        // SAFETY: an `Avx2Kernel` is only made by `new`, after checking that the CPU runs AVX2.
        unsafe { compress_avx2(state, lanes, blocks) }
    }
}

/// Word `w` of eight lanes, as one register.
type Words = [__m256i; 16];

/// Compresses `blocks` blocks of every lane (see [`LaneKernel::compress`]).
#[target_feature(enable = "avx2")]
fn compress_avx2(state: &mut [[u32; LANES]; 4], lanes: &[LaneInput; LANES], blocks: usize) {
    let mut a = load_group_words(&state[0]);
    let mut b = load_group_words(&state[1]);
    let mut c = load_group_words(&state[2]);
    let mut d = load_group_words(&state[3]);

    let mut words = [[_mm256_setzero_si256(); 16]; GROUPS];
    for n in 0..blocks {
        for (group, words) in words.iter_mut().enumerate() {
            let group_lanes = &lanes[group * 8..group * 8 + 8];
            transpose_blocks(group_lanes, n, words);
        }
        let (a0, b0, c0, d0) = (a, b, c, d);
        rounds(&words, &mut a, &mut b, &mut c, &mut d);
        for group in 0..GROUPS {
            a[group] = _mm256_add_epi32(a[group], a0[group]);
            b[group] = _mm256_add_epi32(b[group], b0[group]);
            c[group] = _mm256_add_epi32(c[group], c0[group]);
            d[group] = _mm256_add_epi32(d[group], d0[group]);
        }
    }

    store_group_words(&mut state[0], a);
    store_group_words(&mut state[1], b);
    store_group_words(&mut state[2], c);
    store_group_words(&mut state[3], d);
}

/// One state word of every lane, a register per group.
#[inline]
#[target_feature(enable = "avx2")]
fn load_group_words(word: &[u32; LANES]) -> [__m256i; GROUPS] {
    std::array::from_fn(|group| {
        let lanes = &word[group * 8..group * 8 + 8];
        // SAFETY: `lanes` holds 8 `u32`, the 32 bytes read; `loadu` takes any alignment.
        unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) }
    })
}

#[inline]
#[target_feature(enable = "avx2")]
fn store_group_words(word: &mut [u32; LANES], registers: [__m256i; GROUPS]) {
    for (lanes, register) in word.chunks_exact_mut(8).zip(registers) {
        // SAFETY: `lanes` holds 8 `u32`, the 32 bytes written; `storeu` takes any alignment.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), register) }
    }
}

/// Turns block `n` of eight lanes into sixteen registers, register `w` holding
/// message word `w` of each lane: two 8x8 transpositions of 32-bit words.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose_blocks(lanes: &[LaneInput], n: usize, words: &mut Words) {
    let mut low = [_mm256_setzero_si256(); 8];
    let mut high = [_mm256_setzero_si256(); 8];
    for (lane, (low, high)) in lanes.iter().zip(low.iter_mut().zip(high.iter_mut())) {
        let (first, second) = lanes_halves(lane.block(n));
        // SAFETY: each half is 32 bytes, the size of the read; `loadu` takes any alignment.
        unsafe {
            *low = _mm256_loadu_si256(first.as_ptr().cast());
            *high = _mm256_loadu_si256(second.as_ptr().cast());
        }
    }
    let (first_words, last_words) = words.split_at_mut(8);
    transpose_8x8(&low, first_words);
    transpose_8x8(&high, last_words);
}

/// The two 32-byte halves of a block.
fn lanes_halves(block: &[u8; BLOCK]) -> (&[u8; 32], &[u8; 32]) {
    let (first, second) = block.split_at(32);
    (
        first.try_into().expect("half a block"),
        second.try_into().expect("half a block"),
    )
}

/// Rows of eight 32-bit words become columns.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose_8x8(rows: &[__m256i; 8], columns: &mut [__m256i]) {
    // Pairs of rows interleaved by word, then by pairs of words, then 128-bit halves swapped.
    let mut pairs = [_mm256_setzero_si256(); 8];
    for i in 0..4 {
        pairs[2 * i] = _mm256_unpacklo_epi32(rows[2 * i], rows[2 * i + 1]);
        pairs[2 * i + 1] = _mm256_unpackhi_epi32(rows[2 * i], rows[2 * i + 1]);
    }
    let mut quads = [_mm256_setzero_si256(); 8];
    for half in 0..2 {
        let (p, q) = (
            &pairs[4 * half..4 * half + 4],
            &mut quads[4 * half..4 * half + 4],
        );
        q[0] = _mm256_unpacklo_epi64(p[0], p[2]);
        q[1] = _mm256_unpackhi_epi64(p[0], p[2]);
        q[2] = _mm256_unpacklo_epi64(p[1], p[3]);
        q[3] = _mm256_unpackhi_epi64(p[1], p[3]);
    }
    for word in 0..4 {
        columns[word] = _mm256_permute2x128_si256::<0x20>(quads[word], quads[4 + word]);
        columns[word + 4] = _mm256_permute2x128_si256::<0x31>(quads[word], quads[4 + word]);
    }
}

/// `x` rotated left by the literal `$s` bits in every lane.
macro_rules! rotate_left {
    ($x:expr, $s:literal) => {
        _mm256_or_si256(
            _mm256_slli_epi32::<$s>($x),
            _mm256_srli_epi32::<{ 32 - $s }>($x),
        )
    };
}

/// Round functions; the newest word `b` enters last, so the rest can be computed early.
macro_rules! round_f {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_xor_si256($d, _mm256_and_si256($b, _mm256_xor_si256($c, $d)))
    };
}
macro_rules! round_g {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_or_si256(_mm256_andnot_si256($d, $c), _mm256_and_si256($b, $d))
    };
}
macro_rules! round_h {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_xor_si256(_mm256_xor_si256($c, $d), $b)
    };
}
macro_rules! round_i {
    ($b:expr, $c:expr, $d:expr) => {
        _mm256_xor_si256(
            $c,
            _mm256_or_si256($b, _mm256_xor_si256($d, _mm256_set1_epi32(-1))),
        )
    };
}

/// One step in every group: `a = b + ((a + fun(b, c, d) + K[i] + word) <<< s)`.
macro_rules! step {
    ($fun:ident, $words:ident, $a:ident, $b:ident, $c:ident, $d:ident,
     $i:expr, $w:expr, $s:literal) => {
        for group in 0..GROUPS {
            let constant = _mm256_add_epi32($words[group][$w], _mm256_set1_epi32(K[$i] as i32));
            let early = _mm256_add_epi32($a[group], constant);
            let mixed = _mm256_add_epi32(early, $fun!($b[group], $c[group], $d[group]));
            $a[group] = _mm256_add_epi32($b[group], rotate_left!(mixed, $s));
        }
    };
}

/// Sixteen steps of one round; `$w` gives the message word of step `i` of the round.
macro_rules! round {
    ($fun:ident, $words:ident, $a:ident, $b:ident, $c:ident, $d:ident, $first:literal,
     |$i:ident| $w:expr, [$s0:literal, $s1:literal, $s2:literal, $s3:literal]) => {
        for quarter in 0..4 {
            let step_of = |$i: usize| $w;
            let i = 4 * quarter;
            step!($fun, $words, $a, $b, $c, $d, $first + i, step_of(i), $s0);
            step!(
                $fun,
                $words,
                $d,
                $a,
                $b,
                $c,
                $first + i + 1,
                step_of(i + 1),
                $s1
            );
            step!(
                $fun,
                $words,
                $c,
                $d,
                $a,
                $b,
                $first + i + 2,
                step_of(i + 2),
                $s2
            );
            step!(
                $fun,
                $words,
                $b,
                $c,
                $d,
                $a,
                $first + i + 3,
                step_of(i + 3),
                $s3
            );
        }
    };
}

/// The 64 steps of one block, in every lane.
#[inline]
#[target_feature(enable = "avx2")]
fn rounds(
    words: &[Words; GROUPS],
    a: &mut [__m256i; GROUPS],
    b: &mut [__m256i; GROUPS],
    c: &mut [__m256i; GROUPS],
    d: &mut [__m256i; GROUPS],
) {
    round!(round_f, words, a, b, c, d, 0, |i| i, [7, 12, 17, 22]);
    round!(
        round_g,
        words,
        a,
        b,
        c,
        d,
        16,
        |i| (5 * i + 1) % 16,
        [5, 9, 14, 20]
    );
    round!(
        round_h,
        words,
        a,
        b,
        c,
        d,
        32,
        |i| (3 * i + 5) % 16,
        [4, 11, 16, 23]
    );
    round!(
        round_i,
        words,
        a,
        b,
        c,
        d,
        48,
        |i| (7 * i) % 16,
        [6, 10, 15, 21]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_sines_of_rfc_1321() {
        for (i, &constant) in K.iter().enumerate() {
            let expected = (((i + 1) as f64).sin().abs() * 4_294_967_296.0).floor() as u32;
            assert_eq!(constant, expected, "K[{i}]");
        }
    }
}
