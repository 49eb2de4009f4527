//! File analysis in a running platform: uploads through the HTTP API, and
//! `safecare files watch` publishing what lands in a folder.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Backend, TestPlatform};
use serde_json::Value;

fn sample(name: &str) -> Vec<u8> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/dicom/pydicom"
    );
    std::fs::read(std::path::Path::new(dir).join(name))
        .expect("the pydicom samples are in shared/data")
}

/// A real DICOM sample whose 128-byte preamble starts a PE executable (CVE-2019-11687).
fn polyglot() -> Vec<u8> {
    let mut dicom = sample("CT_small.dcm");
    assert_eq!(&dicom[128..132], b"DICM");
    dicom[..128].fill(0);
    dicom[..2].copy_from_slice(b"MZ");
    dicom[0x3c] = 0x80;
    dicom
}

async fn upload(t: &TestPlatform, query: &str, body: reqwest::Body) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/files{query}", t.http))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Waits until the store holds an event of `kind` about the file with this SHA-256.
async fn stored_file_event(t: &TestPlatform, kind: &str, sha256: &str) -> Value {
    for _ in 0..300 {
        t.platform.exchange.sync().await;
        let (_, page) = t.get(&format!("/api/events?kind={kind}&limit=100")).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let found = items
            .into_iter()
            .find(|e| e["file"]["hash"]["sha256"] == sha256);
        if let Some(event) = found {
            return event;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} event about {sha256} was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_polyglot_gets_its_verdict_and_its_event_reaches_the_store() {
    let t = common::start(Backend::Embedded).await;

    let (status, verdict) = upload(&t, "?name=CT_small.dcm", sample("CT_small.dcm").into()).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["verdict"], "clean", "{verdict}");
    assert_eq!(verdict["type"], "dicom");

    let (status, verdict) = upload(&t, "?name=study%2001.dcm", polyglot().into()).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["verdict"], "malicious", "{verdict}");
    assert_eq!(verdict["path"], "study 01.dcm");
    assert_eq!(verdict["size"], polyglot().len());
    let sha256 = verdict["hashes"]["sha256"].as_str().unwrap();

    let event = stored_file_event(&t, "file.dicom.polyglot", sha256).await;
    assert_eq!(event["module"], "files");
    assert_eq!(event["file"]["name"], "study 01.dcm");
    assert_eq!(event["evidence"]["channel"], "http_upload");
    assert_eq!(event["evidence"]["verdict"], "malicious");

    // Described in the API document.
    let (_, openapi) = t.get("/api/openapi.json").await;
    let operation = &openapi["paths"]["/api/files"]["post"];
    assert!(operation["responses"]["413"].is_object(), "{operation}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_limit_is_refused_with_413_whether_its_length_is_declared_or_not() {
    let t = common::start(Backend::Embedded).await;
    let limit = safecare_web::DEFAULT_MAX_UPLOAD_BYTES;

    // Declared too long: refused before a byte of the body is sent.
    let head = format!("Content-Length: {}\r\n", limit + 1);
    let (status, error) = raw_post(&t, &head, &[]).await;
    assert_eq!(status, 413, "{error}");
    let message = error["error"].as_str().unwrap();
    assert!(message.contains(&limit.to_string()), "{message}");
    assert!(message.contains("files scan"), "{message}");

    // Streamed without a length: refused once one byte more than the limit arrived.
    let mut chunks = vec![vec![7u8; 1 << 20]; limit / (1 << 20)];
    chunks.push(vec![7u8; 1]);
    let (status, error) = raw_post(&t, "Transfer-Encoding: chunked\r\n", &chunks).await;
    assert_eq!(status, 413, "{error}");

    let (status, error) = upload(&t, "?name=", b"x".to_vec().into()).await;
    assert_eq!(status, 400, "{error}");
}

/// A client that sends a whole oversized file, as curl or a script would,
/// reads the 413 and its message rather than a reset connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_a_whole_oversized_file_reads_the_413() {
    let t = common::start(Backend::Embedded).await;
    let limit = safecare_web::DEFAULT_MAX_UPLOAD_BYTES;

    for extra in [1, 8 << 20] {
        let (status, error) = upload(&t, "?name=big.bin", vec![1u8; limit + extra].into()).await;
        assert_eq!(status, 413, "{extra} bytes over: {error}");
        assert!(
            error["error"].as_str().unwrap().contains("files scan"),
            "{error}"
        );
    }

    // The API still answers on new connections.
    let (status, _) = upload(&t, "?name=small.bin", b"small".to_vec().into()).await;
    assert_eq!(status, 200);
}

/// Sends `POST /api/files` with the extra `head` lines and `chunks` (chunked encoding when
/// given), without ending the body, then reads the answer: a refusal must come anyway.
async fn raw_post(t: &TestPlatform, head: &str, chunks: &[Vec<u8>]) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(t.platform.http_addr)
        .await
        .unwrap();
    let request = format!("POST /api/files HTTP/1.1\r\nHost: safecare\r\n{head}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    for chunk in chunks {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(chunk).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }

    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let complete = |answer: &[u8]| {
        let text = String::from_utf8_lossy(answer);
        let Some((headers, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let length = headers
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(String::from)
            })
            .and_then(|n| n.trim().parse::<usize>().ok());
        length.is_some_and(|n| body.len() >= n)
    };
    while !complete(&answer) {
        let n = stream.read(&mut buffer).await.unwrap();
        assert!(n > 0, "the connection closed without an answer: {answer:?}");
        answer.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_watch_publishes_a_file_that_lands_and_stops_cleanly_on_sigterm() {
    let t = common::start(Backend::Embedded).await;
    let inbox = tempfile::tempdir().unwrap();
    let broker = t.platform.broker_url.to_string();

    let child = Command::new(env!("CARGO_BIN_EXE_safecare"))
        .args(["files", "--broker", &broker, "watch"])
        .arg(inbox.path())
        .args(["--poll-ms", "100", "--settle-ms", "300", "--existing"])
        .env("SAFECARE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the safecare binary runs");

    std::fs::write(inbox.path().join("incoming.dcm"), polyglot()).unwrap();
    let sha256 = safecare_files::hash::hashes(&polyglot()).sha256;
    let event = stored_file_event(&t, "file.dicom.polyglot", &sha256).await;
    assert_eq!(event["file"]["name"], "incoming.dcm");

    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("1 malicious"), "{stderr}");
    let line = String::from_utf8_lossy(&output.stdout);
    let verdict: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(verdict["verdict"], "malicious");
}
