//! The poll configuration: which Modbus/TCP devices to poll, their points, and the limits
//! each reading is held to. `deploy/scada-demo.yaml` is a commented example.
//!
//! A point may name a `site_point` of the site model: its safe bounds, unit, asset, register
//! and kind are then taken from the site unless the config says otherwise. Every error
//! names the file and line and says what to change.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use safecare_core::site::{BmsPoint, Site};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::register::{DataType, Encoding, Table, WordOrder};
use super::span::Span;
use super::text::Locator;

/// The largest poll config read, to bound memory on a wrong path.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Poll interval when the config sets none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Time a device has to answer one request when the config sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Window over which the rate of change is measured when the config sets none.
const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);
/// Silence is declared after this many missed polls when the config sets no duration.
const DEFAULT_SILENT_POLLS: u32 = 3;

/// What a point measures; it decides which event a limit crossing raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// Room, freezer or fridge temperature: `scada.temperature_alarm`.
    Temperature,
    /// Relative humidity: `scada.reading_out_of_range`.
    Humidity,
    /// Medical gas, room or water pressure: `scada.pressure_alarm`.
    Pressure,
    /// Mains supply voltage: below its low limit is `scada.power_loss`.
    MainsVoltage,
    /// 1 while a UPS runs on battery: `scada.ups_on_battery`.
    UpsOnBattery,
    /// A setpoint: every change is `scada.setpoint_changed`.
    Setpoint,
    /// Anything else: `scada.reading_out_of_range`.
    Other,
}

impl PointKind {
    /// The kind a site model point implies from its quantity and writability.
    fn of_site_point(point: &BmsPoint) -> Option<PointKind> {
        if point.writable {
            return Some(PointKind::Setpoint);
        }
        match point.quantity.as_str() {
            "temperature" => Some(PointKind::Temperature),
            "humidity" => Some(PointKind::Humidity),
            "pressure" => Some(PointKind::Pressure),
            _ => None,
        }
    }
}

/// A validated poll configuration.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// The file it was read from, for messages.
    pub file: String,
    pub devices: Vec<Device>,
}

/// One Modbus/TCP device (or one unit behind a gateway).
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    /// `host:port`; the port defaults to 502.
    pub address: String,
    /// Modbus unit identifier.
    pub unit: u8,
    /// Site asset of the controller, named as `via` in events.
    pub asset: Option<String>,
    pub interval: Duration,
    pub timeout: Duration,
    /// A device that has not answered for this long is reported silent.
    pub silence_after: Duration,
    pub points: Vec<Point>,
}

/// One point of a device: a sensor reading or a setpoint.
#[derive(Debug, Clone)]
pub struct Point {
    /// Sensor id, used in the topic `telemetry/{id}`.
    pub id: String,
    /// Name for people; the id when the config and site give none.
    pub name: String,
    pub kind: PointKind,
    pub table: Table,
    pub address: u16,
    pub encoding: Encoding,
    pub unit: String,
    /// Site asset the reading is about (the freezer, the air handling unit).
    pub asset: Option<String>,
    /// True when clients may write the point (setpoints on coils or holding registers).
    pub writable: bool,
    pub limits: Limits,
    pub simulation: Simulation,
}

/// What a point's readings are held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// How far back inside a limit a reading must come before the alarm re-arms.
    pub deadband: f64,
    /// Largest change per minute, measured over `rate_window`.
    pub max_rate_per_minute: Option<f64>,
    pub rate_window: Duration,
    /// A value unchanged for this long is reported stuck.
    pub stuck_after: Option<Duration>,
}

impl Limits {
    /// True when `value` lies outside the low or high limit.
    pub fn is_outside(&self, value: f64) -> bool {
        self.low.is_some_and(|low| value < low) || self.high.is_some_and(|high| value > high)
    }
}

/// How `safecare ot simulate` makes the point's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// The value the point rests at.
    pub nominal: f64,
    /// Amplitude of a slow sine drift around the nominal value.
    pub amplitude: f64,
    pub period: Duration,
    /// Largest random step added to each reading.
    pub noise: f64,
    /// Index (in the device's points) of a setpoint this value follows, lagging by `response`.
    pub follows: Option<usize>,
    pub response: Duration,
}

