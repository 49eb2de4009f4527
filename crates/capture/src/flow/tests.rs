use super::*;
use crate::decode::{IpHeader, LinkInfo, TcpSegment};

fn tcp_packet(ts: u64, src: &str, sport: u16, dst: &str, dport: u16, flags: u8) -> Packet<'static> {
    Packet {
        index: ts,
        ts: Timestamp::from_secs(ts),
        wire_len: 60,
        link: LinkInfo::default(),
        ip: Some(IpHeader {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: 6,
            ttl: 64,
        }),
        arp: None,
        transport: Transport::Tcp(TcpSegment {
            src_port: sport,
            dst_port: dport,
            seq: 0,
            ack: 0,
            flags: TcpFlags(flags),
            window: 1000,
            payload: b"",
        }),
    }
}

#[test]
fn both_directions_share_one_flow_and_the_handshake_is_tracked() {
    let mut table = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    let mut sink = |f: Flow, r: EndReason| ended.push((f.id, r));
    let syn = tcp_packet(1, "10.0.0.1", 4000, "10.0.0.2", 80, TcpFlags::SYN);
    let syn_ack = tcp_packet(
        1,
        "10.0.0.2",
        80,
        "10.0.0.1",
        4000,
        TcpFlags::SYN | TcpFlags::ACK,
    );
    let ack = tcp_packet(1, "10.0.0.1", 4000, "10.0.0.2", 80, TcpFlags::ACK);

    assert!(table.update(&syn, &mut sink).unwrap().is_new);
    let update = table.update(&syn_ack, &mut sink).unwrap();
    assert_eq!(update.direction, Direction::Backward);
    let update = table.update(&ack, &mut sink).unwrap();
    assert!(update.established_now);
    assert_eq!(update.flow.key.initiator_port, 4000);
    assert_eq!(update.flow.stats.forward.packets, 2);
    assert_eq!(table.len(), 1);
}

#[test]
fn idle_flows_expire_and_a_full_table_evicts_the_oldest() {
    let config = FlowConfig {
        max_flows: 32,
        ..FlowConfig::default()
    };
    let mut table = FlowTable::new(config);
    let mut ended = Vec::new();
    for port in 0..40u16 {
        let p = tcp_packet(
            10 + u64::from(port),
            "10.0.0.1",
            1000 + port,
            "10.0.0.2",
            80,
            TcpFlags::ACK,
        );
        table.update(&p, &mut |f, r| ended.push((f.key.initiator_port, r)));
    }
    assert!(table.len() <= 32);
    let evicted: Vec<_> = ended
        .iter()
        .filter(|(_, r)| *r == EndReason::Evicted)
        .collect();
    assert_eq!(table.stats().evicted as usize, evicted.len());
    assert!(!evicted.is_empty());
    // The oldest went first.
    assert_eq!(evicted[0].0, 1000);

    table.expire(Timestamp::from_secs(10_000), &mut |f, r| {
        ended.push((f.key.initiator_port, r))
    });
    assert!(table.is_empty());
    assert_eq!(table.stats().created, table.stats().ended);
}

#[test]
fn a_new_syn_after_close_starts_a_new_flow() {
    let mut table = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    let packets = [
        tcp_packet(1, "10.0.0.1", 4000, "10.0.0.2", 80, TcpFlags::SYN),
        tcp_packet(
            1,
            "10.0.0.2",
            80,
            "10.0.0.1",
            4000,
            TcpFlags::RST | TcpFlags::ACK,
        ),
        tcp_packet(2, "10.0.0.1", 4000, "10.0.0.2", 80, TcpFlags::SYN),
    ];
    for p in &packets {
        table.update(p, &mut |f, r| ended.push((f.id, r)));
    }
    assert_eq!(ended, vec![(1, EndReason::Closed)]);
    assert_eq!(table.stats().created, 2);
}

#[test]
fn a_flow_stays_small() {
    // The memory cap is counted in flows; keep each one near 500 bytes.
    let size = std::mem::size_of::<Flow>();
    eprintln!("Flow is {size} bytes");
    assert!(size <= 512, "Flow grew to {size} bytes");
}
