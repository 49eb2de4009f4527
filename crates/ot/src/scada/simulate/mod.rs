//! A simulated Modbus/TCP device serving the points of a poll config over real TCP
//! (tokio-modbus server), for demos and tests.
//!
//! Devices that share an address are served by one listener, told apart by their unit
//! id, as behind a gateway. Values drift around their nominal value; points that follow
//! a setpoint move towards it when a client writes it. A fault ([`crate::scada::fault`])
//! replays a thaw, a stuck sensor, a setpoint write or a silence on schedule. A silent
//! device holds every request without answering until its silence ends.

mod process;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

pub use process::Process;

use super::config::PollConfig;
use super::fault::Fault;
use super::register::Table;

/// A running simulation; dropping it stops the listeners and the fault.
pub struct Simulator {
    process: Arc<Mutex<Process>>,
    listeners: Vec<(SocketAddr, Vec<String>)>,
    _tasks: JoinSet<()>,
}

impl Simulator {
    /// Binds the listeners and starts serving: on `listen` for every device when given,
    /// else on each device's own address. `fault`, when given, starts now.
    ///
    /// Fails when an address cannot be bound or two devices on one listener share a unit.
    pub async fn start(
        config: &PollConfig,
        listen: Option<SocketAddr>,
        fault: Option<Fault>,
        seed: u64,
    ) -> io::Result<Simulator> {
        let process = Arc::new(Mutex::new(Process::new(config, seed)));
        let mut tasks = JoinSet::new();
        let mut listeners = Vec::new();

        // 1. one listener per address, serving the devices found there
        for (address, devices) in group_by_address(config, listen)? {
            let listener = bind(&address).await?;
            let local = listener.local_addr()?;
            let ids: Vec<String> = devices
                .iter()
                .map(|&d| config.devices[d].id.clone())
                .collect();
            tracing::info!(address = %local, devices = ?ids, "simulated Modbus devices listening");
            listeners.push((local, ids));
            tasks.spawn(serve(listener, process.clone(), Arc::from(devices)));
        }

        // 2. the fault, on its own clock from now
        if let Some(fault) = fault {
            tasks.spawn(replay(fault, process.clone()));
        }
        Ok(Simulator {
            process,
            listeners,
            _tasks: tasks,
        })
    }

    /// The bound addresses, each with the ids of the devices served there.
    pub fn listeners(&self) -> &[(SocketAddr, Vec<String>)] {
        &self.listeners
    }

    /// Applies a fault step now, outside any fault file (for tests and tools).
    pub fn apply(&self, action: &super::fault::Action) {
        lock(&self.process).apply(action, Instant::now());
    }
}

/// Device indexes per address to bind; every device on `listen` when it is given.
fn group_by_address(
    config: &PollConfig,
    listen: Option<SocketAddr>,
) -> io::Result<BTreeMap<String, Vec<usize>>> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, device) in config.devices.iter().enumerate() {
        let address = listen.map_or_else(|| device.address.clone(), |a| a.to_string());
        let group = groups.entry(address.clone()).or_default();
        if let Some(&other) = group
            .iter()
            .find(|&&d| config.devices[d].unit == device.unit)
        {
            let message = format!(
                "devices `{}` and `{}` both use unit {} on {address}; one listener tells devices \
                 apart by unit id, so give them different units",
                config.devices[other].id, device.id, device.unit
            );
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        group.push(index);
    }
    Ok(groups)
}

async fn bind(address: &str) -> io::Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|err| {
        let hint = if err.kind() == io::ErrorKind::PermissionDenied {
            "ports below 1024 need privileges; pass --listen 127.0.0.1:5020"
        } else {
            "pass --listen ADDR to serve on another address"
        };
        io::Error::new(
            err.kind(),
            format!("could not listen on {address} ({err}): {hint}"),
        )
    })
}

/// Accepts connections on one listener until the task is dropped.
async fn serve(listener: TcpListener, process: Arc<Mutex<Process>>, devices: Arc<[usize]>) {
    let server = Server::new(listener);
    let on_connected = move |stream, peer| {
        let service = SimService {
            process: process.clone(),
            devices: devices.clone(),
            peer,
        };
        async move { Ok(Some((service, stream))) }
    };
    let on_error = |err: io::Error| tracing::debug!("a Modbus client connection ended: {err}");
    if let Err(err) = server.serve(&on_connected, on_error).await {
        tracing::error!("the simulated device stopped accepting connections: {err}");
    }
}

