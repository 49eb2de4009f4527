//! Syslog lines and files (RFC 3164, RFC 5424, auth.log).
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_logs::intake::syslog::{parse_syslog_line, read_syslog};
use safecare_logs::record::Origin;

fuzz_target!(|data: &[u8]| {
    let _ = parse_syslog_line(data, Origin::default(), chrono::Utc::now());
    let _ = read_syslog(data, "fuzz.log", &mut |_| {});
});
