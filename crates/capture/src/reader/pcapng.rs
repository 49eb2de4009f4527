//! The pcapng format: typed blocks, each framed by its total length at both ends.
//!
//! Section headers set the byte order, interface description blocks the link type and
//! timestamp resolution; enhanced, simple and obsolete packet blocks carry packets.
//! Other blocks are skipped without being buffered.

use std::io::Read;

use super::{
    ByteSource, Endian, LinkType, MAX_BLOCK_BYTES, MAX_PACKET_BYTES, RawPacket, ReadError,
};
use crate::time::Timestamp;

const SECTION_HEADER: u32 = 0x0a0d_0d0a;
const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Interfaces one section may declare before the file is considered hostile.
const MAX_INTERFACES: usize = 4096;

/// Whether the first four bytes are a pcapng section header block type.
pub(super) fn is_magic(magic: [u8; 4]) -> bool {
    u32::from_le_bytes(magic) == SECTION_HEADER
}

/// How an interface counts time.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// `if_tsresol`: the high bit selects a power of two, otherwise a power of ten.
    tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    tsoffset: i64,
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = (u64::from(high) << 32) | u64::from(low);
        let exponent = u32::from(self.tsresol & 0x7f);
        let nanos = if self.tsresol & 0x80 != 0 {
            ((u128::from(units) * 1_000_000_000) >> exponent) as u64
        } else if exponent <= 9 {
            units.saturating_mul(10u64.pow(9 - exponent))
        } else {
            10u64.checked_pow(exponent - 9).map_or(0, |div| units / div)
        };
        let offset = self.tsoffset.saturating_mul(1_000_000_000);
        Timestamp(nanos.saturating_add_signed(offset))
    }
}

/// Where a packet sits in the block buffer and what the block said of it.
struct Located {
    start: usize,
    len: usize,
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
}

pub(super) struct PcapngReader<R: Read> {
    source: ByteSource<R>,
    endian: Endian,
    interfaces: Vec<Interface>,
    /// The block type already read by format detection.
    pending_type: Option<u32>,
    index: u64,
    buf: Vec<u8>,
}

impl<R: Read> PcapngReader<R> {
    pub(super) fn new(input: R, magic: [u8; 4]) -> Result<Self, ReadError> {
        let mut reader = PcapngReader {
            source: ByteSource::new(input, 4),
            endian: Endian::Little,
            interfaces: Vec::new(),
            pending_type: Some(u32::from_le_bytes(magic)),
            index: 0,
            buf: Vec::new(),
        };
        // Read the first section header now, so a bad header fails at open time.
        reader.read_section_header(0)?;
        reader.pending_type = None;
        Ok(reader)
    }

    pub(super) fn position(&self) -> u64 {
        self.source.position
    }

    pub(super) fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, ReadError> {
        loop {
            let Some(located) = self.next_block()? else {
                continue;
            };
            if located.start == usize::MAX {
                return Ok(None);
            }
            let data = self
                .buf
                .get(located.start..located.start + located.len)
                .unwrap_or_default();
            return Ok(Some(RawPacket {
                index: self.index,
                ts: located.ts,
                link: located.link,
                data,
                orig_len: located.orig_len,
            }));
        }
    }

