//! Shannon entropy by region: encrypted or packed data sits near 8 bits per byte.

use crate::verdict::EntropyRegion;

/// Regions reported per file at most; larger files get larger regions.
pub const MAX_REGIONS: u64 = 16;
/// The smallest region measured, so small files give one meaningful figure.
pub const MIN_REGION: u64 = 64 * 1024;

/// Shannon entropy of `bytes` in bits per byte; 0.0 for no bytes.
pub fn shannon(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let total = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Entropy of consecutive regions covering `bytes`, at most [`MAX_REGIONS`] of them.
pub fn by_region(bytes: &[u8]) -> Vec<EntropyRegion> {
    let len = bytes.len() as u64;
    let region = MIN_REGION.max(len.div_ceil(MAX_REGIONS));
    bytes
        .chunks(region as usize)
        .enumerate()
        .map(|(i, chunk)| EntropyRegion {
            offset: i as u64 * region,
            length: chunk.len() as u64,
            bits_per_byte: (shannon(chunk) * 1000.0).round() / 1000.0,
        })
        .collect()
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
}
