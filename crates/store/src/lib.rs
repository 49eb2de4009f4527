//! safecare-store