    /// Reads one block. `Ok(None)` for a block that carries no packet; a `Located`
    /// with `start == usize::MAX` at the end of the file.
    fn next_block(&mut self) -> Result<Option<Located>, ReadError> {
        let offset = self.source.position;

        // 1. The block type; a clean end of file here ends the capture.
        let mut type_bytes = [0u8; 4];
        if !self
            .source
            .read_exact_or_eof(&mut type_bytes, self.index + 1)?
        {
            return Ok(Some(Located {
                start: usize::MAX,
                len: 0,
                ts: Timestamp(0),
                link: LinkType(0),
                orig_len: 0,
            }));
        }
        let block_type = self.endian.u32(type_bytes);
        if u32::from_le_bytes(type_bytes) == SECTION_HEADER {
            self.read_section_header(offset)?;
            return Ok(None);
        }

        // 2. The length, checked before anything is buffered.
        let is_packet = matches!(
            block_type,
            ENHANCED_PACKET | SIMPLE_PACKET | OBSOLETE_PACKET
        );
        let index = if is_packet {
            self.index + 1
        } else {
            self.index
        };
        if is_packet {
            self.index = index;
        }
        let body_len = self.read_block_length(offset, index, 8)?;

        // 3. Blocks we do not use are skipped without buffering.
        if !is_packet && block_type != INTERFACE_DESCRIPTION {
            self.source.skip(u64::from(body_len), index)?;
            self.check_trailer(offset, index, body_len + 12)?;
            return Ok(None);
        }
        self.buf.resize(body_len as usize, 0);
        self.source.read_exact(&mut self.buf, index)?;
        self.check_trailer(offset, index, body_len + 12)?;

        // 4. Interpret the body.
        match block_type {
            INTERFACE_DESCRIPTION => {
                self.add_interface(offset, index)?;
                Ok(None)
            }
            _ => self.locate_packet(block_type, offset, index).map(Some),
        }
    }

    /// Reads a section header block whose type is already consumed; sets the byte order
    /// and forgets the previous section's interfaces.
    fn read_section_header(&mut self, offset: u64) -> Result<(), ReadError> {
        let index = self.index;
        let mut head = [0u8; 8];
        self.source.read_exact(&mut head, index)?;
        let [l0, l1, l2, l3, m0, m1, m2, m3] = head;

        self.endian = match [m0, m1, m2, m3] {
            m if u32::from_le_bytes(m) == BYTE_ORDER_MAGIC => Endian::Little,
            m if u32::from_be_bytes(m) == BYTE_ORDER_MAGIC => Endian::Big,
            m => {
                return Err(ReadError::Corrupt {
                    index,
                    offset,
                    reason: format!(
                        "section header has byte-order magic {:#010x}, not 0x1a2b3c4d",
                        u32::from_be_bytes(m)
                    ),
                });
            }
        };
        let total = self.endian.u32([l0, l1, l2, l3]);
        if !(28..=MAX_BLOCK_BYTES).contains(&total) {
            return Err(ReadError::LyingLength {
                index,
                offset,
                claimed: u64::from(total),
                limit: u64::from(MAX_BLOCK_BYTES),
            });
        }

        // Version, section length and options are not needed: skip to the trailer.
        self.source.skip(u64::from(total - 16), index)?;
        self.check_trailer(offset, index, total)?;
        self.interfaces.clear();
        Ok(())
    }

    /// Reads the block's total length and returns the body length, `already` being the
    /// bytes of header read so far (type and length).
    fn read_block_length(
        &mut self,
        offset: u64,
        index: u64,
        already: u32,
    ) -> Result<u32, ReadError> {
        let mut len_bytes = [0u8; 4];
        self.source.read_exact(&mut len_bytes, index)?;
        let total = self.endian.u32(len_bytes);
        if !(12..=MAX_BLOCK_BYTES).contains(&total) {
            return Err(ReadError::LyingLength {
                index,
                offset,
                claimed: u64::from(total),
                limit: u64::from(MAX_BLOCK_BYTES),
            });
        }
        Ok(total - already - 4)
    }

    /// Reads the trailing copy of the total length and compares it with the leading one.
    fn check_trailer(&mut self, offset: u64, index: u64, total: u32) -> Result<(), ReadError> {
        let mut trailer = [0u8; 4];
        self.source.read_exact(&mut trailer, index)?;
        let trailing = self.endian.u32(trailer);
        if trailing != total {
            return Err(ReadError::Corrupt {
                index,
                offset,
                reason: format!("block length {total} at the start but {trailing} at the end"),
            });
        }
        Ok(())
    }