/// Replays the steps of a fault on schedule.
async fn replay(fault: Fault, process: Arc<Mutex<Process>>) {
    let start = tokio::time::Instant::now();
    tracing::info!(fault = %fault.name, "{}", fault.description);
    for step in &fault.steps {
        tokio::time::sleep_until(start + step.at).await;
        tracing::info!(fault = %fault.name, "{}", step.action);
        lock(&process).apply(&step.action, Instant::now());
    }
}

fn lock(process: &Mutex<Process>) -> std::sync::MutexGuard<'_, Process> {
    process
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Answers the requests of one client connection.
struct SimService {
    process: Arc<Mutex<Process>>,
    devices: Arc<[usize]>,
    peer: SocketAddr,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, ExceptionCode>> + Send>>;

impl Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Answer;

    fn call(&self, request: Self::Request) -> Self::Future {
        let process = self.process.clone();
        let device = self.device_for(request.slave);
        let peer = self.peer;
        Box::pin(async move {
            let device = device.ok_or(ExceptionCode::GatewayTargetDevice)?;

            // A silent device holds the request until its silence ends.
            let silent = lock(&process).silent_for(device, Instant::now());
            if let Some(wait) = silent {
                tokio::time::sleep(wait).await;
            }
            answer(&mut lock(&process), device, request.request, peer)
        })
    }
}

impl SimService {
    /// The device a unit id addresses; a lone device also answers units 0 and 255.
    fn device_for(&self, unit: u8) -> Option<usize> {
        let process = lock(&self.process);
        let found = self
            .devices
            .iter()
            .copied()
            .find(|&d| process.unit(d) == unit);
        let lone = (self.devices.len() == 1 && matches!(unit, 0 | 255)).then(|| self.devices[0]);
        found.or(lone)
    }
}

/// Carries out one request against the process.
fn answer(
    process: &mut Process,
    device: usize,
    request: Request<'static>,
    peer: SocketAddr,
) -> Result<Response, ExceptionCode> {
    let now = Instant::now();
    let bits = |words: Vec<u16>| words.into_iter().map(|w| w != 0).collect::<Vec<bool>>();
    let written = |result: Vec<(String, f64)>| {
        for (sensor, value) in result {
            tracing::info!(%sensor, value, client = %peer, "a Modbus client wrote a point");
        }
    };
    match request {
        Request::ReadCoils(address, count) => Ok(Response::ReadCoils(bits(process.read(
            device,
            Table::Coil,
            address,
            count,
            now,
        )?))),
        Request::ReadDiscreteInputs(address, count) => Ok(Response::ReadDiscreteInputs(bits(
            process.read(device, Table::Discrete, address, count, now)?,
        ))),
        Request::ReadInputRegisters(address, count) => Ok(Response::ReadInputRegisters(
            process.read(device, Table::Input, address, count, now)?,
        )),
        Request::ReadHoldingRegisters(address, count) => Ok(Response::ReadHoldingRegisters(
            process.read(device, Table::Holding, address, count, now)?,
        )),
        Request::WriteSingleRegister(address, word) => {
            written(process.write(device, Table::Holding, address, &[word], now)?);
            Ok(Response::WriteSingleRegister(address, word))
        }
        Request::WriteMultipleRegisters(address, words) => {
            written(process.write(device, Table::Holding, address, &words, now)?);
            let count = u16::try_from(words.len()).map_err(|_| ExceptionCode::IllegalDataValue)?;
            Ok(Response::WriteMultipleRegisters(address, count))
        }
        Request::WriteSingleCoil(address, coil) => {
            written(process.write(device, Table::Coil, address, &[u16::from(coil)], now)?);
            Ok(Response::WriteSingleCoil(address, coil))
        }
        Request::WriteMultipleCoils(address, coils) => {
            let words: Vec<u16> = coils.iter().map(|&c| u16::from(c)).collect();
            written(process.write(device, Table::Coil, address, &words, now)?);
            let count = u16::try_from(words.len()).map_err(|_| ExceptionCode::IllegalDataValue)?;
            Ok(Response::WriteMultipleCoils(address, count))
        }
        _ => Err(ExceptionCode::IllegalFunction),
    }
}
