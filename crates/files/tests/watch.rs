//! `files watch` on a real folder: files written, grown, moved in and locked
//! while the watch runs on its own thread.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_files::report::Reporter;
use safecare_files::watch::{WatchOptions, watch};
use safecare_files::{Analyzer, FilesSummary};
use serde_json::Value;
use support::*;

/// Verdict lines written by the watch thread, readable by the test meanwhile.
#[derive(Clone, Default)]
struct SharedOut(Arc<Mutex<Vec<u8>>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedOut {
    fn verdicts(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn paths_and_sizes(&self) -> Vec<(String, u64)> {
        let verdicts = self.verdicts();
        let path_and_size = |v: &Value| (v["path"].to_string(), v["size"].as_u64().unwrap());
        verdicts.iter().map(path_and_size).collect()
    }

    /// The verdicts of the file named `name`, in the order they were written.
    fn of(&self, name: &str) -> Vec<Value> {
        self.verdicts()
            .into_iter()
            .filter(|v| v["path"].as_str().unwrap().ends_with(name))
            .collect()
    }

    /// Waits (up to a minute, the machine may be busy) until `done` holds.
    fn wait_until(&self, what: &str, done: impl Fn(&SharedOut) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "the watch never reported {what}; it wrote: {:?}",
                self.paths_and_sizes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

struct RunningWatch {
    out: SharedOut,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(FilesSummary, Vec<SecurityEvent>)>,
}

fn start_watch(inbox: &Path, quarantine: &Path) -> RunningWatch {
    let out = SharedOut::default();
    let stop = Arc::new(AtomicBool::new(false));
    let options = WatchOptions {
        poll: Duration::from_millis(50),
        settle: Duration::from_millis(1000),
        // Files written before the thread's first listing count as new too.
        existing: true,
        exclude: vec![quarantine.to_path_buf()],
        ..WatchOptions::default()
    };
    let (inbox, quarantine) = (inbox.to_path_buf(), quarantine.to_path_buf());
    let (mut writer, flag) = (out.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let mut events: Vec<SecurityEvent> = Vec::new();
        let mut reporter = Reporter::new(&mut writer, &mut events, &EmptyDirectory);
        reporter.quarantine = Some(&quarantine);
        let stop = || flag.load(Ordering::Relaxed);
        let summary = watch(&inbox, &Analyzer::default(), &options, &mut reporter, &stop)
            .expect("the watch runs until stopped");
        (summary, events)
    });
    RunningWatch { out, stop, thread }
}

fn polyglot() -> Vec<u8> {
    with_preamble(sample("CT_small.dcm"), &pe_header())
}

#[test]
fn watch_analyses_new_grown_and_moved_in_files_and_survives_an_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let quarantine = inbox.join("quarantine");
    let outside = dir.path().join("outside");
    for folder in [&inbox, &quarantine, &outside] {
        std::fs::create_dir_all(folder).unwrap();
    }
    let running = start_watch(&inbox, &quarantine);
    let out = running.out.clone();

    // A clean file in a folder made after the start, a malicious file written
    // in two halves, and one moved in from elsewhere.
    std::fs::create_dir_all(inbox.join("sub")).unwrap();
    std::fs::write(inbox.join("sub/clean.dcm"), sample("CT_small.dcm")).unwrap();
    let whole = polyglot();
    let mut growing = std::fs::File::create(inbox.join("growing.dcm")).unwrap();
    growing.write_all(&whole[..whole.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    growing.write_all(&whole[whole.len() / 2..]).unwrap();
    drop(growing);
    let elf = with_preamble(sample("MR_small.dcm"), &elf_header());
    std::fs::write(outside.join("moved.dcm"), &elf).unwrap();
    std::fs::rename(outside.join("moved.dcm"), inbox.join("moved.dcm")).unwrap();

    out.wait_until("the three new files", |out| {
        let grown = out.of("growing.dcm");
        !out.of("clean.dcm").is_empty()
            && !out.of("moved.dcm").is_empty()
            && grown.last().is_some_and(|v| v["size"] == whole.len())
    });

    // A file the watch may not be able to read, then one after it.
    let locked = inbox.join("locked.dcm");
    std::fs::write(&locked, polyglot()).unwrap();
    set_mode(&locked, 0o000);
    let readable = std::fs::File::open(&locked).is_ok();
    std::fs::write(inbox.join("after.dcm"), sample("MR_small.dcm")).unwrap();
    out.wait_until("the file after the locked one", |out| {
        !out.of("after.dcm").is_empty()
    });

    running.stop.store(true, Ordering::Relaxed);
    let (summary, events) = running.thread.join().unwrap();
    set_mode(&locked, 0o600);

    // The quarantine copies were never analysed.
    assert!(
        out.verdicts()
            .iter()
            .all(|v| !v["path"].as_str().unwrap().contains("quarantine")),
        "{:#?}",
        out.verdicts()
    );

    // The grown file was judged on its whole content; the moved one too.
    let grown = out.of("growing.dcm");
    assert_eq!(grown.last().unwrap()["verdict"], "malicious");
    assert_eq!(out.of("moved.dcm")[0]["verdict"], "malicious");
    assert_eq!(out.of("clean.dcm")[0]["verdict"], "clean");
    let sha = grown.last().unwrap()["hashes"]["sha256"].as_str().unwrap();
    assert!(quarantine.join(format!("{sha}.bin")).is_file());

    // The locked file: reported unreadable, or analysed when this user reads anything (root).
    let locked_listed = summary
        .unreadable
        .iter()
        .any(|(path, _)| path.ends_with("locked.dcm"));
    if readable {
        assert_eq!(out.of("locked.dcm")[0]["verdict"], "malicious");
    } else {
        assert!(locked_listed, "{:?}", summary.unreadable);
        assert!(out.of("locked.dcm").is_empty());
    }

    // Events: polyglots and quarantine copies, counted in the summary.
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"file.dicom.polyglot"), "{kinds:?}");
    assert!(kinds.contains(&"file.quarantined"), "{kinds:?}");
    assert_eq!(summary.events, events.len() as u64);
    assert_eq!(summary.files, out.verdicts().len() as u64);
}

#[test]
fn watching_a_missing_folder_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let missing: PathBuf = dir.path().join("nowhere");
    let mut events: Vec<SecurityEvent> = Vec::new();
    let mut out = Vec::new();
    let mut reporter = Reporter::new(&mut out, &mut events, &EmptyDirectory);
    let err = watch(
        &missing,
        &Analyzer::default(),
        &WatchOptions::default(),
        &mut reporter,
        &|| true,
    )
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("nowhere"), "{message}");
    assert!(message.contains("exists"), "{message}");
}

fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}
