//! Shannon entropy by region: encrypted or packed data sits near 8 bits per byte.

use crate::verdict::EntropyRegion;

/// Regions reported per file at most; larger files get larger regions.
pub const MAX_REGIONS: u64 = 16;
/// The smallest region measured, so small files give one meaningful figure.
pub const MIN_REGION: u64 = 64 * 1024;

/// Entropy of a file: by region, and over the whole file, from one counting pass.
#[derive(Debug, Clone, PartialEq)]
pub struct EntropyProfile {
    pub regions: Vec<EntropyRegion>,
    /// Bits per byte over all the bytes (unrounded).
    pub whole: f64,
}

/// Shannon entropy of `bytes` in bits per byte; 0.0 for no bytes.
pub fn shannon(bytes: &[u8]) -> f64 {
    bits_per_byte(&byte_counts(bytes), bytes.len() as u64)
}

/// Entropy of consecutive regions covering `bytes`, at most [`MAX_REGIONS`] of them.
pub fn by_region(bytes: &[u8]) -> Vec<EntropyRegion> {
    profile(bytes).regions
}

/// Entropy by region and over the whole file, counting each byte once.
pub fn profile(bytes: &[u8]) -> EntropyProfile {
    let len = bytes.len() as u64;
    let region = MIN_REGION.max(len.div_ceil(MAX_REGIONS));
    let mut total = [0u64; 256];
    let mut regions = Vec::new();

    let mut first_region_bits = 0.0;
    for (i, chunk) in bytes.chunks(region as usize).enumerate() {
        let counts = byte_counts(chunk);
        for (sum, count) in total.iter_mut().zip(counts) {
            *sum += count;
        }
        let bits = bits_per_byte(&counts, chunk.len() as u64);
        if i == 0 {
            first_region_bits = bits;
        }
        regions.push(EntropyRegion {
            offset: i as u64 * region,
            length: chunk.len() as u64,
            bits_per_byte: (bits * 1000.0).round() / 1000.0,
        });
    }

    // Most files are one region: its figure is the whole file's (256 logarithms saved).
    let whole = if regions.len() == 1 {
        first_region_bits
    } else {
        bits_per_byte(&total, len)
    };
    EntropyProfile { regions, whole }
}

/// How often each byte value occurs.
///
/// Four tables, one per byte of each 4-byte word, so a run of equal bytes does
/// not make every increment wait for the previous one.
fn byte_counts(bytes: &[u8]) -> [u64; 256] {
    let mut tables = [[0u64; 256]; 4];
    let mut words = bytes.chunks_exact(4);
    for word in &mut words {
        tables[0][word[0] as usize] += 1;
        tables[1][word[1] as usize] += 1;
        tables[2][word[2] as usize] += 1;
        tables[3][word[3] as usize] += 1;
    }
    for &b in words.remainder() {
        tables[0][b as usize] += 1;
    }

    let mut counts = tables[0];
    for table in &tables[1..] {
        for (count, more) in counts.iter_mut().zip(table) {
            *count += more;
        }
    }
    counts
}

fn bits_per_byte(counts: &[u64; 256], total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_bytes_have_no_entropy_and_all_values_have_eight_bits() {
        assert_eq!(shannon(&[7u8; 1000]), 0.0);
        let all: Vec<u8> = (0..=255u8).cycle().take(256 * 40).collect();
        assert!((shannon(&all) - 8.0).abs() < 1e-9);
        assert!((shannon(b"abab") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn regions_cover_the_file_and_are_capped() {
        let bytes = vec![1u8; 3 * 1024 * 1024];
        let regions = by_region(&bytes);
        assert!(regions.len() as u64 <= MAX_REGIONS);
        let covered: u64 = regions.iter().map(|r| r.length).sum();
        assert_eq!(covered, bytes.len() as u64);
    }

    #[test]
    fn the_whole_file_figure_matches_a_direct_count() {
        let mut bytes: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        bytes.extend(std::iter::repeat_n(0u8, 123_457));
        let profile = profile(&bytes);
        assert!(profile.regions.len() > 1);
        assert!((profile.whole - shannon(&bytes)).abs() < 1e-12);
        assert_eq!(profile.regions[0].bits_per_byte, 8.0);

        // A file of one region reuses the region's figure: still the direct count.
        let small = &bytes[199_000..201_000];
        let profile = super::profile(small);
        assert_eq!(profile.regions.len(), 1);
        assert_eq!(profile.whole, shannon(small));
    }
}
