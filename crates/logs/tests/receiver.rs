//! The syslog receiver on 127.0.0.1 with ephemeral ports.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpStream, UdpSocket};
use std::time::Duration;

use safecare_logs::receiver::{ReceiverConfig, SyslogReceiver};

fn next(receiver: &SyslogReceiver) -> String {
    let message = receiver
        .next(Duration::from_secs(5))
        .expect("no message within 5 s");
    String::from_utf8(message.bytes).unwrap()
}

#[test]
fn receives_udp_datagrams_and_tcp_frames() {
    let receiver = SyslogReceiver::start(&ReceiverConfig {
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        udp_port: Some(0),
        tcp_port: Some(0),
    })
    .unwrap();

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"<38>Dec 10 06:55:46 ct-scanner sshd[1]: Failed password for root from 10.10.5.11 port 22 ssh2", receiver.udp_addr().unwrap())
        .unwrap();
    assert!(next(&receiver).contains("Failed password"));

    let mut tcp = TcpStream::connect(receiver.tcp_addr().unwrap()).unwrap();
    tcp.write_all(b"<38>Dec 10 06:55:47 ct-scanner sshd[1]: first\n")
        .unwrap();
    tcp.write_all(&[0xff, 0x00, 0x13, b'\n']).unwrap();
    tcp.write_all(b"<38>Dec 10 06:55:48 ct-scanner sshd[1]: second\n")
        .unwrap();
    tcp.flush().unwrap();

    assert!(next(&receiver).ends_with("first"));
    assert_eq!(
        receiver.next(Duration::from_secs(5)).unwrap().bytes,
        [0xff, 0x00, 0x13]
    );
    assert!(next(&receiver).ends_with("second"));
}

#[test]
fn starting_without_a_port_says_which_option_is_missing() {
    let err = SyslogReceiver::start(&ReceiverConfig {
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        udp_port: None,
        tcp_port: None,
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("--udp"), "{err}");
}
