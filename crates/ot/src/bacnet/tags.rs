//! The BACnet tag encoding (ASHRAE 135 clause 20.2): a bounded tag reader.

use super::BacnetError;

/// Deepest nesting of opening tags followed before the data is refused.
pub const MAX_DEPTH: usize = 16;

/// Largest value length accepted in one tag.
pub const MAX_TAG_LEN: usize = 1476;

/// One tag header and its content bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Tag number: the application type, or the context number.
    pub number: u8,
    /// Context-specific (true) or application (false).
    pub context: bool,
    /// Value, opening or closing tag.
    pub kind: TagKind,
    /// Content bytes (empty for opening, closing and application booleans).
    pub data: &'a [u8],
    /// For an application boolean, the value lives in the length bits.
    pub lvt: u32,
}

/// Whether a tag holds a value or opens or closes a constructed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// A primitive value.
    Value,
    /// The start of a constructed value.
    Opening,
    /// The end of a constructed value.
    Closing,
}

/// A BACnet object identifier: object type (10 bits) and instance (22 bits).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ObjectId {
    /// Object type number (see [`super::names::object_type`]).
    pub object_type: u16,
    /// Instance number within the device.
    pub instance: u32,
}

impl ObjectId {
    /// Decodes the 4-byte encoded form.
    pub fn from_bytes(bytes: &[u8]) -> Option<ObjectId> {
        let raw = unsigned(bytes)?;
        if bytes.len() != 4 {
            return None;
        }
        Some(ObjectId {
            object_type: (raw >> 22) as u16,
            instance: raw & 0x3f_ffff,
        })
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = super::names::object_type(self.object_type);
        write!(f, "{name}:{}", self.instance)
    }
}

