//! DICOM associations: C-STORE command sets and datasets reassembled from PDVs.
//!
//! Both directions of a connection are read (a C-GET makes the called side send
//! C-STOREs too). Per direction one message is assembled at a time: its command set
//! (implicit VR little endian, PS3.7 section 6.3) and then, for a C-STORE-RQ, its
//! dataset, until the PDV flagged as the last fragment. The dataset is kept as sent
//! and wrapped in a Part 10 file so that the file analysis can read it.

use super::buffer::{Budget, ConnectorLimits, ObjectBuffer, overflow_detail};
use super::dicom_ul::{Association, PduReader, UlEvent, uid_text};
use super::{ExtractedObject, Found, IssueKind, ObjectDetails, Sender};
use serde::Serialize;

/// C-STORE-RQ in (0000,0100) Command Field.
const C_STORE_RQ: u16 = 0x0001;
/// (0000,0800) Command Data Set Type: no dataset follows.
const NO_DATASET: u16 = 0x0101;
/// Elements one command set may hold (a real one has about ten).
const MAX_COMMAND_ELEMENTS: usize = 256;
/// UIDs are at most 64 characters (PS3.5 section 9.1).
const MAX_UID: usize = 64;

/// What the network says about one C-STORE dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DicomObjectInfo {
    pub calling_ae: String,
    pub called_ae: String,
    pub context_id: u8,
    pub message_id: Option<u16>,
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    /// The transfer syntax accepted for the presentation context.
    pub transfer_syntax: Option<String>,
}

/// The fields of a command set the extraction needs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Command {
    pub field: Option<u16>,
    pub message_id: Option<u16>,
    pub data_set_type: Option<u16>,
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
}

/// The message being assembled in one direction.
#[derive(Debug, Default)]
enum Message {
    /// Between messages.
    #[default]
    Idle,
    /// Command fragments so far.
    Command { context_id: u8, bytes: Vec<u8> },
    /// A C-STORE-RQ whose dataset is arriving.
    Dataset {
        context_id: u8,
        command: Command,
        buffer: ObjectBuffer,
    },
    /// A dataset that is not extracted (another command, or a refused one).
    Skipping,
}

/// One association: a PDU reader each way and what they have read.
#[derive(Debug)]
pub struct DicomConnection {
    readers: [PduReader; 2],
    state: AssociationState,
}

/// The negotiation and the message in progress each way.
#[derive(Debug)]
struct AssociationState {
    messages: [Message; 2],
    request: Option<Association>,
    accept: Option<Association>,
    limits: ConnectorLimits,
}

impl DicomConnection {
    /// A connection whose first byte each way starts a PDU.
    pub fn new(limits: ConnectorLimits) -> Self {
        DicomConnection {
            readers: [
                PduReader::new(limits.max_control_pdu),
                PduReader::new(limits.max_control_pdu),
            ],
            state: AssociationState {
                messages: [Message::Idle, Message::Idle],
                request: None,
                accept: None,
                limits,
            },
        }
    }

    /// Bytes held in control PDUs and command sets being read (datasets are
    /// counted by their own buffers).
    pub fn buffered(&self) -> u64 {
        let readers: usize = self.readers.iter().map(PduReader::buffered).sum();
        let commands: usize = self
            .state
            .messages
            .iter()
            .map(|message| match message {
                Message::Command { bytes, .. } => bytes.capacity(),
                _ => 0,
            })
            .sum();
        (readers + commands) as u64
    }

    /// The association request, once read.
    pub fn request(&self) -> Option<&Association> {
        self.state.request.as_ref()
    }

    /// Reads bytes sent by `sender`; completed datasets and problems go to `found`.
    pub fn feed(
        &mut self,
        sender: Sender,
        data: &[u8],
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let state = &mut self.state;
        let result = self.readers[sender as usize].feed(data, &mut |event| {
            state.handle(sender, event, budget, found);
        });
        if let Err(err) = result {
            found.push(state.issue(sender, IssueKind::Malformed, err.to_string()));
            state.abandon(sender, budget, found, "the upper layer protocol broke");
        }
    }

    /// Bytes from `sender` that will never arrive: the message in progress is lost and
    /// the rest of that direction is not read.
    pub fn gap(
        &mut self,
        sender: Sender,
        missing: u64,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let reader = &mut self.readers[sender as usize];
        if reader.has_failed() {
            return;
        }
        reader.stop();
        let detail = format!(
            "{missing} bytes of the association are missing from the capture; the rest of \
             this direction is not read"
        );
        found.push(self.state.issue(sender, IssueKind::Truncated, detail));
        self.state
            .abandon(sender, budget, found, "bytes were missing");
    }

