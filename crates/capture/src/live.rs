//! Live capture on Linux through an AF_PACKET raw socket: no libpcap needed.
//!
//! The socket receives every frame of one interface (optionally in promiscuous mode)
//! with a half-second receive timeout, so the caller can expire flows and notice
//! Ctrl-C while the network is quiet. Needs root or `CAP_NET_RAW`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::Timestamp;
use crate::reader::{LinkType, RawPacket};

/// Why live capture could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("no network interface named {0:?}; list them with `ip link`")]
    /// No interface has this name.
    NoInterface(String),
    #[error(
        "could not open a raw socket on {interface}: {source}; live capture needs root or \
         the CAP_NET_RAW capability (setcap cap_net_raw+ep on the binary)"
    )]
    /// The raw socket could not be opened.
    Socket {
        /// The interface.
        interface: String,
        /// The operating system error.
        source: std::io::Error,
    },
    #[error("could not {what} on {interface}: {source}")]
    /// A socket option could not be set.
    Setup {
        /// The interface.
        interface: String,
        /// What was being set up.
        what: &'static str,
        /// The operating system error.
        source: std::io::Error,
    },
    #[error("receiving from {interface} failed: {source}")]
    /// Receiving failed.
    Receive {
        /// The interface.
        interface: String,
        /// The operating system error.
        source: std::io::Error,
    },
    #[error("live capture is only available on Linux")]
    /// Not Linux.
    Unsupported,
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C (SIGINT) or SIGTERM asked the capture to stop.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Makes SIGINT and SIGTERM set the stop flag instead of killing the process, so a
/// long-running command (a capture, a folder watch) can finish its work and report.
/// Clears a stop asked for during an earlier run in the same process.
pub fn install_stop_handler() {
    STOP.store(false, Ordering::Relaxed);
    #[cfg(unix)]
    {
        extern "C" fn on_signal(_: libc::c_int) {
            STOP.store(true, Ordering::Relaxed);
        }
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }
}

/// A raw socket bound to one interface.
pub struct LiveCapture {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
    interface: String,
    buf: Vec<u8>,
    index: u64,
}

