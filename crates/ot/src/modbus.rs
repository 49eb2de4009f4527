//! Modbus/TCP parser: the MBAP header and the PDU of every public function code.
//!
//! [`parse_adu`] reads one application data unit from the front of a buffer; the
//! caller knows from the TCP direction whether it is a request or a response. Every
//! length and count is checked against the Modbus limits before it is used.

use serde::Serialize;

/// The Modbus/TCP server port.
pub const PORT: u16 = 502;

/// MBAP header size: transaction id, protocol id, length, unit id.
pub const MBAP_LEN: usize = 7;

/// Largest PDU the specification allows (function code and data).
pub const MAX_PDU: usize = 253;

/// Largest ADU: the MBAP header without the unit id, plus the unit id and PDU.
pub const MAX_ADU: usize = 6 + 1 + MAX_PDU;

/// Why bytes are not a Modbus/TCP frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModbusError {
    /// The buffer ends before the frame does: wait for more bytes.
    #[error("Modbus frame truncated: {need} bytes needed, {have} present")]
    Truncated { need: usize, have: usize },
    /// The MBAP protocol id must be 0 for Modbus.
    #[error("MBAP protocol id is {0}, not 0: this is not Modbus/TCP")]
    BadProtocol(u16),
    /// The MBAP length field is outside 2..=254.
    #[error("MBAP length {0} is outside 2..=254: the stream cannot be resynchronised")]
    BadLength(u16),
    /// The PDU is shorter than its function code requires.
    #[error("function {function}: PDU has {have} data bytes, {need} required")]
    ShortPdu {
        function: u8,
        need: usize,
        have: usize,
    },
    /// A quantity or byte count breaks the limits of the function.
    #[error("function {function}: {what} {value} is out of range")]
    BadCount {
        function: u8,
        what: &'static str,
        value: usize,
    },
}

/// The MBAP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mbap {
    /// Pairs a response with its request.
    pub transaction_id: u16,
    /// Always 0 for Modbus.
    pub protocol_id: u16,
    /// Bytes after the length field: unit id and PDU.
    pub length: u16,
    /// The addressed unit (slave) behind the server.
    pub unit_id: u8,
}

/// One Modbus/TCP frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adu {
    /// The header.
    pub mbap: Mbap,
    /// The function and its data.
    pub pdu: Pdu,
}

/// A PDU: the function code and what it carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pdu {
    /// The function code without the exception bit.
    pub function: u8,
    /// The decoded data.
    pub body: Body,
}

/// What a PDU carries, by function code and direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// Read coils, discrete inputs, holding or input registers (1-4) request.
    Read { address: u16, quantity: u16 },
    /// Coil or discrete input values (1, 2) response.
    Bits { byte_count: u8, bits: Vec<bool> },
    /// Register values (3, 4, 23) response.
    Registers { values: Vec<u16> },
    /// Write single coil (5) or register (6), request and echoed response.
    WriteSingle { address: u16, value: u16 },
    /// Write multiple coils (15, values 0/1) or registers (16) request.
    WriteMultiple {
        address: u16,
        quantity: u16,
        values: Vec<u16>,
    },
    /// Write multiple coils or registers (15, 16) response.
    WriteMultipleAck { address: u16, quantity: u16 },
    /// Mask write register (22), request and echoed response.
    MaskWrite {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// Read/write multiple registers (23) request.
    ReadWrite {
        read_address: u16,
        read_quantity: u16,
        write_address: u16,
        write_quantity: u16,
        values: Vec<u16>,
    },
    /// Diagnostics (8), request and response.
    Diagnostics { sub_function: u16, data: Vec<u8> },
    /// Read device identification (43/14) request.
    ReadDeviceId { read_code: u8, object_id: u8 },
    /// Read device identification (43/14) response.
    DeviceId {
        read_code: u8,
        conformity: u8,
        more_follows: bool,
        objects: Vec<(u8, String)>,
    },
    /// Another encapsulated interface (43 with an MEI type other than 14).
    Encapsulated { mei_type: u8, data_len: usize },
    /// Read FIFO queue (24) request.
    ReadFifo { address: u16 },
    /// An exception response: the function failed with this code.
    Exception { code: u8 },
    /// A function without fields worth decoding (7, 11, 12, 17, 20, 21, 24
    /// responses, user-defined codes): its data length only.
    Raw { data_len: usize },
}

