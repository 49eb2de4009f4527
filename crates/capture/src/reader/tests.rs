use super::*;
use crate::writer::{PcapWriter, PcapngWriter};

fn read_all(bytes: &[u8]) -> (Vec<(u64, Vec<u8>)>, Vec<ReadError>) {
    let mut reader = CaptureReader::new(bytes).expect("header");
    let (mut packets, mut errors) = (Vec::new(), Vec::new());
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => packets.push((p.index, p.data.to_vec())),
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
    }
    (packets, errors)
}

fn pcap_of(packets: &[&[u8]]) -> Vec<u8> {
    let mut writer = PcapWriter::new(Vec::new(), LinkType::ETHERNET).unwrap();
    for (i, p) in packets.iter().enumerate() {
        writer
            .write_packet(Timestamp::from_secs(100 + i as u64), p)
            .unwrap();
    }
    writer.into_inner().unwrap()
}

#[test]
fn pcap_packets_come_back_with_indexes_and_times() {
    let bytes = pcap_of(&[b"one", b"three"]);
    let mut reader = CaptureReader::new(&bytes[..]).unwrap();
    let first = reader.next_packet().unwrap().unwrap();
    assert_eq!(
        (first.index, first.data, first.ts.secs()),
        (1, &b"one"[..], 100)
    );
    let second = reader.next_packet().unwrap().unwrap();
    assert_eq!((second.index, second.data), (2, &b"three"[..]));
    assert!(reader.next_packet().unwrap().is_none());
}

#[test]
fn big_endian_microsecond_pcap_is_read() {
    // Header: magic a1b2c3d4 big-endian, version 2.4, zone 0, sigfigs 0, snaplen 65535, link 1.
    let mut bytes = vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    bytes.extend_from_slice(&[0, 0, 0xff, 0xff, 0, 0, 0, 1]);
    // Record: ts 5 s + 250000 us, caplen 2, origlen 60.
    bytes.extend_from_slice(&[
        0, 0, 0, 5, 0, 3, 0xd0, 0x90, 0, 0, 0, 2, 0, 0, 0, 60, 0xab, 0xcd,
    ]);
    let mut reader = CaptureReader::new(&bytes[..]).unwrap();
    let packet = reader.next_packet().unwrap().unwrap();
    assert_eq!(packet.ts, Timestamp::from_parts(5, 250_000_000));
    assert!(packet.is_cut());
    assert_eq!(packet.link, LinkType::ETHERNET);
}

#[test]
fn truncated_pcap_reports_the_packet_index_and_stops() {
    let mut bytes = pcap_of(&[b"aaaa", b"bbbb", b"cccc"]);
    bytes.truncate(bytes.len() - 2);
    let (packets, errors) = read_all(&bytes);
    assert_eq!(packets.len(), 2);
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(errors[0], ReadError::Truncated { index: 3, .. }),
        "{}",
        errors[0]
    );
    assert!(errors[0].to_string().contains("packet 3"));
}

#[test]
fn lying_record_length_is_an_error_not_an_allocation() {
    let mut bytes = pcap_of(&[b"aaaa"]);
    // Rewrite the captured length of packet 1 (bytes 32..36) to 3 GB.
    bytes[32..36].copy_from_slice(&3_000_000_000u32.to_le_bytes());
    let (packets, errors) = read_all(&bytes);
    assert!(packets.is_empty());
    assert!(matches!(
        errors[..],
        [ReadError::LyingLength { index: 1, .. }]
    ));
}

#[test]
fn caplen_over_origlen_skips_only_that_packet() {
    let mut bytes = pcap_of(&[b"aaaa", b"bbbb"]);
    // Original length of packet 1 (bytes 36..40) set below its captured length.
    bytes[36..40].copy_from_slice(&2u32.to_le_bytes());
    let (packets, errors) = read_all(&bytes);
    assert_eq!(packets, vec![(2, b"bbbb".to_vec())]);
    assert!(matches!(
        errors[..],
        [ReadError::Malformed { index: 1, .. }]
    ));
}