    /// Records an interface description block held in `buf`.
    fn add_interface(&mut self, offset: u64, index: u64) -> Result<(), ReadError> {
        let malformed = |reason: &str| ReadError::Malformed {
            index,
            offset,
            reason: reason.to_string(),
        };
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(malformed(
                "too many interface description blocks in one section",
            ));
        }
        let link = self
            .endian
            .u16_at(&self.buf, 0)
            .ok_or_else(|| malformed("interface description block is shorter than 8 bytes"))?;

        let mut interface = Interface {
            link: LinkType(u32::from(link)),
            tsresol: 6,
            tsoffset: 0,
        };
        self.read_interface_options(&mut interface);
        self.interfaces.push(interface);
        Ok(())
    }

    /// Reads `if_tsresol` and `if_tsoffset` from the options after the fixed 8 bytes;
    /// a malformed option list keeps the defaults.
    fn read_interface_options(&self, interface: &mut Interface) {
        let mut at = 8usize;
        while let (Some(code), Some(len)) = (
            self.endian.u16_at(&self.buf, at),
            self.endian.u16_at(&self.buf, at + 2),
        ) {
            let value_at = at + 4;
            let Some(value) = self.buf.get(value_at..value_at + usize::from(len)) else {
                return;
            };
            match (code, value) {
                (0, _) => return,
                (9, [resol]) => interface.tsresol = *resol,
                (14, bytes) if bytes.len() == 8 => {
                    let raw = self.endian.u32_at(bytes, 0).unwrap_or(0);
                    let raw_hi = self.endian.u32_at(bytes, 4).unwrap_or(0);
                    let (lo, hi) = match self.endian {
                        Endian::Little => (raw, raw_hi),
                        Endian::Big => (raw_hi, raw),
                    };
                    interface.tsoffset = ((u64::from(hi) << 32) | u64::from(lo)) as i64;
                }
                _ => {}
            }
            at = value_at + usize::from(len).next_multiple_of(4);
        }
    }

    /// Finds the packet inside a packet block held in `buf`.
    fn locate_packet(&self, kind: u32, offset: u64, index: u64) -> Result<Located, ReadError> {
        let malformed = |reason: String| ReadError::Malformed {
            index,
            offset,
            reason,
        };
        let u32_at = |at| self.endian.u32_at(&self.buf, at);
        let body = self.buf.len();

        // Fixed fields: (interface id, ts high, ts low, caplen, origlen, data start).
        let fields = match kind {
            ENHANCED_PACKET => u32_at(0)
                .zip(u32_at(4))
                .zip(u32_at(8))
                .zip(u32_at(12))
                .zip(u32_at(16))
                .map(|((((id, hi), lo), cap), orig)| (id, hi, lo, cap, orig, 20usize)),
            OBSOLETE_PACKET => self
                .endian
                .u16_at(&self.buf, 0)
                .zip(u32_at(4))
                .zip(u32_at(8))
                .zip(u32_at(12))
                .zip(u32_at(16))
                .map(|((((id, hi), lo), cap), orig)| (u32::from(id), hi, lo, cap, orig, 20usize)),
            _ => u32_at(0).map(|orig| {
                let cap = orig.min(body.saturating_sub(4) as u32);
                (0, 0, 0, cap, orig, 4usize)
            }),
        };
        let Some((if_id, hi, lo, caplen, orig_len, start)) = fields else {
            return Err(malformed(format!(
                "packet block body of {body} bytes is too short"
            )));
        };

        // Lengths and the interface must agree with the block.
        if caplen > MAX_PACKET_BYTES || start + caplen as usize > body {
            return Err(malformed(format!(
                "captured length {caplen} runs past the block body of {body} bytes"
            )));
        }
        let Some(interface) = self.interfaces.get(if_id as usize) else {
            return Err(malformed(format!(
                "interface {if_id} was not declared by an interface description block"
            )));
        };
        let ts = if kind == SIMPLE_PACKET {
            Timestamp(0)
        } else {
            interface.timestamp(hi, lo)
        };
        Ok(Located {
            start,
            len: caplen as usize,
            ts,
            link: interface.link,
            orig_len: orig_len.max(caplen),
        })
    }
}
