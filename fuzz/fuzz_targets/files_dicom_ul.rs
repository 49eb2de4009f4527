//! Fuzzes the DICOM upper layer reader and C-STORE assembly of the network connector.
//!
//! The first byte picks how the input is cut into TCP-sized pieces and which side
//! sends each piece, so PDU and PDV boundaries fall everywhere; the rest is the
//! traffic. The held bytes must all be returned once the connection ends.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_files::connector::buffer::{Budget, ConnectorLimits};
use safecare_files::connector::{DicomConnection, Found, Sender};

fuzz_target!(|data: &[u8]| {
    let Some((&shape, traffic)) = data.split_first() else {
        return;
    };
    let limits = ConnectorLimits {
        max_object_bytes: 64 * 1024,
        max_open_bytes: 128 * 1024,
        max_control_pdu: 16 * 1024,
        ..ConnectorLimits::default()
    };
    let mut budget = Budget::new(limits.max_open_bytes);
    let mut connection = DicomConnection::new(limits);
    let mut found = Vec::new();

    let piece = usize::from(shape & 0x3f) + 1;
    for (i, chunk) in traffic.chunks(piece).enumerate() {
        let sender = if shape & 0x40 != 0 && i % 3 == 2 {
            Sender::Server
        } else {
            Sender::Client
        };
        connection.feed(sender, chunk, &mut budget, &mut found);
    }
    connection.finish(&mut budget, &mut found);

    assert_eq!(budget.held(), 0, "every held byte is returned");
    for item in &found {
        if let Found::Object(object) = item {
            assert!(object.sent_bytes().len() as u64 <= limits.max_object_bytes);
        }
    }
});