#[test]
fn unknown_magic_is_refused() {
    let err = CaptureReader::new(&b"GIF89a this is not a capture"[..])
        .err()
        .unwrap();
    assert!(matches!(err, ReadError::UnknownFormat { .. }));
    assert!(err.to_string().contains("pcap"));
}

#[test]
fn empty_and_header_only_files() {
    assert!(matches!(
        CaptureReader::new(&b""[..]),
        Err(ReadError::Truncated { .. })
    ));
    let header_only = pcap_of(&[]);
    assert!(read_all(&header_only).0.is_empty());
    let cut_header = &header_only[..10];
    assert!(matches!(
        CaptureReader::new(cut_header),
        Err(ReadError::Truncated { .. })
    ));
}

fn pcapng_of(packets: &[&[u8]]) -> PcapngWriter<Vec<u8>> {
    let mut writer = PcapngWriter::new(Vec::new()).unwrap();
    writer.add_interface(LinkType::ETHERNET).unwrap();
    for (i, p) in packets.iter().enumerate() {
        writer
            .write_packet(0, Timestamp::from_parts(1_000 + i as u64, 5), p)
            .unwrap();
    }
    writer
}

#[test]
fn pcapng_packets_and_nanosecond_times() {
    let bytes = pcapng_of(&[b"abc", b"defgh"]).into_inner().unwrap();
    let mut reader = CaptureReader::new(&bytes[..]).unwrap();
    let first = reader.next_packet().unwrap().unwrap();
    assert_eq!((first.index, first.data), (1, &b"abc"[..]));
    assert_eq!(first.ts, Timestamp::from_parts(1000, 5));
    let second = reader.next_packet().unwrap().unwrap();
    assert_eq!(second.data, b"defgh");
    assert!(reader.next_packet().unwrap().is_none());
}

#[test]
fn pcapng_unknown_blocks_are_skipped_and_bad_packets_named() {
    let mut writer = pcapng_of(&[b"first"]);
    writer.write_raw_block(0x0bad_0001, b"vendor data").unwrap();
    // An enhanced packet block on interface 7, which was never declared.
    let mut body = vec![7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
    body.push(0xee);
    writer.write_raw_block(6, &body).unwrap();
    // An enhanced packet block whose captured length runs past the block.
    let body = [
        0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 200, 0, 0, 0,
    ];
    writer.write_raw_block(6, &body).unwrap();
    writer
        .write_packet(0, Timestamp::from_secs(2000), b"last")
        .unwrap();
    let (packets, errors) = read_all(&writer.into_inner().unwrap());
    assert_eq!(packets, vec![(1, b"first".to_vec()), (4, b"last".to_vec())]);
    assert_eq!(
        errors.iter().map(ReadError::index).collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(
        errors[0].to_string().contains("interface 7"),
        "{}",
        errors[0]
    );
}

#[test]
fn pcapng_block_with_mismatched_trailer_stops_reading() {
    let mut bytes = pcapng_of(&[b"good", b"bad!"]).into_inner().unwrap();
    let len = bytes.len();
    bytes[len - 4..].copy_from_slice(&999u32.to_le_bytes());
    let (packets, errors) = read_all(&bytes);
    assert_eq!(packets.len(), 1);
    assert!(
        matches!(errors[..], [ReadError::Corrupt { index: 2, .. }]),
        "{errors:?}"
    );
}

#[test]
fn pcapng_huge_block_length_is_refused() {
    let mut bytes = pcapng_of(&[b"good"]).into_inner().unwrap();
    bytes.extend_from_slice(&6u32.to_le_bytes());
    bytes.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (packets, errors) = read_all(&bytes);
    assert_eq!(packets.len(), 1);
    assert!(
        matches!(errors[..], [ReadError::LyingLength { index: 2, .. }]),
        "{errors:?}"
    );
}

#[test]
fn every_prefix_of_a_pcapng_file_reads_without_panic() {
    let bytes = pcapng_of(&[b"abc", b"defgh", b"ijklmnop"])
        .into_inner()
        .unwrap();
    for cut in 0..bytes.len() {
        if let Ok(mut reader) = CaptureReader::new(&bytes[..cut]) {
            for _ in 0..10 {
                if let Ok(None) = reader.next_packet() {
                    break;
                }
            }
        }
    }
}
