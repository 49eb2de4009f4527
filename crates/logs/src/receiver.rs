//! A syslog receiver for devices that push their logs (UDP and TCP).
//!
//! Socket threads only frame messages and hand them over a bounded channel;
//! parsing and detection happen on the caller's thread, so the scanner and
//! the event sink need not be shared. TCP accepts newline-delimited and
//! octet-counted (RFC 6587) framing.

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread;
use std::time::Duration;

use thiserror::Error;

use crate::intake::MAX_LINE_BYTES;
use crate::intake::lines::{Line, read_bounded_line};

/// Largest UDP datagram read.
const MAX_DATAGRAM: usize = 65_535;
/// Messages buffered between the sockets and the scanner.
const QUEUE: usize = 10_000;
/// TCP connections served at once.
const MAX_CONNECTIONS: usize = 64;

/// Where to listen.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Address to listen on (`127.0.0.1` in tests).
    pub bind: IpAddr,
    /// UDP port; `Some(0)` picks a free one.
    pub udp_port: Option<u16>,
    /// TCP port; `Some(0)` picks a free one.
    pub tcp_port: Option<u16>,
}

/// The receiver could not start.
#[derive(Debug, Error)]
#[allow(missing_docs)] // fields: the socket and the cause
pub enum ReceiverError {
    #[error(
        "could not listen on {protocol} {addr}: {source} (is the port taken? pick another with --udp/--tcp)"
    )]
    /// A socket could not be bound.
    Bind {
        protocol: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no port given: pass --udp PORT and/or --tcp PORT")]
    /// Neither a UDP nor a TCP port was given.
    NoPort,
}

/// One received message and the peer that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `udp://addr` or `tcp://addr`.
    pub peer: String,
    /// The message, without framing.
    pub bytes: Vec<u8>,
}

/// A running receiver; dropping it stops the socket threads.
pub struct SyslogReceiver {
    messages: Receiver<Message>,
    udp_addr: Option<SocketAddr>,
    tcp_addr: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
}

impl SyslogReceiver {
    /// Binds the configured sockets and starts their threads.
    pub fn start(config: &ReceiverConfig) -> Result<Self, ReceiverError> {
        if config.udp_port.is_none() && config.tcp_port.is_none() {
            return Err(ReceiverError::NoPort);
        }
        let (sender, messages) = sync_channel(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));

        let udp_addr = match config.udp_port {
            Some(port) => Some(start_udp(
                SocketAddr::new(config.bind, port),
                &sender,
                &stop,
                &dropped,
            )?),
            None => None,
        };
        let tcp_addr = match config.tcp_port {
            Some(port) => Some(start_tcp(
                SocketAddr::new(config.bind, port),
                &sender,
                &stop,
                &dropped,
            )?),
            None => None,
        };
        tracing::info!(?udp_addr, ?tcp_addr, "syslog receiver listening");
        Ok(SyslogReceiver {
            messages,
            udp_addr,
            tcp_addr,
            stop,
            dropped,
        })
    }

    /// The bound UDP address, when listening on UDP.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// The bound TCP address, when listening on TCP.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` for the next message.
    pub fn next(&self, timeout: Duration) -> Option<Message> {
        self.messages.recv_timeout(timeout).ok()
    }
}

impl Drop for SyslogReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn deliver(sender: &SyncSender<Message>, message: Message, dropped: &AtomicUsize) -> bool {
    match sender.try_send(message) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            dropped.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

fn start_udp(
    addr: SocketAddr,
    sender: &SyncSender<Message>,
    stop: &Arc<AtomicBool>,
    dropped: &Arc<AtomicUsize>,
) -> Result<SocketAddr, ReceiverError> {
    let bind_error = |source| ReceiverError::Bind {
        protocol: "UDP",
        addr,
        source,
    };
    let socket = UdpSocket::bind(addr).map_err(bind_error)?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(bind_error)?;
    let local = socket.local_addr().map_err(bind_error)?;
    let (sender, stop, dropped) = (sender.clone(), stop.clone(), dropped.clone());

    thread::spawn(move || {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !stop.load(Ordering::Relaxed) {
            let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                continue;
            };
            for line in buf.get(..len).unwrap_or_default().split(|&b| b == b'\n') {
                if line.is_empty() {
                    continue;
                }
                let message = Message {
                    peer: format!("udp://{peer}"),
                    bytes: line.to_vec(),
                };
                if !deliver(&sender, message, &dropped) {
                    return;
                }
            }
        }
    });
    Ok(local)
}