/// Why a poll config could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("could not read the poll config {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} is {size} bytes, over the {max} a poll config may have; is it the right file?")]
    TooLarge { file: String, size: u64, max: u64 },
    #[error("no fault file or built-in fault `{name}`; give a fault file or one of: {known}")]
    UnknownFault { name: String, known: String },
    #[error("{file}:{line}: {message}; {fix}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
        fix: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    interval: Option<Span>,
    timeout: Option<Span>,
    silence_after: Option<Span>,
    devices: Vec<RawDevice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    id: String,
    address: String,
    #[serde(default = "default_unit")]
    unit: u8,
    asset: Option<String>,
    interval: Option<Span>,
    timeout: Option<Span>,
    silence_after: Option<Span>,
    points: Vec<RawPoint>,
}

fn default_unit() -> u8 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    id: String,
    name: Option<String>,
    site_point: Option<String>,
    kind: Option<PointKind>,
    table: Option<Table>,
    address: Option<u16>,
    #[serde(rename = "type")]
    data: Option<DataType>,
    word_order: Option<WordOrder>,
    scale: Option<f64>,
    offset: Option<f64>,
    unit: Option<String>,
    asset: Option<String>,
    writable: Option<bool>,
    low: Option<f64>,
    high: Option<f64>,
    deadband: Option<f64>,
    max_rate_per_minute: Option<f64>,
    rate_window: Option<Span>,
    stuck_after: Option<Span>,
    simulate: Option<RawSimulation>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSimulation {
    nominal: Option<f64>,
    amplitude: Option<f64>,
    period: Option<Span>,
    noise: Option<f64>,
    follows: Option<String>,
    response: Option<Span>,
}

/// The defaults a device inherits from the top of the file.
struct Defaults {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    silence_after: Option<Duration>,
}

impl PollConfig {
    /// Reads and validates a poll config; `site` resolves `site_point` references.
    pub fn load(path: &Path, site: Option<&Site>) -> Result<PollConfig, ConfigError> {
        let file = path.display().to_string();
        let read = |source| ConfigError::Read {
            file: file.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                file,
                size,
                max: MAX_CONFIG_BYTES,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        PollConfig::from_yaml(&text, &file, site)
    }

    /// Parses and validates a poll config held in memory; `file` names it in errors.
    pub fn from_yaml(
        text: &str,
        file: &str,
        site: Option<&Site>,
    ) -> Result<PollConfig, ConfigError> {
        let raw: RawConfig = serde_yaml_ng::from_str(text).map_err(|err| {
            let (line, message) = super::text::yaml_error(&err);
            ConfigError::Invalid {
                file: file.to_string(),
                line,
                message,
                fix: super::text::yaml_fix(&err.to_string()).to_string(),
            }
        })?;
        let resolver = Resolver {
            file,
            locator: Locator::new(text),
            site,
            seen: HashSet::new(),
        };
        resolver.config(raw)
    }

    /// The point with this sensor id, with its device.
    pub fn point(&self, id: &str) -> Option<(&Device, &Point)> {
        self.devices
            .iter()
            .find_map(|d| d.points.iter().find(|p| p.id == id).map(|p| (d, p)))
    }
}

/// Turns the raw file into a [`PollConfig`], locating each problem in the text.
struct Resolver<'a> {
    file: &'a str,
    locator: Locator<'a>,
    site: Option<&'a Site>,
    /// Device and point ids seen so far, with how often, to locate duplicates.
    seen: HashSet<String>,
}

