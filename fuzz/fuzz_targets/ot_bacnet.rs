//! Fuzzes the BACnet/IP parser (BVLC, NPDU, APDU and service data): any datagram must
//! give a message or a typed error, never a panic, and serialise as JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_ot::bacnet::{parse_apdu, parse_datagram};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = parse_datagram(data) {
        let _ = serde_json::to_string(&message);
    }
    let _ = parse_apdu(data);
});
