//! JSON lines and multi-line JSON documents, including Windows event JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_logs::intake::json::read_json;

fuzz_target!(|data: &[u8]| {
    let _ = read_json(data, "fuzz.json", &mut |_| {});
});
