//! Faults and attacks that `safecare ot simulate` replays: timed steps acting on the
//! simulated points and devices.
//!
//! ```yaml
//! name: freezer-thaw
//! description: The vaccine freezer's compressor stops.
//! steps:
//!   - at: 10s
//!     ramp: { sensor: vaccine-freezer-temperature, to: 8, over: 3m }
//! ```
//!
//! Actions: `ramp` (drift linearly to a value), `stick` (freeze the registers as they are),
//! `set` (jump to a value), `write` (a Modbus client writes a setpoint, as an attacker
//! would), `silence` (a device stops answering for a while), `restore` (back to normal).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::config::{ConfigError, PollConfig};
use super::span::Span;
use super::text;

/// The faults built into the binary, written for `deploy/scada-demo.yaml`.
const BUILT_IN: [(&str, &str); 5] = [
    ("freezer-thaw", include_str!("faults/freezer-thaw.yaml")),
    ("stuck-sensor", include_str!("faults/stuck-sensor.yaml")),
    ("setpoint-write", include_str!("faults/setpoint-write.yaml")),
    ("silence", include_str!("faults/silence.yaml")),
    ("power-loss", include_str!("faults/power-loss.yaml")),
];

/// The largest fault file read.
const MAX_FAULT_BYTES: u64 = 256 * 1024;

/// A fault or attack to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub name: String,
    pub description: String,
    /// Steps in the order of their time.
    pub steps: Vec<Step>,
}

