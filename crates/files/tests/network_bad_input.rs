//! `files extract` on hostile and broken traffic, generated here: truncated PDUs, lying
//! PDU and PDV lengths, objects over the limits, HTTP bodies cut short. Each must end
//! in a clear issue, never a panic, and never an object built from missing bytes.

use std::path::Path;

use safecare_capture::synth::{Host, Synth};
use safecare_core::{EmptyDirectory, SecurityEvent};
use safecare_files::connector::{ConnectorLimits, ExtractOptions, extract};
use safecare_files::{Analyzer, FilesSummary};
use serde_json::Value;

const SC_CLASS: &[u8] = b"1.2.840.10008.5.1.4.1.1.7\0";
const EXPLICIT_LE: &[u8] = b"1.2.840.10008.1.2.1\0";

/// An item of an association PDU: type, reserved, 16-bit length, value.
fn item(item_type: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![item_type, 0];
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A PDU: type, reserved, 32-bit length, body.
fn pdu(pdu_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![pdu_type, 0];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A-ASSOCIATE-RQ (type 1) or -AC (type 2) with presentation context 1: secondary
/// capture in explicit VR little endian.
fn association(pdu_type: u8) -> Vec<u8> {
    let mut context = vec![1, 0, 0, 0];
    if pdu_type == 1 {
        context.extend(item(0x30, SC_CLASS));
    }
    context.extend(item(0x40, EXPLICIT_LE));

    let mut body = vec![0, 1, 0, 0];
    body.extend_from_slice(b"PACS            ");
    body.extend_from_slice(b"MODALITY        ");
    body.extend_from_slice(&[0; 32]);
    body.extend(item(0x10, b"1.2.840.10008.3.1.1.1"));
    body.extend(item(if pdu_type == 1 { 0x20 } else { 0x21 }, &context));
    body.extend(item(0x50, &item(0x51, &16384u32.to_be_bytes())));
    pdu(pdu_type, &body)
}

/// One implicit VR little endian element of a command set.
fn command_element(element: u16, value: &[u8]) -> Vec<u8> {
    let mut out = 0u16.to_le_bytes().to_vec();
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// The command set of a C-STORE-RQ with a dataset.
fn c_store_command(instance: &[u8]) -> Vec<u8> {
    let mut command = command_element(0x0002, SC_CLASS);
    command.extend(command_element(0x0100, &1u16.to_le_bytes()));
    command.extend(command_element(0x0110, &1u16.to_le_bytes()));
    command.extend(command_element(0x0700, &0u16.to_le_bytes()));
    command.extend(command_element(0x0800, &0u16.to_le_bytes()));
    command.extend(command_element(0x1000, instance));
    command
}

/// A P-DATA-TF PDU with one PDV: context 1, command or dataset, last fragment or not.
fn p_data(is_command: bool, is_last: bool, value: &[u8]) -> Vec<u8> {
    let control = u8::from(is_command) | (u8::from(is_last) << 1);
    let mut body = (value.len() as u32 + 2).to_be_bytes().to_vec();
    body.extend_from_slice(&[1, control]);
    body.extend_from_slice(value);
    pdu(4, &body)
}

/// A small explicit VR little endian dataset of `size` bytes of pixel data.
fn dataset(size: usize) -> Vec<u8> {
    let mut out = vec![0x08, 0, 0x16, 0, b'U', b'I'];
    out.extend_from_slice(&(SC_CLASS.len() as u16).to_le_bytes());
    out.extend_from_slice(SC_CLASS);
    out.extend_from_slice(&[0xE0, 0x7F, 0x10, 0, b'O', b'B', 0, 0]);
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend((0..size).map(|i| (i % 251) as u8));
    out
}

/// A whole association storing `data` in `fragments` dataset PDVs.
fn store_association(instance: &[u8], data: &[u8], fragments: usize) -> Vec<u8> {
    let mut client = association(1);
    client.extend(p_data(true, true, &c_store_command(instance)));
    let size = data.len().div_ceil(fragments.max(1));
    let pieces: Vec<&[u8]> = data.chunks(size.max(1)).collect();
    for (i, piece) in pieces.iter().enumerate() {
        client.extend(p_data(false, i + 1 == pieces.len(), piece));
    }
    client.extend(pdu(5, &[0; 4]));
    client
}

struct Outcome {
    lines: Vec<Value>,
    events: Vec<SecurityEvent>,
    summary: FilesSummary,
}

impl Outcome {
    fn kinds(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.kind.as_str()).collect()
    }
}

fn extract_sessions(
    sessions: &[(u16, Vec<u8>, Vec<u8>)],
    limits: ConnectorLimits,
    dir: &Path,
) -> Outcome {
    let (client, server) = (Host::v4("10.20.0.15"), Host::v4("10.40.0.20"));
    let mut synth = Synth::new();
    for (i, (port, request, response)) in sessions.iter().enumerate() {
        let exchanges: [(&[u8], &[u8]); 1] = [(request, response)];
        synth.tcp_session(&client, 40000 + i as u16, &server, *port, &exchanges);
    }
    let pcap = dir.join("generated.pcap");
    std::fs::write(&pcap, synth.finish()).unwrap();
    extract_pcap(&pcap, limits)
}

/// Runs `files extract` over a capture; every event it makes must validate.
fn extract_pcap(pcap: &Path, limits: ConnectorLimits) -> Outcome {
    let options = ExtractOptions {
        output: None,
        limits,
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
    for event in &events {
        event.validate().unwrap();
    }
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Outcome {
        lines,
        events,
        summary,
    }
}

fn accept() -> Vec<u8> {
    association(2)
}

#[test]
fn a_sniffed_association_on_any_port_yields_its_dataset_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let data = dataset(5000);
    let client = store_association(b"2.25.42\0", &data, 7);
    let outcome = extract_sessions(
        &[(4242, client, accept())],
        ConnectorLimits::default(),
        dir.path(),
    );

    assert_eq!(outcome.lines.len(), 1, "{:?}", outcome.summary);
    let line = &outcome.lines[0];
    assert_eq!(line["network"]["dataset"]["size"], data.len());
    assert_eq!(
        line["network"]["dataset"]["sha256"],
        safecare_files::hash::hashes(&data).sha256
    );
    assert_eq!(line["network"]["calling_ae"], "MODALITY");
    assert_eq!(line["network"]["transfer_syntax"], "1.2.840.10008.1.2.1");
    assert_eq!(line["network"]["server"]["port"], 4242);
    assert_eq!(line["verdict"], "clean", "{line:#}");
    assert!(outcome.summary.unreadable.is_empty());
}

#[test]
fn truncated_pdus_are_reported_and_nothing_is_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let whole = store_association(b"2.25.43\0", &dataset(3000), 3);

    // The stream ends in the middle of the second dataset PDU.
    let cut = whole[..whole.len() - 1500].to_vec();
    let outcome = extract_sessions(
        &[(104, cut, accept())],
        ConnectorLimits::default(),
        dir.path(),
    );
    assert!(outcome.lines.is_empty(), "{:?}", outcome.lines);
    assert!(
        outcome.kinds().contains(&"file.transfer.truncated"),
        "{:?}",
        outcome.kinds()
    );
    let skipped = &outcome.summary.unreadable;
    assert!(
        skipped
            .iter()
            .any(|(_, why)| why.contains("ends inside a PDU")),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|(what, why)| what.contains("MODALITY -> PACS")
                && why.contains("before the last fragment")),
        "{skipped:?}"
    );

    // Every cut of an association: no panic, no object from missing bytes.
    for end in (0..whole.len()).step_by(97) {
        let outcome = extract_sessions(
            &[(104, whole[..end].to_vec(), accept())],
            ConnectorLimits::default(),
            dir.path(),
        );
        assert!(outcome.lines.is_empty(), "cut at {end}");
    }
}

