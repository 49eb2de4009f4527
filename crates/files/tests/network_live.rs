//! `files extract` on traffic between real peers on loopback, captured live by the
//! project's AF_PACKET reader: pynetdicom C-STORE associations and a urllib download
//! from Python's http.server. Needs root (raw socket) and the Python peers.

mod peers;
mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use peers::{Recorder, Server, require_pynetdicom, run, sample_path};
use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_files::Analyzer;
use safecare_files::connector::{ExtractOptions, extract};
use serde_json::Value;
use support::*;

/// What `files extract` printed and emitted for one capture.
struct Extraction {
    lines: Vec<Value>,
    events: Vec<SecurityEvent>,
    skipped: Vec<(String, String)>,
}

fn run_extract(pcap: &Path, output: &Path) -> Extraction {
    let options = ExtractOptions {
        output: Some(output.to_path_buf()),
        ..ExtractOptions::default()
    };
    let mut events: Vec<SecurityEvent> = Vec::new();
    let mut out = Vec::new();
    let summary = extract(
        pcap,
        &Analyzer::default(),
        &options,
        &EmptyDirectory,
        &mut events,
        &mut out,
    )
    .unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    Extraction {
        lines,
        events,
        skipped: summary.unreadable,
    }
}

impl Extraction {
    /// Verdict lines of objects sent to one of `ports` (loopback carries other tests too).
    fn to_ports(&self, ports: &[u16]) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|line| {
                let port = line["network"]["server"]["port"].as_u64().unwrap() as u16;
                ports.contains(&port)
            })
            .collect()
    }

    /// Nothing on these ports was skipped or reported as a broken transfer.
    fn assert_no_issues(&self, ports: &[u16]) {
        let mentions = |text: &str| ports.iter().any(|p| text.contains(&format!(":{p}")));
        let skipped: Vec<_> = self
            .skipped
            .iter()
            .filter(|(what, _)| mentions(what))
            .collect();
        assert!(skipped.is_empty(), "transfers not extracted: {skipped:?}");
        let broken: Vec<_> = self
            .events
            .iter()
            .filter(|e| e.kind.starts_with("file.transfer."))
            .filter(|e| mentions(&e.summary))
            .map(|e| &e.summary)
            .collect();
        assert!(broken.is_empty(), "broken transfers: {broken:?}");
    }
}

fn read(path: &Value) -> Vec<u8> {
    std::fs::read(path.as_str().expect("a written path")).unwrap()
}

/// What the SCP wrote for each dataset it received: (record, bytes as received).
type Received = Vec<(Value, Vec<u8>)>;

fn received(dir: &Path) -> Received {
    let index = std::fs::read_to_string(dir.join("received.jsonl")).unwrap_or_default();
    index
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            let bytes = std::fs::read(dir.join(record["file"].as_str().unwrap())).unwrap();
            (record, bytes)
        })
        .collect()
}

/// Starts the SCPs (no PDU limit, and 1024 bytes), runs `send`, stops, and extracts.
fn capture_stores(dir: &Path, send: impl FnOnce(u16, u16)) -> (Extraction, Received, Vec<u16>) {
    require_pynetdicom();
    let scp_out = dir.join("scp");
    std::fs::create_dir_all(&scp_out).unwrap();

    let recorder = Recorder::start();
    let scp = Server::start(
        "dicom_peer.py",
        &[
            "scp",
            "--out",
            scp_out.to_str().unwrap(),
            "--max-pdu",
            "0",
            "--max-pdu",
            "1024",
        ],
    );
    let ports = scp.ports.clone();
    send(ports[0], ports[1]);
    scp.stop();
    let pcap = dir.join("capture.pcap");
    recorder.finish(&pcap);

    let extraction = run_extract(&pcap, &dir.join("extracted"));
    (extraction, received(&scp_out), ports)
}

