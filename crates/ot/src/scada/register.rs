//! Where a point lives in a Modbus device and how its registers encode a value.
//!
//! A point occupies one coil or discrete input (`bool`), one register (`u16`, `i16`) or two
//! consecutive registers (`u32`, `i32`, `f32`), in the word order the device uses. Integer
//! types carry a scale and an offset: engineering value = raw * scale + offset.

use serde::{Deserialize, Serialize};

/// The four Modbus data tables, ordered as the protocol numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Read-write bits (FC 1, 5, 15).
    Coil,
    /// Read-only bits (FC 2).
    Discrete,
    /// Read-only 16-bit registers (FC 4).
    Input,
    /// Read-write 16-bit registers (FC 3, 6, 16).
    Holding,
}

impl Table {
    /// True for the bit tables (coils and discrete inputs).
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::Discrete)
    }

    /// The name used in configs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Coil => "coil",
            Table::Discrete => "discrete",
            Table::Input => "input",
            Table::Holding => "holding",
        }
    }
}

/// How the registers of a point encode its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// One bit of a coil or discrete input: 0.0 or 1.0.
    Bool,
    U16,
    I16,
    U32,
    I32,
    /// IEEE 754 single precision over two registers.
    F32,
}

impl DataType {
    /// Registers (or bits) the type occupies.
    pub fn width(self) -> u16 {
        match self {
            DataType::Bool | DataType::U16 | DataType::I16 => 1,
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
        }
    }

    /// The name used in configs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Bool => "bool",
            DataType::U16 => "u16",
            DataType::I16 => "i16",
            DataType::U32 => "u32",
            DataType::I32 => "i32",
            DataType::F32 => "f32",
        }
    }
}

/// Which register of a 32-bit value comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WordOrder {
    /// High word first (`ABCD`), the Modbus convention.
    #[default]
    Big,
    /// Low word first (`CDAB`), as many PLCs store floats.
    Little,
}

/// The encoding of one point: type, word order, scale and offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encoding {
    pub data: DataType,
    pub word_order: WordOrder,
    pub scale: f64,
    pub offset: f64,
}

impl Encoding {
    /// The engineering value of `words` (one per register, or 0/1 per bit).
    ///
    /// `words` must hold [`DataType::width`] entries; missing words read as zero.
    pub fn decode(&self, words: &[u16]) -> f64 {
        let word = |i: usize| words.get(i).copied().unwrap_or(0);
        let (first, second) = (word(0), word(1));
        let joined = match self.word_order {
            WordOrder::Big => (u32::from(first) << 16) | u32::from(second),
            WordOrder::Little => (u32::from(second) << 16) | u32::from(first),
        };
        let raw = match self.data {
            DataType::Bool => return if first != 0 { 1.0 } else { 0.0 },
            DataType::U16 => f64::from(first),
            DataType::I16 => f64::from(first as i16),
            DataType::U32 => f64::from(joined),
            DataType::I32 => f64::from(joined as i32),
            DataType::F32 => shortest(f32::from_bits(joined)),
        };
        tidy(raw * self.scale + self.offset)
    }

    /// The words that encode `value`, rounded to the nearest step and clamped to the type.
    pub fn encode(&self, value: f64) -> Vec<u16> {
        let raw = (value - self.offset) / self.scale;
        let joined: u32 = match self.data {
            DataType::Bool => return vec![u16::from(value >= 0.5)],
            DataType::U16 => return vec![clamp(raw, 0.0, f64::from(u16::MAX)) as u16],
            DataType::I16 => {
                let r = clamp(raw, f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
                return vec![r as u16];
            }
            DataType::U32 => clamp(raw, 0.0, f64::from(u32::MAX)) as u32,
            DataType::I32 => clamp(raw, f64::from(i32::MIN), f64::from(i32::MAX)) as i32 as u32,
            DataType::F32 => (raw as f32).to_bits(),
        };
        let (high, low) = ((joined >> 16) as u16, joined as u16);
        match self.word_order {
            WordOrder::Big => vec![high, low],
            WordOrder::Little => vec![low, high],
        }
    }
}

/// A float widened without the binary tail: 21.3f32 reads 21.3, not 21.299999237060547.
fn shortest(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::NAN)
}

/// Drops the rounding noise of scaling (0.1 * 3 = 0.30000000000000004) below a nano-unit.
fn tidy(value: f64) -> f64 {
    if value.is_finite() && value.abs() < 1e9 {
        (value * 1e9).round() / 1e9
    } else {
        value
    }
}

/// Rounds and clamps; NaN becomes zero.
fn clamp(raw: f64, min: f64, max: f64) -> f64 {
    if raw.is_nan() {
        return 0.0;
    }
    raw.round().clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoding(data: DataType, word_order: WordOrder, scale: f64) -> Encoding {
        Encoding {
            data,
            word_order,
            scale,
            offset: 0.0,
        }
    }

    #[test]
    fn scaled_signed_sixteen_bits() {
        let e = encoding(DataType::I16, WordOrder::Big, 0.1);
        // -20.3 C in tenths: -203 = 0xFF35 in two's complement.
        assert_eq!(e.encode(-20.3), vec![0xFF35]);
        assert!((e.decode(&[0xFF35]) + 20.3).abs() < 1e-9);
    }

    #[test]
    fn floats_in_both_word_orders() {
        // 21.5 as f32 is 0x41AC_0000.
        let big = encoding(DataType::F32, WordOrder::Big, 1.0);
        let little = encoding(DataType::F32, WordOrder::Little, 1.0);
        assert_eq!(big.encode(21.5), vec![0x41AC, 0x0000]);
        assert_eq!(little.encode(21.5), vec![0x0000, 0x41AC]);
        assert_eq!(big.decode(&[0x41AC, 0]), 21.5);
        // 21.3f32 is 0x41AA_6666; it reads as 21.3, not as its binary expansion
        assert_eq!(big.decode(&[0x41AA, 0x6666]), 21.3);
        assert_eq!(little.decode(&[0, 0x41AC]), 21.5);
    }

    #[test]
    fn thirty_two_bit_integers_with_offset() {
        let e = Encoding {
            data: DataType::I32,
            word_order: WordOrder::Big,
            scale: 0.001,
            offset: 100.0,
        };
        // (130.4 - 100) / 0.001 = 30400 = 0x0000_76C0.
        assert_eq!(e.encode(130.4), vec![0x0000, 0x76C0]);
        assert!((e.decode(&[0x0000, 0x76C0]) - 130.4).abs() < 1e-9);
        assert!((e.decode(&[0xFFFF, 0xFFFF]) - 99.999).abs() < 1e-9);
    }

    #[test]
    fn out_of_range_values_clamp_to_the_type() {
        let e = encoding(DataType::U16, WordOrder::Big, 0.1);
        assert_eq!(e.encode(-5.0), vec![0]);
        assert_eq!(e.encode(1e9), vec![u16::MAX]);
        assert_eq!(e.encode(f64::NAN), vec![0]);
    }

    #[test]
    fn bits_read_as_zero_or_one() {
        let e = encoding(DataType::Bool, WordOrder::Big, 1.0);
        assert_eq!(e.decode(&[1]), 1.0);
        assert_eq!(e.decode(&[0]), 0.0);
        assert_eq!(e.encode(1.0), vec![1]);
    }
}
