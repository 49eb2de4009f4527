//! Memory the OT sensor keeps per tracked device: N synthetic Modbus/TCP servers (one
//! open connection each, one read answered) and N BACnet/IP devices (I-Am, then a
//! ReadProperty answered), fed to the capture engine, the sensor and the detections.
//!
//! Heap bytes are counted by a global allocator, so the figure is what the state holds
//! after the traffic (flow table, stream buffers, pending requests, detection
//! windows), not what passed through.
//!
//! Run: `cargo run --release -p safecare-ot --example ot_memory -- [DEVICES...]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

use safecare_capture::decode::MacAddr;
use safecare_capture::reader::{LinkType, RawPacket};
use safecare_capture::synth::{ethernet, ip_packet, tcp_segment, udp_datagram};
use safecare_capture::{Engine, EngineConfig, Timestamp};
use safecare_core::site::Site;
use safecare_ot::detect::{DetectConfig, Detector};
use safecare_ot::sensor::OtSensor;

/// Heap bytes allocated and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is
// only arithmetic on the sizes it was given.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `dealloc` is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 30, 0, 5);
const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

/// The n-th device address, in 10.64.0.0/10.
fn device(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a40_0000 + n))
}

/// Feeds one frame to the engine; the sensor's observations go to the detector.
struct Feed<'a> {
    engine: Engine,
    sensor: OtSensor,
    detector: Option<Detector<'a>>,
    index: u64,
    time: Timestamp,
}

impl Feed<'_> {
    fn frame(&mut self, ip: Vec<u8>) {
        let frame = ethernet(MAC, MAC, &ip);
        self.index += 1;
        let raw = RawPacket {
            index: self.index,
            ts: self.time,
            link: LinkType::ETHERNET,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        self.engine.process(&raw, &mut self.sensor);
        for observation in self.sensor.drain() {
            if let Some(detector) = self.detector.as_mut() {
                detector.observe(&observation);
                detector.drain_events();
            }
        }
    }

    fn tcp(&mut self, src: IpAddr, dst: IpAddr, ports: (u16, u16), flags: u8, seq: (u32, u32)) {
        self.tcp_data(src, dst, ports, flags, seq, &[]);
    }

    fn tcp_data(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        (sport, dport): (u16, u16),
        flags: u8,
        (seq, ack): (u32, u32),
        payload: &[u8],
    ) {
        let segment = tcp_segment(src, dst, sport, dport, flags, seq, ack, payload);
        self.frame(ip_packet(src, dst, 6, 1, &segment));
    }

    fn udp(&mut self, src: IpAddr, dst: IpAddr, ports: (u16, u16), payload: &[u8]) {
        let datagram = udp_datagram(src, dst, ports.0, ports.1, payload);
        self.frame(ip_packet(src, dst, 17, 1, &datagram));
    }

    /// A handshake, one Read Holding Registers answered, and the connection left open.
    fn modbus_device(&mut self, n: u32) {
        let (client, server) = (IpAddr::V4(CLIENT), device(n));
        let port = 20_000 + (n % 40_000) as u16;
        let (syn, ack, psh_ack) = (0x02, 0x10, 0x18);
        self.tcp(client, server, (port, 502), syn, (100, 0));
        self.tcp(server, client, (502, port), syn | ack, (500, 101));
        self.tcp(client, server, (port, 502), ack, (101, 501));
        let request = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
        let response = [0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 215, 0, 216];
        self.tcp_data(client, server, (port, 502), psh_ack, (101, 501), &request);
        self.tcp_data(server, client, (502, port), psh_ack, (501, 113), &response);
    }

    /// An I-Am, then a ReadProperty of analog-value:1 present-value and its answer.
    fn bacnet_device(&mut self, n: u32) {
        let (client, server) = (IpAddr::V4(CLIENT), device(n));
        let instance = (n & 0x3f_ffff).to_be_bytes();
        let mut i_am = vec![0x81, 0x0a, 0, 0, 0x01, 0x00, 0x10, 0x00, 0xc4, 0x02];
        i_am.extend_from_slice(&instance[1..]);
        i_am.extend_from_slice(&[0x22, 0x05, 0xc4, 0x91, 0x03, 0x21, 0x0f]);
        let read = [
            0x81, 0x0a, 0, 17, 0x01, 0x04, 0x00, 0x05, 0x01, 0x0c, 0x0c, 0x00, 0x80, 0x00, 0x01,
            0x19, 0x55,
        ];
        let ack = [
            0x81, 0x0a, 0, 23, 0x01, 0x00, 0x30, 0x01, 0x0c, 0x0c, 0x00, 0x80, 0x00, 0x01, 0x19,
            0x55, 0x3e, 0x44, 0x41, 0xac, 0x00, 0x00, 0x3f,
        ];
        self.udp(server, client, (47808, 47808), &fix_length(i_am));
        self.udp(client, server, (47808, 47808), &read);
        self.udp(server, client, (47808, 47808), &ack);
    }
}

