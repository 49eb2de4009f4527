//! BACnet/IP and Modbus/TCP messages built byte by byte, for the generated captures.
//!
//! Only what the shipped scenarios send is here: enough of ASHRAE 135 (BVLC, NPDU, APDU
//! and the tags of clause 20.2) and of the Modbus application protocol to write a
//! conversation a real controller would accept.

/// BACnet object types used by the scenarios (clause 21, BACnetObjectType).
pub mod object {
    pub const ANALOG_INPUT: u32 = 0;
    pub const ANALOG_OUTPUT: u32 = 1;
    pub const ANALOG_VALUE: u32 = 2;
    pub const BINARY_OUTPUT: u32 = 4;
    pub const DEVICE: u32 = 8;
}

/// BACnet property identifiers used by the scenarios (BACnetPropertyIdentifier).
pub mod property {
    pub const OBJECT_LIST: u32 = 76;
    pub const OBJECT_NAME: u32 = 77;
    pub const PRESENT_VALUE: u32 = 85;
    pub const UNITS: u32 = 117;
}

/// BACnet confirmed service choices.
const READ_PROPERTY: u8 = 12;
const READ_PROPERTY_MULTIPLE: u8 = 14;
const WRITE_PROPERTY: u8 = 15;
const DEVICE_COMMUNICATION_CONTROL: u8 = 17;

/// BACnet unconfirmed service choices.
const I_AM: u8 = 0;
const WHO_IS: u8 = 8;

/// A BACnet object: its type and instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectId {
    pub object_type: u32,
    pub instance: u32,
}

impl ObjectId {
    pub const fn new(object_type: u32, instance: u32) -> Self {
        ObjectId {
            object_type,
            instance,
        }
    }

    fn encoded(self) -> [u8; 4] {
        (self.object_type << 22 | (self.instance & 0x3f_ffff)).to_be_bytes()
    }
}

/// A value carried in a property: the application-tagged types the scenarios write.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Real(f32),
    Unsigned(u32),
    Enumerated(u32),
    Text(String),
    Objects(Vec<ObjectId>),
}

/// Builds tagged BACnet data (clause 20.2).
#[derive(Default)]
struct Tags(Vec<u8>);

impl Tags {
    /// A tag header: number, class bit and length, with the extended length form past 4.
    fn header(&mut self, number: u8, context: bool, len: usize) {
        let class = if context { 0x08 } else { 0 };
        if len <= 4 {
            self.0.push(number << 4 | class | len as u8);
        } else {
            self.0.push(number << 4 | class | 5);
            self.0.push(len as u8);
        }
    }

    fn context(&mut self, number: u8, data: &[u8]) -> &mut Self {
        self.header(number, true, data.len());
        self.0.extend_from_slice(data);
        self
    }

    fn context_unsigned(&mut self, number: u8, value: u32) -> &mut Self {
        self.context(number, &minimal(value))
    }

    fn context_object(&mut self, number: u8, id: ObjectId) -> &mut Self {
        self.context(number, &id.encoded())
    }

    fn open(&mut self, number: u8) -> &mut Self {
        self.0.push(number << 4 | 0x0e);
        self
    }

    fn close(&mut self, number: u8) -> &mut Self {
        self.0.push(number << 4 | 0x0f);
        self
    }

    fn application(&mut self, value: &Value) -> &mut Self {
        match value {
            Value::Real(v) => {
                self.header(4, false, 4);
                self.0.extend_from_slice(&v.to_be_bytes());
            }
            Value::Unsigned(v) => {
                let data = minimal(*v);
                self.header(2, false, data.len());
                self.0.extend_from_slice(&data);
            }
            Value::Enumerated(v) => {
                let data = minimal(*v);
                self.header(9, false, data.len());
                self.0.extend_from_slice(&data);
            }
            Value::Text(text) => {
                // Character set 0 (UTF-8) before the characters.
                self.header(7, false, text.len() + 1);
                self.0.push(0);
                self.0.extend_from_slice(text.as_bytes());
            }
            Value::Objects(ids) => {
                for id in ids {
                    self.header(12, false, 4);
                    self.0.extend_from_slice(&id.encoded());
                }
            }
        }
        self
    }
}

