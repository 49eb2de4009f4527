//! DHCP: who asks for an address and what it is given.

use std::net::Ipv4Addr;

use safecare_capture::decode::MacAddr;

/// The DHCP fields inventory checks use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpMessage {
    /// Option 53: 1 discover, 3 request, 5 ack, ...
    pub message_type: Option<u8>,
    /// `chaddr`: the client's hardware address.
    pub client_mac: MacAddr,
    /// The address given (`yiaddr`), in offers and acks.
    pub your_ip: Ipv4Addr,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 12.
    pub hostname: Option<String>,
}

/// Option 53 value of a client looking for a server.
pub const DISCOVER: u8 = 1;
/// Option 53 value of a client asking for an address.
pub const REQUEST: u8 = 3;
/// Option 53 value of a server granting an address.
pub const ACK: u8 = 5;

const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// Options read before a message is considered hostile.
const MAX_OPTIONS: usize = 128;

/// Parses a BOOTP/DHCP message; `None` for anything that is not one.
pub fn parse(payload: &[u8]) -> Option<DhcpMessage> {
    // Fixed part: op, htype 1 (Ethernet), hlen 6, ..., yiaddr at 16, chaddr at 28.
    let [op, 1, 6, ..] = payload else {
        return None;
    };
    if !matches!(op, 1 | 2) || payload.get(236..240)? != MAGIC_COOKIE {
        return None;
    }
    let your_ip = Ipv4Addr::from(<[u8; 4]>::try_from(payload.get(16..20)?).ok()?);
    let client_mac = MacAddr(payload.get(28..34)?.try_into().ok()?);

    let mut message = DhcpMessage {
        message_type: None,
        client_mac,
        your_ip,
        requested_ip: None,
        hostname: None,
    };
    read_options(payload.get(240..)?, &mut message);
    Some(message)
}

fn read_options(mut options: &[u8], message: &mut DhcpMessage) {
    for _ in 0..MAX_OPTIONS {
        let Some((&code, rest)) = options.split_first() else {
            return;
        };
        match code {
            0 => {
                options = rest;
                continue;
            }
            255 => return,
            _ => {}
        }
        let Some((&len, rest)) = rest.split_first() else {
            return;
        };
        let Some(value) = rest.get(..usize::from(len)) else {
            return;
        };
        match (code, value) {
            (53, [kind]) => message.message_type = Some(*kind),
            (50, [a, b, c, d]) => message.requested_ip = Some(Ipv4Addr::new(*a, *b, *c, *d)),
            (12, name) => {
                let name: String = String::from_utf8_lossy(name).chars().take(64).collect();
                message.hostname = Some(name);
            }
            _ => {}
        }
        options = rest.get(usize::from(len)..).unwrap_or_default();
    }
}

/// Builds a DHCP message of `kind` from `mac`, for tests and generators.
pub fn build(
    kind: u8,
    mac: MacAddr,
    your_ip: Ipv4Addr,
    requested: Option<Ipv4Addr>,
    hostname: &str,
) -> Vec<u8> {
    let mut message = vec![0u8; 240];
    message[0] = if kind == ACK { 2 } else { 1 };
    message[1] = 1;
    message[2] = 6;
    message[16..20].copy_from_slice(&your_ip.octets());
    message[28..34].copy_from_slice(&mac.0);
    message[236..240].copy_from_slice(&MAGIC_COOKIE);
    message.extend_from_slice(&[53, 1, kind]);
    if let Some(ip) = requested {
        message.extend_from_slice(&[50, 4]);
        message.extend_from_slice(&ip.octets());
    }
    if !hostname.is_empty() {
        message.push(12);
        message.push(hostname.len() as u8);
        message.extend_from_slice(hostname.as_bytes());
    }
    message.push(255);
    message
}
