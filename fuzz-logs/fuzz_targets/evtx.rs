//! EVTX files: any bytes must give records or typed errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_logs::intake::evtx::read_evtx_bytes;

fuzz_target!(|data: &[u8]| {
    let _ = read_evtx_bytes(data.to_vec(), "fuzz.evtx", &mut |_| {});
});