impl Pdu {
    /// True for functions that change coils or registers (5, 6, 15, 16, 22, 23).
    pub fn is_write(&self) -> bool {
        is_write_function(self.function)
    }

    /// The exception code when this is an exception response.
    pub fn exception(&self) -> Option<u8> {
        match self.body {
            Body::Exception { code } => Some(code),
            _ => None,
        }
    }

    /// The register or coil range a request writes: first address and count.
    pub fn written_range(&self) -> Option<(u16, u16)> {
        match &self.body {
            Body::WriteSingle { address, .. } | Body::MaskWrite { address, .. } => {
                Some((*address, 1))
            }
            Body::WriteMultiple {
                address, quantity, ..
            } => Some((*address, *quantity)),
            Body::ReadWrite {
                write_address,
                write_quantity,
                ..
            } => Some((*write_address, *write_quantity)),
            _ => None,
        }
    }

    /// The register values a request writes, with their addresses.
    pub fn written_registers(&self) -> Vec<(u16, u16)> {
        let (start, values): (u16, &[u16]) = match &self.body {
            Body::WriteSingle { address, value } if self.function == 6 => {
                (*address, std::slice::from_ref(value))
            }
            Body::WriteMultiple {
                address, values, ..
            } if self.function == 16 => (*address, values),
            Body::ReadWrite {
                write_address,
                values,
                ..
            } => (*write_address, values),
            _ => return Vec::new(),
        };
        (0u16..)
            .zip(values)
            .map(|(i, v)| (start.wrapping_add(i), *v))
            .collect()
    }

    /// The register or coil range a request reads.
    pub fn read_range(&self) -> Option<(u16, u16)> {
        match &self.body {
            Body::Read { address, quantity } => Some((*address, *quantity)),
            Body::ReadWrite {
                read_address,
                read_quantity,
                ..
            } => Some((*read_address, *read_quantity)),
            _ => None,
        }
    }
}

/// True for function codes that write (5, 6, 15, 16, 22, 23).
pub fn is_write_function(function: u8) -> bool {
    matches!(function, 5 | 6 | 15 | 16 | 22 | 23)
}

/// The specification's name of a function code, `None` for unassigned codes.
pub fn function_name(function: u8) -> Option<&'static str> {
    Some(match function {
        1 => "read_coils",
        2 => "read_discrete_inputs",
        3 => "read_holding_registers",
        4 => "read_input_registers",
        5 => "write_single_coil",
        6 => "write_single_register",
        7 => "read_exception_status",
        8 => "diagnostics",
        11 => "get_comm_event_counter",
        12 => "get_comm_event_log",
        15 => "write_multiple_coils",
        16 => "write_multiple_registers",
        17 => "report_server_id",
        20 => "read_file_record",
        21 => "write_file_record",
        22 => "mask_write_register",
        23 => "read_write_multiple_registers",
        24 => "read_fifo_queue",
        43 => "encapsulated_interface_transport",
        _ => return None,
    })
}

/// Reads the MBAP header at the front of `buf`, checking protocol id and length.
pub fn parse_mbap(buf: &[u8]) -> Result<Mbap, ModbusError> {
    let head = buf.get(..MBAP_LEN).ok_or(ModbusError::Truncated {
        need: MBAP_LEN,
        have: buf.len(),
    })?;
    let mbap = Mbap {
        transaction_id: be16(head, 0),
        protocol_id: be16(head, 2),
        length: be16(head, 4),
        unit_id: head.get(6).copied().unwrap_or_default(),
    };
    if mbap.protocol_id != 0 {
        return Err(ModbusError::BadProtocol(mbap.protocol_id));
    }
    if !(2..=254).contains(&mbap.length) {
        return Err(ModbusError::BadLength(mbap.length));
    }
    Ok(mbap)
}