    /// The connection ended: anything still open is reported as cut short.
    pub fn finish(&mut self, budget: &mut Budget, found: &mut Vec<Found>) {
        for sender in [Sender::Client, Sender::Server] {
            if let Err(err) = self.readers[sender as usize].finish() {
                found.push(
                    self.state
                        .issue(sender, IssueKind::Truncated, err.to_string()),
                );
            }
            self.state
                .abandon(sender, budget, found, "the association ended");
        }
    }
}

impl AssociationState {
    /// An issue about this association, naming its AE titles once they are known.
    fn issue(&self, sender: Sender, kind: IssueKind, detail: String) -> Found {
        match &self.request {
            Some(request) => {
                let info = DicomObjectInfo {
                    calling_ae: request.calling_ae.clone(),
                    called_ae: request.called_ae.clone(),
                    ..DicomObjectInfo::default()
                };
                Found::issue_about(sender, kind, detail, info)
            }
            None => Found::issue(sender, kind, detail),
        }
    }

    fn handle(
        &mut self,
        sender: Sender,
        event: UlEvent<'_>,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        match event {
            UlEvent::AssociateRequest(association) => self.request = Some(association),
            UlEvent::AssociateAccept(association) => self.accept = Some(association),
            UlEvent::PdvData {
                context_id,
                is_command,
                data,
            } => self.pdv_data(sender, context_id, is_command, data, budget, found),
            UlEvent::PdvEnd {
                context_id,
                is_command,
                is_last: true,
            } => self.pdv_last(sender, context_id, is_command, budget, found),
            UlEvent::Abort { .. } => {
                self.abandon(sender, budget, found, "the association was aborted");
            }
            _ => {}
        }
    }

    /// Drops the message in progress, reporting a dataset that was cut short.
    fn abandon(&mut self, sender: Sender, budget: &mut Budget, found: &mut Vec<Found>, why: &str) {
        let message = std::mem::take(&mut self.messages[sender as usize]);
        if let Message::Dataset {
            context_id,
            command,
            buffer,
        } = message
        {
            let info = self.info(context_id, &command);
            let detail = format!(
                "{why} before the last fragment of the C-STORE dataset ({} bytes received): \
                 not extracted",
                buffer.seen()
            );
            buffer.discard(budget);
            found.push(Found::issue_about(
                sender,
                IssueKind::Truncated,
                detail,
                info,
            ));
        }
    }

    /// A piece of a PDV: command bytes, or dataset bytes of the C-STORE in progress.
    fn pdv_data(
        &mut self,
        sender: Sender,
        context_id: u8,
        is_command: bool,
        data: &[u8],
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let side = sender as usize;
        let max_command = self.limits.max_command_bytes;
        let command_start = || Message::Command {
            context_id,
            bytes: data.to_vec(),
        };
        match (&mut self.messages[side], is_command) {
            (Message::Idle | Message::Skipping, true) if data.len() <= max_command => {
                self.messages[side] = command_start();
            }
            (Message::Command { bytes, .. }, true) if bytes.len() + data.len() <= max_command => {
                bytes.extend_from_slice(data);
            }
            (Message::Idle | Message::Skipping | Message::Command { .. }, true) => {
                let detail = format!("a command set longer than {max_command} bytes");
                found.push(self.issue(sender, IssueKind::Malformed, detail));
                self.messages[side] = Message::Skipping;
            }
            (Message::Dataset { buffer, .. }, false) => buffer.append(data, &self.limits, budget),
            (Message::Skipping, false) => {}
            (_, is_command) => {
                let what = if is_command {
                    "a command"
                } else {
                    "a dataset fragment"
                };
                let detail = format!("{what} arrived where the association did not expect one");
                found.push(self.issue(sender, IssueKind::Malformed, detail));
                self.abandon(sender, budget, found, "the message was interrupted");
                self.messages[side] = Message::Skipping;
            }
        }
    }

    /// The last fragment of a command or dataset.
    fn pdv_last(
        &mut self,
        sender: Sender,
        context_id: u8,
        is_command: bool,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let side = sender as usize;
        let message = std::mem::take(&mut self.messages[side]);
        self.messages[side] = match (message, is_command) {
            (Message::Command { context_id, bytes }, true) => {
                self.command_done(sender, context_id, &bytes, found)
            }
            (Message::Idle, true) => self.command_done(sender, context_id, &[], found),
            (
                Message::Dataset {
                    context_id,
                    command,
                    buffer,
                },
                false,
            ) => {
                self.dataset_done(sender, context_id, &command, buffer, budget, found);
                Message::Idle
            }
            (Message::Skipping, false) => Message::Idle,
            (other, _) => other,
        };
    }

    /// Parses a complete command set and decides what to do with its dataset.
    fn command_done(
        &self,
        sender: Sender,
        context_id: u8,
        bytes: &[u8],
        found: &mut Vec<Found>,
    ) -> Message {
        let command = match parse_command(bytes) {
            Ok(command) => command,
            Err(detail) => {
                let detail = format!("command set: {detail}");
                found.push(self.issue(sender, IssueKind::Malformed, detail));
                return Message::Skipping;
            }
        };
        let has_dataset = command.data_set_type.is_some_and(|t| t != NO_DATASET);
        match (command.field, has_dataset) {
            (Some(C_STORE_RQ), true) => Message::Dataset {
                context_id,
                command,
                buffer: ObjectBuffer::default(),
            },
            (_, true) => Message::Skipping,
            (_, false) => Message::Idle,
        }
    }

    /// A whole C-STORE dataset: wrapped in a Part 10 file and handed out.
    fn dataset_done(
        &self,
        sender: Sender,
        context_id: u8,
        command: &Command,
        buffer: ObjectBuffer,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) {
        let info = self.info(context_id, command);
        if let Some(why) = buffer.overflow() {
            let detail = overflow_detail(why, buffer.seen(), &self.limits);
            buffer.discard(budget);
            found.push(Found::issue_about(
                sender,
                IssueKind::OverLimit,
                detail,
                info,
            ));
            return;
        }
        let dataset = buffer.take(budget);
        let (bytes, dataset_start) = part10(&info, dataset);
        found.push(Found::Object(ExtractedObject {
            sender,
            details: ObjectDetails::Dicom(info),
            bytes,
            dataset_start,
        }));
    }

    /// What the negotiation and the command say about a dataset.
    fn info(&self, context_id: u8, command: &Command) -> DicomObjectInfo {
        let request = self.request.as_ref();
        let proposed = request.and_then(|r| r.contexts.iter().find(|c| c.id == context_id));
        let accepted = self.accept.as_ref().and_then(|a| {
            a.contexts
                .iter()
                .find(|c| c.id == context_id && c.result == Some(0))
        });

        // The accepted syntax; without the answer, the only one proposed.
        let transfer_syntax = match (accepted, proposed) {
            (Some(context), _) => context.transfer_syntaxes.first().cloned(),
            (None, Some(context)) if context.transfer_syntaxes.len() == 1 => {
                context.transfer_syntaxes.first().cloned()
            }
            _ => None,
        };
        let sop_class_uid = command
            .sop_class_uid
            .clone()
            .or_else(|| proposed.and_then(|c| c.abstract_syntax.clone()));
        let (calling_ae, called_ae) = request
            .map(|r| (r.calling_ae.clone(), r.called_ae.clone()))
            .unwrap_or_default();
        DicomObjectInfo {
            calling_ae,
            called_ae,
            context_id,
            message_id: command.message_id,
            sop_class_uid,
            sop_instance_uid: command.sop_instance_uid.clone(),
            transfer_syntax,
        }
    }
}