/// The shortest big-endian form of an unsigned value (at least one byte).
fn minimal(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// A whole BACnet/IP datagram: BVLC (unicast or broadcast), NPDU, then the APDU.
fn bvlc(broadcast: bool, expecting_reply: bool, apdu: &[u8]) -> Vec<u8> {
    let function = if broadcast { 0x0b } else { 0x0a };
    let len = (apdu.len() + 6) as u16;
    let control = if expecting_reply { 0x04 } else { 0x00 };
    let mut out = vec![0x81, function];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0x01, control]);
    out.extend_from_slice(apdu);
    out
}

/// A confirmed request (unsegmented, up to 1476-byte answers accepted).
fn confirmed(invoke: u8, service: u8, data: &Tags) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke, service];
    apdu.extend_from_slice(&data.0);
    bvlc(false, true, &apdu)
}

fn complex_ack(invoke: u8, service: u8, data: &Tags) -> Vec<u8> {
    let mut apdu = vec![0x30, invoke, service];
    apdu.extend_from_slice(&data.0);
    bvlc(false, false, &apdu)
}

/// The simple acknowledgement of a confirmed request.
pub fn simple_ack(invoke: u8, service: u8) -> Vec<u8> {
    bvlc(false, false, &[0x20, invoke, service])
}

/// Who-Is, broadcast, for the device instances `low..=high`.
pub fn who_is(low: u32, high: u32) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_unsigned(0, low).context_unsigned(1, high);
    let mut apdu = vec![0x10, WHO_IS];
    apdu.extend_from_slice(&data.0);
    bvlc(true, false, &apdu)
}

/// I-Am of `device`: 1476-byte APDUs, no segmentation, this vendor.
pub fn i_am(device: u32, vendor: u32) -> Vec<u8> {
    let mut data = Tags::default();
    data.application(&Value::Objects(vec![ObjectId::new(object::DEVICE, device)]))
        .application(&Value::Unsigned(1476))
        .application(&Value::Enumerated(3))
        .application(&Value::Unsigned(vendor));
    let mut apdu = vec![0x10, I_AM];
    apdu.extend_from_slice(&data.0);
    bvlc(true, false, &apdu)
}

/// ReadProperty of one property.
pub fn read_property(invoke: u8, object: ObjectId, property: u32) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_object(0, object).context_unsigned(1, property);
    confirmed(invoke, READ_PROPERTY, &data)
}

/// The answer to a ReadProperty.
pub fn read_property_ack(invoke: u8, object: ObjectId, property: u32, value: &Value) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_object(0, object)
        .context_unsigned(1, property)
        .open(3)
        .application(value)
        .close(3);
    complex_ack(invoke, READ_PROPERTY, &data)
}

/// ReadPropertyMultiple of several properties of one object.
pub fn read_property_multiple(invoke: u8, object: ObjectId, properties: &[u32]) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_object(0, object).open(1);
    for property in properties {
        data.context_unsigned(0, *property);
    }
    data.close(1);
    confirmed(invoke, READ_PROPERTY_MULTIPLE, &data)
}

/// The answer to a ReadPropertyMultiple of one object.
pub fn read_property_multiple_ack(
    invoke: u8,
    object: ObjectId,
    values: &[(u32, Value)],
) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_object(0, object).open(1);
    for (property, value) in values {
        data.context_unsigned(2, *property)
            .open(4)
            .application(value)
            .close(4);
    }
    data.close(1);
    complex_ack(invoke, READ_PROPERTY_MULTIPLE, &data)
}

/// WriteProperty of `present-value` at a command priority.
pub fn write_present_value(invoke: u8, object: ObjectId, value: &Value, priority: u32) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_object(0, object)
        .context_unsigned(1, property::PRESENT_VALUE)
        .open(3)
        .application(value)
        .close(3)
        .context_unsigned(4, priority);
    confirmed(invoke, WRITE_PROPERTY, &data)
}

