use super::*;
use crate::reader::LinkType;
use crate::synth::{ethernet, ethernet_typed, ip_packet, tcp_segment, udp_datagram};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn udp_ipv4() -> Vec<u8> {
    let udp = udp_datagram(ip("10.0.0.1"), ip("10.0.0.2"), 5353, 53, b"query");
    ip_packet(ip("10.0.0.1"), ip("10.0.0.2"), 17, 7, &udp)
}

fn transport_of(frame: &Frame<'_>) -> Transport<'static> {
    let Network::Ip(d) = frame.network else {
        panic!("not IP")
    };
    let owned: &'static [u8] = Box::leak(d.payload.to_vec().into_boxed_slice());
    decode_transport(d.header.protocol, owned).unwrap()
}

#[test]
fn ethernet_ipv4_udp() {
    let frame = ethernet(
        MacAddr([2, 0, 0, 0, 0, 1]),
        MacAddr([2, 0, 0, 0, 0, 2]),
        &udp_ipv4(),
    );
    let decoded = decode_frame(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(
        decoded.link.src_mac.unwrap().to_string(),
        "02:00:00:00:00:01"
    );
    let Transport::Udp(udp) = transport_of(&decoded) else {
        panic!()
    };
    assert_eq!(
        (udp.src_port, udp.dst_port, udp.payload),
        (5353, 53, &b"query"[..])
    );
}

#[test]
fn two_vlan_tags_are_stripped_and_the_outer_id_kept() {
    let mut tagged = vec![0x81, 0x00, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00];
    tagged.extend_from_slice(&udp_ipv4());
    // ethernet_typed writes the first ethertype (0x88a8 would do too).
    let frame = ethernet_typed(MacAddr::default(), MacAddr::default(), 0x8100, &tagged[2..]);
    let decoded = decode_frame(LinkType::ETHERNET, &frame).unwrap();
    assert_eq!(decoded.link.vlan, Some(100));
    assert!(matches!(transport_of(&decoded), Transport::Udp(_)));
}

#[test]
fn linux_cooked_v1_and_v2() {
    // SLL: packet type 0, ARPHRD 1, addr len 6, MAC + 2 pad, protocol 0x0800.
    let mut sll = vec![
        0, 0, 0, 1, 0, 6, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 0x08, 0x00,
    ];
    sll.extend_from_slice(&udp_ipv4());
    let decoded = decode_frame(LinkType::LINUX_SLL, &sll).unwrap();
    assert_eq!(
        decoded.link.src_mac.unwrap().to_string(),
        "aa:bb:cc:dd:ee:ff"
    );
    assert!(matches!(transport_of(&decoded), Transport::Udp(_)));

    // SLL2: protocol, reserved, ifindex, ARPHRD 1, packet type, addr len 6, address.
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6];
    sll2.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0]);
    sll2.extend_from_slice(&udp_ipv4());
    let decoded = decode_frame(LinkType::LINUX_SLL2, &sll2).unwrap();
    assert_eq!(
        decoded.link.src_mac.unwrap().to_string(),
        "aa:bb:cc:dd:ee:ff"
    );
}

#[test]
fn raw_ipv6_with_a_hop_by_hop_header_reaches_tcp() {
    let (a, b) = (ip("fd00::1"), ip("fd00::2"));
    let tcp = tcp_segment(a, b, 50000, 443, TcpFlags::SYN, 1, 0, b"");
    // Hop-by-hop header: next = TCP, length 0 (8 bytes), padding.
    let mut with_ext = vec![6, 0, 1, 4, 0, 0, 0, 0];
    with_ext.extend_from_slice(&tcp);
    let mut packet = ip_packet(a, b, 0, 0, &with_ext);
    packet[6] = 0;
    let decoded = decode_frame(LinkType::RAW, &packet).unwrap();
    let Network::Ip(d) = decoded.network else {
        panic!()
    };
    assert_eq!(d.header.protocol, 6);
    let Transport::Tcp(t) = decode_transport(6, d.payload).unwrap() else {
        panic!()
    };
    assert!(t.flags.is_syn_only());
    assert_eq!(t.dst_port, 443);
}

#[test]
fn arp_request() {
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 9];
    arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
    let frame = ethernet_typed(
        MacAddr([2, 0, 0, 0, 0, 9]),
        MacAddr([0xff; 6]),
        0x0806,
        &arp,
    );
    let Network::Arp(a) = decode_frame(LinkType::ETHERNET, &frame).unwrap().network else {
        panic!()
    };
    assert_eq!(a.operation, 1);
    assert_eq!(a.sender_ip.to_string(), "10.0.0.9");
    assert_eq!(a.target_ip.to_string(), "10.0.0.1");
}

#[test]
fn cut_headers_are_truncation_errors_naming_the_layer() {
    let frame = ethernet(MacAddr::default(), MacAddr::default(), &udp_ipv4());
    for cut in 0..frame.len() {
        let result = decode_frame(LinkType::ETHERNET, &frame[..cut]);
        if cut < 14 + 20 {
            assert!(
                matches!(result, Err(DecodeError::Truncated { .. })),
                "cut {cut}"
            );
        } else {
            // The IP header is whole; the UDP header may be cut, which decode_transport says.
            let Network::Ip(d) = result.unwrap().network else {
                panic!()
            };
            assert!(d.payload_cut);
            let udp = decode_transport(17, d.payload);
            assert_eq!(udp.is_err(), d.payload.len() < 8, "cut {cut}");
        }
    }
}

#[test]
fn impossible_fields_are_invalid() {
    let mut packet = udp_ipv4();
    packet[0] = 0x44; // header length 16 bytes
    let err = decode_frame(LinkType::RAW, &packet).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::Invalid {
            layer: Layer::Ipv4,
            ..
        }
    ));
    assert!(err.to_string().contains("IPv4"));
    let err = decode_frame(LinkType(147), &packet).unwrap_err();
    assert_eq!(err, DecodeError::UnsupportedLink(147));
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut frame = ethernet(MacAddr::default(), MacAddr::default(), &udp_ipv4());
    frame.extend_from_slice(&[0; 10]);
    let decoded = decode_frame(LinkType::ETHERNET, &frame).unwrap();
    let Transport::Udp(udp) = transport_of(&decoded) else {
        panic!()
    };
    assert_eq!(udp.payload, b"query");
}