/// Reads a command set: implicit VR little endian elements of group 0000.
pub fn parse_command(bytes: &[u8]) -> Result<Command, String> {
    let mut command = Command::default();
    let mut rest = bytes;
    let mut count = 0;

    while !rest.is_empty() {
        count += 1;
        if count > MAX_COMMAND_ELEMENTS {
            return Err(format!("more than {MAX_COMMAND_ELEMENTS} elements"));
        }
        let [g0, g1, e0, e1, l0, l1, l2, l3, value @ ..] = rest else {
            return Err(format!(
                "{} bytes left, too few for an element header",
                rest.len()
            ));
        };
        let tag = (
            u16::from_le_bytes([*g0, *g1]),
            u16::from_le_bytes([*e0, *e1]),
        );
        let length = u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize;
        let Some(value) = value.get(..length) else {
            return Err(format!(
                "element ({:04X},{:04X}) declares {length} bytes but {} remain",
                tag.0,
                tag.1,
                value.len()
            ));
        };
        read_command_element(tag, value, &mut command);
        rest = &rest[8 + length..];
    }
    Ok(command)
}

fn read_command_element(tag: (u16, u16), value: &[u8], command: &mut Command) {
    let short = || match value {
        [a, b] => Some(u16::from_le_bytes([*a, *b])),
        _ => None,
    };
    let uid = || (value.len() <= MAX_UID).then(|| uid_text(value));
    match tag {
        (0x0000, 0x0002) => command.sop_class_uid = uid(),
        (0x0000, 0x0100) => command.field = short(),
        (0x0000, 0x0110) => command.message_id = short(),
        (0x0000, 0x0800) => command.data_set_type = short(),
        (0x0000, 0x1000) => command.sop_instance_uid = uid(),
        _ => {}
    }
}

