//! CSV with a header row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_logs::intake::csv::read_csv;

fuzz_target!(|data: &[u8]| {
    let _ = read_csv(data, "fuzz.csv", &mut |_| {});
});
