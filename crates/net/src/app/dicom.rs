//! DICOM upper layer: the A-ASSOCIATE request that opens every association.

/// An association request and how the called side answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// AE title of the requesting application.
    pub calling_ae: String,
    /// AE title it asked for.
    pub called_ae: String,
    /// `Some(true)` A-ASSOCIATE-AC, `Some(false)` A-ASSOCIATE-RJ or abort, `None` unseen.
    pub accepted: Option<bool>,
}

const A_ASSOCIATE_RQ: u8 = 0x01;
const A_ASSOCIATE_AC: u8 = 0x02;
const A_ASSOCIATE_RJ: u8 = 0x03;
const A_ABORT: u8 = 0x07;

/// A request PDU is at least its 74-byte fixed part; over 1 MiB is not a real request.
const MIN_RQ_LEN: u32 = 68;
const MAX_RQ_LEN: u32 = 1 << 20;

/// Reads an A-ASSOCIATE-RQ at the start of the client stream; `None` when the client
/// does not open a DICOM association.
pub fn parse_association(client: &[u8], server: &[u8]) -> Option<Association> {
    // Header: PDU type, reserved, length (u32), protocol version (bit 0), reserved.
    let [A_ASSOCIATE_RQ, 0, l0, l1, l2, l3, 0, version, ..] = client else {
        return None;
    };
    let length = u32::from_be_bytes([*l0, *l1, *l2, *l3]);
    if !(MIN_RQ_LEN..=MAX_RQ_LEN).contains(&length) || version & 1 == 0 {
        return None;
    }
    let called_ae = ae_title(client.get(10..26)?)?;
    let calling_ae = ae_title(client.get(26..42)?)?;
    let accepted = match server.first() {
        Some(&A_ASSOCIATE_AC) => Some(true),
        Some(&A_ASSOCIATE_RJ) | Some(&A_ABORT) => Some(false),
        _ => None,
    };
    Some(Association {
        calling_ae,
        called_ae,
        accepted,
    })
}

/// An AE title: 16 bytes of printable ASCII padded with spaces, not all blank.
fn ae_title(bytes: &[u8]) -> Option<String> {
    if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return None;
    }
    let title = String::from_utf8_lossy(bytes).trim().to_string();
    (!title.is_empty()).then_some(title)
}

/// Builds an A-ASSOCIATE-RQ with one presentation context, for tests and generators.
pub fn associate_request(calling: &str, called: &str) -> Vec<u8> {
    let pad = |s: &str| {
        let mut field = [b' '; 16];
        for (slot, byte) in field.iter_mut().zip(s.bytes()) {
            *slot = byte;
        }
        field
    };
    // Application context item (0x10) with the DICOM application context name.
    let context_name = b"1.2.840.10008.3.1.1.1";
    let mut items = vec![0x10, 0];
    items.extend_from_slice(&(context_name.len() as u16).to_be_bytes());
    items.extend_from_slice(context_name);

    let mut body = vec![0, 1, 0, 0];
    body.extend_from_slice(&pad(called));
    body.extend_from_slice(&pad(calling));
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&items);

    let mut pdu = vec![A_ASSOCIATE_RQ, 0];
    pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
    pdu.extend_from_slice(&body);
    pdu
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_titles_and_acceptance_are_read() {
        let rq = associate_request("EVIL", "PACS");
        let assoc = parse_association(&rq, &[A_ASSOCIATE_AC, 0, 0, 0]).unwrap();
        assert_eq!(assoc.calling_ae, "EVIL");
        assert_eq!(assoc.called_ae, "PACS");
        assert_eq!(assoc.accepted, Some(true));
    }

    #[test]
    fn other_bytes_or_cut_requests_are_not_associations() {
        let rq = associate_request("CT01", "PACS");
        for cut in 0..42 {
            assert!(parse_association(&rq[..cut], b"").is_none(), "cut {cut}");
        }
        assert!(parse_association(b"GET / HTTP/1.1\r\n\r\n", b"").is_none());
    }
}
