//! Cleartext protocols to medical devices, on generated captures.

mod support;

use safecare_capture::synth::{Host, Synth};
use support::scan;

#[test]
fn telnet_ftp_and_basic_auth_to_medical_devices() {
    let ws = Host::v4("10.10.5.11");
    let pump = Host::v4("10.20.2.32");
    let monitor = Host::v4("10.20.2.31");
    let mut synth = Synth::new();
    synth.tcp_session(
        &ws,
        40000,
        &pump,
        23,
        &[(b"\xff\xfd\x18", b"\xff\xfb\x01login: ")],
    );
    synth.tcp_session(
        &ws,
        40001,
        &monitor,
        21,
        &[
            (b"", b"220 ready\r\n"),
            (b"USER service\r\n", b"331 password\r\n"),
            (b"PASS hunter2\r\n", b"230 ok\r\n"),
        ],
    );
    // "biomed:pump123" in base64.
    let request: &[u8] =
        b"GET /config HTTP/1.1\r\nHost: pump\r\nAuthorization: Basic YmlvbWVkOnB1bXAxMjM=\r\n\r\n";
    synth.tcp_session(
        &ws,
        40002,
        &pump,
        80,
        &[(request, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")],
    );
    let outcome = scan(&synth.finish());

    let found = outcome.of_kind("network.cleartext_credentials");
    assert_eq!(found.len(), 3, "{:?}", outcome.kinds());
    let protocols: Vec<&str> = found
        .iter()
        .map(|e| e.evidence["cleartext.protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols, ["telnet", "ftp", "http-basic-auth"]);
    assert_eq!(found[1].evidence["user.name"], "service");
    assert_eq!(found[2].evidence["user.name"], "biomed");
    assert_eq!(found[0].asset.as_deref(), Some("infusion-pump-1"));
    assert_eq!(found[0].zone(), Some("icu"));
    for event in &found {
        let json = serde_json::to_string(event).unwrap();
        assert!(
            !json.contains("hunter2") && !json.contains("pump123"),
            "password leaked: {json}"
        );
        assert!(event.techniques().contains(&"T1040".to_string()));
    }
}

#[test]
fn cleartext_between_workstations_and_https_to_devices_are_not_reported() {
    let ws = Host::v4("10.10.5.11");
    let ehr = Host::v4("10.40.0.20");
    let pump = Host::v4("10.20.2.32");
    let mut synth = Synth::new();
    synth.tcp_session(&ws, 40000, &ehr, 23, &[(b"\xff\xfd\x18", b"login: ")]);
    synth.tcp_session(
        &ws,
        40001,
        &pump,
        443,
        &[(b"\x16\x03\x01", b"\x16\x03\x03")],
    );
    let outcome = scan(&synth.finish());
    assert!(
        outcome.of_kind("network.cleartext_credentials").is_empty(),
        "{:?}",
        outcome.kinds()
    );
}
