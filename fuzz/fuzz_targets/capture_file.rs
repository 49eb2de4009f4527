//! Fuzzes the whole pipeline: a pcap or pcapng file read, decoded, defragmented,
//! tracked in flows and reassembled. Nothing may panic and memory must stay bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use safecare_capture::reader::CaptureReader;
use safecare_capture::{Engine, EngineConfig, Flow, Handler};

struct FollowAll;

impl Handler for FollowAll {
    fn stream_depth(&mut self, _flow: &Flow) -> u64 {
        4096
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::new(data) else { return };
    let mut engine = Engine::new(EngineConfig::default());
    engine.run(&mut reader, &mut FollowAll, &mut |_| {});
    engine.finish(&mut FollowAll);
    let stats = engine.stats();
    assert_eq!(stats.decoded + stats.undecodable, stats.packets);
});
