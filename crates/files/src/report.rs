//! Where verdicts go: a JSON line each, events for bad files, quarantine copies.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use safecare_core::{AssetDirectory, EventSink};

use crate::events::{quarantined_event, verdict_events};
use crate::scan::quarantine;
use crate::verdict::{Verdict, VerdictLevel};

/// Writes each verdict as a JSON line, emits its events and quarantines bad files.
pub struct Reporter<'a> {
    pub out: &'a mut dyn Write,
    pub sink: &'a mut dyn EventSink,
    pub site: &'a dyn AssetDirectory,
    /// Suspicious and malicious files are copied here.
    pub quarantine: Option<&'a Path>,
    /// Flush after each line (a long-running watch), rather than when the buffer fills.
    pub flush_each: bool,
    /// Events emitted so far.
    pub events: u64,
    /// Files quarantined so far.
    pub quarantined: u64,
}

impl<'a> Reporter<'a> {
    /// A reporter writing lines to `out` and events to `sink`, without quarantine.
    pub fn new(
        out: &'a mut dyn Write,
        sink: &'a mut dyn EventSink,
        site: &'a dyn AssetDirectory,
    ) -> Reporter<'a> {
        Reporter {
            out,
            sink,
            site,
            quarantine: None,
            flush_each: false,
            events: 0,
            quarantined: 0,
        }
    }

    /// Reports one verdict of the file at `path`; counts its events and quarantine copy.
    ///
    /// Fails when stdout or the event sink is gone, or the quarantine is not writable.
    pub fn report(&mut self, path: &Path, verdict: &Verdict) -> anyhow::Result<()> {
        writeln!(self.out, "{}", verdict.to_json_line()).context("could not write to stdout")?;
        if self.flush_each {
            self.out.flush().context("could not write to stdout")?;
        }

        for event in verdict_events(verdict, self.site) {
            self.sink.emit(event).context("the event sink is gone")?;
            self.events += 1;
        }

        if let (Some(dir), true) = (self.quarantine, verdict.verdict != VerdictLevel::Clean) {
            let copy = quarantine(path, verdict, dir)?;
            self.sink
                .emit(quarantined_event(verdict, &copy))
                .context("the event sink is gone")?;
            self.quarantined += 1;
            self.events += 1;
        }
        Ok(())
    }
}
