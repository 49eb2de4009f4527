//! Fuzzes the packet decoder: the first byte picks a link type, the rest is the frame.
//! Every input must decode or fail with a `DecodeError`, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_capture::decode::{Network, decode_frame, decode_transport};
use safecare_capture::reader::LinkType;

const LINKS: [LinkType; 9] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType(147),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = LINKS[usize::from(selector) % LINKS.len()];
    if let Ok(decoded) = decode_frame(link, frame)
        && let Network::Ip(datagram) = decoded.network
    {
        let _ = decode_transport(datagram.header.protocol, datagram.payload);
    }
});
