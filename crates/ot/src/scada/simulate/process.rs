//! The simulated process behind the registers: values that drift, follow their setpoint,
//! and give way to the faults being replayed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_modbus::ExceptionCode;

use crate::scada::config::{Device, Point, PollConfig};
use crate::scada::fault::Action;
use crate::scada::register::Table;

/// Registers one read may ask for (Modbus limit for FC 3 and 4).
const MAX_REGISTERS: u16 = 125;
/// Bits one read may ask for (Modbus limit for FC 1 and 2).
const MAX_BITS: u16 = 2000;

/// What a point does instead of its normal behaviour.
#[derive(Debug, Clone, PartialEq)]
enum Mode {
    /// Nominal value (or the setpoint it follows) plus drift and noise.
    Normal,
    /// Linear drift from `from` to `to` over `over`, then `to`, plus noise.
    Ramp {
        from: f64,
        to: f64,
        start: Instant,
        over: Duration,
    },
    /// Exactly this value: set by a fault or written by a client.
    Fixed(f64),
    /// These registers, whatever the process does.
    Stuck(Vec<u16>),
}

/// One simulated point.
struct SimPoint {
    point: Point,
    mode: Mode,
    /// The slow part of the value; for a follower, its lagging approach to the setpoint.
    base: f64,
    base_at: Instant,
    /// Difference kept between a follower and the value it follows.
    follow_offset: f64,
    phase: f64,
}

/// One simulated device.
struct SimDevice {
    id: String,
    unit: u8,
    silent_until: Option<Instant>,
    points: Vec<SimPoint>,
    /// Register or bit -> (point, word within the point).
    map: HashMap<(Table, u16), (usize, u16)>,
}

/// Every simulated device and what the faults did to them.
pub struct Process {
    started: Instant,
    rng: XorShift,
    devices: Vec<SimDevice>,
}

impl Process {
    /// The devices of `config` at rest; `seed` fixes the noise.
    pub fn new(config: &PollConfig, seed: u64) -> Process {
        let now = Instant::now();
        let mut rng = XorShift::new(seed);
        let devices = config
            .devices
            .iter()
            .map(|d| SimDevice::new(d, now, &mut rng))
            .collect();
        Process {
            started: now,
            rng,
            devices,
        }
    }

