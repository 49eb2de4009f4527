//! safecare-bus
