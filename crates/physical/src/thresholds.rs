//! The limits of the behaviour rules that the site model does not carry.
//!
//! Zone capacities, restricted flags and schedules come from the site; these are the
//! rest, with defaults that suit a general hospital.

use std::time::Duration;

/// Thresholds and memory bounds of the behaviour rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Denied badges at one door, or of one badge, that make a burst.
    pub denied_burst: usize,
    /// Window in which `denied_burst` denials count.
    pub denied_window: Duration,
    /// Fastest plausible walking speed between two doors, m/s.
    pub walking_speed: f64,
    /// Metres added per storey between two zones (stairs, lifts).
    pub metres_per_level: f64,
    /// Two uses of a badge closer than this (metres) are never "too far apart".
    pub min_travel_distance: f64,
    /// How long before and after a passage a grant still counts for it.
    pub tailgate_window: Duration,
    /// How long a passage waits (receive time) for a grant that arrives late, when the
    /// door counter or camera is faster on the bus than the access-control system.
    pub reorder_grace: Duration,
    /// A person stationary longer than this is loitering.
    pub loiter_after: Duration,
    /// A door open longer than this is held open.
    pub door_held_after: Duration,
    /// A camera silent longer than this (after it was seen) is offline.
    pub camera_silence: Duration,
    /// A crowding report is repeated when the count rises by this fraction...
    pub crowd_rise: f64,
    /// ...or after this long while still over capacity.
    pub crowd_repeat: Duration,
    /// Times further in the future than this are the sender's clock skew: the receive
    /// time is used instead.
    pub max_future_skew: Duration,
    /// Default comfort limits of sensor boxes when the site has no BMS point for them.
    pub env: EnvLimits,
    /// Memory bounds.
    pub limits: MemoryLimits,
}

/// Sensor-box limits used when the site model has no BMS point for the box.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvLimits {
    pub temperature_c: (f64, f64),
    pub humidity_pct: (f64, f64),
    /// Light above this in a closed zone is someone there.
    pub light_lux_closed: f64,
    /// Sound above this is an alarm (breaking, shouting).
    pub sound_db: f64,
}

/// Caps on the state the rules keep.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryLimits {
    pub badges: usize,
    pub doors: usize,
    pub tracks: usize,
    pub cameras: usize,
    pub codes: usize,
    pub badges_per_code: usize,
    pub dedup: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            denied_burst: 5,
            denied_window: Duration::from_secs(120),
            walking_speed: 2.0,
            metres_per_level: 20.0,
            min_travel_distance: 25.0,
            tailgate_window: Duration::from_secs(15),
            reorder_grace: Duration::from_secs(2),
            loiter_after: Duration::from_secs(10 * 60),
            door_held_after: Duration::from_secs(60),
            camera_silence: Duration::from_secs(5 * 60),
            crowd_rise: 0.05,
            crowd_repeat: Duration::from_secs(15 * 60),
            max_future_skew: Duration::from_secs(120),
            env: EnvLimits {
                temperature_c: (10.0, 35.0),
                humidity_pct: (15.0, 85.0),
                light_lux_closed: 50.0,
                sound_db: 90.0,
            },
            limits: MemoryLimits {
                badges: 200_000,
                doors: 100_000,
                tracks: 100_000,
                cameras: 50_000,
                codes: 10_000,
                badges_per_code: 512,
                dedup: 100_000,
            },
        }
    }
}
