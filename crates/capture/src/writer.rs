//! Writing pcap and pcapng files, for generated test captures and benchmarks.

use std::io::{self, Write};

use crate::reader::LinkType;
use crate::time::Timestamp;

/// Writes a classic pcap file with nanosecond timestamps, little-endian.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for packets of `link` type, snap length 256 KiB.
    pub fn new(mut out: W, link: LinkType) -> io::Result<Self> {
        out.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&(256 * 1024u32).to_le_bytes())?;
        out.write_all(&link.0.to_le_bytes())?;
        Ok(PcapWriter { out })
    }

    /// Appends one whole packet.
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        self.write_cut_packet(ts, data, data.len() as u32)
    }

    /// Appends a packet whose wire length `orig_len` may exceed the bytes kept.
    pub fn write_cut_packet(
        &mut self,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        self.out.write_all(&(ts.secs() as u32).to_le_bytes())?;
        self.out.write_all(&ts.subsec_nanos().to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out.write_all(&orig_len.to_le_bytes())?;
        self.out.write_all(data)
    }

    /// Flushes and returns the destination.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes a pcapng file: one section, interfaces added on demand, enhanced packet blocks
/// with nanosecond timestamps.
pub struct PcapngWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header block.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        write_block(&mut out, 0x0a0d_0d0a, &body)?;
        Ok(PcapngWriter { out })
    }

    /// Declares the next interface (ids count from 0) with nanosecond timestamps.
    pub fn add_interface(&mut self, link: LinkType) -> io::Result<()> {
        let mut body = Vec::new();
        body.extend_from_slice(&(link.0 as u16).to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(256 * 1024u32).to_le_bytes());
        // if_tsresol = 9 (nanoseconds), then the end of options.
        body.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        write_block(&mut self.out, 1, &body)
    }

    /// Appends an enhanced packet block on interface `if_id`.
    pub fn write_packet(&mut self, if_id: u32, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let mut body = Vec::with_capacity(data.len() + 24);
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((ts.0 >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts.0 as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        write_block(&mut self.out, 6, &body)
    }

    /// Appends a block of any type with a raw body (padded to 4 bytes), for tests of
    /// unusual files.
    pub fn write_raw_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let mut padded = body.to_vec();
        padded.resize(body.len().next_multiple_of(4), 0);
        write_block(&mut self.out, block_type, &padded)
    }

    /// Flushes and returns the destination.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_block<W: Write>(out: &mut W, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = (body.len() + 12) as u32;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}