/// Sets the BVLC length of a datagram to its size.
fn fix_length(mut datagram: Vec<u8>) -> Vec<u8> {
    let len = datagram.len() as u16;
    datagram[2..4].copy_from_slice(&len.to_be_bytes());
    datagram
}

/// Heap bytes held after `devices` devices of one protocol, with or without detections.
fn measure(devices: u32, bacnet: bool, site: &Site, detect: bool) -> (usize, String) {
    let before = LIVE.load(Ordering::Relaxed);
    let detector = detect.then(|| Detector::new(site, Some(site), DetectConfig::default()));
    let mut feed = Feed {
        engine: Engine::new(EngineConfig::default()),
        sensor: OtSensor::new(),
        detector,
        index: 0,
        time: Timestamp::from_parts(1_700_000_000, 0),
    };
    // All within one second: no flow or window expires, every device stays tracked.
    for n in 0..devices {
        match bacnet {
            true => feed.bacnet_device(n),
            false => feed.modbus_device(n),
        }
    }
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let flows = feed.engine.stats();
    let (conns, segments) = feed.sensor.tracked();
    let keys = feed.detector.as_ref().map_or(0, |d| d.tracked_keys());
    let resets = feed.detector.as_ref().map_or(0, |d| d.table_resets());
    let note = format!(
        "{} packets, {} transactions, {conns} Modbus connections, {segments} open segmented \
         messages, {keys} detection keys ({resets} table resets), {} flow evictions",
        flows.packets,
        feed.sensor.stats().transactions,
        flows.evicted
    );
    drop(feed);
    (held, note)
}

fn main() -> anyhow::Result<()> {
    let counts: Vec<u32> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(counts) if !Vec::is_empty(&counts) => counts,
        Ok(_) => vec![1_000, 10_000, 100_000],
        Err(err) => anyhow::bail!("device counts must be whole numbers: {err}"),
    };
    let site = Site::demo();

    // The engine's tables are allocated up front; per device is what comes on top.
    let (fixed, _) = measure(0, false, &site, true);
    println!("fixed: {:.1} MiB allocated before any device", mib(fixed));
    println!("| devices | protocol | sensor per device | with detections | heap held |");
    println!("|---|---|---|---|---|");
    for &devices in &counts {
        for bacnet in [false, true] {
            let protocol = if bacnet { "BACnet/IP" } else { "Modbus/TCP" };
            let (sensor, _) = measure(devices, bacnet, &site, false);
            let (all, note) = measure(devices, bacnet, &site, true);
            let per_device = |held: usize| held.saturating_sub(fixed) / devices.max(1) as usize;
            println!(
                "| {devices} | {protocol} | {} B | {} B | {:.1} MiB |",
                per_device(sensor),
                per_device(all),
                mib(all)
            );
            eprintln!("{devices} {protocol}: {note}");
        }
    }
    Ok(())
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}
