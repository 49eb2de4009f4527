//! The site model: one hospital, its buildings, zones, assets and dependencies.
