//! Reading pcap and pcapng files record by record, with every length checked.
//!
//! [`CaptureReader::next_packet`] hands out one packet at a time, borrowed from a
//! buffer the reader reuses, so memory stays flat whatever the file size. A record
//! that cannot be read is a [`ReadError`] naming the packet index (1-based, as
//! Wireshark numbers frames); the caller logs or counts it and calls again. When the
//! file cannot be read any further the reader says so once and then reports the end.

mod pcap;
mod pcapng;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::time::Timestamp;

/// The largest packet the reader accepts; larger claims are treated as corruption.
pub const MAX_PACKET_BYTES: u32 = 256 * 1024;

/// The largest pcapng block the reader buffers; larger non-packet blocks are skipped.
pub const MAX_BLOCK_BYTES: u32 = 16 * 1024 * 1024;

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in host order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II, with or without VLAN tags.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IPv4 or IPv6, the version read from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: a 4-byte address family in network order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any`).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4 only.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6 only.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// Some systems write raw IP as DLT 12 or 14.
    pub const RAW_ALT_12: LinkType = LinkType(12);
    /// Raw IP as written by some BSDs.
    pub const RAW_ALT_14: LinkType = LinkType(14);
}

/// One captured packet as stored in the file, before decoding.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// 1-based position among the file's packet records.
    pub index: u64,
    /// When the packet was captured.
    pub ts: Timestamp,
    /// How to decode `data`.
    pub link: LinkType,
    /// The captured bytes; shorter than `orig_len` when the snap length cut the packet.
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

impl RawPacket<'_> {
    /// Whether the capture kept fewer bytes than the packet had on the wire.
    pub fn is_cut(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// Why a record could not be read. Every variant names the packet index.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The underlying file could not be read.
    #[error("packet {index}: could not read the capture file: {source}")]
    Io {
        /// 1-based packet index.
        index: u64,
        #[source]
        /// The operating system error.
        source: io::Error,
    },
    /// The file starts with neither a pcap nor a pcapng magic number.
    #[error(
        "not a pcap or pcapng file (first bytes {magic:#010x}); give a capture written by \
         tcpdump, Wireshark or dumpcap"
    )]
    UnknownFormat {
        /// The first four bytes, big-endian.
        magic: u32,
    },
    /// The file ends inside a header or a record.
    #[error(
        "packet {index}: the file ends inside a record at byte {offset} (truncated capture); \
         the packets before it were read"
    )]
    Truncated {
        /// 1-based packet index.
        index: u64,
        /// Byte offset of the record in the file.
        offset: u64,
    },
    /// A length field claims more than is possible; the rest of the file cannot be trusted.
    #[error(
        "packet {index}: the record at byte {offset} claims {claimed} bytes, over the limit of \
         {limit}; the file is corrupt from there on"
    )]
    LyingLength {
        /// 1-based packet index.
        index: u64,
        /// Byte offset of the record in the file.
        offset: u64,
        /// The length the field claims.
        claimed: u64,
        /// The largest length accepted.
        limit: u64,
    },
    /// A section or block header that cannot be understood; the rest of the file is lost.
    #[error(
        "packet {index}: corrupt block at byte {offset}: {reason}; the rest of the file is lost"
    )]
    Corrupt {
        /// 1-based packet index.
        index: u64,
        /// Byte offset of the record in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A record that is well framed but inconsistent inside; it was skipped.
    #[error("packet {index}: malformed record at byte {offset}: {reason}; skipped it")]
    Malformed {
        /// 1-based packet index.
        index: u64,
        /// Byte offset of the record in the file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

impl ReadError {
    /// The 1-based packet index the error is about (0 for the file header).
    pub fn index(&self) -> u64 {
        match self {
            ReadError::Io { index, .. }
            | ReadError::Truncated { index, .. }
            | ReadError::LyingLength { index, .. }
            | ReadError::Corrupt { index, .. }
            | ReadError::Malformed { index, .. } => *index,
            ReadError::UnknownFormat { .. } => 0,
        }
    }

    /// Whether reading can go on after this error.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, ReadError::Malformed { .. })
    }
}

/// A pcap or pcapng file, read one packet at a time.
pub struct CaptureReader<R: Read> {
    format: Format<R>,
    finished: bool,
}

enum Format<R: Read> {
    Pcap(pcap::PcapReader<R>),
    Pcapng(pcapng::PcapngReader<R>),
}

impl CaptureReader<BufReader<File>> {
    /// Opens a capture file and reads its header.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let file = File::open(path).map_err(|source| ReadError::Io { index: 0, source })?;
        CaptureReader::new(BufReader::with_capacity(1 << 20, file))
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `input` and prepares to read packets.
    pub fn new(mut input: R) -> Result<Self, ReadError> {
        let mut magic = [0u8; 4];
        let got = ByteSource::fill(&mut input, &mut magic)
            .map_err(|source| ReadError::Io { index: 0, source })?;
        if got < magic.len() {
            return Err(ReadError::Truncated {
                index: 0,
                offset: got as u64,
            });
        }

        let format = if pcapng::is_magic(magic) {
            Format::Pcapng(pcapng::PcapngReader::new(input, magic)?)
        } else if pcap::is_magic(magic) {
            Format::Pcap(pcap::PcapReader::new(input, magic)?)
        } else {
            return Err(ReadError::UnknownFormat {
                magic: u32::from_be_bytes(magic),
            });
        };
        Ok(CaptureReader {
            format,
            finished: false,
        })
    }

    /// The next packet, `Ok(None)` at the end of the file.
    ///
    /// After an error that is not [recoverable](ReadError::is_recoverable) the next
    /// call returns `Ok(None)`.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        let result = match &mut self.format {
            Format::Pcap(reader) => reader.next_packet(),
            Format::Pcapng(reader) => reader.next_packet(),
        };
        match result {
            Ok(None) => {
                self.finished = true;
                Ok(None)
            }
            Err(err) => {
                if !err.is_recoverable() {
                    self.finished = true;
                }
                Err(err)
            }
            Ok(Some(packet)) => Ok(Some(packet)),
        }
    }

    /// Bytes consumed from the input so far, for progress reports.
    pub fn position(&self) -> u64 {
        match &self.format {
            Format::Pcap(reader) => reader.position(),
            Format::Pcapng(reader) => reader.position(),
        }
    }
}

/// A reader that counts the bytes it consumed.
struct ByteSource<R: Read> {
    input: R,
    position: u64,
}

impl<R: Read> ByteSource<R> {
    fn new(input: R, position: u64) -> Self {
        ByteSource { input, position }
    }

    /// Reads until `buf` is full or the input ends; returns how much was read.
    fn fill(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match input.read(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
        Ok(done)
    }

    /// Reads exactly `buf.len()` bytes. `Ok(false)` when the input ended before the
    /// first byte, a `Truncated` error when it ended in the middle.
    fn read_exact_or_eof(&mut self, buf: &mut [u8], index: u64) -> Result<bool, ReadError> {
        let start = self.position;
        let got =
            Self::fill(&mut self.input, buf).map_err(|source| ReadError::Io { index, source })?;
        self.position += got as u64;
        match got {
            0 if !buf.is_empty() => Ok(false),
            n if n == buf.len() => Ok(true),
            _ => Err(ReadError::Truncated {
                index,
                offset: start,
            }),
        }
    }

    /// Reads exactly `buf.len()` bytes; the end of input is a `Truncated` error.
    fn read_exact(&mut self, buf: &mut [u8], index: u64) -> Result<(), ReadError> {
        let start = self.position;
        if self.read_exact_or_eof(buf, index)? || buf.is_empty() {
            return Ok(());
        }
        Err(ReadError::Truncated {
            index,
            offset: start,
        })
    }

    /// Skips `count` bytes without buffering them.
    fn skip(&mut self, count: u64, index: u64) -> Result<(), ReadError> {
        let start = self.position;
        let copied = io::copy(&mut (&mut self.input).take(count), &mut io::sink())
            .map_err(|source| ReadError::Io { index, source })?;
        self.position += copied;
        if copied < count {
            return Err(ReadError::Truncated {
                index,
                offset: start,
            });
        }
        Ok(())
    }
}

/// Reads a u16 or u32 in the byte order a file declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        }
    }

    /// The u32 at `at` in `buf`, `None` past the end.
    fn u32_at(self, buf: &[u8], at: usize) -> Option<u32> {
        let bytes = buf.get(at..at.checked_add(4)?)?;
        Some(self.u32(bytes.try_into().ok()?))
    }

    /// The u16 at `at` in `buf`, `None` past the end.
    fn u16_at(self, buf: &[u8], at: usize) -> Option<u16> {
        let bytes = buf.get(at..at.checked_add(2)?)?;
        Some(self.u16(bytes.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests;
