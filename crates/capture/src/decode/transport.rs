//! Transport layers: TCP, UDP, ICMP and ICMPv6.

use super::{
    DecodeError, IcmpMessage, Layer, TcpFlags, TcpSegment, Transport, UdpDatagram, be16, be32, need,
};

/// Decodes the transport header of an IP payload whose protocol number is `protocol`.
///
/// The payload may be cut by the snap length: headers must be whole, the data after
/// them is whatever was captured.
pub fn decode_transport(protocol: u8, data: &[u8]) -> Result<Transport<'_>, DecodeError> {
    match protocol {
        6 => decode_tcp(data).map(Transport::Tcp),
        17 => decode_udp(data).map(Transport::Udp),
        1 => decode_icmp(data, false).map(Transport::Icmp),
        58 => decode_icmp(data, true).map(Transport::Icmp),
        other => Ok(Transport::Other { protocol: other }),
    }
}

fn decode_tcp(data: &[u8]) -> Result<TcpSegment<'_>, DecodeError> {
    need(Layer::Tcp, data, 20)?;
    let header_len = usize::from(data.get(12).copied().unwrap_or(0) >> 4) * 4;
    if header_len < 20 {
        return Err(DecodeError::Invalid {
            layer: Layer::Tcp,
            reason: "data offset is under 20 bytes",
        });
    }
    need(Layer::Tcp, data, header_len)?;

    Ok(TcpSegment {
        src_port: be16(data, 0).unwrap_or(0),
        dst_port: be16(data, 2).unwrap_or(0),
        seq: be32(data, 4).unwrap_or(0),
        ack: be32(data, 8).unwrap_or(0),
        flags: TcpFlags(data.get(13).copied().unwrap_or(0)),
        window: be16(data, 14).unwrap_or(0),
        payload: data.get(header_len..).unwrap_or_default(),
    })
}

fn decode_udp(data: &[u8]) -> Result<UdpDatagram<'_>, DecodeError> {
    need(Layer::Udp, data, 8)?;
    let length = usize::from(be16(data, 4).unwrap_or(0));

    // A length under 8 is invalid except 0 (jumbograms); past the capture, take what is there.
    if length != 0 && length < 8 {
        return Err(DecodeError::Invalid {
            layer: Layer::Udp,
            reason: "length field is under the 8-byte header",
        });
    }
    let end = if length == 0 {
        data.len()
    } else {
        length.min(data.len())
    };
    Ok(UdpDatagram {
        src_port: be16(data, 0).unwrap_or(0),
        dst_port: be16(data, 2).unwrap_or(0),
        payload: data.get(8..end).unwrap_or_default(),
    })
}

fn decode_icmp(data: &[u8], v6: bool) -> Result<IcmpMessage<'_>, DecodeError> {
    need(Layer::Icmp, data, 4)?;
    Ok(IcmpMessage {
        v6,
        icmp_type: data.first().copied().unwrap_or(0),
        code: data.get(1).copied().unwrap_or(0),
        payload: data.get(4..).unwrap_or_default(),
    })
}