impl Resolver<'_> {
    fn config(mut self, raw: RawConfig) -> Result<PollConfig, ConfigError> {
        if raw.devices.is_empty() {
            return Err(self.error(1, "`devices` is empty", "list at least one device"));
        }
        let defaults = Defaults {
            interval: raw.interval.map(Span::duration),
            timeout: raw.timeout.map(Span::duration),
            silence_after: raw.silence_after.map(Span::duration),
        };
        let mut devices = Vec::with_capacity(raw.devices.len());
        for device in raw.devices {
            devices.push(self.device(device, &defaults)?);
        }
        Ok(PollConfig {
            file: self.file.to_string(),
            devices,
        })
    }

    fn device(&mut self, raw: RawDevice, defaults: &Defaults) -> Result<Device, ConfigError> {
        let line = self.claim_id(&raw.id, "device")?;

        // 1. where and how often
        let address = parse_address(&raw.address)
            .map_err(|msg| self.error(self.field(line, "address"), &msg, "write `host:port`"))?;
        let interval = pick(raw.interval, defaults.interval, DEFAULT_INTERVAL);
        let timeout = pick(raw.timeout, defaults.timeout, DEFAULT_TIMEOUT);
        let silence_after = pick(
            raw.silence_after,
            defaults.silence_after,
            interval * DEFAULT_SILENT_POLLS,
        );
        for (name, value) in [
            ("interval", interval),
            ("timeout", timeout),
            ("silence_after", silence_after),
        ] {
            if value.is_zero() {
                let msg = format!("device `{}`: `{name}` is zero", raw.id);
                return Err(self.error(
                    self.field(line, name),
                    &msg,
                    "give a positive duration, e.g. `5s`",
                ));
            }
        }

        // 2. the points, each checked alone, then against each other
        if raw.points.is_empty() {
            let msg = format!("device `{}` has no points", raw.id);
            return Err(self.error(line, &msg, "list the points to poll under `points:`"));
        }
        let mut points = Vec::with_capacity(raw.points.len());
        let mut follows = Vec::with_capacity(raw.points.len());
        for point in raw.points {
            let (point, leader) = self.point(point)?;
            points.push(point);
            follows.push(leader);
        }
        self.check_overlaps(&raw.id, &points)?;
        self.link_followers(&mut points, follows)?;

        Ok(Device {
            id: raw.id,
            address,
            unit: raw.unit,
            asset: raw.asset,
            interval,
            timeout,
            silence_after,
            points,
        })
    }

    /// Resolves one point; returns it with the id of the point it follows in simulation.
    fn point(&mut self, raw: RawPoint) -> Result<(Point, Option<(String, usize)>), ConfigError> {
        let line = self.claim_id(&raw.id, "point")?;
        let id = raw.id.clone();
        let site_point = self.site_point(&raw, line)?;

        // 1. where the value lives
        let table = raw
            .table
            .or(site_point.and(Some(Table::Holding)))
            .ok_or_else(|| {
                let msg = format!("point `{id}` has no `table`");
                self.error(
                    line,
                    &msg,
                    "add `table: coil`, `discrete`, `input` or `holding`",
                )
            })?;
        let address = raw.address.or(site_point.and_then(|p| p.modbus_register));
        let address = address.ok_or_else(|| {
            let msg = format!("point `{id}` has no `address`");
            self.error(
                line,
                &msg,
                "add the register or coil number, e.g. `address: 100`",
            )
        })?;
        let encoding = self.encoding(&raw, table, line)?;
        let last = u32::from(address) + u32::from(encoding.data.width()) - 1;
        if last > u32::from(u16::MAX) {
            let msg = format!("point `{id}` runs past register 65535");
            return Err(self.error(self.field(line, "address"), &msg, "use a lower address"));
        }

        // 2. what it means
        let kind = raw
            .kind
            .or(site_point.and_then(PointKind::of_site_point))
            .ok_or_else(|| {
                let msg = format!("point `{id}` has no `kind`");
                let fix = "add `kind:` temperature, humidity, pressure, mains_voltage, \
                       ups_on_battery, setpoint or other";
                self.error(line, &msg, fix)
            })?;
        let writable = raw
            .writable
            .or(site_point.map(|p| p.writable))
            .unwrap_or(false);
        if writable && !matches!(table, Table::Coil | Table::Holding) {
            let msg = format!(
                "point `{id}` is writable but lives in the {} table",
                table.as_str()
            );
            let fix = "only coils and holding registers can be written";
            return Err(self.error(self.field(line, "writable"), &msg, fix));
        }
        let limits = self.limits(&raw, kind, site_point, line)?;
        let simulation = self.simulation(&raw, &limits, encoding, writable, line)?;
        let leader = raw.simulate.as_ref().and_then(|s| s.follows.clone());
        let leader = leader.map(|leader| (leader, self.field(line, "follows")));

        let point = Point {
            name: raw
                .name
                .or(site_point.and_then(|p| p.name.clone()))
                .unwrap_or(id.clone()),
            id,
            kind,
            table,
            address,
            encoding,
            unit: raw
                .unit
                .or(site_point.map(|p| p.unit.clone()))
                .unwrap_or_default(),
            asset: raw.asset.or(site_point.map(|p| p.asset.clone())),
            writable,
            limits,
            simulation,
        };
        Ok((point, leader))
    }

    /// The site model point the config names, if any.
    fn site_point(&self, raw: &RawPoint, line: usize) -> Result<Option<&BmsPoint>, ConfigError> {
        let Some(name) = &raw.site_point else {
            return Ok(None);
        };
        let line = self.field(line, "site_point");
        let Some(site) = self.site else {
            let msg = format!(
                "point `{}` names site point `{name}` but no site is loaded",
                raw.id
            );
            return Err(self.error(line, &msg, "pass --site FILE or remove `site_point`"));
        };
        match site.bms_point(name) {
            Some(point) => Ok(Some(point)),
            None => {
                let msg = format!(
                    "point `{}` names site point `{name}`, which the site lacks",
                    raw.id
                );
                let known: Vec<&str> = site.bms_points().iter().map(|p| p.id.as_str()).collect();
                let fix = format!("use one of: {}", known.join(", "));
                Err(self.error(line, &msg, &fix))
            }
        }
    }

    fn encoding(&self, raw: &RawPoint, table: Table, line: usize) -> Result<Encoding, ConfigError> {
        let id = &raw.id;
        let data = match (raw.data, table.is_bits()) {
            (None, true) | (Some(DataType::Bool), true) => DataType::Bool,
            (Some(data), false) if data != DataType::Bool => data,
            (None, false) => {
                let msg = format!("point `{id}` has no `type`");
                let fix = "add `type:` u16, i16, u32, i32 or f32";
                return Err(self.error(line, &msg, fix));
            }
            (Some(data), _) => {
                let msg = format!(
                    "point `{id}` reads a {} from the {} table",
                    data.as_str(),
                    table.as_str()
                );
                let fix =
                    "coils and discrete inputs are `bool`; registers are u16, i16, u32, i32 or f32";
                return Err(self.error(self.field(line, "type"), &msg, fix));
            }
        };
        if raw.word_order.is_some() && data.width() != 2 {
            let msg = format!("point `{id}` sets `word_order` on a 16-bit or bit value");
            let fix = "word order applies to u32, i32 and f32 only; remove it";
            return Err(self.error(self.field(line, "word_order"), &msg, fix));
        }
        if data == DataType::Bool && (raw.scale.is_some() || raw.offset.is_some()) {
            let msg = format!("point `{id}` scales a bit");
            return Err(self.error(
                self.field(line, "scale"),
                &msg,
                "remove `scale` and `offset`",
            ));
        }
        let scale = raw.scale.unwrap_or(1.0);
        if !scale.is_finite() || scale == 0.0 {
            let msg = format!("point `{id}` has scale {scale}");
            return Err(self.error(
                self.field(line, "scale"),
                &msg,
                "give a non-zero number, e.g. 0.1",
            ));
        }
        let offset = raw.offset.unwrap_or(0.0);
        if !offset.is_finite() {
            let msg = format!("point `{id}` has offset {offset}");
            return Err(self.error(self.field(line, "offset"), &msg, "give a finite number"));
        }
        Ok(Encoding {
            data,
            word_order: raw.word_order.unwrap_or_default(),
            scale,
            offset,
        })
    }

    fn limits(
        &self,
        raw: &RawPoint,
        kind: PointKind,
        site_point: Option<&BmsPoint>,
        line: usize,
    ) -> Result<Limits, ConfigError> {
        let id = &raw.id;
        let mut low = raw.low.or(site_point.and_then(|p| p.min));
        let mut high = raw.high.or(site_point.and_then(|p| p.max));
        if kind == PointKind::UpsOnBattery && low.is_none() && high.is_none() {
            high = Some(0.5);
        }
        for (name, value) in [("low", &mut low), ("high", &mut high)] {
            if value.is_some_and(|v| !v.is_finite()) {
                let msg = format!("point `{id}` has a `{name}` that is not a number");
                return Err(self.error(self.field(line, name), &msg, "give a finite number"));
            }
        }
        if let (Some(l), Some(h)) = (low, high)
            && l > h
        {
            let msg = format!("point `{id}` has low {l} above high {h}");
            return Err(self.error(self.field(line, "low"), &msg, "swap them or fix one"));
        }
        let band = low.zip(high).map(|(l, h)| h - l);
        let deadband = raw.deadband.unwrap_or(band.map_or(0.0, |b| b * 0.02));
        if !deadband.is_finite() || deadband < 0.0 {
            let msg = format!("point `{id}` has deadband {deadband}");
            return Err(self.error(
                self.field(line, "deadband"),
                &msg,
                "give zero or a positive number",
            ));
        }
        if let Some(rate) = raw.max_rate_per_minute
            && (!rate.is_finite() || rate <= 0.0)
        {
            let msg = format!("point `{id}` has max_rate_per_minute {rate}");
            let fix = "give the largest plausible change per minute, a positive number";
            return Err(self.error(self.field(line, "max_rate_per_minute"), &msg, fix));
        }
        let rate_window = raw.rate_window.map_or(DEFAULT_RATE_WINDOW, Span::duration);
        if rate_window.is_zero() {
            let msg = format!("point `{id}` has a zero `rate_window`");
            return Err(self.error(self.field(line, "rate_window"), &msg, "give e.g. `1m`"));
        }
        Ok(Limits {
            low,
            high,
            deadband,
            max_rate_per_minute: raw.max_rate_per_minute,
            rate_window,
            stuck_after: raw.stuck_after.map(Span::duration).filter(|d| !d.is_zero()),
        })
    }

    /// How the simulator makes the point's values: the config's `simulate` block, else
    /// a value at rest inside the limits with a little drift and one step of noise
    /// (none for setpoints and bits, which hold still).
    fn simulation(
        &self,
        raw: &RawPoint,
        limits: &Limits,
        encoding: Encoding,
        writable: bool,
        line: usize,
    ) -> Result<Simulation, ConfigError> {
        let given = raw.simulate.as_ref();
        let still = writable || encoding.data == DataType::Bool;
        let band = limits.low.zip(limits.high).map(|(l, h)| h - l);

        // 1. the defaults
        let drift = if still {
            0.0
        } else {
            band.unwrap_or(0.0) * 0.05
        };
        let step = match encoding.data {
            DataType::F32 => band.unwrap_or(1.0) * 0.005,
            _ => encoding.scale.abs(),
        };
        let noise = if still { 0.0 } else { step };

        // 2. what the config says instead
        let nominal = given.and_then(|s| s.nominal);
        let nominal = nominal.unwrap_or_else(|| resting_value(limits, encoding));
        let amplitude = given.and_then(|s| s.amplitude).unwrap_or(drift);
        let noise = given.and_then(|s| s.noise).unwrap_or(noise);
        let checks = [
            ("nominal", nominal),
            ("amplitude", amplitude),
            ("noise", noise),
        ];
        for (name, value) in checks {
            if !value.is_finite() || (name != "nominal" && value < 0.0) {
                let msg = format!("point `{}` simulates with {name} {value}", raw.id);
                let fix = "give a finite, non-negative number";
                return Err(self.error(self.field(line, name), &msg, fix));
            }
        }

        let span = |f: fn(&RawSimulation) -> Option<Span>, default: u64| {
            given
                .and_then(f)
                .map_or(Duration::from_secs(default), Span::duration)
        };
        Ok(Simulation {
            nominal,
            amplitude,
            period: span(|s| s.period, 600),
            noise,
            follows: None,
            response: span(|s| s.response, 120),
        })
    }

    /// Refuses two points of one device that share a register or bit.
    fn check_overlaps(&self, device: &str, points: &[Point]) -> Result<(), ConfigError> {
        let mut taken: HashMap<(Table, u16), &str> = HashMap::new();
        for point in points {
            for address in point.address..point.address + point.encoding.data.width() {
                if let Some(other) = taken.insert((point.table, address), &point.id) {
                    let msg = format!(
                        "points `{other}` and `{}` of device `{device}` both use {} {address}",
                        point.id,
                        point.table.as_str()
                    );
                    let line = self.field(self.locator.id(&point.id), "address");
                    return Err(self.error(line, &msg, "give each point its own registers"));
                }
            }
        }
        Ok(())
    }

    /// Turns `simulate.follows` ids into indexes among the device's points.
    fn link_followers(
        &self,
        points: &mut [Point],
        follows: Vec<Option<(String, usize)>>,
    ) -> Result<(), ConfigError> {
        for (i, leader) in follows.into_iter().enumerate() {
            let Some((leader, line)) = leader else {
                continue;
            };
            let found = points
                .iter()
                .position(|p| p.id == leader && p.id != points[i].id);
            let Some(index) = found else {
                let msg = format!(
                    "point `{}` follows `{leader}`, not another point of its device",
                    points[i].id
                );
                return Err(self.error(line, &msg, "name a setpoint of the same device"));
            };
            points[i].simulation.follows = Some(index);
        }
        Ok(())
    }

    /// Records a device or point id; refuses duplicates and ids unfit for a topic.
    fn claim_id(&mut self, id: &str, what: &str) -> Result<usize, ConfigError> {
        let first = self.locator.id(id);
        let topic_safe = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !topic_safe {
            let msg = format!("{what} id `{id}` has characters an MQTT topic level cannot carry");
            return Err(self.error(first, &msg, "use letters, digits, `-`, `_` and `.`"));
        }
        if !self.seen.insert(id.to_string()) {
            let line = self.locator.id_after(id, first);
            let msg = format!("the id `{id}` is used twice");
            return Err(self.error(line, &msg, "give every device and point its own id"));
        }
        Ok(first)
    }

    /// The line of `field` in the item whose `id:` is on `line`, else `line`.
    fn field(&self, line: usize, field: &str) -> usize {
        self.locator.field(line, field)
    }

    fn error(&self, line: usize, message: &str, fix: &str) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            line,
            message: message.to_string(),
            fix: fix.to_string(),
        }
    }
}