/// One action at a time after the simulator starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: Duration,
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The value drifts linearly to `to` over `over`, then stays there.
    Ramp {
        sensor: String,
        to: f64,
        over: Duration,
    },
    /// The registers keep the value they hold now.
    Stick { sensor: String },
    /// The value jumps to `value` and stays there.
    Set { sensor: String, value: f64 },
    /// A Modbus client writes `value` to a writable point.
    Write { sensor: String, value: f64 },
    /// The device (every device when `None`) stops answering for `duration`.
    Silence {
        device: Option<String>,
        duration: Duration,
    },
    /// The point goes back to its normal behaviour.
    Restore { sensor: String },
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Ramp { sensor, to, over } => write!(f, "{sensor} ramps to {to} over {over:?}"),
            Action::Stick { sensor } => write!(f, "{sensor} sticks at its current value"),
            Action::Set { sensor, value } => write!(f, "{sensor} jumps to {value}"),
            Action::Write { sensor, value } => write!(f, "a client writes {value} to {sensor}"),
            Action::Silence { device, duration } => {
                let device = device.as_deref().unwrap_or("every device");
                write!(f, "{device} goes silent for {duration:?}")
            }
            Action::Restore { sensor } => write!(f, "{sensor} behaves normally again"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    name: String,
    #[serde(default)]
    description: String,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: Span,
    ramp: Option<RawRamp>,
    stick: Option<RawSensor>,
    set: Option<RawValue>,
    write: Option<RawValue>,
    silence: Option<RawSilence>,
    restore: Option<RawSensor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRamp {
    sensor: String,
    to: f64,
    over: Span,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSensor {
    sensor: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValue {
    sensor: String,
    value: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSilence {
    device: Option<String>,
    #[serde(rename = "for")]
    duration: Span,
}

impl Fault {
    /// The names of the built-in faults.
    pub fn built_in_names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(name, _)| *name).collect()
    }

    /// Loads a fault file, or a built-in fault by name, and checks it against `config`.
    pub fn load(file_or_name: &str, config: &PollConfig) -> Result<Fault, ConfigError> {
        let path = Path::new(file_or_name);
        if path.is_file() {
            let read = |source| ConfigError::Read {
                file: file_or_name.to_string(),
                source,
            };
            let size = std::fs::metadata(path).map_err(read)?.len();
            if size > MAX_FAULT_BYTES {
                let (file, max) = (file_or_name.to_string(), MAX_FAULT_BYTES);
                return Err(ConfigError::TooLarge { file, size, max });
            }
            let text = std::fs::read_to_string(path).map_err(read)?;
            return Fault::from_yaml(&text, file_or_name, config);
        }
        match BUILT_IN.iter().find(|(name, _)| *name == file_or_name) {
            Some((name, text)) => Fault::from_yaml(text, &format!("built-in fault {name}"), config),
            None => Err(ConfigError::UnknownFault {
                name: file_or_name.to_string(),
                known: Fault::built_in_names().join(", "),
            }),
        }
    }

    /// Parses a fault and checks that its sensors and devices exist in `config`.
    pub fn from_yaml(text: &str, file: &str, config: &PollConfig) -> Result<Fault, ConfigError> {
        let invalid = |line, message: String, fix: &str| ConfigError::Invalid {
            file: file.to_string(),
            line,
            message,
            fix: fix.to_string(),
        };
        let raw: RawFault = serde_yaml_ng::from_str(text).map_err(|err| {
            let (line, message) = text::yaml_error(&err);
            invalid(line, message, text::yaml_fix(&err.to_string()))
        })?;

        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, step) in raw.steps.into_iter().enumerate() {
            let line = nth_step_line(text, i);
            let at = step.at.duration();
            let action = step
                .into_action()
                .map_err(|message| invalid(line, format!("step {}: {message}", i + 1), ACTIONS))?;
            check(&action, config).map_err(|(message, fix)| invalid(line, message, &fix))?;
            steps.push(Step { at, action });
        }
        steps.sort_by_key(|s| s.at);
        Ok(Fault {
            name: raw.name,
            description: raw.description,
            steps,
        })
    }
}

const ACTIONS: &str = "give each step exactly one of ramp, stick, set, write, silence, restore";

impl RawStep {
    /// The one action the step names.
    fn into_action(self) -> Result<Action, String> {
        let RawStep {
            ramp,
            stick,
            set,
            write,
            silence,
            restore,
            ..
        } = self;
        let mut actions = Vec::new();
        if let Some(r) = ramp {
            actions.push(Action::Ramp {
                sensor: r.sensor,
                to: r.to,
                over: r.over.duration(),
            });
        }
        if let Some(s) = stick {
            actions.push(Action::Stick { sensor: s.sensor });
        }
        if let Some(s) = set {
            actions.push(Action::Set {
                sensor: s.sensor,
                value: s.value,
            });
        }
        if let Some(w) = write {
            actions.push(Action::Write {
                sensor: w.sensor,
                value: w.value,
            });
        }
        if let Some(s) = silence {
            actions.push(Action::Silence {
                device: s.device,
                duration: s.duration.duration(),
            });
        }
        if let Some(r) = restore {
            actions.push(Action::Restore { sensor: r.sensor });
        }
        match actions.len() {
            1 => Ok(actions.remove(0)),
            0 => Err("has no action".into()),
            n => Err(format!("has {n} actions")),
        }
    }
}

/// Checks that the sensor or device an action names exists, and that writes hit a
/// writable point.
fn check(action: &Action, config: &PollConfig) -> Result<(), (String, String)> {
    let sensors = || {
        let ids: Vec<&str> = config
            .devices
            .iter()
            .flat_map(|d| d.points.iter().map(|p| p.id.as_str()))
            .collect();
        format!(
            "use one of the sensors of {}: {}",
            config.file,
            ids.join(", ")
        )
    };
    match action {
        Action::Ramp { sensor, .. }
        | Action::Stick { sensor }
        | Action::Set { sensor, .. }
        | Action::Restore { sensor } => match config.point(sensor) {
            Some(_) => Ok(()),
            None => Err((
                format!("no sensor `{sensor}` in {}", config.file),
                sensors(),
            )),
        },
        Action::Write { sensor, .. } => match config.point(sensor) {
            Some((_, point)) if point.writable => Ok(()),
            Some(_) => Err((
                format!("`{sensor}` is not writable, so no client can write it"),
                "write to a setpoint (`writable: true`), or use `set`".into(),
            )),
            None => Err((
                format!("no sensor `{sensor}` in {}", config.file),
                sensors(),
            )),
        },
        Action::Silence {
            device: Some(device),
            ..
        } => {
            if config.devices.iter().any(|d| &d.id == device) {
                return Ok(());
            }
            let ids: Vec<&str> = config.devices.iter().map(|d| d.id.as_str()).collect();
            Err((
                format!("no device `{device}` in {}", config.file),
                format!(
                    "use one of: {}, or leave `device` out for all",
                    ids.join(", ")
                ),
            ))
        }
        Action::Silence { device: None, .. } => Ok(()),
    }
}

/// The line of the `i`-th step (0-based): the `i`-th line starting with `- at:`.
fn nth_step_line(text: &str, i: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("- at:"))
        .nth(i)
        .map_or(1, |(n, _)| n + 1)
}
