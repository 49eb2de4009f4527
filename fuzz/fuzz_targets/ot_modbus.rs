//! Fuzzes the Modbus/TCP parser: any bytes, as a request and as a response, must give
//! a frame or a typed error, never a panic; a parsed frame never claims more bytes
//! than it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_ot::modbus::{MAX_ADU, parse_adu};

fuzz_target!(|data: &[u8]| {
    for is_request in [true, false] {
        let mut rest = data;
        while let Ok((adu, used)) = parse_adu(rest, is_request) {
            assert!(used <= rest.len() && used <= MAX_ADU);
            let _ = adu.pdu.written_registers();
            rest = &rest[used..];
        }
    }
});
