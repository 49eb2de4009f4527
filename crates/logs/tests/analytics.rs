//! Device analytics on real loghub logs and on logs generated here.

use std::path::Path;

use safecare_logs::analytics::{Analytics, DeviceProfiles, Finding};
use safecare_logs::intake::{self, Format, json};
use safecare_logs::record::Origin;

const LOGHUB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/logs/loghub"
);

fn run_file(path: &Path, profiles: DeviceProfiles) -> Vec<Finding> {
    let mut analytics = Analytics::new(profiles);
    let mut findings = Vec::new();
    intake::read_file(path, Format::Syslog, &mut |record| {
        if let Ok(record) = record {
            findings.extend(analytics.process(&record));
        }
    })
    .unwrap();
    findings
}

fn count(findings: &[Finding], kind: &str) -> usize {
    findings.iter().filter(|f| f.kind == kind).count()
}

#[test]
fn openssh_log_shows_brute_force_and_spraying() {
    let findings = run_file(
        &Path::new(LOGHUB).join("OpenSSH/OpenSSH_2k.log"),
        DeviceProfiles::default(),
    );

    let brute = count(&findings, "auth.brute_force");
    let spraying = count(&findings, "auth.password_spraying");
    println!("OpenSSH_2k: {brute} brute force, {spraying} spraying findings");
    assert!(brute > 0 && spraying > 0, "{findings:#?}");
    let first = findings
        .iter()
        .find(|f| f.kind == "auth.brute_force")
        .unwrap();
    assert!(first.source_ip.is_some());
    assert_eq!(first.techniques, ["T1110.001"]);
}

#[test]
fn linux_log_shows_brute_force_from_pam_failures() {
    let findings = run_file(
        &Path::new(LOGHUB).join("Linux/Linux_2k.log"),
        DeviceProfiles::default(),
    );

    let brute = count(&findings, "auth.brute_force");
    println!("Linux_2k: {brute} brute force findings");
    assert!(brute > 0);
}

#[test]
fn linux_log_shows_off_hours_logons_when_hours_are_set() {
    let profiles = DeviceProfiles::from_yaml(
        "defaults:\n  working_hours: {start: '08:00', end: '18:00', days: [mon, tue, wed, thu, fri]}\n",
        "test",
    )
    .unwrap();
    let findings = run_file(&Path::new(LOGHUB).join("Linux/Linux_2k.log"), profiles);

    let off_hours: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == "auth.logon_off_hours")
        .collect();
    println!("Linux_2k: {} off-hours logons", off_hours.len());
    assert!(!off_hours.is_empty());
    assert!(off_hours.iter().all(|f| f.user.is_some()));
}

/// A Windows event as evtx renders it, for the generated logs below.
fn windows_event(
    channel: &str,
    provider: &str,
    id: u32,
    time: &str,
    host: &str,
    data: &str,
) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"{provider}"}}}},"EventID":{id},"Channel":"{channel}","Computer":"{host}","TimeCreated":{{"#attributes":{{"SystemTime":"{time}"}}}}}},"EventData":{{{data}}}}}}}"##
    )
}

fn run_lines(lines: &[String], profiles: DeviceProfiles) -> Vec<Finding> {
    let mut analytics = Analytics::new(profiles);
    let mut findings = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let origin = Origin {
            source: "generated".into(),
            record: n as u64 + 1,
        };
        let record = json::parse_record(line.as_bytes(), origin).unwrap();
        findings.extend(analytics.process(&record));
    }
    findings
}

const PROFILES: &str = "defaults:\n  working_hours: {start: '07:00', end: '19:00', days: [mon, tue, wed, thu, fri]}\n\
    devices:\n  - host: ct-scanner\n    auto_logon: true\n    accounts: [ctsvc]\n";