    /// The index of the device with this id.
    pub fn device_index(&self, id: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.id == id)
    }

    /// The unit id of a device.
    pub fn unit(&self, device: usize) -> u8 {
        self.devices[device].unit
    }

    /// How long the device stays silent from `now`, if it is silent.
    pub fn silent_for(&self, device: usize, now: Instant) -> Option<Duration> {
        let until = self.devices[device].silent_until?;
        (until > now).then(|| until - now)
    }

    /// Reads `count` registers or bits from `address`; bits come as 0 or 1.
    pub fn read(
        &mut self,
        device: usize,
        table: Table,
        address: u16,
        count: u16,
        now: Instant,
    ) -> Result<Vec<u16>, ExceptionCode> {
        let max = if table.is_bits() {
            MAX_BITS
        } else {
            MAX_REGISTERS
        };
        if count == 0 || count > max {
            return Err(ExceptionCode::IllegalDataValue);
        }
        self.advance_followers(device, now);

        let mut words_of: Vec<Option<Vec<u16>>> = vec![None; self.devices[device].points.len()];
        let mut out = Vec::with_capacity(usize::from(count));
        for offset in 0..count {
            let register = address
                .checked_add(offset)
                .ok_or(ExceptionCode::IllegalDataAddress)?;
            let &(index, word) = self.devices[device]
                .map
                .get(&(table, register))
                .ok_or(ExceptionCode::IllegalDataAddress)?;
            if words_of[index].is_none() {
                words_of[index] = Some(self.words(device, index, now));
            }
            let words = words_of[index].as_deref().unwrap_or_default();
            out.push(words.get(usize::from(word)).copied().unwrap_or(0));
        }
        Ok(out)
    }

    /// Writes registers or bits from `address`; returns the points written with their
    /// new values. Only writable points of coils and holding registers take writes.
    pub fn write(
        &mut self,
        device: usize,
        table: Table,
        address: u16,
        values: &[u16],
        now: Instant,
    ) -> Result<Vec<(String, f64)>, ExceptionCode> {
        if values.is_empty() || values.len() > usize::from(MAX_REGISTERS) {
            return Err(ExceptionCode::IllegalDataValue);
        }
        self.advance_followers(device, now);

        // 1. every register must belong to a writable point
        let mut touched: Vec<(usize, Vec<u16>)> = Vec::new();
        for (offset, &value) in values.iter().enumerate() {
            let offset = u16::try_from(offset).map_err(|_| ExceptionCode::IllegalDataValue)?;
            let register = address
                .checked_add(offset)
                .ok_or(ExceptionCode::IllegalDataAddress)?;
            let dev = &self.devices[device];
            let &(index, word) = dev
                .map
                .get(&(table, register))
                .ok_or(ExceptionCode::IllegalDataAddress)?;
            if !dev.points[index].point.writable {
                return Err(ExceptionCode::IllegalDataAddress);
            }
            if !touched.iter().any(|(i, _)| *i == index) {
                let current = self.words(device, index, now);
                touched.push((index, current));
            }
            if let Some((_, words)) = touched.iter_mut().find(|(i, _)| *i == index) {
                words[usize::from(word)] = value;
            }
        }

        // 2. the points take their new values
        let mut written = Vec::with_capacity(touched.len());
        for (index, words) in touched {
            let point = &mut self.devices[device].points[index];
            let value = point.point.encoding.decode(&words);
            point.mode = Mode::Fixed(value);
            written.push((point.point.id.clone(), value));
        }
        Ok(written)
    }

    /// Applies one step of a fault at `now`.
    pub fn apply(&mut self, action: &Action, now: Instant) {
        if let Action::Silence { device, duration } = action {
            let until = now + *duration;
            for d in &mut self.devices {
                if device.as_ref().is_none_or(|id| *id == d.id) {
                    d.silent_until = Some(until);
                }
            }
            return;
        }
        let sensor = match action {
            Action::Ramp { sensor, .. }
            | Action::Stick { sensor }
            | Action::Set { sensor, .. }
            | Action::Write { sensor, .. }
            | Action::Restore { sensor } => sensor,
            Action::Silence { .. } => return,
        };
        let Some((device, index)) = self.find(sensor) else {
            return;
        };
        self.advance_followers(device, now);
        let mode = match action {
            Action::Ramp { to, over, .. } => Mode::Ramp {
                from: self.resting(device, index, now),
                to: *to,
                start: now,
                over: *over,
            },
            Action::Stick { .. } => Mode::Stuck(self.words(device, index, now)),
            Action::Set { value, .. } | Action::Write { value, .. } => Mode::Fixed(*value),
            _ => Mode::Normal,
        };
        self.devices[device].points[index].mode = mode;
    }

    fn find(&self, sensor: &str) -> Option<(usize, usize)> {
        self.devices.iter().enumerate().find_map(|(d, device)| {
            let index = device.points.iter().position(|p| p.point.id == sensor)?;
            Some((d, index))
        })
    }

    /// The registers of a point now, noise included.
    fn words(&mut self, device: usize, index: usize, now: Instant) -> Vec<u16> {
        let value = self.resting(device, index, now);
        let point = &self.devices[device].points[index];
        if let Mode::Stuck(words) = &point.mode {
            return words.clone();
        }
        let noisy = match point.mode {
            Mode::Normal | Mode::Ramp { .. } => point.point.simulation.noise > 0.0,
            _ => false,
        };
        let noise = if noisy {
            point.point.simulation.noise * self.rng.symmetric()
        } else {
            0.0
        };
        point.point.encoding.encode(value + noise)
    }

    /// The value of a point without noise.
    fn resting(&self, device: usize, index: usize, now: Instant) -> f64 {
        let point = &self.devices[device].points[index];
        match &point.mode {
            Mode::Normal => point.base + point.drift(now.duration_since(self.started)),
            Mode::Ramp {
                from,
                to,
                start,
                over,
            } => {
                let done = now.duration_since(*start).as_secs_f64() / over.as_secs_f64().max(1e-9);
                from + (to - from) * done.min(1.0)
            }
            Mode::Fixed(value) => *value,
            Mode::Stuck(words) => point.point.encoding.decode(words),
        }
    }

    /// Moves every follower of the device towards the value it follows, up to `now`.
    fn advance_followers(&mut self, device: usize, now: Instant) {
        for index in 0..self.devices[device].points.len() {
            let Some(leader) = self.devices[device].points[index].point.simulation.follows else {
                continue;
            };
            let target = self.resting(device, leader, now);
            let point = &mut self.devices[device].points[index];
            let response = point.point.simulation.response.as_secs_f64().max(1e-3);
            let elapsed = now.saturating_duration_since(point.base_at).as_secs_f64();
            let goal = target + point.follow_offset;
            point.base += (goal - point.base) * (1.0 - (-elapsed / response).exp());
            point.base_at = now;
        }
    }
}

