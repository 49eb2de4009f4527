//! Live capture through an AF_PACKET raw socket; the reader lives in the capture
//! crate so that every sensor (net, ot) shares it.

pub use safecare_capture::live::*;
