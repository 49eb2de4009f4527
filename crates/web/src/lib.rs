//! safecare-web
