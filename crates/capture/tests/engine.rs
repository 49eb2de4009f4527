//! The engine end to end, on captures generated here and on the shared real captures.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use safecare_capture::decode::{MacAddr, TcpFlags};
use safecare_capture::flow::EndReason;
use safecare_capture::reader::{CaptureReader, ReadError};
use safecare_capture::synth::{Host, Synth, ethernet, ipv4_fragment, udp_datagram};
use safecare_capture::{DecodeError, Direction, Engine, EngineConfig, Flow, Handler, Packet};

#[derive(Default)]
struct Recorder {
    packets: u64,
    undecodable: Vec<(u64, String)>,
    ended: Vec<(u16, u64, EndReason)>,
    client_stream: Vec<u8>,
    server_stream: Vec<u8>,
    udp_payloads: Vec<usize>,
}

impl Handler for Recorder {
    fn on_packet(
        &mut self,
        packet: &Packet<'_>,
        _flow: Option<safecare_capture::engine::FlowContext<'_>>,
    ) {
        self.packets += 1;
        if let safecare_capture::decode::Transport::Udp(udp) = packet.transport {
            self.udp_payloads.push(udp.payload.len());
        }
    }
    fn on_flow_end(&mut self, flow: &Flow, reason: EndReason) {
        self.ended
            .push((flow.key.responder_port, flow.packets(), reason));
    }
    fn stream_depth(&mut self, _flow: &Flow) -> u64 {
        1 << 20
    }
    fn on_stream_data(&mut self, _flow: &Flow, direction: Direction, data: &[u8]) {
        match direction {
            Direction::Forward => self.client_stream.extend_from_slice(data),
            Direction::Backward => self.server_stream.extend_from_slice(data),
        }
    }
    fn on_undecodable(&mut self, index: u64, error: &DecodeError) {
        self.undecodable.push((index, error.to_string()));
    }
}

fn run(bytes: &[u8]) -> (Recorder, Engine, Vec<String>) {
    let mut reader = CaptureReader::new(bytes).expect("capture header");
    let mut engine = Engine::new(EngineConfig::default());
    let mut recorder = Recorder::default();
    let mut errors = Vec::new();
    engine.run(&mut reader, &mut recorder, &mut |e: &ReadError| {
        errors.push(e.to_string())
    });
    engine.finish(&mut recorder);
    (recorder, engine, errors)
}

