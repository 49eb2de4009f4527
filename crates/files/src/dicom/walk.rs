//! A bounded walker over DICOM data elements: explicit or implicit VR, either byte order.
//!
//! It does not build a dataset; it visits each element once, checks every
//! length against the bytes that hold it, caps sequence depth and element
//! count, and hands leaf values to a visitor.

use thiserror::Error;

/// The value length that means "undefined, ends with a delimiter".
pub const UNDEFINED: u32 = 0xFFFF_FFFF;

const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQUENCE_END: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

/// How element headers are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    ExplicitLittle,
    ImplicitLittle,
    ExplicitBig,
}

/// Limits on what one file may make the walker do.
#[derive(Debug, Clone, Copy)]
pub struct WalkLimits {
    /// Sequences nested deeper than this are refused (real data rarely passes 10).
    pub max_depth: usize,
    /// Elements visited per file, items and delimiters included.
    pub max_elements: u64,
}

impl Default for WalkLimits {
    fn default() -> Self {
        WalkLimits {
            max_depth: 64,
            max_elements: 2_000_000,
        }
    }
}

/// Why the walk stopped before the end of the data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WalkError {
    #[error("element header at offset {offset} is cut off by the end of the data")]
    TruncatedHeader { offset: usize },
    #[error(
        "element ({group:04X},{element:04X}) at offset {offset} declares {length} bytes but only {available} remain"
    )]
    LengthOverrun {
        offset: usize,
        group: u16,
        element: u16,
        length: u32,
        available: usize,
    },
    #[error("element ({group:04X},{element:04X}) at offset {offset} has the invalid VR {vr:?}")]
    BadVr {
        offset: usize,
        group: u16,
        element: u16,
        vr: String,
    },
    #[error(
        "element ({group:04X},{element:04X}) at offset {offset} has an undefined length (0xFFFFFFFF), which its VR {vr} does not allow"
    )]
    UndefinedLengthNotAllowed {
        offset: usize,
        group: u16,
        element: u16,
        vr: String,
    },
    #[error("sequences nest deeper than {max} levels at offset {offset}")]
    TooDeep { offset: usize, max: usize },
    #[error("more than {max} elements; the walk stopped at offset {offset}")]
    TooManyElements { offset: usize, max: u64 },
    #[error(
        "element ({group:04X},{element:04X}) at offset {offset} is out of order after ({prev_group:04X},{prev_element:04X})"
    )]
    OutOfOrder {
        offset: usize,
        group: u16,
        element: u16,
        prev_group: u16,
        prev_element: u16,
    },
    #[error(
        "expected an item tag in a sequence at offset {offset}, found ({group:04X},{element:04X})"
    )]
    NotAnItem {
        offset: usize,
        group: u16,
        element: u16,
    },
    #[error("delimiter ({group:04X},{element:04X}) at offset {offset} closes nothing")]
    StrayDelimiter {
        offset: usize,
        group: u16,
        element: u16,
    },
}

impl WalkError {
    /// The byte offset the error points at.
    pub fn offset(&self) -> usize {
        match self {
            WalkError::TruncatedHeader { offset }
            | WalkError::LengthOverrun { offset, .. }
            | WalkError::BadVr { offset, .. }
            | WalkError::UndefinedLengthNotAllowed { offset, .. }
            | WalkError::TooDeep { offset, .. }
            | WalkError::TooManyElements { offset, .. }
            | WalkError::OutOfOrder { offset, .. }
            | WalkError::NotAnItem { offset, .. }
            | WalkError::StrayDelimiter { offset, .. } => *offset,
        }
    }
}

/// One element header as read from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub offset: usize,
    pub tag: (u16, u16),
    /// `None` in implicit VR and for item and delimiter tags.
    pub vr: Option<[u8; 2]>,
    pub length: u32,
    pub value_start: usize,
}

/// Receives every leaf value the walker passes.
pub trait Visitor {
    /// A defined-length value that is not a sequence; `depth` 0 is the top level.
    fn value(&mut self, header: &Header, value: &[u8], depth: usize);
}

/// Walks the elements of a dataset held in `data`, starting at `start`.
pub struct Walker<'a, V: Visitor> {
    data: &'a [u8],
    syntax: Syntax,
    limits: WalkLimits,
    elements: u64,
    visitor: &'a mut V,
}