/// The acknowledgement of a WriteProperty.
pub fn write_ack(invoke: u8) -> Vec<u8> {
    simple_ack(invoke, WRITE_PROPERTY)
}

/// DeviceCommunicationControl: `disable` (1) or `enable` (0) for a number of minutes.
pub fn device_communication_control(invoke: u8, minutes: u32, enable: u32) -> Vec<u8> {
    let mut data = Tags::default();
    data.context_unsigned(0, minutes)
        .context_unsigned(1, enable);
    confirmed(invoke, DEVICE_COMMUNICATION_CONTROL, &data)
}

/// The acknowledgement of a DeviceCommunicationControl.
pub fn device_communication_control_ack(invoke: u8) -> Vec<u8> {
    simple_ack(invoke, DEVICE_COMMUNICATION_CONTROL)
}

/// A Modbus/TCP ADU: the MBAP header (transaction, protocol 0, length, unit) and a PDU.
pub fn modbus(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = transaction.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    out.push(unit);
    out.extend_from_slice(pdu);
    out
}

/// Read Holding Registers (FC 3) request.
pub fn read_holding_registers(address: u16, count: u16) -> Vec<u8> {
    let mut pdu = vec![3];
    pdu.extend_from_slice(&address.to_be_bytes());
    pdu.extend_from_slice(&count.to_be_bytes());
    pdu
}

/// Read Holding Registers (FC 3) response carrying `values`.
pub fn holding_registers(values: &[i16]) -> Vec<u8> {
    let mut pdu = vec![3, (values.len() * 2) as u8];
    for value in values {
        pdu.extend_from_slice(&value.to_be_bytes());
    }
    pdu
}

/// An exception response to `function` with `code` (e.g. 0x0b: gateway target failed).
pub fn exception(function: u8, code: u8) -> Vec<u8> {
    vec![function | 0x80, code]
}

/// Read Device Identification (FC 43 / MEI 14), basic objects from the first.
pub fn read_device_id() -> Vec<u8> {
    vec![43, 14, 1, 0]
}

/// The Read Device Identification answer: vendor, product code, revision.
pub fn device_id(objects: &[&str]) -> Vec<u8> {
    let mut pdu = vec![43, 14, 1, 1, 0, 0, objects.len() as u8];
    for (id, text) in (0u8..).zip(objects) {
        pdu.extend_from_slice(&[id, text.len() as u8]);
        pdu.extend_from_slice(text.as_bytes());
    }
    pdu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_property_is_laid_out_as_clause_15_9_says() {
        let bytes = write_present_value(
            7,
            ObjectId::new(object::ANALOG_VALUE, 1),
            &Value::Real(30.0),
            8,
        );
        let expected = [
            0x81, 0x0a, 0x00, 0x1a, // BVLC: original unicast, 26 bytes
            0x01, 0x04, // NPDU: version 1, expecting a reply
            0x00, 0x05, 0x07, 0x0f, // confirmed request, invoke 7, WriteProperty
            0x0c, 0x00, 0x80, 0x00, 0x01, // [0] analog-value 1
            0x19, 0x55, // [1] present-value
            0x3e, 0x44, 0x41, 0xf0, 0x00, 0x00, 0x3f, // [3] { REAL 30.0 }
            0x49, 0x08, // [4] priority 8
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn long_texts_use_the_extended_length() {
        let mut tags = Tags::default();
        tags.application(&Value::Text("AHU-OR-1".into()));
        assert_eq!(
            &tags.0[..3],
            &[0x75, 9, 0],
            "tag 7, length 9 in the next byte, UTF-8"
        );
    }

    #[test]
    fn unsigned_values_take_the_fewest_bytes() {
        assert_eq!(minimal(0), [0]);
        assert_eq!(minimal(60), [60]);
        assert_eq!(minimal(1476), [0x05, 0xc4]);
        assert_eq!(minimal(4_194_303), [0x3f, 0xff, 0xff]);
    }
}
