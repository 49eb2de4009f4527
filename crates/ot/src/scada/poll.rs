//! The poller: one task per device reads its points every interval over Modbus/TCP and
//! hands out readings and the events the checks raise.
//!
//! A device that stops answering (refused connection, reset, no answer within its
//! timeout) is dropped and connected again at the next interval; the checks report it
//! silent once, and recovered when it answers again. A Modbus exception is an answer:
//! the device is there, the point is wrong, and that is logged once per episode.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use safecare_core::{AssetDirectory, SecurityEvent};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_modbus::client::{Context, Reader};
use tokio_modbus::{ExceptionCode, Slave};

use super::blocks::{Block, blocks};
use super::config::{Device, Point, PollConfig};
use super::reading::Reading;
use super::register::Table;
use super::watch::DeviceWatch;

/// Outputs queued between the device tasks and their consumer.
const OUTPUT_QUEUE: usize = 1024;

/// What the poller hands out.
#[derive(Debug, Clone)]
pub enum Output {
    /// A point was read.
    Reading(Reading),
    /// A check raised an event (boxed: events are rare and large).
    Event(Box<SecurityEvent>),
}

/// Counters of a poll run, shared by the device tasks.
#[derive(Debug, Default)]
pub struct PollCounters {
    polls: AtomicU64,
    requests: AtomicU64,
    readings: AtomicU64,
    failed_polls: AtomicU64,
    exceptions: AtomicU64,
    events: AtomicU64,
}

/// What a poll run did, printed on stderr at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    /// Poll rounds started, over all devices.
    pub polls: u64,
    /// Modbus read requests sent (neighbouring points share one).
    pub requests: u64,
    /// Points read.
    pub readings: u64,
    /// Rounds in which the device did not answer.
    pub failed_polls: u64,
    /// Modbus exception responses.
    pub exceptions: u64,
    /// Events raised.
    pub events: u64,
}

impl std::fmt::Display for PollSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} polls, {} requests, {} readings, {} unanswered polls, {} exceptions, {} events",
            self.polls,
            self.requests,
            self.readings,
            self.failed_polls,
            self.exceptions,
            self.events
        )
    }
}

impl PollCounters {
    /// The counters now.
    pub fn summary(&self) -> PollSummary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        PollSummary {
            polls: get(&self.polls),
            requests: get(&self.requests),
            readings: get(&self.readings),
            failed_polls: get(&self.failed_polls),
            exceptions: get(&self.exceptions),
            events: get(&self.events),
        }
    }

    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The running device tasks; dropping it stops them.
pub struct Poller {
    tasks: JoinSet<()>,
    counters: Arc<PollCounters>,
}

impl Poller {
    /// Starts one task per device of `config`; with `cycles`, each stops after that many
    /// polls. Outputs arrive on the returned receiver; assets are placed through
    /// `directory`.
    pub fn start(
        config: &PollConfig,
        directory: &dyn AssetDirectory,
        cycles: Option<u64>,
    ) -> (Poller, mpsc::Receiver<Output>) {
        let (tx, rx) = mpsc::channel(OUTPUT_QUEUE);
        let counters = Arc::new(PollCounters::default());
        let mut tasks = JoinSet::new();
        for device in &config.devices {
            let task = DeviceTask {
                watch: DeviceWatch::new(device, directory, Utc::now()),
                device: device.clone(),
                out: tx.clone(),
                context: None,
                counters: counters.clone(),
                lost: false,
                failing_points: vec![false; device.points.len()],
                blocks: blocks(&device.points),
            };
            tasks.spawn(task.run(cycles));
        }
        (Poller { tasks, counters }, rx)
    }

    /// What the run did so far.
    pub fn summary(&self) -> PollSummary {
        self.counters.summary()
    }

