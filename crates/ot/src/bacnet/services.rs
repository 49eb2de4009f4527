//! Service data of the BACnet services a BMS monitor needs (clauses 13 to 16).

use serde::Serialize;

use super::BacnetError;
use super::tags::{self, ObjectId, TagReader};

/// Most property references kept from one message.
pub const MAX_REFS: usize = 1024;

/// The decoded service data of an APDU.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Service {
    /// No service data (simple ACKs, rejects, aborts, segment ACKs).
    None,
    /// Who-Is: which devices are there (optionally within an instance range).
    WhoIs {
        #[serde(skip_serializing_if = "Option::is_none")]
        low: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        high: Option<u32>,
    },
    /// I-Am: a device announces itself.
    IAm {
        device: ObjectId,
        vendor: Option<u32>,
    },
    /// Who-Has: which device holds this object or name.
    WhoHas {
        #[serde(skip_serializing_if = "Option::is_none")]
        object: Option<ObjectId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// I-Have: a device holds the object.
    IHave {
        device: ObjectId,
        object: ObjectId,
        name: Option<String>,
    },
    /// ReadProperty(Multiple), WriteProperty(Multiple), ReadRange and their ACKs.
    Properties { refs: Vec<PropertyRef> },
    /// ReinitializeDevice: restart or backup/restore a device.
    ReinitializeDevice { state: u32, password: bool },
    /// DeviceCommunicationControl: silence or re-enable a device.
    DeviceCommunicationControl {
        /// 0 enable, 1 disable, 2 disable initiation.
        enable: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_minutes: Option<u32>,
        password: bool,
    },
    /// AtomicReadFile or AtomicWriteFile: file (often firmware or program) transfer.
    AtomicFile { file: ObjectId },
    /// TimeSynchronization or UTCTimeSynchronization.
    TimeSynchronization { time: String },
    /// A service whose fields are not decoded: its length only.
    Other { length: usize },
}

/// One object property a message reads or writes, with the written or read value
/// when it is a number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyRef {
    /// The object read or written.
    pub object: ObjectId,
    /// The property identifier (see [`super::names::property`]).
    pub property: u32,
    /// The array element, when one was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_index: Option<u32>,
    /// The value written or read, when it is a single number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The command priority (1-16) of a write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
}

/// Decodes a confirmed request's service data. A segmented request keeps what its
/// first segment holds.
pub fn parse_confirmed(choice: u8, data: &[u8], segmented: bool) -> Result<Service, BacnetError> {
    let mut r = TagReader::new(data);
    match choice {
        12 | 26 => properties(&mut r, segmented, read_property),
        14 => properties(&mut r, segmented, read_multiple),
        15 => properties(&mut r, segmented, write_property),
        16 => properties(&mut r, segmented, write_multiple),
        20 => reinitialize(&mut r),
        17 => communication_control(&mut r),
        6 | 7 => Ok(Service::AtomicFile {
            file: object_id(r.application(12)?)?,
        }),
        _ => Ok(Service::Other { length: data.len() }),
    }
}

/// Decodes a complex ACK's service data.
pub fn parse_ack(choice: u8, data: &[u8], segmented: bool) -> Result<Service, BacnetError> {
    let mut r = TagReader::new(data);
    match choice {
        12 => properties(&mut r, segmented, read_property),
        14 => properties(&mut r, segmented, read_multiple_ack),
        _ => Ok(Service::Other { length: data.len() }),
    }
}

/// Decodes an unconfirmed request's service data.
pub fn parse_unconfirmed(choice: u8, data: &[u8]) -> Result<Service, BacnetError> {
    let mut r = TagReader::new(data);
    match choice {
        8 => Ok(Service::WhoIs {
            low: r.context_value(0)?.and_then(tags::unsigned),
            high: r.context_value(1)?.and_then(tags::unsigned),
        }),
        0 => {
            let device = object_id(r.application(12)?)?;
            let _max_apdu = r.application(2)?;
            let _segmentation = r.application(9)?;
            let vendor = tags::unsigned(r.application(2)?);
            Ok(Service::IAm { device, vendor })
        }
        7 => who_has(&mut r),
        1 => Ok(Service::IHave {
            device: object_id(r.application(12)?)?,
            object: object_id(r.application(12)?)?,
            name: r.application(7).ok().map(char_string),
        }),
        6 | 9 => {
            let date = r.application(10)?;
            let time = r.application(11)?;
            Ok(Service::TimeSynchronization {
                time: date_time(date, time),
            })
        }
        _ => Ok(Service::Other { length: data.len() }),
    }
}