#[test]
fn lying_pdu_and_absurd_pdv_lengths_are_malformed() {
    let dir = tempfile::tempdir().unwrap();

    // An association request claiming 4 GiB.
    let mut huge_request = association(1);
    huge_request[2..6].copy_from_slice(&u32::MAX.to_be_bytes());

    // A PDV claiming 4 GiB in a PDU of 20 bytes.
    let mut absurd_pdv = association(1);
    let mut pdv = p_data(true, true, &[0; 14]);
    pdv[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
    absurd_pdv.extend(pdv);

    // A P-DATA-TF whose length is shorter than the PDV inside it.
    let mut short_pdu = association(1);
    let mut pdv = p_data(false, true, &dataset(100));
    pdv[2..6].copy_from_slice(&10u32.to_be_bytes());
    short_pdu.extend(p_data(true, true, &c_store_command(b"2.25.44\0")));
    short_pdu.extend(pdv);

    // A command set whose element claims more than the command holds.
    let mut lying_command = association(1);
    let mut command = c_store_command(b"2.25.45\0");
    command[4..8].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    lying_command.extend(p_data(true, true, &command));

    let sessions = [
        (104, huge_request, Vec::new()),
        (11112, absurd_pdv, accept()),
        (104, short_pdu, accept()),
        (104, lying_command, accept()),
    ];
    let outcome = extract_sessions(&sessions, ConnectorLimits::default(), dir.path());
    assert!(outcome.lines.is_empty(), "{:?}", outcome.lines);
    let malformed = outcome
        .events
        .iter()
        .filter(|e| e.kind == "file.transfer.malformed")
        .count();
    assert_eq!(malformed, 4, "{:#?}", outcome.summary.unreadable);
    let reasons: Vec<&str> = outcome
        .summary
        .unreadable
        .iter()
        .map(|(_, why)| why.as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("over the 1048576-byte limit")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("4294967295 bytes")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("command set")),
        "{reasons:?}"
    );
}