/// Reads one ADU from the front of `buf`; returns it and the bytes it used.
///
/// `Truncated` means more bytes are needed; every other error means the frame (of the
/// returned length, when the header was readable) is malformed.
pub fn parse_adu(buf: &[u8], is_request: bool) -> Result<(Adu, usize), ModbusError> {
    let mbap = parse_mbap(buf)?;
    let total = 6 + usize::from(mbap.length);
    let frame = buf.get(..total).ok_or(ModbusError::Truncated {
        need: total,
        have: buf.len(),
    })?;
    let pdu = parse_pdu(frame.get(MBAP_LEN..).unwrap_or_default(), is_request)?;
    Ok((Adu { mbap, pdu }, total))
}

/// Parses a PDU (function code and data) of a request or a response.
pub fn parse_pdu(pdu: &[u8], is_request: bool) -> Result<Pdu, ModbusError> {
    let (&code, data) = pdu.split_first().ok_or(ModbusError::ShortPdu {
        function: 0,
        need: 1,
        have: 0,
    })?;
    let function = code & 0x7f;
    let mut r = Reader { function, data };

    let body = if code & 0x80 != 0 {
        Body::Exception { code: r.u8(0)? }
    } else if is_request {
        parse_request(&mut r)?
    } else {
        parse_response(&mut r)?
    };
    Ok(Pdu { function, body })
}

fn parse_request(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    match r.function {
        1..=4 => {
            let (address, quantity) = (r.u16(0)?, r.u16(2)?);
            let max = if r.function <= 2 { 2000 } else { 125 };
            r.check_count("quantity", quantity, 1, max)?;
            Ok(Body::Read { address, quantity })
        }
        5 | 6 => Ok(Body::WriteSingle {
            address: r.u16(0)?,
            value: r.u16(2)?,
        }),
        15 | 16 => parse_write_multiple(r),
        22 => Ok(Body::MaskWrite {
            address: r.u16(0)?,
            and_mask: r.u16(2)?,
            or_mask: r.u16(4)?,
        }),
        23 => parse_read_write(r),
        8 => parse_diagnostics(r),
        24 => Ok(Body::ReadFifo { address: r.u16(0)? }),
        43 => parse_mei_request(r),
        _ => Ok(Body::Raw {
            data_len: r.data.len(),
        }),
    }
}

fn parse_response(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    match r.function {
        1 | 2 => {
            let bytes = r.counted(0)?;
            let bits = bytes
                .iter()
                .flat_map(|b| (0..8).map(move |i| b >> i & 1 == 1))
                .collect();
            Ok(Body::Bits {
                byte_count: bytes.len() as u8,
                bits,
            })
        }
        3 | 4 | 23 => {
            let bytes = r.counted(0)?;
            if bytes.len() % 2 != 0 {
                return Err(r.bad("byte count", bytes.len()));
            }
            Ok(Body::Registers {
                values: bytes.chunks_exact(2).map(|c| be16(c, 0)).collect(),
            })
        }
        5 | 6 => Ok(Body::WriteSingle {
            address: r.u16(0)?,
            value: r.u16(2)?,
        }),
        15 | 16 => Ok(Body::WriteMultipleAck {
            address: r.u16(0)?,
            quantity: r.u16(2)?,
        }),
        22 => Ok(Body::MaskWrite {
            address: r.u16(0)?,
            and_mask: r.u16(2)?,
            or_mask: r.u16(4)?,
        }),
        8 => parse_diagnostics(r),
        43 => parse_mei_response(r),
        _ => Ok(Body::Raw {
            data_len: r.data.len(),
        }),
    }
}

