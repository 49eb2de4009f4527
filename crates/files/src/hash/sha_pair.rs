//! SHA-1 and SHA-256 of the same bytes in one pass.
//!
//! Both digests read 64-byte blocks and pad the message the same way (FIPS
//! 180-4, 5.1.1), so one buffer and one padding serve both. With the x86 SHA
//! extensions the two compressions run interleaved (see the `sha_ni` module);
//! otherwise the sha1 and sha2 crates' compression functions run one after the other.

use sha1::block_api::compress as compress_sha1;
use sha2::block_api::compress256;

/// SHA-1 initial hash value (FIPS 180-4, 5.3.1).
const SHA1_INIT: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];
/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const SHA256_INIT: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const BLOCK: usize = 64;

/// A way to compress blocks into both digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaKernel {
    /// The sha1 and sha2 crates, one digest after the other.
    Crates,
    /// Both digests interleaved with the x86 SHA extensions (x86-64 only).
    ShaExtensions,
}

impl ShaKernel {
    /// The fastest kernel this CPU runs.
    pub fn fastest() -> ShaKernel {
        if ShaKernel::ShaExtensions.runs_here() {
            ShaKernel::ShaExtensions
        } else {
            ShaKernel::Crates
        }
    }

    /// Every kernel this CPU runs, slowest first (the crates' one is always there).
    pub fn available() -> Vec<ShaKernel> {
        [ShaKernel::Crates, ShaKernel::ShaExtensions]
            .into_iter()
            .filter(|kernel| kernel.runs_here())
            .collect()
    }

    /// Whether this CPU runs the kernel.
    pub fn runs_here(self) -> bool {
        match self {
            ShaKernel::Crates => true,
            #[cfg(target_arch = "x86_64")]
            ShaKernel::ShaExtensions => super::sha_ni::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            ShaKernel::ShaExtensions => false,
        }
    }
}

/// SHA-1 and SHA-256 of a stream of bytes.
#[derive(Clone)]
pub struct ShaPair {
    kernel: ShaKernel,
    sha1: [u32; 5],
    sha256: [u32; 8],
    /// The start of a block not yet complete.
    pending: [u8; BLOCK],
    pending_len: usize,
    /// Bytes fed so far.
    length: u64,
}

impl Default for ShaPair {
    fn default() -> Self {
        ShaPair::with_kernel(ShaKernel::fastest())
    }
}

impl ShaPair {
    /// A pair computed with `kernel`.
    ///
    /// # Panics
    ///
    /// If this CPU cannot run the kernel (it is not in [`ShaKernel::available`]).
    pub fn with_kernel(kernel: ShaKernel) -> ShaPair {
        assert!(
            kernel.runs_here(),
            "this CPU cannot run the {kernel:?} SHA kernel"
        );
        ShaPair {
            kernel,
            sha1: SHA1_INIT,
            sha256: SHA256_INIT,
            pending: [0; BLOCK],
            pending_len: 0,
            length: 0,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len() as u64);

        // Complete a pending block first.
        if self.pending_len > 0 {
            let taken = bytes.len().min(BLOCK - self.pending_len);
            self.pending[self.pending_len..self.pending_len + taken]
                .copy_from_slice(&bytes[..taken]);
            self.pending_len += taken;
            bytes = &bytes[taken..];
            if self.pending_len < BLOCK {
                return;
            }
            let block = self.pending;
            self.compress(&[block]);
            self.pending_len = 0;
        }

        let (blocks, rest) = bytes.as_chunks::<BLOCK>();
        self.compress(blocks);
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The SHA-1 and SHA-256 digests.
    pub fn finish(mut self) -> ([u8; 20], [u8; 32]) {
        // 0x80, zeros, then the length in bits, big-endian, ending a block.
        let bits = self.length.wrapping_mul(8);
        let mut tail = [0u8; 2 * BLOCK];
        tail[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        tail[self.pending_len] = 0x80;
        let tail_len = if self.pending_len < BLOCK - 8 {
            BLOCK
        } else {
            2 * BLOCK
        };
        tail[tail_len - 8..tail_len].copy_from_slice(&bits.to_be_bytes());
        let (blocks, _) = tail[..tail_len].as_chunks::<BLOCK>();
        self.compress(blocks);

        (big_endian(self.sha1), big_endian(self.sha256))
    }

    fn compress(&mut self, blocks: &[[u8; BLOCK]]) {
        if blocks.is_empty() {
            return;
        }
        match self.kernel {
            ShaKernel::Crates => {
                compress_sha1(&mut self.sha1, blocks);
                compress256(&mut self.sha256, blocks);
            }
            #[cfg(target_arch = "x86_64")]
            ShaKernel::ShaExtensions => {
                // SAFETY: `with_kernel` made this pair only if `sha_ni::detected()` was true,
                // so the CPU runs the instructions the kernel is compiled for.
                unsafe { super::sha_ni::compress_both(&mut self.sha1, &mut self.sha256, blocks) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            ShaKernel::ShaExtensions => unreachable!("no SHA extensions outside x86-64"),
        }
    }
}

/// A digest: the state words, big-endian.
fn big_endian<const WORDS: usize, const BYTES: usize>(words: [u32; WORDS]) -> [u8; BYTES] {
    let mut digest = [0u8; BYTES];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_180_examples_on_every_kernel() {
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        for kernel in ShaKernel::available() {
            let mut pair = ShaPair::with_kernel(kernel);
            pair.update(b"abc");
            let (sha1, sha256) = pair.finish();
            assert_eq!(
                hex::encode(sha1),
                "a9993e364706816aba3e25717850c26c9cd0d89d"
            );
            assert_eq!(
                hex::encode(sha256),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );

            let mut pair = ShaPair::with_kernel(kernel);
            pair.update(two_blocks);
            let (sha1, sha256) = pair.finish();
            assert_eq!(
                hex::encode(sha1),
                "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
            );
            assert_eq!(
                hex::encode(sha256),
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            );
        }
    }
}