/// VRs whose explicit header has two reserved bytes and a 32-bit length.
fn has_long_length(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

/// Whether two bytes can be a VR: two uppercase ASCII letters.
pub fn is_vr(vr: [u8; 2]) -> bool {
    vr.iter().all(u8::is_ascii_uppercase)
}

impl<'a, V: Visitor> Walker<'a, V> {
    /// A walker over `data` in the given syntax.
    pub fn new(data: &'a [u8], syntax: Syntax, limits: WalkLimits, visitor: &'a mut V) -> Self {
        Walker {
            data,
            syntax,
            limits,
            elements: 0,
            visitor,
        }
    }

    /// Walks top-level elements from `start` to the end of the data.
    ///
    /// Returns the offset where the walk ended (the end of the data on success).
    pub fn walk_top(&mut self, start: usize) -> Result<usize, WalkError> {
        self.walk_elements(start, Some(self.data.len()), 0)
    }

    fn u16_at(&self, pos: usize) -> Option<u16> {
        let raw = self.data.get(pos..pos.checked_add(2)?)?;
        let raw = [raw[0], raw[1]];
        Some(match self.syntax {
            Syntax::ExplicitBig => u16::from_be_bytes(raw),
            _ => u16::from_le_bytes(raw),
        })
    }

    fn u32_at(&self, pos: usize) -> Option<u32> {
        let raw = self.data.get(pos..pos.checked_add(4)?)?;
        let raw = [raw[0], raw[1], raw[2], raw[3]];
        Some(match self.syntax {
            Syntax::ExplicitBig => u32::from_be_bytes(raw),
            _ => u32::from_le_bytes(raw),
        })
    }

    /// Reads one element header at `pos`.
    pub fn read_header(&self, pos: usize) -> Result<Header, WalkError> {
        let truncated = WalkError::TruncatedHeader { offset: pos };
        let group = self.u16_at(pos).ok_or(truncated.clone())?;
        let element = self.u16_at(pos + 2).ok_or(truncated.clone())?;
        let tag = (group, element);

        // Items and delimiters carry no VR in any syntax.
        if group == 0xFFFE || self.syntax == Syntax::ImplicitLittle {
            let length = self.u32_at(pos + 4).ok_or(truncated)?;
            return Ok(Header {
                offset: pos,
                tag,
                vr: None,
                length,
                value_start: pos + 8,
            });
        }

        let vr_bytes = self.data.get(pos + 4..pos + 6).ok_or(truncated.clone())?;
        let vr = [vr_bytes[0], vr_bytes[1]];
        if !is_vr(vr) {
            return Err(WalkError::BadVr {
                offset: pos,
                group,
                element,
                vr: String::from_utf8_lossy(&vr).into_owned(),
            });
        }
        if has_long_length(vr) {
            let length = self.u32_at(pos + 8).ok_or(truncated)?;
            Ok(Header {
                offset: pos,
                tag,
                vr: Some(vr),
                length,
                value_start: pos + 12,
            })
        } else {
            let length = u32::from(self.u16_at(pos + 6).ok_or(truncated)?);
            Ok(Header {
                offset: pos,
                tag,
                vr: Some(vr),
                length,
                value_start: pos + 8,
            })
        }
    }

    /// Counts one element against the cap.
    fn count(&mut self, offset: usize) -> Result<(), WalkError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(WalkError::TooManyElements {
                offset,
                max: self.limits.max_elements,
            });
        }
        Ok(())
    }

    /// Walks elements up to `end`, or up to an item delimiter when `end` is `None`.
    ///
    /// Returns the offset just after the last element (or after the delimiter).
    fn walk_elements(
        &mut self,
        start: usize,
        end: Option<usize>,
        depth: usize,
    ) -> Result<usize, WalkError> {
        let mut pos = start;
        let mut previous: Option<(u16, u16)> = None;

        loop {
            if end.is_some_and(|end| pos >= end) {
                return Ok(pos);
            }
            let header = self.read_header(pos)?;
            self.count(pos)?;

            // Delimiters: an item delimiter ends an undefined-length item.
            if header.tag == ITEM_END && end.is_none() {
                return Ok(header.value_start);
            }
            if header.tag.0 == 0xFFFE {
                let (group, element) = header.tag;
                return Err(WalkError::StrayDelimiter {
                    offset: pos,
                    group,
                    element,
                });
            }

            // Tags ascend within a dataset; a step back marks foreign data.
            // (A repeated tag is tolerated: real writers emit duplicates.)
            if let Some(prev) = previous.filter(|&prev| header.tag < prev) {
                return Err(WalkError::OutOfOrder {
                    offset: pos,
                    group: header.tag.0,
                    element: header.tag.1,
                    prev_group: prev.0,
                    prev_element: prev.1,
                });
            }
            previous = Some(header.tag);

            pos = self.walk_value(&header, end.unwrap_or(self.data.len()), depth)?;
        }
    }

    /// Walks or hands over the value of one element; returns the offset after it.
    fn walk_value(
        &mut self,
        header: &Header,
        end: usize,
        depth: usize,
    ) -> Result<usize, WalkError> {
        let vr = header.vr;
        let undefined = header.length == UNDEFINED;

        // Encapsulated pixel data: fragments, in implicit VR too.
        let pixel_vr = vr.is_none() || matches!(vr, Some(v) if &v == b"OB" || &v == b"OW");
        if undefined && header.tag == PIXEL_DATA && pixel_vr {
            return self.walk_fragments(header.value_start);
        }
        if vr == Some(*b"SQ") || (vr.is_none() && undefined) {
            return self.walk_sequence(header, end, depth + 1);
        }
        if undefined && vr == Some(*b"UN") {
            // An undefined-length UN holds an implicit VR little endian sequence.
            let saved = self.syntax;
            self.syntax = Syntax::ImplicitLittle;
            let result = self.walk_sequence(header, end, depth + 1);
            self.syntax = saved;
            return result;
        }
        if undefined {
            let vr = vr
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default();
            return Err(WalkError::UndefinedLengthNotAllowed {
                offset: header.offset,
                group: header.tag.0,
                element: header.tag.1,
                vr,
            });
        }

        let value = self.defined_value(header, end)?;
        self.visitor.value(header, value, depth);
        Ok(header.value_start + value.len())
    }

    /// The value bytes of a defined-length element, checked against `end`.
    fn defined_value(&self, header: &Header, end: usize) -> Result<&'a [u8], WalkError> {
        let available = end.saturating_sub(header.value_start);
        let length = header.length as usize;
        if length > available {
            return Err(WalkError::LengthOverrun {
                offset: header.offset,
                group: header.tag.0,
                element: header.tag.1,
                length: header.length,
                available,
            });
        }
        let data: &'a [u8] = self.data;
        Ok(&data[header.value_start..header.value_start + length])
    }

    /// Walks the items of a sequence nested at `depth`.
    fn walk_sequence(
        &mut self,
        header: &Header,
        end: usize,
        depth: usize,
    ) -> Result<usize, WalkError> {
        if depth > self.limits.max_depth {
            return Err(WalkError::TooDeep {
                offset: header.offset,
                max: self.limits.max_depth,
            });
        }
        let seq_end = if header.length == UNDEFINED {
            None
        } else {
            Some(header.value_start + self.defined_value(header, end)?.len())
        };

        let mut pos = header.value_start;
        loop {
            if seq_end.is_some_and(|seq_end| pos >= seq_end) {
                return Ok(pos);
            }
            let item = self.read_header(pos)?;
            self.count(pos)?;
            if item.tag == SEQUENCE_END && seq_end.is_none() {
                return Ok(item.value_start);
            }
            if item.tag != ITEM {
                return Err(WalkError::NotAnItem {
                    offset: pos,
                    group: item.tag.0,
                    element: item.tag.1,
                });
            }
            pos = if item.length == UNDEFINED {
                self.walk_elements(item.value_start, None, depth)?
            } else {
                let bound = seq_end.unwrap_or(end);
                let body = self.defined_value(&item, bound)?;
                let item_end = item.value_start + body.len();
                self.walk_elements(item.value_start, Some(item_end), depth)?
            };
        }
    }

    /// Walks the fragments of encapsulated pixel data up to the sequence delimiter.
    fn walk_fragments(&mut self, start: usize) -> Result<usize, WalkError> {
        let mut pos = start;
        loop {
            let item = self.read_header(pos)?;
            self.count(pos)?;
            if item.tag == SEQUENCE_END {
                return Ok(item.value_start);
            }
            if item.tag != ITEM {
                return Err(WalkError::NotAnItem {
                    offset: pos,
                    group: item.tag.0,
                    element: item.tag.1,
                });
            }
            let fragment = self.defined_value(&item, self.data.len())?;
            self.visitor.value(&item, fragment, 1);
            pos = item.value_start + fragment.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Values(Vec<((u16, u16), Vec<u8>, usize)>);

    impl Visitor for Values {
        fn value(&mut self, header: &Header, value: &[u8], depth: usize) {
            self.0.push((header.tag, value.to_vec(), depth));
        }
    }

    fn walk(data: &[u8], syntax: Syntax) -> (Result<usize, WalkError>, Values) {
        let mut values = Values(Vec::new());
        let result = Walker::new(data, syntax, WalkLimits::default(), &mut values).walk_top(0);
        (result, values)
    }

    #[test]
    fn explicit_little_endian_short_and_long_lengths() {
        let data = [
            0x08, 0x00, 0x60, 0x00, b'C', b'S', 0x02, 0x00, b'C', b'T', // (0008,0060) CS "CT"
            0x09, 0x00, 0x10, 0x10, b'O', b'B', 0, 0, 0x02, 0, 0, 0, 0xAB,
            0xCD, // (0009,1010) OB
        ];
        let (result, values) = walk(&data, Syntax::ExplicitLittle);
        assert_eq!(result, Ok(data.len()));
        assert_eq!(values.0[0], ((0x0008, 0x0060), b"CT".to_vec(), 0));
        assert_eq!(values.0[1], ((0x0009, 0x1010), vec![0xAB, 0xCD], 0));
    }

    #[test]
    fn implicit_undefined_sequence_with_one_item() {
        let data = [
            0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, // (0008,1115) SQ, undefined
            0xFE, 0xFF, 0x00, 0xE0, 0x0A, 0x00, 0x00, 0x00, // item, 10 bytes
            0x08, 0x00, 0x50, 0x11, 0x02, 0x00, 0x00, 0x00, b'1', 0x00, // (0008,1150) "1"
            0xFE, 0xFF, 0xDD, 0xE0, 0x00, 0x00, 0x00, 0x00, // sequence delimiter
        ];
        let (result, values) = walk(&data, Syntax::ImplicitLittle);
        assert_eq!(result, Ok(data.len()));
        assert_eq!(values.0, vec![((0x0008, 0x1150), b"1\0".to_vec(), 1)]);
    }

    #[test]
    fn big_endian_lengths_are_read_big_endian() {
        let data = [0x00, 0x08, 0x00, 0x60, b'C', b'S', 0x00, 0x02, b'M', b'R'];
        let (result, values) = walk(&data, Syntax::ExplicitBig);
        assert_eq!(result, Ok(data.len()));
        assert_eq!(values.0[0].1, b"MR".to_vec());
    }

    #[test]
    fn short_reads_and_bad_vrs_are_typed_errors() {
        let cut = [0x08, 0x00, 0x60, 0x00, b'C', b'S', 0x04, 0x00, b'C'];
        assert!(matches!(
            walk(&cut, Syntax::ExplicitLittle).0,
            Err(WalkError::LengthOverrun { .. })
        ));
        assert_eq!(
            walk(&cut[..5], Syntax::ExplicitLittle).0,
            Err(WalkError::TruncatedHeader { offset: 0 })
        );
        let bad_vr = [0x08, 0x00, 0x60, 0x00, b'c', b'1', 0x00, 0x00];
        assert!(matches!(
            walk(&bad_vr, Syntax::ExplicitLittle).0,
            Err(WalkError::BadVr { .. })
        ));
    }

    #[test]
    fn tags_going_backwards_are_out_of_order() {
        let data = [
            0x08, 0x00, 0x60, 0x00, b'C', b'S', 0x02, 0x00, b'C', b'T', // (0008,0060)
            0x08, 0x00, 0x20, 0x00, b'D', b'A', 0x00, 0x00, // (0008,0020) after it
        ];
        let (result, _) = walk(&data, Syntax::ExplicitLittle);
        assert!(matches!(
            result,
            Err(WalkError::OutOfOrder { offset: 10, .. })
        ));
    }

    #[test]
    fn the_element_cap_stops_the_walk() {
        let element = [0x09, 0x00, 0x10, 0x00, b'L', b'O', 0x00, 0x00];
        let mut data = Vec::new();
        for _ in 0..100 {
            data.extend_from_slice(&element);
        }
        let mut values = Values(Vec::new());
        let limits = WalkLimits {
            max_depth: 4,
            max_elements: 10,
        };
        let result = Walker::new(&data, Syntax::ExplicitLittle, limits, &mut values).walk_top(0);
        assert!(matches!(
            result,
            Err(WalkError::TooManyElements { max: 10, .. })
        ));
    }
}