type RefParser = fn(&mut TagReader<'_>, &mut Vec<PropertyRef>) -> Result<(), BacnetError>;

/// Runs a property parser; a segmented message keeps the references read before its
/// first segment ends.
fn properties(
    r: &mut TagReader<'_>,
    segmented: bool,
    parse: RefParser,
) -> Result<Service, BacnetError> {
    let mut refs = Vec::new();
    match parse(r, &mut refs) {
        Ok(()) => Ok(Service::Properties { refs }),
        Err(_) if segmented => Ok(Service::Properties { refs }),
        Err(err) => Err(err),
    }
}

/// ReadProperty, ReadRange and ReadProperty-ACK: object, property, index, [value].
fn read_property(r: &mut TagReader<'_>, refs: &mut Vec<PropertyRef>) -> Result<(), BacnetError> {
    let object = object_id(required(r.context_value(0)?)?)?;
    let property = unsigned(required(r.context_value(1)?)?)?;
    let array_index = r.context_value(2)?.and_then(tags::unsigned);
    let value = match r.opening(3)? {
        true => r.constructed_number(3)?,
        false => None,
    };
    push(refs, object, property, array_index, value, None)?;
    Ok(())
}

/// WriteProperty: object, property, index, value, priority.
fn write_property(r: &mut TagReader<'_>, refs: &mut Vec<PropertyRef>) -> Result<(), BacnetError> {
    let object = object_id(required(r.context_value(0)?)?)?;
    let property = unsigned(required(r.context_value(1)?)?)?;
    let array_index = r.context_value(2)?.and_then(tags::unsigned);
    if !r.opening(3)? {
        return Err(BacnetError::Tag("WriteProperty without its value"));
    }
    let value = r.constructed_number(3)?;
    let priority = r.context_value(4)?.and_then(tags::unsigned);
    refs.push(PropertyRef {
        object,
        property,
        array_index,
        value,
        priority,
    });
    Ok(())
}

/// ReadPropertyMultiple: (object, [(property, index)]) repeated.
fn read_multiple(r: &mut TagReader<'_>, refs: &mut Vec<PropertyRef>) -> Result<(), BacnetError> {
    while !r.is_empty() {
        let object = object_id(required(r.context_value(0)?)?)?;
        open(r, 1)?;
        while !r.closing(1)? {
            let property = unsigned(required(r.context_value(0)?)?)?;
            let array_index = r.context_value(1)?.and_then(tags::unsigned);
            push(refs, object, property, array_index, None, None)?;
        }
    }
    Ok(())
}

/// ReadPropertyMultiple-ACK: (object, [(property, index, value | error)]) repeated.
fn read_multiple_ack(
    r: &mut TagReader<'_>,
    refs: &mut Vec<PropertyRef>,
) -> Result<(), BacnetError> {
    while !r.is_empty() {
        let object = object_id(required(r.context_value(0)?)?)?;
        open(r, 1)?;
        while !r.closing(1)? {
            let property = unsigned(required(r.context_value(2)?)?)?;
            let array_index = r.context_value(3)?.and_then(tags::unsigned);
            let value = if r.opening(4)? {
                r.constructed_number(4)?
            } else if r.opening(5)? {
                r.skip_constructed(5)?;
                None
            } else {
                return Err(BacnetError::Tag("property result without value or error"));
            };
            push(refs, object, property, array_index, value, None)?;
        }
    }
    Ok(())
}

/// WritePropertyMultiple: (object, [(property, index, value, priority)]) repeated.
fn write_multiple(r: &mut TagReader<'_>, refs: &mut Vec<PropertyRef>) -> Result<(), BacnetError> {
    while !r.is_empty() {
        let object = object_id(required(r.context_value(0)?)?)?;
        open(r, 1)?;
        while !r.closing(1)? {
            let property = unsigned(required(r.context_value(0)?)?)?;
            let array_index = r.context_value(1)?.and_then(tags::unsigned);
            open(r, 2)?;
            let value = r.constructed_number(2)?;
            let priority = r.context_value(3)?.and_then(tags::unsigned);
            push(refs, object, property, array_index, value, priority)?;
        }
    }
    Ok(())
}

fn push(
    refs: &mut Vec<PropertyRef>,
    object: ObjectId,
    property: u32,
    array_index: Option<u32>,
    value: Option<f64>,
    priority: Option<u32>,
) -> Result<(), BacnetError> {
    if refs.len() >= MAX_REFS {
        return Err(BacnetError::Tag(
            "more than 1024 property references in one message",
        ));
    }
    refs.push(PropertyRef {
        object,
        property,
        array_index,
        value,
        priority,
    });
    Ok(())
}

fn reinitialize(r: &mut TagReader<'_>) -> Result<Service, BacnetError> {
    let state = unsigned(required(r.context_value(0)?)?)?;
    let password = r.context_value(1)?.is_some();
    Ok(Service::ReinitializeDevice { state, password })
}

fn communication_control(r: &mut TagReader<'_>) -> Result<Service, BacnetError> {
    let duration_minutes = r.context_value(0)?.and_then(tags::unsigned);
    let enable = unsigned(required(r.context_value(1)?)?)?;
    let password = r.context_value(2)?.is_some();
    Ok(Service::DeviceCommunicationControl {
        enable,
        duration_minutes,
        password,
    })
}

fn who_has(r: &mut TagReader<'_>) -> Result<Service, BacnetError> {
    let _low = r.context_value(0)?;
    let _high = r.context_value(1)?;
    let object = r.context_value(2)?.map(object_id).transpose()?;
    let name = r.context_value(3)?.map(char_string);
    Ok(Service::WhoHas { object, name })
}

fn open(r: &mut TagReader<'_>, number: u8) -> Result<(), BacnetError> {
    match r.opening(number)? {
        true => Ok(()),
        false => Err(BacnetError::Tag("expected opening tag missing")),
    }
}

fn required(value: Option<&[u8]>) -> Result<&[u8], BacnetError> {
    value.ok_or(BacnetError::Tag("a required context tag is missing"))
}

fn unsigned(bytes: &[u8]) -> Result<u32, BacnetError> {
    tags::unsigned(bytes).ok_or(BacnetError::Tag("unsigned value of 0 or over 4 bytes"))
}

fn object_id(bytes: &[u8]) -> Result<ObjectId, BacnetError> {
    ObjectId::from_bytes(bytes).ok_or(BacnetError::Tag("object identifier is not 4 bytes"))
}

/// A character string: its first byte names the character set; UTF-8 is read as such.
fn char_string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.get(1..).unwrap_or_default()).into_owned()
}

fn date_time(date: &[u8], time: &[u8]) -> String {
    match (date, time) {
        ([y, m, d, _], [h, mi, s, _]) => format!(
            "{:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}",
            1900 + u32::from(*y)
        ),
        _ => "invalid".to_string(),
    }
}
