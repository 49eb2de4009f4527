//! A Mosquitto process of one's own, for tests and benchmarks that must stop
//! and restart a real external broker.

use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Settings for Mosquitto 2.x as SafeCare needs them (deploy/mosquitto.conf).
const SETTINGS: &str = include_str!("../../../deploy/mosquitto.conf");

/// A running `mosquitto` listening on 127.0.0.1, stopped (SIGTERM) when dropped.
#[derive(Debug)]
pub struct MosquittoProcess {
    child: Child,
    pub port: u16,
}

impl MosquittoProcess {
    /// Starts `mosquitto` with SafeCare's settings on `port`, keeping its
    /// session file in `dir` when `persistence` is on.
    ///
    /// Fails when the binary is missing (Debian package `mosquitto`) or does not
    /// listen within 5 s.
    pub fn start(port: u16, dir: &Path, persistence: bool) -> io::Result<MosquittoProcess> {
        let config = dir.join("mosquitto.conf");
        let settings = SETTINGS
            .replace(
                "listener 1883 127.0.0.1",
                &format!("listener {port} 127.0.0.1"),
            )
            .replace("/var/lib/mosquitto/", &format!("{}/", dir.display()))
            .replace("persistence true", &format!("persistence {persistence}"));
        std::fs::write(&config, settings)?;

        // Mosquitto drops root for its own user: let it write its session file here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))?;

        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!("cannot start mosquitto ({err}): install it"),
                )
            })?;
        let process = MosquittoProcess { child, port };

        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(process);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("mosquitto did not listen on {port}"),
        ))
    }
}

impl Drop for MosquittoProcess {
    /// Stops it as an operator would (SIGTERM), so it saves its sessions.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