#[test]
fn a_tcp_session_is_one_flow_with_both_streams_in_order() {
    let (client, server) = (Host::v4("10.10.1.11"), Host::v4("10.40.0.20"));
    let mut synth = Synth::new();
    synth.tcp_session(
        &client,
        40000,
        &server,
        80,
        &[
            (b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"),
            (b"again", b"ok"),
        ],
    );
    let (recorder, engine, errors) = run(&synth.finish());

    assert!(errors.is_empty());
    assert_eq!(recorder.client_stream, b"GET / HTTP/1.1\r\n\r\nagain");
    assert_eq!(recorder.server_stream, b"HTTP/1.1 200 OK\r\n\r\nok");
    assert_eq!(recorder.ended, vec![(80, 10, EndReason::EndOfCapture)]);
    let stats = engine.stats();
    assert_eq!((stats.packets, stats.decoded, stats.flows), (10, 10, 1));
}

#[test]
fn ipv4_fragments_are_reassembled_in_any_order() {
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let payload = vec![0x5a; 3000];
    let datagram = udp_datagram(IpAddr::V4(a), IpAddr::V4(b), 1000, 2000, &payload);
    let mut synth = Synth::new();
    let mac = MacAddr([2, 0, 0, 0, 0, 1]);
    // Three fragments, sent last first.
    for (offset, more) in [(2400usize, false), (0, true), (1200, true)] {
        let end = (offset + 1200).min(datagram.len());
        let fragment = ipv4_fragment(a, b, 17, 77, offset as u16, more, &datagram[offset..end]);
        synth.frame(&ethernet(mac, mac, &fragment));
    }
    let (recorder, engine, _) = run(&synth.finish());
    assert_eq!(recorder.udp_payloads, vec![3000]);
    let stats = engine.stats();
    assert_eq!((stats.fragments, stats.reassembled), (3, 1));
    assert_eq!(stats.decoded + stats.undecodable, stats.packets);
}

#[test]
fn undecodable_packets_are_counted_with_their_index() {
    let (client, server) = (Host::v4("10.0.0.1"), Host::v4("10.0.0.2"));
    let mut synth = Synth::new();
    synth.udp(&client, 1, &server, 2, b"fine");
    synth.frame(&[0u8; 9]);
    synth.tcp(&client, 1, &server, 2, TcpFlags::SYN, 0, 0, b"");
    let (recorder, engine, _) = run(&synth.finish());
    assert_eq!(recorder.undecodable.len(), 1);
    assert_eq!(recorder.undecodable[0].0, 2);
    assert!(recorder.undecodable[0].1.contains("link"));
    assert_eq!(engine.stats().undecodable, 1);
    assert_eq!(engine.stats().decoded, 2);
}

#[test]
fn random_bytes_never_panic_the_engine() {
    // A small xorshift generator: deterministic noise frames and noise-mutated packets.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (client, server) = (Host::v4("10.0.0.1"), Host::v4("10.0.0.2"));
    let mut base = Synth::new();
    base.tcp_session(&client, 999, &server, 80, &[(b"hello", b"world")]);
    let template = base.finish();

    let mut synth = Synth::new();
    for _ in 0..3000 {
        let len = (next() % 120) as usize;
        let mut frame: Vec<u8> = template[40..40 + len.min(template.len() - 40)].to_vec();
        for _ in 0..(next() % 6) {
            if !frame.is_empty() {
                let at = (next() as usize) % frame.len();
                frame[at] = next() as u8;
            }
        }
        synth.frame(&frame);
    }
    let (_, engine, _) = run(&synth.finish());
    let stats = engine.stats();
    assert_eq!(stats.packets, 3000);
    assert_eq!(stats.decoded + stats.undecodable, stats.packets);
}

fn shared_pcaps() -> Vec<PathBuf> {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcap"
    ));
    let mut files = Vec::new();
    for folder in ["modbus", "bacnet"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_packet_of_the_real_captures_is_decoded_or_counted() {
    let files = shared_pcaps();
    assert!(
        files.len() >= 10,
        "expected the shared captures, found {files:?}"
    );
    for path in files {
        let mut reader = CaptureReader::open(&path).expect("open capture");
        let mut engine = Engine::new(EngineConfig::default());
        let mut recorder = Recorder::default();
        let mut read_errors = Vec::new();
        engine.run(&mut reader, &mut recorder, &mut |e: &ReadError| {
            read_errors.push(e.to_string())
        });
        engine.finish(&mut recorder);

        let stats = engine.stats();
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(stats.packets > 0, "{name}: no packets");
        assert_eq!(stats.decoded + stats.undecodable, stats.packets, "{name}");
        assert!(read_errors.is_empty(), "{name}: {read_errors:?}");
        eprintln!(
            "{name}: {} packets, {} decoded, {} undecodable, {} flows",
            stats.packets, stats.decoded, stats.undecodable, stats.flows
        );
    }
}

#[test]
fn ipv6_fragments_are_reassembled() {
    let (a, b): (IpAddr, IpAddr) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
    let datagram = udp_datagram(a, b, 1000, 53, &[0x33; 2000]);
    let mut synth = Synth::new();
    let mac = MacAddr([2, 0, 0, 0, 0, 1]);
    for (offset, more) in [(1200usize, false), (0, true)] {
        let end = (offset + 1200).min(datagram.len());
        // Fragment header: next header UDP, reserved, offset | M flag, identification.
        let mut body = vec![17, 0];
        body.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
        body.extend_from_slice(&0xdead_beefu32.to_be_bytes());
        body.extend_from_slice(&datagram[offset..end]);
        let mut packet = safecare_capture::synth::ip_packet(a, b, 44, 0, &body);
        packet[6] = 44;
        synth.frame(&ethernet(mac, mac, &packet));
    }
    let (recorder, engine, _) = run(&synth.finish());
    assert_eq!(recorder.udp_payloads, vec![2000]);
    assert_eq!(engine.stats().reassembled, 1);
}

#[test]
fn snap_length_cuts_and_unknown_link_types_are_counted_not_fatal() {
    use safecare_capture::reader::LinkType;
    use safecare_capture::writer::PcapWriter;
    use safecare_capture::{Timestamp, synth};

    let (a, b) = (Host::v4("10.0.0.1"), Host::v4("10.0.0.2"));
    let segment = synth::tcp_segment(a.ip, b.ip, 1, 2, TcpFlags::ACK, 0, 0, &[0x55; 1000]);
    let frame = ethernet(a.mac, b.mac, &synth::ip_packet(a.ip, b.ip, 6, 1, &segment));
    let mut writer = PcapWriter::new(Vec::new(), LinkType::ETHERNET).unwrap();
    // Cut inside the TCP header (undecodable), then inside the payload (decodable).
    writer
        .write_cut_packet(Timestamp::from_secs(1), &frame[..44], frame.len() as u32)
        .unwrap();
    writer
        .write_cut_packet(Timestamp::from_secs(2), &frame[..96], frame.len() as u32)
        .unwrap();
    let (recorder, engine, errors) = run(&writer.into_inner().unwrap());
    assert!(errors.is_empty());
    assert_eq!(engine.stats().undecodable, 1);
    assert_eq!(recorder.undecodable[0].0, 1);
    assert!(
        recorder.undecodable[0].1.contains("TCP header"),
        "{:?}",
        recorder.undecodable
    );
    assert_eq!(engine.stats().decoded, 1);

    let mut writer = PcapWriter::new(Vec::new(), LinkType(147)).unwrap();
    for i in 0..3 {
        writer
            .write_packet(Timestamp::from_secs(i), &frame)
            .unwrap();
    }
    let (recorder, engine, _) = run(&writer.into_inner().unwrap());
    assert_eq!(engine.stats().undecodable, 3);
    assert!(recorder.undecodable[0].1.contains("link type 147"));
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types() {
    use safecare_capture::reader::LinkType;
    use safecare_capture::writer::PcapngWriter;
    use safecare_capture::{Timestamp, synth};

    let (a, b) = (Host::v4("10.0.0.1"), Host::v4("10.0.0.2"));
    let ip = synth::ip_packet(
        a.ip,
        b.ip,
        17,
        1,
        &udp_datagram(a.ip, b.ip, 5, 6, b"payload"),
    );
    let mut writer = PcapngWriter::new(Vec::new()).unwrap();
    writer.add_interface(LinkType::ETHERNET).unwrap();
    writer.add_interface(LinkType::RAW).unwrap();
    writer
        .write_packet(0, Timestamp::from_secs(1), &ethernet(a.mac, b.mac, &ip))
        .unwrap();
    writer
        .write_packet(1, Timestamp::from_secs(2), &ip)
        .unwrap();
    let (recorder, engine, errors) = run(&writer.into_inner().unwrap());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(recorder.udp_payloads, vec![7, 7]);
    assert_eq!(engine.stats().flows, 1);
}