/// The first of the device's own value, the file's default and the built-in default.
fn pick(own: Option<Span>, file: Option<Duration>, fallback: Duration) -> Duration {
    own.map(Span::duration).or(file).unwrap_or(fallback)
}

/// Checks `host:port` (or `host`, port 502) and returns it with the port.
fn parse_address(text: &str) -> Result<String, String> {
    let text = text.trim();
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (text, None),
    };
    if host.is_empty() {
        return Err(format!("the address `{text}` has no host"));
    }
    let port: u16 = match port {
        None => 502,
        Some(port) => port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("the address `{text}` has the port `{port}`"))?,
    };
    Ok(format!("{host}:{port}"))
}

/// Where a simulated point rests when the config does not say: inside its limits.
fn resting_value(limits: &Limits, encoding: Encoding) -> f64 {
    if encoding.data == DataType::Bool {
        return if limits.is_outside(0.0) { 1.0 } else { 0.0 };
    }
    match (limits.low, limits.high) {
        (Some(low), Some(high)) => (low + high) / 2.0,
        (Some(low), None) => low + low.abs().max(1.0) * 0.1,
        (None, Some(high)) => high - high.abs().max(1.0) * 0.1,
        (None, None) => encoding.offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_the_default_port() {
        assert_eq!(parse_address("10.30.0.30").unwrap(), "10.30.0.30:502");
        assert_eq!(parse_address("plc.local:1502").unwrap(), "plc.local:1502");
        assert_eq!(parse_address("[::1]:502").unwrap(), "[::1]:502");
        assert!(parse_address("plc:0").is_err());
        assert!(parse_address(":502").is_err());
    }
}
