//! SafeCare physical security: the hospital's doors, intrusion panels, fire panels,
//! cameras and sensor boxes as security events, and the building view that places them
//! on the floor plans.
//!
//! The crate reads as three layers:
//!
//! 1. [`adapters`]: one pure parser per system, from its native message to
//!    [`observation::Observation`]s. The formats are documented in each module.
//! 2. [`Engine`]: checks (duplicates, clock skew, unknown devices), the events each
//!    observation means by itself, and the stateful behaviour [`rules`].
//! 3. [`zones::ZoneStates`] and [`floorplan::render_floor_svg`]: the live state of every
//!    zone and the floor plans drawn from the site's polygons.
//!
//! [`service::run`] wires them to the bus: native topics in, `safecare/v1/event/{module}`
//! out, rejected messages to `safecare/v1/deadletter/{module}`.
//!
//! # Event kinds
//!
//! From docs/EVENTS.md: `access.after_hours`, `access.restricted_entry`,
//! `access.door_forced`, `access.door_held_open`, `access.badge_denied`,
//! `access.tailgating`, `intrusion.motion`, `intrusion.glass_break`, `intrusion.tamper`,
//! `fire.smoke`, `fire.heat`, `fire.alarm`, `fire.panel_fault`, `video.loitering`,
//! `video.crowding`, `video.person_detected`, `video.tailgating`, `video.camera_tamper`,
//! `scada.temperature_alarm`, `scada.reading_out_of_range`.
//!
//! Not yet in the catalogue: `access.badge_denied_burst`, `access.impossible_travel`,
//! `access.code_first_use`, `access.antipassback`, `access.reader_tamper`,
//! `intrusion.arming_changed`, `intrusion.light_after_hours`, `intrusion.sound`,
//! `fire.pre_alarm`, `fire.isolation`, `fire.restored` (severity 0, clears the floor
//! plan), `video.camera_offline`, `video.camera_online`, `video.motion`,
//! `video.line_crossing`, `video.intrusion_field`, `scada.flood`, and
//! `{access,intrusion,fire,video}.unknown_device`.
//!
//! # Shared evidence keys
//!
//! Every event carries `evidence.system` (`access`, `frigate`, `onvif`, ...) and
//! `evidence.device` (the id the system used); `evidence.unknown_device: true` when the
//! site does not list that device, and `evidence.clock_skew_s` when the sender's time was
//! too far ahead and the receive time was used instead.

pub mod adapters;
pub mod engine;
pub mod error;
pub mod floorplan;
pub mod observation;
pub mod pullpoint;
pub mod rules;
pub mod service;
pub mod site_view;
pub mod thresholds;
pub mod zones;

pub use adapters::NativeTopics;
pub use engine::{Engine, EngineStats};
pub use error::{AdapterError, MAX_NATIVE_BYTES};
pub use floorplan::render_floor_svg;
pub use site_view::SiteView;
pub use thresholds::{EnvLimits, MemoryLimits, Thresholds};
pub use zones::{ZoneState, ZoneStates};

use safecare_core::SecurityEvent;

/// Turns an access-control webhook body (one message or a JSON array, see
/// [`adapters::access`]) into events, without a site model.
///
/// Only the events a message means by itself come out (door forced, held, badge denied,
/// tamper, anti-passback); the rules that need the site or history (after hours,
/// bursts, travel, tailgating) run in the service: publish the body on
/// `site/access/webhook` for those.
pub fn ingest_webhook(body: &[u8]) -> Result<Vec<SecurityEvent>, AdapterError> {
    let now = chrono::Utc::now();
    let observations = adapters::access::decode_batch(body, now)?;
    Ok(Engine::without_site().observe_all(observations, now))
}