fn store(port: u16, files: &[PathBuf]) {
    let port = port.to_string();
    let mut args = vec!["scu", "--port", port.as_str()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    run("dicom_peer.py", &args);
}

#[test]
fn c_store_datasets_are_extracted_byte_exact_and_analysed_clean() {
    let dir = tempfile::tempdir().unwrap();
    let samples: Vec<PathBuf> = [
        "CT_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "JPEG2000.dcm",
    ]
    .iter()
    .map(|name| sample_path(name))
    .collect();

    // Whole datasets in one PDV, then many 1 KiB P-DATA-TF fragments per dataset.
    let (extraction, received, ports) = capture_stores(dir.path(), |whole, fragmented| {
        store(whole, &samples);
        store(fragmented, &samples[..2]);
    });
    assert_eq!(received.len(), 6, "the SCP received every dataset");
    extraction.assert_no_issues(&ports);
    let lines = extraction.to_ports(&ports);
    assert_eq!(
        lines.len(),
        received.len(),
        "one verdict per C-STORE: {lines:#?}"
    );

    // Each dataset the SCP received was extracted with the same bytes and UIDs.
    let mut matched = HashSet::new();
    for (record, bytes) in &received {
        let found = lines.iter().position(|line| {
            let network = &line["network"];
            network["sop_instance_uid"] == record["sop_instance_uid"]
                && read(&network["dataset"]["path"]) == *bytes
                && !matched.contains(&(
                    network["server"]["port"].clone(),
                    network["dataset"]["sha256"].clone(),
                ))
        });
        let index = found.unwrap_or_else(|| panic!("not extracted byte-exact: {record}"));
        let network = &lines[index]["network"];
        matched.insert((
            network["server"]["port"].clone(),
            network["dataset"]["sha256"].clone(),
        ));

        assert_eq!(network["protocol"], "dicom");
        assert_eq!(network["sender"], "client");
        assert_eq!(network["calling_ae"], "CT_SCANNER");
        assert_eq!(network["called_ae"], "SAFECARE_SCP");
        assert_eq!(network["sop_class_uid"], record["sop_class_uid"]);
        assert_eq!(network["transfer_syntax"], record["transfer_syntax"]);
        assert_eq!(network["client"]["ip"], "127.0.0.1");
    }

    // The Part 10 wrappers are files the analysis (and pydicom) read as DICOM: clean.
    for line in &lines {
        assert_eq!(line["verdict"], "clean", "{line:#}");
        assert_eq!(line["type"], "dicom");
        let file = read(&line["path"]);
        let dataset = read(&line["network"]["dataset"]["path"]);
        assert_eq!(&file[128..132], b"DICM");
        assert!(file.ends_with(&dataset));
        let check = format!(
            "import pydicom; ds = pydicom.dcmread({:?}); assert ds.SOPInstanceUID == {:?}",
            line["path"].as_str().unwrap(),
            line["network"]["sop_instance_uid"].as_str().unwrap()
        );
        let status = std::process::Command::new("python3")
            .args(["-c", &check])
            .status()
            .unwrap();
        assert!(status.success(), "pydicom could not read {}", line["path"]);
    }
}

/// A strict PE header (MZ, e_lfanew, PE signature, i386 COFF header), padded.
fn executable() -> Vec<u8> {
    let mut pe = vec![0u8; 512];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    pe[0x84..0x86].copy_from_slice(&0x014cu16.to_le_bytes());
    pe
}

/// A Part 10 file with a full meta group, around an explicit VR little endian dataset.
fn part10_file(sop_class: &str, instance: &str, dataset: &[u8]) -> Vec<u8> {
    let uid = |text: &str| {
        let mut value = text.as_bytes().to_vec();
        if value.len() % 2 == 1 {
            value.push(0);
        }
        value
    };
    let mut meta = long_element(0x0002, 0x0001, b"OB", 2, &[0, 1]);
    meta.extend(short_element(0x0002, 0x0002, b"UI", &uid(sop_class)));
    meta.extend(short_element(0x0002, 0x0003, b"UI", &uid(instance)));
    meta.extend(short_element(
        0x0002,
        0x0010,
        b"UI",
        &uid("1.2.840.10008.1.2.1"),
    ));
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    file.extend(short_element(
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    ));
    file.extend(meta);
    file.extend_from_slice(dataset);
    file
}

#[test]
fn executables_inside_datasets_sent_over_the_network_come_out_malicious() {
    let dir = tempfile::tempdir().unwrap();
    let uid = |text: &str| {
        let mut value = text.as_bytes().to_vec();
        value.resize(value.len() + value.len() % 2, 0);
        value
    };

    // 1. Encapsulated PDF storage whose "document" is a Windows executable.
    let pdf_class = "1.2.840.10008.5.1.4.1.1.104.1";
    let pdf_instance = "2.25.1001";
    let mut document = short_element(0x0008, 0x0016, b"UI", &uid(pdf_class));
    document.extend(short_element(0x0008, 0x0018, b"UI", &uid(pdf_instance)));
    document.extend(short_element(0x0008, 0x0060, b"CS", b"OT"));
    document.extend(long_element(0x0042, 0x0011, b"OB", 512, &executable()));
    document.extend(short_element(0x0042, 0x0012, b"LO", b"application/pdf "));

    // 2. A secondary capture carrying the executable in a private element.
    let sc_class = "1.2.840.10008.5.1.4.1.1.7";
    let sc_instance = "2.25.1002";
    let mut private = short_element(0x0008, 0x0016, b"UI", &uid(sc_class));
    private.extend(short_element(0x0008, 0x0018, b"UI", &uid(sc_instance)));
    private.extend(short_element(0x0008, 0x0060, b"CS", b"OT"));
    private.extend(short_element(0x0009, 0x0010, b"LO", b"SAFECARE TEST "));
    private.extend(long_element(0x0009, 0x1000, b"OB", 512, &executable()));

    // 3. The classic polyglot: PE header in the preamble, which C-STORE never sends.
    let preamble = with_preamble(sample("CT_small.dcm"), &pe_header());

    let files = [
        (
            dir.path().join("document.dcm"),
            part10_file(pdf_class, pdf_instance, &document),
        ),
        (
            dir.path().join("private.dcm"),
            part10_file(sc_class, sc_instance, &private),
        ),
        (dir.path().join("preamble.dcm"), preamble),
    ];
    for (path, bytes) in &files {
        std::fs::write(path, bytes).unwrap();
    }
    let paths: Vec<PathBuf> = files.iter().map(|(path, _)| path.clone()).collect();

    let (extraction, received, ports) = capture_stores(dir.path(), |whole, fragmented| {
        store(fragmented, &paths[..2]);
        store(whole, &paths[2..]);
    });
    assert_eq!(received.len(), 3);
    extraction.assert_no_issues(&ports);
    let lines = extraction.to_ports(&ports);
    let by_instance = |instance: &str| {
        lines
            .iter()
            .find(|l| l["network"]["sop_instance_uid"] == instance)
            .unwrap_or_else(|| panic!("{instance} not extracted: {lines:#?}"))
    };
    let has = |line: &Value, kind: &str| {
        line["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == kind)
    };

    let document = by_instance(pdf_instance);
    assert_eq!(document["verdict"], "malicious", "{document:#}");
    assert!(has(document, "dicom.document_code"), "{document:#}");
    let private = by_instance(sc_instance);
    assert_eq!(private["verdict"], "malicious", "{private:#}");
    assert!(has(private, "dicom.embedded_code"), "{private:#}");

    // The preamble stayed on the sender's disk: nothing of it crossed the network.
    let ct = lines
        .iter()
        .find(|l| l["network"]["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.2")
        .expect("the CT dataset");
    assert!(!has(ct, "dicom.preamble_code"), "{ct:#}");
    assert!(read(&ct["path"])[..128].iter().all(|&b| b == 0));

    // Polyglot events name the connection and the AE titles.
    let polyglots: Vec<&SecurityEvent> = extraction
        .events
        .iter()
        .filter(|e| e.kind == "file.dicom.polyglot")
        .filter(|e| {
            e.destination
                .as_ref()
                .and_then(|d| d.port)
                .is_some_and(|p| ports.contains(&p))
        })
        .collect();
    assert_eq!(polyglots.len(), 2, "{polyglots:#?}");
    for event in polyglots {
        event.validate().unwrap();
        assert_eq!(
            event.source.as_ref().unwrap().ip.as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(event.evidence["network"]["calling_ae"], "CT_SCANNER");
    }
}

#[test]
fn http_downloads_are_extracted_byte_exact_and_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();

    // A ZIP carrying a DICOM polyglot, a clean DICOM file sent chunked, and
    // the polyglot alone sent with Content-Encoding: gzip.
    let polyglot = with_preamble(sample("CT_small.dcm"), &pe_header());
    let zip = zip_of(&[("series/image.dcm", &polyglot)]);
    let clean = sample("CT_small.dcm");
    std::fs::write(root.join("studies.zip"), &zip).unwrap();
    std::fs::write(root.join("ct.dcm"), &clean).unwrap();
    std::fs::write(root.join("poly.dcm"), &polyglot).unwrap();

    let recorder = Recorder::start();
    let server = Server::start("http_peer.py", &["serve", root.to_str().unwrap()]);
    let port = server.ports[0];
    let base = format!("http://127.0.0.1:{port}");
    run(
        "http_peer.py",
        &[
            "fetch",
            &format!("{base}/studies.zip"),
            &format!("{base}/chunked/ct.dcm"),
            &format!("{base}/gzip/poly.dcm"),
        ],
    );
    server.stop();
    let pcap = dir.path().join("capture.pcap");
    recorder.finish(&pcap);

    let extraction = run_extract(&pcap, &dir.path().join("extracted"));
    extraction.assert_no_issues(&[port]);
    let lines = extraction.to_ports(&[port]);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let by_uri = |uri: &str| {
        lines
            .iter()
            .find(|l| l["network"]["uri"] == uri)
            .unwrap_or_else(|| panic!("{uri} not extracted: {lines:#?}"))
    };

    let archive = by_uri("/studies.zip");
    assert_eq!(read(&archive["path"]), zip, "byte-exact");
    assert_eq!(archive["type"], "zip");
    assert_eq!(archive["verdict"], "malicious", "{archive:#}");
    assert_eq!(archive["network"]["protocol"], "http");
    assert_eq!(archive["network"]["sender"], "server");
    assert_eq!(archive["network"]["content_type"], "application/zip");
    assert_eq!(archive["network"]["url"], format!("{base}/studies.zip"));

    let chunked = by_uri("/chunked/ct.dcm");
    assert_eq!(read(&chunked["path"]), clean, "byte-exact");
    assert_eq!(chunked["network"]["chunked"], true);
    assert_eq!(chunked["verdict"], "clean", "{chunked:#}");
    assert_eq!(chunked["type"], "dicom");

    // The body is stored as sent; the analysis reads through the gzip coding.
    let gzipped = by_uri("/gzip/poly.dcm");
    assert_eq!(gzipped["network"]["content_encoding"], "gzip");
    assert_eq!(gzipped["type"], "gzip");
    assert_eq!(gzipped["verdict"], "malicious", "{gzipped:#}");
    assert!(
        gzipped.to_string().contains("dicom.preamble_code"),
        "{gzipped:#}"
    );

    let event = extraction
        .events
        .iter()
        .filter(|e| e.kind == "file.dicom.polyglot")
        .find(|e| {
            e.evidence
                .get("network")
                .is_some_and(|n| n["uri"] == "/studies.zip")
        })
        .expect("a polyglot event for the download");
    assert_eq!(
        event.file.as_ref().unwrap().mime_type.as_deref(),
        Some("application/zip")
    );
    assert_eq!(event.destination.as_ref().unwrap().port, Some(port));
}
