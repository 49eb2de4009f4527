//! safecare-exchange