fn parse_write_multiple(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    let (address, quantity) = (r.u16(0)?, r.u16(2)?);
    let bytes = r.counted(4)?;
    let values = if r.function == 15 {
        r.check_count("quantity", quantity, 1, 1968)?;
        if bytes.len() != usize::from(quantity).div_ceil(8) {
            return Err(r.bad("byte count", bytes.len()));
        }
        let bits = bytes
            .iter()
            .flat_map(|b| (0..8).map(move |i| u16::from(b >> i & 1)));
        bits.take(usize::from(quantity)).collect()
    } else {
        r.check_count("quantity", quantity, 1, 123)?;
        if bytes.len() != usize::from(quantity) * 2 {
            return Err(r.bad("byte count", bytes.len()));
        }
        bytes.chunks_exact(2).map(|c| be16(c, 0)).collect()
    };
    Ok(Body::WriteMultiple {
        address,
        quantity,
        values,
    })
}

fn parse_read_write(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    let (read_address, read_quantity) = (r.u16(0)?, r.u16(2)?);
    let (write_address, write_quantity) = (r.u16(4)?, r.u16(6)?);
    r.check_count("read quantity", read_quantity, 1, 125)?;
    r.check_count("write quantity", write_quantity, 1, 121)?;

    let bytes = r.counted(8)?;
    if bytes.len() != usize::from(write_quantity) * 2 {
        return Err(r.bad("byte count", bytes.len()));
    }
    Ok(Body::ReadWrite {
        read_address,
        read_quantity,
        write_address,
        write_quantity,
        values: bytes.chunks_exact(2).map(|c| be16(c, 0)).collect(),
    })
}

fn parse_diagnostics(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    let sub_function = r.u16(0)?;
    Ok(Body::Diagnostics {
        sub_function,
        data: r.data.get(2..).unwrap_or_default().to_vec(),
    })
}

fn parse_mei_request(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    let mei_type = r.u8(0)?;
    if mei_type != 14 {
        return Ok(Body::Encapsulated {
            mei_type,
            data_len: r.data.len().saturating_sub(1),
        });
    }
    Ok(Body::ReadDeviceId {
        read_code: r.u8(1)?,
        object_id: r.u8(2)?,
    })
}

fn parse_mei_response(r: &mut Reader<'_>) -> Result<Body, ModbusError> {
    let mei_type = r.u8(0)?;
    if mei_type != 14 {
        return Ok(Body::Encapsulated {
            mei_type,
            data_len: r.data.len().saturating_sub(1),
        });
    }
    let (read_code, conformity, more) = (r.u8(1)?, r.u8(2)?, r.u8(3)?);
    let count = r.u8(5)?;

    // Each object: id, length, value; the count is at most what the PDU can hold.
    let mut objects = Vec::with_capacity(usize::from(count).min(64));
    let mut at = 6;
    for _ in 0..count {
        let (id, len) = (r.u8(at)?, usize::from(r.u8(at + 1)?));
        let value = r.slice(at + 2, len)?;
        objects.push((id, String::from_utf8_lossy(value).into_owned()));
        at += 2 + len;
    }
    Ok(Body::DeviceId {
        read_code,
        conformity,
        more_follows: more == 0xff,
        objects,
    })
}

/// Bounded access to PDU data; every short read is a typed error.
struct Reader<'a> {
    function: u8,
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn slice(&self, at: usize, len: usize) -> Result<&'a [u8], ModbusError> {
        let end = at.saturating_add(len);
        self.data.get(at..end).ok_or(ModbusError::ShortPdu {
            function: self.function,
            need: end,
            have: self.data.len(),
        })
    }

    fn u8(&self, at: usize) -> Result<u8, ModbusError> {
        let byte = self.slice(at, 1)?.first().copied();
        byte.ok_or(ModbusError::ShortPdu {
            function: self.function,
            need: at + 1,
            have: self.data.len(),
        })
    }

    fn u16(&self, at: usize) -> Result<u16, ModbusError> {
        Ok(be16(self.slice(at, 2)?, 0))
    }

    /// A byte count at `at` followed by that many bytes.
    fn counted(&self, at: usize) -> Result<&'a [u8], ModbusError> {
        let count = usize::from(self.u8(at)?);
        self.slice(at + 1, count)
    }

    fn check_count(
        &self,
        what: &'static str,
        n: u16,
        min: u16,
        max: u16,
    ) -> Result<(), ModbusError> {
        if (min..=max).contains(&n) {
            Ok(())
        } else {
            Err(self.bad(what, usize::from(n)))
        }
    }

    fn bad(&self, what: &'static str, value: usize) -> ModbusError {
        ModbusError::BadCount {
            function: self.function,
            what,
            value,
        }
    }
}

