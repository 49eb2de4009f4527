//! Writes the demo hospital's floor plans as SVG after a few events, to look at them.
//!
//! `cargo run -p safecare-physical --example floorplan -- /tmp/plans` writes
//! `main-b.svg`, `main-0.svg` and `main-1.svg` there.

use std::sync::Arc;

use safecare_core::site::Site;
use safecare_core::{Module, SecurityEvent};
use safecare_physical::{ZoneStates, render_floor_svg};

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let site = Arc::new(Site::demo());
    let mut states = ZoneStates::new(site.clone());

    for (module, kind, asset, severity) in [
        (Module::Access, "access.door_forced", "door-pharmacy", 80),
        (Module::Video, "video.camera_tamper", "cam-pharmacy", 70),
        (Module::Fire, "fire.smoke", "smoke-technical-room", 95),
    ] {
        let mut event = SecurityEvent::new(module, kind, severity, kind);
        event.asset = Some(asset.into());
        states.apply_event(&event);
    }
    let mut crowd = SecurityEvent::new(Module::Video, "video.crowding", 45, "crowd");
    crowd.location = site.zone_location("waiting-room");
    crowd.evidence.insert("people".into(), 72.into());
    states.apply_event(&crowd);

    for floor in ["main-b", "main-0", "main-1"] {
        let path = format!("{out}/{floor}.svg");
        std::fs::write(&path, render_floor_svg(&site, floor, &states))?;
        println!("wrote {path}");
    }
    Ok(())
}