    /// Waits until every device task has stopped (after its cycles, or its consumer left).
    pub async fn finished(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Polls one device.
struct DeviceTask {
    device: Device,
    watch: DeviceWatch,
    out: mpsc::Sender<Output>,
    context: Option<Context>,
    counters: Arc<PollCounters>,
    /// True once the loss of the device was logged, until it answers again.
    lost: bool,
    /// True for points whose last read was refused, so that it is logged once.
    failing_points: Vec<bool>,
    /// The points grouped into requests.
    blocks: Vec<Block>,
}

/// The consumer of the outputs is gone; the task stops.
struct Closed;

/// The device answered a block (with values or refusals), or is gone for
/// the reason given.
type Answer = Result<(), String>;

impl DeviceTask {
    async fn run(mut self, cycles: Option<u64>) {
        let mut ticks = tokio::time::interval(self.device.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut done = 0u64;
        while cycles.is_none_or(|n| done < n) {
            ticks.tick().await;
            done += 1;
            if self.poll_once().await.is_err() {
                return;
            }
        }
    }

    /// Reads every point once, then checks whether the device answered.
    async fn poll_once(&mut self) -> Result<(), Closed> {
        PollCounters::add(&self.counters.polls);
        let answered = self.read_points().await?;

        let now = Utc::now();
        let event = if answered {
            self.watch.answered(now)
        } else {
            PollCounters::add(&self.counters.failed_polls);
            self.watch.unanswered(now)
        };
        match event {
            Some(event) => self.send_event(event).await,
            None => Ok(()),
        }
    }

    /// Reads the points, block by block; true when the device answered at least one
    /// request.
    async fn read_points(&mut self) -> Result<bool, Closed> {
        let Some(mut context) = self.connect().await else {
            return Ok(false);
        };
        let mut answered = false;
        for block in 0..self.blocks.len() {
            let answer = if self.blocks[block].is_merged() {
                self.read_block(&mut context, block).await?
            } else {
                self.read_one_by_one(&mut context, block).await?
            };
            match answer {
                Ok(()) => answered = true,
                Err(reason) => return Ok(self.lose(answered, &reason)),
            }
        }
        if answered && self.lost {
            tracing::info!(device = %self.device.id, "device answers again");
            self.lost = false;
        }
        self.context = Some(context);
        Ok(answered)
    }

    /// Reads a block with one request and hands each point its words. A
    /// refused block is split for good and read point by point: the device
    /// does not map some address between its points.
    async fn read_block(&mut self, context: &mut Context, index: usize) -> Result<Answer, Closed> {
        PollCounters::add(&self.counters.requests);
        let request = read_span(context, &self.blocks[index]);
        let words = match ask(self.device.timeout, request).await {
            Ok(Ok(words)) => words,
            Ok(Err(exception)) => {
                let block = &mut self.blocks[index];
                block.split = true;
                tracing::info!(
                    device = %self.device.id,
                    "the device refused to read {} {}..{} in one request ({exception}); \
                     reading those points one by one",
                    block.table.as_str(),
                    block.start,
                    u32::from(block.start) + u32::from(block.count)
                );
                return self.read_one_by_one(context, index).await;
            }
            Err(reason) => return Ok(Err(reason)),
        };

        for at in 0..self.blocks[index].points.len() {
            let (point, offset) = self.blocks[index].points[at];
            let width = usize::from(self.device.points[point].encoding.data.width());
            let start = usize::from(offset);
            let slice = words.get(start..start + width).unwrap_or_default().to_vec();
            self.got(point, slice).await?;
        }
        Ok(Ok(()))
    }

    /// Reads a block's points with one request each.
    async fn read_one_by_one(
        &mut self,
        context: &mut Context,
        block: usize,
    ) -> Result<Answer, Closed> {
        for at in 0..self.blocks[block].points.len() {
            let (index, _) = self.blocks[block].points[at];
            PollCounters::add(&self.counters.requests);
            let request = read(context, &self.device.points[index]);
            match ask(self.device.timeout, request).await {
                Ok(Ok(words)) => self.got(index, words).await?,
                Ok(Err(exception)) => self.refused(index, exception),
                Err(reason) => return Ok(Err(reason)),
            }
        }
        Ok(Ok(()))
    }

    /// The open connection, or a new one; `None` when the device cannot be reached.
    async fn connect(&mut self) -> Option<Context> {
        if let Some(context) = self.context.take() {
            return Some(context);
        }
        let slave = Slave(self.device.unit);
        let attempt = async {
            let addr = resolve(&self.device.address).await?;
            tokio_modbus::client::tcp::connect_slave(addr, slave).await
        };
        match timeout(self.device.timeout, attempt).await {
            Ok(Ok(context)) => Some(context),
            Ok(Err(err)) => {
                self.lose(false, &err.to_string());
                None
            }
            Err(_) => {
                self.lose(false, "connection not accepted within the timeout");
                None
            }
        }
    }

    /// Drops the connection after a failure and logs the first one; returns `answered`.
    fn lose(&mut self, answered: bool, reason: &str) -> bool {
        self.context = None;
        if !self.lost {
            tracing::warn!(
                device = %self.device.id,
                address = %self.device.address,
                "device stopped answering ({reason}); trying again every {:?}",
                self.device.interval
            );
            self.lost = true;
        }
        answered
    }

    /// Decodes a point's words into a reading, sends it and the events it raises.
    async fn got(&mut self, index: usize, words: Vec<u16>) -> Result<(), Closed> {
        let point = &self.device.points[index];
        if words.len() < usize::from(point.encoding.data.width()) {
            let sent = words.len();
            tracing::warn!(sensor = %point.id, "the device sent {sent} words, fewer than asked");
            return Ok(());
        }
        self.failing_points[index] = false;
        let reading = Reading {
            sensor: point.id.clone(),
            time: Utc::now(),
            value: point.encoding.decode(&words),
            unit: point.unit.clone(),
            kind: point.kind,
            asset: point.asset.clone(),
            device: self.device.id.clone(),
            raw: words,
        };
        PollCounters::add(&self.counters.readings);
        let events = self.watch.reading(index, &reading);
        self.out
            .send(Output::Reading(reading))
            .await
            .map_err(|_| Closed)?;
        for event in events {
            self.send_event(event).await?;
        }
        Ok(())
    }

    /// Logs a refused read once until the point reads again.
    fn refused(&mut self, index: usize, exception: ExceptionCode) {
        PollCounters::add(&self.counters.exceptions);
        if std::mem::replace(&mut self.failing_points[index], true) {
            return;
        }
        let point = &self.device.points[index];
        tracing::warn!(
            device = %self.device.id,
            sensor = %point.id,
            "the device refused to read {} {}: {exception}; check the point's table and address",
            point.table.as_str(),
            point.address
        );
    }

    async fn send_event(&mut self, event: SecurityEvent) -> Result<(), Closed> {
        PollCounters::add(&self.counters.events);
        self.out
            .send(Output::Event(Box::new(event)))
            .await
            .map_err(|_| Closed)
    }
}

/// Reads one point: its bit as 0 or 1, or its registers.
async fn read(context: &mut Context, point: &Point) -> tokio_modbus::Result<Vec<u16>> {
    let width = point.encoding.data.width();
    let bit = |bits: Vec<bool>| vec![u16::from(bits.first().copied().unwrap_or(false))];
    match point.table {
        Table::Coil => Ok(context.read_coils(point.address, 1).await?.map(bit)),
        Table::Discrete => Ok(context
            .read_discrete_inputs(point.address, 1)
            .await?
            .map(bit)),
        Table::Input => context.read_input_registers(point.address, width).await,
        Table::Holding => context.read_holding_registers(point.address, width).await,
    }
}

/// One request within `limit`: the device's answer (values or a refusal),
/// or why there was none.
async fn ask<T>(
    limit: Duration,
    request: impl Future<Output = tokio_modbus::Result<T>>,
) -> Result<Result<T, ExceptionCode>, String> {
    match timeout(limit, request).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer within the timeout".to_string()),
    }
}

/// Reads a whole block: one word per register, or 0 or 1 per bit.
async fn read_span(context: &mut Context, block: &Block) -> tokio_modbus::Result<Vec<u16>> {
    let bits = |bits: Vec<bool>| bits.into_iter().map(u16::from).collect();
    let (start, count) = (block.start, block.count);
    match block.table {
        Table::Coil => Ok(context.read_coils(start, count).await?.map(bits)),
        Table::Discrete => Ok(context.read_discrete_inputs(start, count).await?.map(bits)),
        Table::Input => context.read_input_registers(start, count).await,
        Table::Holding => context.read_holding_registers(start, count).await,
    }
}

/// The first socket address of `host:port`.
async fn resolve(address: &str) -> std::io::Result<SocketAddr> {
    let mut found = tokio::net::lookup_host(address).await?;
    found.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{address} resolves to no address"),
        )
    })
}