/// A big-endian u16 at `at`; callers pass slices already checked to be long enough.
fn be16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut out = tid.to_be_bytes().to_vec();
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        out.push(unit);
        out.extend_from_slice(pdu);
        out
    }

    #[test]
    fn reads_holding_register_request_and_response() {
        // tid 7, unit 1, FC 3, address 100, quantity 2
        let (req, used) = parse_adu(&adu(7, 1, &[3, 0, 100, 0, 2]), true).unwrap();
        assert_eq!(used, 12);
        assert_eq!(req.mbap.transaction_id, 7);
        assert_eq!(
            req.pdu.body,
            Body::Read {
                address: 100,
                quantity: 2
            }
        );

        // FC 3, byte count 4, values 0x00c8, 0xffec
        let (resp, _) = parse_adu(&adu(7, 1, &[3, 4, 0, 200, 0xff, 0xec]), false).unwrap();
        assert_eq!(
            resp.pdu.body,
            Body::Registers {
                values: vec![200, 0xffec]
            }
        );
    }

    #[test]
    fn write_multiple_registers_lists_addresses_and_values() {
        // FC 16, address 101, quantity 2, byte count 4, values 1 and 2
        let (req, _) = parse_adu(&adu(1, 1, &[16, 0, 101, 0, 2, 4, 0, 1, 0, 2]), true).unwrap();
        assert_eq!(req.pdu.written_registers(), vec![(101, 1), (102, 2)]);
        assert_eq!(req.pdu.written_range(), Some((101, 2)));
    }

    #[test]
    fn write_multiple_with_lying_byte_count_is_refused() {
        let err = parse_adu(&adu(1, 1, &[16, 0, 101, 0, 2, 6, 0, 1, 0, 2]), true).unwrap_err();
        assert!(
            matches!(err, ModbusError::ShortPdu { function: 16, .. }),
            "{err}"
        );
    }

    #[test]
    fn exception_response_carries_its_code() {
        let (resp, _) = parse_adu(&adu(1, 1, &[0x83, 2]), false).unwrap();
        assert_eq!(resp.pdu.function, 3);
        assert_eq!(resp.pdu.exception(), Some(2));
    }

    #[test]
    fn device_identification_response_lists_objects() {
        // 43/14, read code 1, conformity 1, no more, next 0, 2 objects: 0 "AB", 1 "C"
        let pdu = [43, 14, 1, 1, 0, 0, 2, 0, 2, b'A', b'B', 1, 1, b'C'];
        let (resp, _) = parse_adu(&adu(1, 1, &pdu), false).unwrap();
        let Body::DeviceId { objects, .. } = resp.pdu.body else {
            panic!("not a device id response");
        };
        assert_eq!(objects, vec![(0, "AB".to_string()), (1, "C".to_string())]);
    }

    #[test]
    fn bad_mbap_fields_are_typed_errors() {
        let mut frame = adu(1, 1, &[3, 0, 0, 0, 1]);
        frame[2] = 1;
        assert_eq!(
            parse_adu(&frame, true).unwrap_err(),
            ModbusError::BadProtocol(256)
        );
        let frame = [0, 1, 0, 0, 0x10, 0, 1];
        assert_eq!(
            parse_adu(&frame, true).unwrap_err(),
            ModbusError::BadLength(4096)
        );
        assert!(matches!(
            parse_adu(&[0, 1, 0], true).unwrap_err(),
            ModbusError::Truncated { .. }
        ));
    }

    #[test]
    fn every_prefix_of_every_function_parses_or_errors() {
        for function in 0..=255u8 {
            let body = [function, 14, 1, 0, 0, 0, 3, 2, 6, 0, 1, 0, 2, 0, 3, 0xff];
            for len in 0..body.len() {
                let _ = parse_pdu(&body[..len], true);
                let _ = parse_pdu(&body[..len], false);
            }
        }
    }
}
