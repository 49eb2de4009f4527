//! Fuzzes the HTTP/1.x framing of the network connector (requests paired with
//! responses; Content-Length, chunked and until-close bodies).
//!
//! The first byte picks the piece size and how pieces alternate between client
//! and server, and whether a gap (bytes missing from the capture) is reported;
//! the rest is the traffic. The held bytes must all be returned once the
//! connection ends, and no kept body may exceed the per-object cap.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_files::connector::buffer::{Budget, ConnectorLimits};
use safecare_files::connector::{Found, HttpConnection, Sender};

fuzz_target!(|data: &[u8]| {
    let Some((&shape, traffic)) = data.split_first() else {
        return;
    };
    let limits = ConnectorLimits {
        max_object_bytes: 64 * 1024,
        max_open_bytes: 128 * 1024,
        ..ConnectorLimits::default()
    };
    let mut budget = Budget::new(limits.max_open_bytes);
    let mut connection = HttpConnection::new(limits);
    let mut found = Vec::new();

    let piece = usize::from(shape & 0x1f) + 1;
    for (i, chunk) in traffic.chunks(piece).enumerate() {
        let sender = if i % 2 == usize::from(shape >> 7) {
            Sender::Client
        } else {
            Sender::Server
        };
        connection.feed(sender, chunk, &mut budget, &mut found);
        if shape & 0x40 != 0 && i == 7 {
            connection.gap(Sender::Server, 100, &mut budget, &mut found);
        }
    }
    connection.finish(&mut budget, &mut found);

    assert_eq!(budget.held(), 0, "every held byte is returned");
    for item in &found {
        if let Found::Object(object) = item {
            assert!(object.sent_bytes().len() as u64 <= limits.max_object_bytes);
        }
    }
});