/// Reads tags one after another from a byte slice.
#[derive(Debug, Clone)]
pub struct TagReader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> TagReader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        TagReader { data, at: 0 }
    }

    /// True when every byte was read.
    pub fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    /// The next tag without moving on.
    pub fn peek(&self) -> Result<Option<Tag<'a>>, BacnetError> {
        self.clone().next_tag()
    }

    /// The next tag, or `None` at the end.
    pub fn next_tag(&mut self) -> Result<Option<Tag<'a>>, BacnetError> {
        let Some(&first) = self.data.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;

        // 1. Tag number, with the extended form for numbers over 14.
        let mut number = first >> 4;
        if number == 15 {
            number = self.byte()?;
        }
        let context = first & 0x08 != 0;
        let lvt = first & 0x07;

        // 2. Opening and closing tags carry no content.
        if context && lvt == 6 {
            return Ok(Some(self.empty(number, TagKind::Opening)));
        }
        if context && lvt == 7 {
            return Ok(Some(self.empty(number, TagKind::Closing)));
        }
        if !context && number == 1 {
            let mut tag = self.empty(1, TagKind::Value);
            tag.lvt = u32::from(lvt);
            return Ok(Some(tag));
        }

        // 3. Length, with the extended forms, checked before the content is taken.
        let len = match lvt {
            5 => self.extended_length()?,
            n => usize::from(n),
        };
        if len > MAX_TAG_LEN {
            return Err(BacnetError::Tag("tag length over 1476 bytes"));
        }
        let end = self.at.saturating_add(len);
        let data = self.data.get(self.at..end).ok_or(BacnetError::Tag(
            "tag content runs past the end of the APDU",
        ))?;
        self.at = end;
        Ok(Some(Tag {
            number,
            context,
            kind: TagKind::Value,
            data,
            lvt: len as u32,
        }))
    }

    /// Skips the value that follows an opening tag, up to its matching closing tag.
    pub fn skip_constructed(&mut self, number: u8) -> Result<(), BacnetError> {
        let mut depth = 1usize;
        while let Some(tag) = self.next_tag()? {
            match tag.kind {
                TagKind::Opening => depth += 1,
                TagKind::Closing => depth -= 1,
                TagKind::Value => {}
            }
            if depth > MAX_DEPTH {
                return Err(BacnetError::Tag("constructed value nested too deep"));
            }
            if depth == 0 {
                return match tag.number == number {
                    true => Ok(()),
                    false => Err(BacnetError::Tag("closing tag does not match its opening")),
                };
            }
        }
        Err(BacnetError::Tag("opening tag without its closing tag"))
    }

    /// Reads the content of a constructed value up to its closing tag: the first
    /// application value in it, when it is a number.
    pub fn constructed_number(&mut self, number: u8) -> Result<Option<f64>, BacnetError> {
        let first = self.peek()?;
        let value = first.and_then(|t| app_number(&t));
        self.skip_constructed(number)?;
        Ok(value)
    }

    /// Takes the next tag when it is context tag `number` holding a value.
    pub fn context_value(&mut self, number: u8) -> Result<Option<&'a [u8]>, BacnetError> {
        match self.peek()? {
            Some(tag) if tag.context && tag.number == number && tag.kind == TagKind::Value => {
                self.next_tag()?;
                Ok(Some(tag.data))
            }
            _ => Ok(None),
        }
    }

    /// Takes the next tag when it is the opening context tag `number`.
    pub fn opening(&mut self, number: u8) -> Result<bool, BacnetError> {
        match self.peek()? {
            Some(tag) if tag.context && tag.number == number && tag.kind == TagKind::Opening => {
                self.next_tag()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Takes the next tag when it is the closing context tag `number`.
    pub fn closing(&mut self, number: u8) -> Result<bool, BacnetError> {
        match self.peek()? {
            Some(tag) if tag.context && tag.number == number && tag.kind == TagKind::Closing => {
                self.next_tag()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The next application tag, which must have type `app_type`.
    pub fn application(&mut self, app_type: u8) -> Result<&'a [u8], BacnetError> {
        match self.next_tag()? {
            Some(tag) if !tag.context && tag.number == app_type => Ok(tag.data),
            Some(_) => Err(BacnetError::Tag(
                "unexpected tag where an application value was due",
            )),
            None => Err(BacnetError::Tag(
                "service data ends before a required value",
            )),
        }
    }

    fn byte(&mut self) -> Result<u8, BacnetError> {
        let b = *self
            .data
            .get(self.at)
            .ok_or(BacnetError::Tag("tag header runs past the end of the APDU"))?;
        self.at += 1;
        Ok(b)
    }

    fn extended_length(&mut self) -> Result<usize, BacnetError> {
        match self.byte()? {
            254 => Ok(usize::from(u16::from_be_bytes([
                self.byte()?,
                self.byte()?,
            ]))),
            255 => {
                let b = [self.byte()?, self.byte()?, self.byte()?, self.byte()?];
                Ok(u32::from_be_bytes(b) as usize)
            }
            n => Ok(usize::from(n)),
        }
    }

    fn empty(&self, number: u8, kind: TagKind) -> Tag<'a> {
        Tag {
            number,
            context: true,
            kind,
            data: &[],
            lvt: 0,
        }
    }
}

/// A big-endian unsigned integer of 1 to 4 bytes.
pub fn unsigned(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)))
}

/// A big-endian two's-complement integer of 1 to 4 bytes.
pub fn signed(bytes: &[u8]) -> Option<i32> {
    let raw = unsigned(bytes)?;
    let shift = 32 - 8 * bytes.len() as u32;
    Some(((raw << shift) as i32) >> shift)
}

/// The numeric value of an application tag (unsigned, signed, real, double,
/// enumerated, boolean), for bound checks on written values.
pub fn app_number(tag: &Tag<'_>) -> Option<f64> {
    if tag.context || tag.kind != TagKind::Value {
        return None;
    }
    match tag.number {
        1 => Some(f64::from(tag.lvt)),
        2 | 9 => unsigned(tag.data).map(f64::from),
        3 => signed(tag.data).map(f64::from),
        4 => {
            let b: [u8; 4] = tag.data.try_into().ok()?;
            Some(f64::from(f32::from_be_bytes(b)))
        }
        5 => {
            let b: [u8; 8] = tag.data.try_into().ok()?;
            Some(f64::from_be_bytes(b))
        }
        _ => None,
    }
}