/// Receive buffer: the largest frame kept; longer frames are cut (and say so).
const SNAP_LEN: usize = 65_536 + 64;

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::LiveError;

    pub const ETH_P_ALL: u16 = 0x0003;
    pub const ARPHRD_LOOPBACK: u16 = 772;
    pub const ARPHRD_ETHER: u16 = 1;
    pub const PACKET_OUTGOING: u8 = 4;

    pub fn interface_index(name: &str) -> Result<i32, LiveError> {
        let c_name = CString::new(name).map_err(|_| LiveError::NoInterface(name.to_string()))?;
        // SAFETY: c_name is a valid NUL-terminated string for the duration of the call.
        let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
        if index == 0 {
            return Err(LiveError::NoInterface(name.to_string()));
        }
        Ok(index as i32)
    }

    pub fn open(name: &str, index: i32) -> Result<OwnedFd, LiveError> {
        let protocol = i32::from(ETH_P_ALL.to_be());
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if raw < 0 {
            return Err(LiveError::Socket {
                interface: name.to_string(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: raw is a freshly opened descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL.to_be();
        addr.sll_ifindex = index;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: addr points to a valid sockaddr_ll of the length given.
        let rc = unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) };
        check(rc, name, "bind the raw socket")?;
        Ok(fd)
    }

    pub fn set_promiscuous(fd: &OwnedFd, name: &str, index: i32) -> Result<(), LiveError> {
        // SAFETY: packet_mreq is plain data; zeroed is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
        mreq.mr_ifindex = index;
        mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
        let len = std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t;
        // SAFETY: mreq is valid for the length given.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&raw const mreq).cast(),
                len,
            )
        };
        check(rc, name, "enter promiscuous mode")
    }

    pub fn set_timeout(fd: &OwnedFd, name: &str) -> Result<(), LiveError> {
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 500_000,
        };
        let len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        // SAFETY: timeout is valid for the length given.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                len,
            )
        };
        check(rc, name, "set the receive timeout")
    }

    /// Receives one frame: (bytes kept, length on the wire, hardware type, packet type).
    /// With `wait` false, answers `None` at once when no frame is queued.
    pub fn receive(
        fd: &OwnedFd,
        buf: &mut [u8],
        wait: bool,
    ) -> std::io::Result<Option<(usize, usize, u16, u8)>> {
        let flags = if wait {
            libc::MSG_TRUNC
        } else {
            libc::MSG_TRUNC | libc::MSG_DONTWAIT
        };
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buf and from are valid for the lengths given; MSG_TRUNC makes the
        // kernel return the frame's real length even when it is longer than buf.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                (&raw mut from).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            return match err.kind() {
                std::io::ErrorKind::WouldBlock
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::Interrupted => Ok(None),
                _ => Err(err),
            };
        }
        let wire = n as usize;
        Ok(Some((
            wire.min(buf.len()),
            wire,
            from.sll_hatype,
            from.sll_pkttype,
        )))
    }

    fn check(rc: i32, name: &str, what: &'static str) -> Result<(), LiveError> {
        if rc < 0 {
            return Err(LiveError::Setup {
                interface: name.to_string(),
                what,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }
}

impl LiveCapture {
    /// Opens a raw socket on `interface`.
    #[cfg(target_os = "linux")]
    pub fn open(interface: &str, promiscuous: bool) -> Result<LiveCapture, LiveError> {
        let index = sys::interface_index(interface)?;
        let fd = sys::open(interface, index)?;
        if promiscuous {
            sys::set_promiscuous(&fd, interface, index)?;
        }
        sys::set_timeout(&fd, interface)?;
        Ok(LiveCapture {
            fd,
            interface: interface.to_string(),
            buf: vec![0; SNAP_LEN],
            index: 0,
        })
    }

    /// Live capture needs AF_PACKET, which only Linux has.
    #[cfg(not(target_os = "linux"))]
    pub fn open(_interface: &str, _promiscuous: bool) -> Result<LiveCapture, LiveError> {
        Err(LiveError::Unsupported)
    }

    /// The next frame, or `Ok(None)` when none arrived within half a second.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, LiveError> {
        self.receive(true)
    }

    /// The next frame already queued in the socket, or `Ok(None)` at once when there is
    /// none: after a stop request, reading until `None` keeps every frame that arrived
    /// before it.
    pub fn next_queued(&mut self) -> Result<Option<RawPacket<'_>>, LiveError> {
        self.receive(false)
    }

    #[cfg(target_os = "linux")]
    fn receive(&mut self, wait: bool) -> Result<Option<RawPacket<'_>>, LiveError> {
        loop {
            let received = sys::receive(&self.fd, &mut self.buf, wait).map_err(|source| {
                LiveError::Receive {
                    interface: self.interface.clone(),
                    source,
                }
            })?;
            let Some((kept, wire, hardware, packet_type)) = received else {
                return Ok(None);
            };
            // Loopback shows every frame twice, outgoing and incoming: keep one.
            if hardware == sys::ARPHRD_LOOPBACK && packet_type == sys::PACKET_OUTGOING {
                continue;
            }
            let link = match hardware {
                sys::ARPHRD_ETHER | sys::ARPHRD_LOOPBACK => LinkType::ETHERNET,
                _ => LinkType::RAW,
            };
            self.index += 1;
            return Ok(Some(RawPacket {
                index: self.index,
                ts: now(),
                link,
                data: self.buf.get(..kept).unwrap_or_default(),
                orig_len: u32::try_from(wire).unwrap_or(u32::MAX),
            }));
        }
    }

    /// Live capture needs AF_PACKET, which only Linux has.
    #[cfg(not(target_os = "linux"))]
    fn receive(&mut self, _wait: bool) -> Result<Option<RawPacket<'_>>, LiveError> {
        Err(LiveError::Unsupported)
    }
}

/// The wall clock as a capture timestamp.
pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(since.as_secs(), since.subsec_nanos())
}
