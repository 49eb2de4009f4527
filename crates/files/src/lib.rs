//! Advanced file analysis: DICOM inspection, polyglots, hashes, archives and quarantine.
//!
//! Every file gets one [`Verdict`]: its size, hashes, type read from its content
//! (never its extension), a verdict (clean, suspicious, malicious) and the
//! findings behind it. Parsers here read untrusted bytes: every length, count
//! and depth is checked against a stated limit, and bad input becomes a
//! finding, never a panic.

pub mod dicom;
pub mod entropy;
pub mod magic;
pub mod verdict;

pub use verdict::{EntropyRegion, Finding, Hashes, Severity, Verdict, VerdictLevel};
pub mod analyze;
pub mod archive;
pub mod hash;

pub use analyze::{AnalysisConfig, AnalyzeError, Analyzer};
pub mod cli;
pub mod connector;
pub mod events;
pub mod report;
pub mod scan;
pub mod watch;
#[cfg(feature = "yara")]
pub mod yara;

pub use scan::FilesSummary;
