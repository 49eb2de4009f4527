//! The scenario format: time-offset steps that carry events.