fn start_tcp(
    addr: SocketAddr,
    sender: &SyncSender<Message>,
    stop: &Arc<AtomicBool>,
    dropped: &Arc<AtomicUsize>,
) -> Result<SocketAddr, ReceiverError> {
    let bind_error = |source| ReceiverError::Bind {
        protocol: "TCP",
        addr,
        source,
    };
    let listener = TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let (sender, stop, dropped) = (sender.clone(), stop.clone(), dropped.clone());
    let connections = Arc::new(AtomicUsize::new(0));

    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Ok((stream, peer)) = listener.accept() else {
                thread::sleep(Duration::from_millis(50));
                continue;
            };
            if connections.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                tracing::warn!(%peer, "syslog TCP connection refused: {MAX_CONNECTIONS} already open");
                continue;
            }
            connections.fetch_add(1, Ordering::Relaxed);
            let (sender, stop, dropped, connections) = (
                sender.clone(),
                stop.clone(),
                dropped.clone(),
                connections.clone(),
            );
            thread::spawn(move || {
                serve_tcp(stream, peer, &sender, &stop, &dropped);
                connections.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    Ok(local)
}

fn serve_tcp(
    stream: TcpStream,
    peer: SocketAddr,
    sender: &SyncSender<Message>,
    stop: &AtomicBool,
    dropped: &AtomicUsize,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let mut reader = BufReader::new(stream);
    let peer = format!("tcp://{peer}");
    while !stop.load(Ordering::Relaxed) {
        let bytes = match read_frame(&mut reader) {
            Ok(Some(bytes)) => bytes,
            Ok(None) | Err(_) => return,
        };
        if bytes.is_empty() {
            continue;
        }
        if !deliver(
            sender,
            Message {
                peer: peer.clone(),
                bytes,
            },
            dropped,
        ) {
            return;
        }
    }
}

/// Reads one frame: `LEN SP MSG` (octet counting) or a line.
fn read_frame(reader: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let head = reader.fill_buf()?;
    if head.is_empty() {
        return Ok(None);
    }
    let digits = head.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && digits <= 7 && head.get(digits) == Some(&b' ') {
        let length: usize = std::str::from_utf8(head.get(..digits).unwrap_or_default())
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        reader.consume(digits + 1);
        if length > MAX_LINE_BYTES {
            std::io::copy(&mut reader.take(length as u64), &mut std::io::sink())?;
            return Ok(Some(Vec::new()));
        }
        let mut frame = vec![0u8; length];
        reader.read_exact(&mut frame)?;
        return Ok(Some(frame));
    }
    match read_bounded_line(reader, MAX_LINE_BYTES)? {
        Some(Line::Text(line)) => Ok(Some(line)),
        Some(Line::TooLong { .. }) => Ok(Some(Vec::new())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines_and_octet_counted_messages() {
        let mut input: &[u8] =
            b"<34>Dec 10 06:55:46 h p: one\n14 <34>x y z: two<34>Dec 10 06:55:46 h p: three\n";
        assert_eq!(
            read_frame(&mut input).unwrap().unwrap(),
            b"<34>Dec 10 06:55:46 h p: one"
        );
        assert_eq!(read_frame(&mut input).unwrap().unwrap(), b"<34>x y z: two");
        assert_eq!(
            read_frame(&mut input).unwrap().unwrap(),
            b"<34>Dec 10 06:55:46 h p: three"
        );
        assert_eq!(read_frame(&mut input).unwrap(), None);
    }
}