impl SimDevice {
    fn new(device: &Device, now: Instant, rng: &mut XorShift) -> SimDevice {
        let mut map = HashMap::new();
        for (index, point) in device.points.iter().enumerate() {
            for word in 0..point.encoding.data.width() {
                map.insert((point.table, point.address + word), (index, word));
            }
        }
        let points = device
            .points
            .iter()
            .map(|point| {
                let leader = point.simulation.follows.map(|i| &device.points[i]);
                SimPoint {
                    point: point.clone(),
                    mode: Mode::Normal,
                    base: point.simulation.nominal,
                    base_at: now,
                    follow_offset: leader
                        .map_or(0.0, |l| point.simulation.nominal - l.simulation.nominal),
                    phase: rng.unit() * std::f64::consts::TAU,
                }
            })
            .collect();
        SimDevice {
            id: device.id.clone(),
            unit: device.unit,
            silent_until: None,
            points,
            map,
        }
    }
}

impl SimPoint {
    /// The slow sine drift at `elapsed` since the start.
    fn drift(&self, elapsed: Duration) -> f64 {
        let sim = &self.point.simulation;
        if sim.amplitude == 0.0 {
            return 0.0;
        }
        let period = sim.period.as_secs_f64().max(1e-3);
        let angle = elapsed.as_secs_f64() / period * std::f64::consts::TAU + self.phase;
        sim.amplitude * angle.sin()
    }
}

/// A small xorshift generator: plausible noise, no cryptographic use.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    fn symmetric(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "
devices:
  - id: plc
    address: 127.0.0.1:502
    points:
      - { id: setpoint, kind: setpoint, table: holding, address: 10, type: i16, scale: 0.1,
          writable: true, simulate: { nominal: -20 } }
      - { id: freezer, kind: temperature, table: input, address: 0, type: f32, word_order: little,
          simulate: { nominal: -20, amplitude: 0, noise: 0, follows: setpoint, response: 1s } }
      - { id: door, kind: other, table: discrete, address: 3 }
";

    fn process() -> Process {
        let config = PollConfig::from_yaml(CONFIG, "test.yaml", None).unwrap();
        Process::new(&config, 7)
    }

    #[test]
    fn serves_points_and_refuses_unmapped_registers() {
        let mut p = process();
        let now = Instant::now();
        let words = p.read(0, Table::Input, 0, 2, now).unwrap();
        // -20.0 as f32 is 0xC1A0_0000, low word first
        assert_eq!(words, vec![0x0000, 0xC1A0]);
        assert_eq!(
            p.read(0, Table::Holding, 10, 1, now).unwrap(),
            vec![(-200i16) as u16]
        );
        assert_eq!(p.read(0, Table::Discrete, 3, 1, now).unwrap(), vec![0]);
        assert_eq!(
            p.read(0, Table::Input, 1, 2, now),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            p.read(0, Table::Holding, 10, 0, now),
            Err(ExceptionCode::IllegalDataValue)
        );
    }

    #[test]
    fn a_written_setpoint_pulls_its_follower() {
        let mut p = process();
        let start = Instant::now();
        let written = p.write(0, Table::Holding, 10, &[80], start).unwrap();
        assert_eq!(written, vec![("setpoint".to_string(), 8.0)]);
        let later = start + Duration::from_secs(10);
        let words = p.read(0, Table::Input, 0, 2, later).unwrap();
        let value = f32::from_bits((u32::from(words[1]) << 16) | u32::from(words[0]));
        assert!((value - 8.0).abs() < 0.01, "{value}");
        // a read-only point refuses writes
        assert_eq!(
            p.write(0, Table::Input, 0, &[1], later),
            Err(ExceptionCode::IllegalDataAddress)
        );
    }

    #[test]
    fn faults_ramp_stick_and_silence() {
        let mut p = process();
        let start = Instant::now();
        let ramp = Action::Ramp {
            sensor: "freezer".into(),
            to: 0.0,
            over: Duration::from_secs(10),
        };
        p.apply(&ramp, start);
        let halfway = p.resting(0, 1, start + Duration::from_secs(5));
        assert!((halfway + 10.0).abs() < 1e-9, "{halfway}");

        p.apply(
            &Action::Stick {
                sensor: "freezer".into(),
            },
            start + Duration::from_secs(5),
        );
        let stuck = p
            .read(0, Table::Input, 0, 2, start + Duration::from_secs(9))
            .unwrap();
        let again = p
            .read(0, Table::Input, 0, 2, start + Duration::from_secs(30))
            .unwrap();
        assert_eq!(stuck, again);

        let silence = Action::Silence {
            device: None,
            duration: Duration::from_secs(3),
        };
        p.apply(&silence, start);
        assert!(p.silent_for(0, start + Duration::from_secs(1)).is_some());
        assert!(p.silent_for(0, start + Duration::from_secs(4)).is_none());
    }
}