/// A root for SafeCare's implementation class UID, derived from a UUID (PS3.5 B.2).
const IMPLEMENTATION_CLASS_UID: &str = "2.25.168361728377264926410838436532812075391";
const IMPLEMENTATION_VERSION: &str = "SAFECARE_1";

/// Wraps a dataset in a Part 10 file: zero preamble, 'DICM', and a file meta group
/// from the network's UIDs. Returns the file and where the dataset starts in it.
pub fn part10(info: &DicomObjectInfo, dataset: Vec<u8>) -> (Vec<u8>, usize) {
    let mut meta = Vec::new();
    meta.extend(meta_element(0x0001, b"OB", &[0, 1]));
    let uids = [
        (0x0002, info.sop_class_uid.as_deref()),
        (0x0003, info.sop_instance_uid.as_deref()),
        (0x0010, info.transfer_syntax.as_deref()),
        (0x0012, Some(IMPLEMENTATION_CLASS_UID)),
    ];
    for (element, uid) in uids {
        if let Some(uid) = uid.filter(|u| u.len() <= MAX_UID) {
            meta.extend(meta_element(element, b"UI", &padded(uid, 0)));
        }
    }
    meta.extend(meta_element(
        0x0013,
        b"SH",
        &padded(IMPLEMENTATION_VERSION, b' '),
    ));
    if !info.calling_ae.is_empty() && info.calling_ae.len() <= 16 {
        meta.extend(meta_element(0x0016, b"AE", &padded(&info.calling_ae, b' ')));
    }

    let mut file = Vec::with_capacity(132 + 12 + meta.len() + dataset.len());
    file.resize(128, 0);
    file.extend_from_slice(b"DICM");
    file.extend(meta_element(
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    ));
    file.extend_from_slice(&meta);
    let start = file.len();
    file.extend_from_slice(&dataset);
    (file, start)
}

/// A value padded to even length, as DICOM requires.
fn padded(text: &str, pad: u8) -> Vec<u8> {
    let mut value = text.as_bytes().to_vec();
    if value.len() % 2 == 1 {
        value.push(pad);
    }
    value
}

/// One explicit VR little endian element of group 0002.
fn meta_element(element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + value.len());
    out.extend_from_slice(&0x0002u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    if vr == b"OB" {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(group: u16, element: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&group.to_le_bytes());
        out.extend_from_slice(&element.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn a_c_store_command_is_read() {
        let mut bytes = element(0, 0x0002, b"1.2.840.10008.5.1.4.1.1.2\0");
        bytes.extend(element(0, 0x0100, &1u16.to_le_bytes()));
        bytes.extend(element(0, 0x0110, &7u16.to_le_bytes()));
        bytes.extend(element(0, 0x0800, &0u16.to_le_bytes()));
        bytes.extend(element(0, 0x1000, b"1.2.3.4"));
        let command = parse_command(&bytes).unwrap();
        assert_eq!(command.field, Some(C_STORE_RQ));
        assert_eq!(command.message_id, Some(7));
        assert_eq!(
            command.sop_class_uid.as_deref(),
            Some("1.2.840.10008.5.1.4.1.1.2")
        );
        assert_eq!(command.sop_instance_uid.as_deref(), Some("1.2.3.4"));

        let mut lying = element(0, 0x0100, &1u16.to_le_bytes());
        lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_command(&lying).unwrap_err().contains("declares"));
    }

    #[test]
    fn the_part10_wrapper_is_read_back_by_the_analysis() {
        let info = DicomObjectInfo {
            calling_ae: "CT01".into(),
            sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.7".into()),
            sop_instance_uid: Some("1.2.3".into()),
            transfer_syntax: Some("1.2.840.10008.1.2.1".into()),
            ..DicomObjectInfo::default()
        };
        let mut dataset = vec![0x08, 0, 0x16, 0, b'U', b'I', 2, 0, b'1', 0];
        dataset.extend_from_slice(&[0x08, 0, 0x60, 0, b'C', b'S', 2, 0, b'O', b'T']);
        let (file, start) = part10(&info, dataset.clone());
        assert_eq!(&file[start..], &dataset[..]);

        let findings = crate::dicom::inspect(&file, &crate::dicom::DicomOptions::default());
        assert!(
            findings.iter().all(|f| f.severity <= crate::Severity::Info),
            "{findings:?}"
        );
    }
}