#[test]
fn generated_windows_logs_raise_each_device_finding() {
    let sec = "Security";
    let auditing = "Microsoft-Windows-Security-Auditing";
    let defender = "Microsoft-Windows-Windows Defender/Operational";
    let lines = vec![
        // Thursday 02:14 UTC: an interactive logon at night, by a person, on the CT console.
        windows_event(
            sec,
            auditing,
            4624,
            "2026-12-03T02:14:00Z",
            "CT-SCANNER.hospital.local",
            r#""TargetUserName":"n.jansen","LogonType":2,"IpAddress":"-""#,
        ),
        // The auto-logon account during the day: nothing.
        windows_event(
            sec,
            auditing,
            4624,
            "2026-12-03T09:00:00Z",
            "ct-scanner",
            r#""TargetUserName":"ctsvc","LogonType":2"#,
        ),
        windows_event(
            defender,
            "Microsoft-Windows-Windows Defender",
            5001,
            "2026-12-03T02:15:00Z",
            "ct-scanner",
            "",
        ),
        windows_event(
            defender,
            "Microsoft-Windows-Windows Defender",
            1151,
            "2026-12-03T02:15:00Z",
            "ct-scanner",
            r#""AV signature age":"9""#,
        ),
        windows_event(
            "Microsoft-Windows-AppLocker/EXE and DLL",
            "Microsoft-Windows-AppLocker",
            8004,
            "2026-12-03T02:16:00Z",
            "ct-scanner",
            r#""FilePath":"%OSDRIVE%\\USERS\\TOOLS\\MIMIKATZ.EXE""#,
        ),
        windows_event(
            "System",
            "Service Control Manager",
            7045,
            "2026-12-03T02:17:00Z",
            "ct-scanner",
            r#""ServiceName":"PSEXESVC","ImagePath":"%SystemRoot%\\PSEXESVC.exe""#,
        ),
        windows_event(
            sec,
            auditing,
            6416,
            "2026-12-03T02:18:00Z",
            "ct-scanner",
            r#""DeviceId":"USBSTOR\\Disk&Ven_Kingston&Prod_DataTraveler\\0019E06B","ClassName":"DiskDrive""#,
        ),
        // The same stick again: not new any more.
        windows_event(
            sec,
            auditing,
            6416,
            "2026-12-03T03:18:00Z",
            "ct-scanner",
            r#""DeviceId":"USBSTOR\\Disk&Ven_Kingston&Prod_DataTraveler\\0019E06B","ClassName":"DiskDrive""#,
        ),
    ];

    let findings = run_lines(&lines, DeviceProfiles::from_yaml(PROFILES, "test").unwrap());
    let kinds: Vec<&str> = findings.iter().map(|f| f.kind).collect();

    assert_eq!(
        kinds,
        [
            "auth.logon_off_hours",
            "auth.manual_logon",
            "av.disabled",
            "av.signatures_outdated",
            "app.whitelisting_block",
            "config.change",
            "device.usb_storage_new",
        ]
    );
    assert_eq!(findings[1].user.as_deref(), Some("n.jansen"));
    assert!(
        findings[5].summary.contains("PSEXESVC"),
        "{}",
        findings[5].summary
    );
}

#[test]
fn generated_password_spraying_against_a_windows_server() {
    let lines: Vec<String> = (0..6)
        .map(|n| {
            windows_event(
                "Security",
                "Microsoft-Windows-Security-Auditing",
                4625,
                &format!("2026-12-03T02:14:{n:02}Z"),
                "pacs-server",
                &format!(r#""TargetUserName":"user{n}","LogonType":3,"IpAddress":"10.10.5.11""#),
            )
        })
        .collect();

    let findings = run_lines(&lines, DeviceProfiles::default());

    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].kind, "auth.password_spraying");
    assert_eq!(findings[0].source_ip.as_deref(), Some("10.10.5.11"));
    assert_eq!(findings[0].evidence["accounts"], 5);
}

#[test]
fn linux_sigma_rules_match_syslog_lines_as_written() {
    use safecare_logs::scan::{Hit, Scanner};
    let rules_dir = Path::new(LOGHUB).join("../../sigma/rules/linux");
    let rules = safecare_logs::sigma::load_rules(&[rules_dir], &[]);
    assert!(rules.errors.is_empty(), "{:?}", rules.errors);
    let mut scanner = Scanner::new(rules, DeviceProfiles::default());

    // The loghub samples hold none of the Linux rules' keywords (checked by
    // hand), so they must scan clean; the lines below are the rules' own examples.
    let mut titles = Vec::new();
    for file in ["OpenSSH/OpenSSH_2k.log", "Linux/Linux_2k.log"] {
        let path = Path::new(LOGHUB).join(file);
        scanner
            .scan_file(&path, Some(Format::Syslog), &mut |hit, _| {
                if let Hit::Sigma(d) = hit {
                    titles.push(d.title.clone());
                }
            })
            .unwrap();
    }
    assert!(titles.is_empty(), "{titles:?}");

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "Dec 21 17:13:54 lis-server useradd[1337]: new user: name=john, UID=0, GID=0, home=/home/john, shell=/bin/bash\n\
         Dec 21 17:14:00 lis-server sshd[4242]: Corrupted MAC on input.\n\
         Dec 21 17:15:00 lis-server systemd[1]: Stopping firewalld - dynamic firewall daemon...\n\
         Dec 21 17:16:00 lis-server sshd[4243]: Accepted publickey for it-admin from 10.10.5.11 port 5022 ssh2\n",
    )
    .unwrap();
    scanner
        .scan_file(&log, None, &mut |hit, record| {
            if let Hit::Sigma(d) = hit {
                titles.push(format!("{} @ line {}", d.title, record.origin.record));
            }
        })
        .unwrap();

    assert_eq!(
        titles,
        [
            "Privileged User Has Been Created @ line 1",
            "Suspicious OpenSSH Daemon Error @ line 2",
            "Disabling Security Tools - Builtin @ line 3",
        ]
    );
}