#[test]
fn objects_over_the_limit_are_reported_not_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ConnectorLimits {
        max_object_bytes: 4096,
        ..ConnectorLimits::default()
    };
    let big = store_association(b"2.25.46\0", &dataset(10_000), 4);
    let small = store_association(b"2.25.47\0", &dataset(1000), 1);
    let download = (
        8080,
        b"GET /big.bin HTTP/1.1\r\nHost: updates\r\n\r\n".to_vec(),
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n".as_slice(),
            &[7u8; 5000],
        ]
        .concat(),
    );
    let sessions = [(104, big, accept()), (104, small, accept()), download];
    let outcome = extract_sessions(&sessions, limits, dir.path());

    assert_eq!(outcome.lines.len(), 1, "only the small dataset");
    assert_eq!(outcome.lines[0]["network"]["sop_instance_uid"], "2.25.47");
    let over: Vec<_> = outcome
        .events
        .iter()
        .filter(|e| e.kind == "file.transfer.over_limit")
        .collect();
    assert_eq!(over.len(), 2, "{:?}", outcome.kinds());
    assert!(
        over.iter()
            .any(|e| e.summary.contains("http://updates/big.bin"))
    );
    assert!(
        over.iter()
            .all(|e| e.summary.contains("--max-object-bytes"))
    );
}

#[test]
fn http_bodies_cut_short_or_misframed_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let request = b"GET /report.pdf HTTP/1.1\r\nHost: intranet\r\n\r\n".to_vec();
    let sessions = [
        (
            80,
            request.clone(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n%PDF-1.7 only".to_vec(),
        ),
        (
            80,
            request.clone(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nnot hex\r\n"
                .to_vec(),
        ),
        (
            80,
            request,
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine".to_vec(),
        ),
    ];
    let outcome = extract_sessions(&sessions, ConnectorLimits::default(), dir.path());
    assert_eq!(outcome.lines.len(), 1);
    assert_eq!(
        outcome.lines[0]["network"]["url"],
        "http://intranet/report.pdf"
    );
    let kinds = outcome.kinds();
    assert!(kinds.contains(&"file.transfer.truncated"), "{kinds:?}");
    assert!(kinds.contains(&"file.transfer.malformed"), "{kinds:?}");
}

#[test]
fn a_file_that_is_not_a_capture_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not a capture at all").unwrap();
    let mut events: Vec<SecurityEvent> = Vec::new();
    let err = extract(
        &path,
        &Analyzer::default(),
        &ExtractOptions::default(),
        &EmptyDirectory,
        &mut events,
        &mut Vec::new(),
    )
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("notes.txt") && message.contains("not a pcap"),
        "{message}"
    );
}

/// Opens a TCP connection from `client` and sends `data` in full-size
/// segments, leaving the connection open.
fn open_and_send(synth: &mut Synth, client: &Host, sport: u16, server: &Host, data: &[u8]) {
    const SYN: u8 = 0x02;
    const PSH_ACK: u8 = 0x18;
    const ACK: u8 = 0x10;

    synth.tcp(client, sport, server, 104, SYN, 1000, 0, &[]);
    synth.tcp(server, 104, client, sport, SYN | ACK, 5000, 1001, &[]);
    synth.tcp(client, sport, server, 104, ACK, 1001, 5001, &[]);
    let mut seq = 1001u32;
    for segment in data.chunks(1400) {
        synth.tcp(client, sport, server, 104, PSH_ACK, seq, 5001, segment);
        seq += segment.len() as u32;
    }
}

/// Associations that each send part of a large A-ASSOCIATE-RQ and stay open:
/// what their readers hold counts against the open-data cap, so past it a
/// connection is no longer read, and says so, rather than memory growing with
/// every connection an attacker opens.
#[test]
fn buffers_of_many_open_connections_stay_within_the_open_data_cap() {
    let dir = tempfile::tempdir().unwrap();
    let (client, server) = (Host::v4("10.20.0.15"), Host::v4("10.40.0.20"));
    let mut synth = Synth::new();

    // A PDU header announcing a 1,000,000-byte association request, then 200 kB of it.
    let mut partial = vec![1u8, 0];
    partial.extend_from_slice(&1_000_000u32.to_be_bytes());
    partial.extend(vec![0u8; 200_000]);
    for i in 0..20u16 {
        open_and_send(&mut synth, &client, 40000 + i, &server, &partial);
    }
    let pcap = dir.path().join("open.pcap");
    std::fs::write(&pcap, synth.finish()).unwrap();

    let capped = ConnectorLimits {
        max_open_bytes: 1024 * 1024,
        ..ConnectorLimits::default()
    };
    let dropped = |outcome: &Outcome| {
        outcome
            .events
            .iter()
            .filter(|e| e.kind == "file.transfer.over_limit")
            .filter(|e| {
                serde_json::to_string(e)
                    .unwrap()
                    .contains("protocol buffers")
            })
            .count()
    };
    let outcome = extract_pcap(&pcap, capped);
    let given_up = dropped(&outcome);
    assert!(
        (10..20).contains(&given_up),
        "{given_up} connections given up: {:?}",
        outcome.kinds()
    );

    // With room for all of them, none is given up.
    let roomy = extract_pcap(&pcap, ConnectorLimits::default());
    assert_eq!(dropped(&roomy), 0, "{:?}", roomy.kinds());
}
