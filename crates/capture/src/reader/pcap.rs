//! The classic libpcap format: a 24-byte file header, then 16-byte record headers.

use std::io::Read;

use super::{ByteSource, Endian, LinkType, MAX_PACKET_BYTES, RawPacket, ReadError};
use crate::time::Timestamp;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Whether the first four bytes are a classic pcap magic number, in either byte order.
pub(super) fn is_magic(magic: [u8; 4]) -> bool {
    header_format(magic).is_some()
}

/// The byte order and timestamp resolution the magic number declares.
fn header_format(magic: [u8; 4]) -> Option<(Endian, bool)> {
    for endian in [Endian::Little, Endian::Big] {
        match endian.u32(magic) {
            MAGIC_MICROS => return Some((endian, false)),
            MAGIC_NANOS => return Some((endian, true)),
            _ => {}
        }
    }
    None
}

pub(super) struct PcapReader<R: Read> {
    source: ByteSource<R>,
    endian: Endian,
    nanos: bool,
    link: LinkType,
    index: u64,
    buf: Vec<u8>,
}

impl<R: Read> PcapReader<R> {
    /// Reads the rest of the file header after its magic number.
    pub(super) fn new(input: R, magic: [u8; 4]) -> Result<Self, ReadError> {
        let mut source = ByteSource::new(input, 4);
        let Some((endian, nanos)) = header_format(magic) else {
            return Err(ReadError::UnknownFormat {
                magic: u32::from_be_bytes(magic),
            });
        };

        // version (2+2), thiszone, sigfigs, snaplen, then the link type.
        let mut rest = [0u8; 20];
        source.read_exact(&mut rest, 0)?;
        let raw_link = endian.u32_at(&rest, 16).unwrap_or(0);

        // The top bits may carry FCS information; the link type is the low 16 bits.
        let link = LinkType(raw_link & 0xffff);
        Ok(PcapReader {
            source,
            endian,
            nanos,
            link,
            index: 0,
            buf: Vec::new(),
        })
    }

    pub(super) fn position(&self) -> u64 {
        self.source.position
    }

    pub(super) fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, ReadError> {
        let index = self.index + 1;
        let offset = self.source.position;

        // 1. The record header; a clean end of file ends the capture.
        let mut header = [0u8; 16];
        if !self.source.read_exact_or_eof(&mut header, index)? {
            return Ok(None);
        }
        self.index = index;
        let field = |at: usize| self.endian.u32_at(&header, at).unwrap_or(0);
        let (ts_secs, ts_frac, caplen, orig_len) = (field(0), field(4), field(8), field(12));

        // 2. A captured length over the limit means the framing is lost for good.
        if caplen > MAX_PACKET_BYTES {
            return Err(ReadError::LyingLength {
                index,
                offset,
                claimed: u64::from(caplen),
                limit: u64::from(MAX_PACKET_BYTES),
            });
        }

        // 3. The packet bytes.
        self.buf.resize(caplen as usize, 0);
        self.source.read_exact(&mut self.buf, index)?;

        // 4. Inconsistencies that keep the framing intact skip only this record.
        if caplen > orig_len {
            return Err(ReadError::Malformed {
                index,
                offset,
                reason: format!("captured length {caplen} exceeds original length {orig_len}"),
            });
        }
        let frac_limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        if ts_frac >= frac_limit {
            return Err(ReadError::Malformed {
                index,
                offset,
                reason: format!("timestamp fraction {ts_frac} is out of range"),
            });
        }

        let nanos = if self.nanos { ts_frac } else { ts_frac * 1000 };
        Ok(Some(RawPacket {
            index,
            ts: Timestamp::from_parts(u64::from(ts_secs), nanos),
            link: self.link,
            data: &self.buf,
            orig_len,
        }))
    }
}
