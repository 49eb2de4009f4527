//! safecare-correlate
