//! Where a detector sends what it finds.

use crate::SecurityEvent;

/// A destination for security events: JSON lines on stdout, the bus, a test vector.
///
/// Detectors call [`EventSink::emit`] for every event and never know which
/// destination is behind it, so the same detector runs alone or in the platform.
pub trait EventSink {
    /// Hands one event over; an error means the destination is gone.
    fn emit(&mut self, event: SecurityEvent) -> std::io::Result<()>;
}

impl EventSink for Vec<SecurityEvent> {
    fn emit(&mut self, event: SecurityEvent) -> std::io::Result<()> {
        self.push(event);
        Ok(())
    }
}

impl<F: FnMut(SecurityEvent) -> std::io::Result<()>> EventSink for F {
    fn emit(&mut self, event: SecurityEvent) -> std::io::Result<()> {
        self(event)
    }
}
