//! Observations: what a physical security system reported, in one normalised shape.
//!
//! Every adapter turns its native message into observations; the [`crate::engine`]
//! turns observations into security events, directly (a door forced) or through the
//! behaviour rules (a badge used in two distant places).

use chrono::{DateTime, Utc};
use safecare_core::Module;

/// Which kind of system sent an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum System {
    Access,
    Intrusion,
    Fire,
    Frigate,
    Onvif,
    Analytics,
    Environment,
}

impl System {
    /// The event module its events are published under.
    pub fn module(self) -> Module {
        match self {
            System::Access => Module::Access,
            System::Intrusion | System::Environment => Module::Intrusion,
            System::Fire => Module::Fire,
            System::Frigate | System::Onvif | System::Analytics => Module::Video,
        }
    }

    /// Short name for evidence and dead letters.
    pub fn as_str(self) -> &'static str {
        match self {
            System::Access => "access",
            System::Intrusion => "intrusion",
            System::Fire => "fire",
            System::Frigate => "frigate",
            System::Onvif => "onvif",
            System::Analytics => "analytics",
            System::Environment => "environment",
        }
    }
}

/// One normalised fact from a physical security system.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// When it happened, as the system says (corrected for skew by the engine).
    pub time: DateTime<Utc>,
    /// True when the native message carried no time and `time` is the receive time.
    pub time_assumed: bool,
    pub system: System,
    /// The device id as the system names it: a door, camera, sensor or panel.
    pub device: String,
    /// Zone named by the message itself, when it gives one.
    pub zone: Option<String>,
    pub fact: Fact,
}

/// How a person asked a door to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Badge,
    Keypad,
    BadgeAndKeypad,
    Biometric,
    Remote,
}

impl Credential {
    /// The snake_case name used in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Credential::Badge => "badge",
            Credential::Keypad => "keypad_code",
            Credential::BadgeAndKeypad => "badge_and_code",
            Credential::Biometric => "biometric",
            Credential::Remote => "remote",
        }
    }
}

/// Who presented a credential at a door, and what the door said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    pub granted: bool,
    pub credential: Credential,
    pub badge: Option<String>,
    pub user: Option<String>,
    /// The keypad code's reference (slot or hash), never the code itself.
    pub code_id: Option<String>,
    pub reason: Option<String>,
}

/// A sensor box reading of one quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    TemperatureC(f64),
    HumidityPct(f64),
    LightLux(f64),
    SoundDb(f64),
}

/// Fire-detection device states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireState {
    Smoke,
    Heat,
    ManualCallPoint,
    GeneralAlarm,
    PreAlarm,
    Fault,
    Isolated,
    Restored,
}

/// A tracked object seen by a video analytics system.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedObject {
    pub track: String,
    pub label: String,
    pub zones: Vec<String>,
    pub entered_zones: Vec<String>,
    pub stationary: bool,
    /// When the track started.
    pub start: DateTime<Utc>,
    /// False once the track has ended.
    pub active: bool,
    pub score: Option<f64>,
}

/// What an observation says happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A badge, code or both presented at a door.
    Presented(Presentation),
    DoorForced,
    DoorHeld {
        seconds: Option<u32>,
    },
    DoorOpened,
    DoorClosed,
    AntiPassback {
        badge: Option<String>,
        user: Option<String>,
    },
    ReaderTamper,
    /// People counted through a door (door counter or a video line).
    Passage {
        count: u32,
        door: Option<String>,
    },
    Motion,
    GlassBreak,
    Tamper,
    Arming {
        armed: bool,
    },
    Fire(FireState),
    Flood,
    Reading(Reading),
    /// A tracked object (Frigate).
    Object(TrackedObject),
    /// A person counted in an area (generic analytics).
    Occupancy {
        count: u32,
    },
    /// A person reported dwelling by the analytics system itself.
    Loitering {
        dwell_seconds: u32,
    },
    PersonSeen {
        count: u32,
    },
    CameraTamper {
        active: bool,
    },
    CameraStatus {
        online: bool,
    },
    VideoMotion {
        active: bool,
    },
    LineCrossing {
        count: u32,
        door: Option<String>,
    },
    FieldIntrusion {
        active: bool,
    },
}
