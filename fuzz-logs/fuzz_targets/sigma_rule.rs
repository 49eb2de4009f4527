//! Sigma rule files: any text must load or give rule errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_logs::sigma::RuleSet;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut set = RuleSet::default();
        set.add_yaml(text, std::path::Path::new("fuzz.yml"), &[]);
    }
});
