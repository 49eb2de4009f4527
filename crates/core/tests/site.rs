//! Behaviour of the site model: the demo hospital, load errors, lookups, the generator.

use std::net::IpAddr;

use chrono::NaiveDateTime;
use safecare_core::AssetDirectory;
use safecare_core::incident::IncidentType;
use safecare_core::site::{AssetType, BedType, DependencyKind, Site, SiteError, generate};

/// Every fixed id of notes/demo-ids.md.
const DEMO_IDS: &[&str] = &[
    "main",
    "main-b",
    "main-0",
    "main-1",
    "ed",
    "waiting-room",
    "pharmacy",
    "radiology",
    "lab",
    "icu",
    "or",
    "admin-offices",
    "datacentre",
    "technical-room",
    "net-it",
    "net-medical",
    "net-bms",
    "net-datacentre",
    "svc-emergency",
    "svc-icu",
    "svc-surgery",
    "svc-radiology",
    "svc-laboratory",
    "svc-pharmacy",
    "svc-vaccination",
    "pharmacy-ws-1",
    "radiology-ws-1",
    "radiology-ws-2",
    "ed-ws-1",
    "admin-ws-1",
    "pacs-server",
    "ehr-server",
    "mail-server",
    "lis-server",
    "access-control-server",
    "pacs",
    "ehr",
    "appointment-system",
    "mail",
    "lis",
    "ct-scanner",
    "mri-scanner",
    "icu-monitor-1",
    "infusion-pump-1",
    "lab-analyzer-1",
    "ahu-or-1",
    "bacnet-controller-1",
    "modbus-plc-1",
    "chiller-1",
    "ups-1",
    "mains-power",
    "fire-panel",
    "vaccine-freezer",
    "temp-or-1",
    "door-pharmacy",
    "door-datacentre",
    "door-technical-room",
    "door-or",
    "cam-waiting-room",
    "cam-pharmacy",
    "cam-datacentre",
    "smoke-technical-room",
    "nurse-pharmacy",
    "radiographer",
    "it-admin",
];

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A small valid site that the error tests break one line at a time.
const SMALL: &str = "\
id: small
name: Small clinic
buildings:
  - id: b1
    name: Main
    floors:
      - id: f0
        name: Ground
        zones:
          - id: ward
            name: Ward
            polygon: [[0, 0], [10, 0], [10, 8]]
assets:
  - id: pc-1
    name: Ward PC
    type: computer
    zone: ward
    identities: { ip: 10.0.0.5, mac: \"00:11:22:33:44:55\" }
    protection: { ransomware: 0.5 }
  - id: srv
    name: Server
    type: computer
dependencies:
  - { from: pc-1, kind: leads_to, to: srv }
";

fn load_err(text: &str) -> SiteError {
    Site::from_yaml(text, "small.yaml").unwrap_err()
}

#[test]
fn demo_site_loads_with_every_demo_id() {
    let site = Site::demo();
    assert_eq!(site.id(), "general-hospital");
    let zones: Vec<&str> = site.zones().map(|(_, _, z)| z.id.as_str()).collect();
    let buildings = &site.model().buildings;
    for id in DEMO_IDS {
        let known = site.asset(id).is_some()
            || zones.contains(id)
            || buildings
                .iter()
                .any(|b| b.id == *id || b.floors.iter().any(|f| f.id == *id));
        assert!(known, "demo id {id} is missing");
    }
    for (_, floor, zone) in site.zones() {
        assert!(
            zone.polygon.as_ref().is_some_and(|p| p.len() >= 3),
            "{} has no plan",
            zone.id
        );
        assert!(floor.polygon.is_some());
    }
}

#[test]
fn demo_site_facts() {
    let site = Site::demo();

    // Restricted zones and where they are.
    for zone in ["pharmacy", "datacentre", "technical-room", "or"] {
        assert!(site.zone(zone).unwrap().restricted, "{zone}");
    }
    assert!(!site.zone("waiting-room").unwrap().restricted);
    assert_eq!(
        site.zone_location("datacentre").unwrap().floor.as_deref(),
        Some("main-b")
    );

    // Identities of the wire and of logs.
    assert_eq!(site.by_ip(ip("10.20.4.21")).unwrap().id, "ct-scanner");
    assert_eq!(site.by_dicom_ae("MRI01").unwrap().id, "mri-scanner");
    assert_eq!(site.by_bacnet_device(1001).unwrap().id, "ahu-or-1");
    assert_eq!(
        site.by_modbus(ip("10.30.0.30"), 1).unwrap().id,
        "modbus-plc-1"
    );
    assert_eq!(site.by_user("N.Jansen").unwrap().id, "nurse-pharmacy");
    assert_eq!(
        site.by_hostname("PACS-SRV.hospital.local").unwrap().id,
        "pacs-server"
    );
    assert_eq!(site.by_mac("00-1A-2B-04-00-21").unwrap().id, "ct-scanner");
    let server = site.by_id("pacs-server").unwrap();
    assert_eq!(server.asset_type, "computer");
    assert_eq!(server.location.floor.as_deref(), Some("main-b"));
    assert_eq!(server.location.building.as_deref(), Some("main"));

    // Networks.
    assert_eq!(site.network_of(ip("10.20.4.21")).unwrap().id, "net-medical");
    assert!(site.contains_ip(ip("10.40.0.10")));
    assert!(!site.contains_ip(ip("192.168.1.1")));

    // Services, BMS bounds, schedules.
    let icu = site.capacity_of("svc-icu").unwrap();
    assert_eq!(icu.beds.get(&BedType::AdultICU), Some(&12));
    let or = site.bms_point("or-temperature").unwrap();
    assert!(or.is_safe(21.0) && !or.is_safe(26.5) && !or.is_safe(17.0));
    let freezer = site.bms_point("vaccine-freezer-temperature").unwrap();
    assert!(freezer.is_safe(-20.0) && !freezer.is_safe(-10.0));
    let monday_night = NaiveDateTime::parse_from_str("2026-11-30 23:00", "%Y-%m-%d %H:%M").unwrap();
    assert_eq!(
        site.schedule_is_open("office-hours", monday_night),
        Some(false)
    );
    assert_eq!(
        site.schedule_is_open("pharmacy-staffed", monday_night),
        Some(false)
    );
    assert_eq!(
        site.schedule_is_open("around-the-clock", monday_night),
        Some(true)
    );
    let pacs = site.asset("pacs-server").unwrap();
    assert_eq!(pacs.protection.degree(IncidentType::Ransomware), 0.6);
    assert_eq!(pacs.protection.degree(IncidentType::Theft), 0.0);
}

#[test]
fn demo_graph_makes_clinical_sense() {
    let site = Site::demo();
    let ids = |assets: Vec<&safecare_core::site::Asset>| -> Vec<String> {
        assets.into_iter().map(|a| a.id.clone()).collect()
    };

    // Harm to PACS reaches radiology; harm to its server reaches PACS.
    assert!(ids(site.dependents("pacs")).contains(&"svc-radiology".to_string()));
    assert!(ids(site.dependents("pacs-server")).contains(&"pacs".to_string()));
    assert!(ids(site.dependents("chiller-1")).contains(&"ahu-or-1".to_string()));
    assert!(ids(site.dependents("mains-power")).contains(&"ups-1".to_string()));
    assert!(ids(site.dependents("access-control-server")).contains(&"door-pharmacy".to_string()));

    let surgery = site.links_from("svc-surgery");
    let ahu = surgery.iter().find(|l| l.to.id == "ahu-or-1").unwrap();
    assert_eq!(ahu.dependency.kind, DependencyKind::DependsOn);
    assert_eq!(ahu.dependency.delay.unwrap().duration().as_secs(), 1800);

    let monitors = site.links_from("svc-icu");
    let group = monitors
        .iter()
        .find(|l| l.to.id == "icu-monitor-1")
        .unwrap();
    assert!(group.dependency.is_redundant());
    assert_eq!(group.dependency.required(), 1);

    let in_pharmacy: Vec<&str> = site
        .assets_in_zone("pharmacy")
        .map(|a| a.id.as_str())
        .collect();
    assert!(in_pharmacy.contains(&"vaccine-freezer") && in_pharmacy.contains(&"door-pharmacy"));
    assert_eq!(site.zone_of("temp-or-1"), Some("or"));
}

#[test]
fn demo_round_trips_through_yaml() {
    let site = Site::demo();
    let text = site.to_yaml().unwrap();
    let again = Site::from_yaml(&text, "round-trip.yaml").unwrap();
    assert_eq!(again.model(), site.model());
}

#[test]
fn the_small_site_is_valid() {
    let site = Site::from_yaml(SMALL, "small.yaml").unwrap();
    assert_eq!(site.assets().len(), 2);
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let text = SMALL.replace("    zone: ward", "    zone: [ward");
    let err = load_err(&text);
    let SiteError::Syntax { file, line, .. } = &err else {
        panic!("expected a syntax error, got {err}");
    };
    assert_eq!(file, "small.yaml");
    assert!((17..=18).contains(line), "{err}");
    assert!(err.to_string().starts_with("small.yaml:"), "{err}");
}

#[test]
fn misspelt_key_is_a_located_syntax_error() {
    let err = load_err(&SMALL.replace("    zone: ward", "    zoen: ward"));
    let SiteError::Syntax {
        line,
        field,
        message,
        ..
    } = &err
    else {
        panic!("expected a syntax error, got {err}");
    };
    assert_eq!(*line, 17, "{err}");
    assert_eq!(field, "assets[0]");
    assert!(message.contains("unknown field `zoen`"), "{message}");

    let err = load_err(&SMALL.replace("type: computer", "type: computr"));
    assert!(
        err.to_string().contains("medical_device"),
        "lists the asset types: {err}"
    );
}

/// Loads `text`, expects semantic problems, and returns (line, field, message) of each.
fn problems(text: &str) -> Vec<(Option<usize>, String, String)> {
    match load_err(text) {
        SiteError::Invalid { problems, .. } => problems
            .into_iter()
            .map(|p| (p.line, p.field, format!("{}; fix: {}", p.message, p.fix)))
            .collect(),
        other => panic!("expected semantic problems, got {other}"),
    }
}

#[test]
fn unknown_zone_reports_line_field_and_suggestion() {
    let found = problems(&SMALL.replace("    zone: ward", "    zone: wrad"));
    assert_eq!(found.len(), 1, "{found:?}");
    let (line, field, message) = &found[0];
    assert_eq!(*line, Some(17));
    assert_eq!(field, "assets[0].zone");
    assert!(message.contains("did you mean `ward`"), "{message}");
}

#[test]
fn dependency_to_unknown_asset_is_reported_on_its_line() {
    let found = problems(&SMALL.replace("to: srv }", "to: [srv, srv-2] }"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Some(24));
    assert_eq!(found[0].1, "dependencies[0].to[1]");
    assert!(found[0].2.contains("unknown asset `srv-2`"));
}

#[test]
fn duplicate_id_reports_the_second_one() {
    let found = problems(&SMALL.replace("  - id: srv\n", "  - id: pc-1\n"));
    let duplicate = found.iter().find(|p| p.1 == "assets[1].id").unwrap();
    assert_eq!(duplicate.0, Some(20));
    assert!(duplicate.2.contains("used twice"));
}

#[test]
fn bad_values_are_all_listed_with_their_lines() {
    let text = SMALL
        .replace("ransomware: 0.5", "ransomware: 1.5")
        .replace("ip: 10.0.0.5", "ip: 10.0.0.500")
        .replace("\"00:11:22:33:44:55\"", "\"00:11:22:33:44\"")
        .replace("[[0, 0], [10, 0], [10, 8]]", "[[0, 0], [10, 0]]");
    let found = problems(&text);
    let field_line = |field: &str| found.iter().find(|p| p.1 == field).map(|p| p.0);
    assert_eq!(
        field_line("buildings[0].floors[0].zones[0].polygon"),
        Some(Some(12))
    );
    assert_eq!(field_line("assets[0].identities.ip"), Some(Some(18)));
    assert_eq!(field_line("assets[0].identities.mac"), Some(Some(18)));
    assert_eq!(
        field_line("assets[0].protection.ransomware"),
        Some(Some(19))
    );
    assert_eq!(found.len(), 4, "{found:?}");

    let err = load_err(&text);
    let message = err.to_string();
    assert!(message.contains("4 problem(s)"), "{message}");
    assert!(
        message.contains("small.yaml:19: assets[0].protection.ransomware"),
        "{message}"
    );
}

#[test]
fn directory_lookups_on_a_small_site() {
    let site = Site::from_yaml(SMALL, "small.yaml").unwrap();
    let pc = site.by_ip(ip("10.0.0.5")).unwrap();
    assert_eq!(pc.id, "pc-1");
    assert_eq!(pc.zone(), Some("ward"));
    assert_eq!(site.by_mac("00:11:22:33:44:55").unwrap().id, "pc-1");
    assert!(site.by_ip(ip("10.0.0.6")).is_none());
    assert!(site.by_hostname("pc-1").is_none());
    assert_eq!(site.dependents("pc-1")[0].id, "srv");
    assert!(site.dependents("srv").is_empty());
}

#[test]
fn generated_sites_validate_at_every_size() {
    for size in [10, 1000, 100_000] {
        let site = generate(size, 7);
        assert_eq!(site.assets().len(), size);
        let problems = site.problems();
        assert!(
            problems.is_empty(),
            "{size}: {:?}",
            &problems[..problems.len().min(5)]
        );
    }
}

#[test]
fn generated_sites_look_like_hospitals() {
    let site = generate(5000, 1);
    let count = |t: AssetType| site.assets().iter().filter(|a| a.asset_type == t).count();
    assert!(count(AssetType::Service) >= 7);
    assert!(count(AssetType::MedicalDevice) > 1000);
    assert!(site.dependencies().iter().any(|d| d.is_redundant()));
    assert!(site.dependencies().iter().any(|d| d.delay.is_some()));
    assert!(!site.services().is_empty() && !site.bms_points().is_empty());

    // Fan-in: many devices talk to the EHR; fan-out: one controller drives many devices.
    assert!(site.links_to("b0-ehr").len() > 100);
    assert!(site.links_from("b0-access-control-server").len() > 50);

    let device = site
        .assets()
        .iter()
        .find(|a| !a.identities.ip.is_empty())
        .unwrap();
    let first_ip = ip(&device.identities.ip[0]);
    assert_eq!(site.by_ip(first_ip).unwrap().id, device.id);
    assert!(site.contains_ip(first_ip));
}

#[test]
fn generation_is_deterministic_per_seed() {
    let a = generate(2000, 42).to_yaml().unwrap();
    let b = generate(2000, 42).to_yaml().unwrap();
    let c = generate(2000, 43).to_yaml().unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let again = Site::from_yaml(&a, "generated.yaml").unwrap();
    assert_eq!(again.assets().len(), 2000);
}

/// Size benchmark: `cargo test --release -p safecare-core --test site -- --ignored --nocapture`.
#[test]
#[ignore = "takes seconds in release and minutes in debug"]
fn a_million_assets_generate_index_and_validate() {
    let start = std::time::Instant::now();
    let site = generate(1_000_000, 1);
    let generated = start.elapsed();
    assert_eq!(site.assets().len(), 1_000_000);

    let start = std::time::Instant::now();
    let problems = site.problems();
    let validated = start.elapsed();
    assert!(
        problems.is_empty(),
        "{:?}",
        &problems[..problems.len().min(5)]
    );

    let start = std::time::Instant::now();
    let text = site.to_yaml().unwrap();
    let written = start.elapsed();

    let start = std::time::Instant::now();
    let again = Site::from_yaml(&text, "million.yaml").unwrap();
    let loaded = start.elapsed();
    assert_eq!(again.assets().len(), 1_000_000);

    println!(
        "1,000,000 assets, {} dependencies: generate+index {generated:?}, validate {validated:?}, \
         to_yaml {written:?} ({} MB), from_yaml {loaded:?}",
        site.dependencies().len(),
        text.len() / 1_000_000
    );
}

#[test]
fn numeric_looking_values_are_read_as_text() {
    let text = SMALL
        .replace("  - id: srv\n", "  - id: 1234\n")
        .replace("to: srv }", "to: 1234 }");
    let site = Site::from_yaml(&text, "small.yaml").unwrap();
    assert_eq!(site.dependents("pc-1")[0].id, "1234");
}

#[test]
fn load_reads_the_shipped_file_and_names_a_missing_one() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sites/demo-hospital.yaml"
    );
    let site = Site::load(path).unwrap();
    assert_eq!(site.model(), Site::demo().model());

    let err = Site::load("/nonexistent/site.yaml").unwrap_err();
    assert_eq!(err.code(), "read");
    assert!(err.to_string().contains("/nonexistent/site.yaml"), "{err}");
}

#[test]
fn service_point_and_redundancy_problems_are_located() {
    let text = format!(
        "{SMALL}  - {{ from: srv, kind: depends_on, to: [pc-1, pc-2], needed: 3 }}\n\
         services:\n  - service: pc-1\n    beds: {{ AdultICU: 4 }}\n\
         bms_points:\n  - id: t1\n    asset: srv\n    quantity: temperature\n    unit: C\n    \
         min: 24\n    max: 18\n"
    );
    let found = problems(&text);
    let at = |field: &str| found.iter().find(|p| p.1 == field).map(|p| p.0);
    assert_eq!(at("dependencies[1].to[1]"), Some(Some(25)), "{found:?}");
    assert_eq!(at("dependencies[1].needed"), Some(Some(25)));
    assert_eq!(at("services[0].service"), Some(Some(27)));
    assert_eq!(at("bms_points[0].min"), Some(Some(34)));
    assert_eq!(found.len(), 4, "{found:?}");
}

#[test]
fn site_files_have_a_json_schema() {
    let schema = safecare_core::site::json_schema();
    assert_eq!(schema["required"], serde_json::json!(["id", "name"]));
    assert_eq!(schema["additionalProperties"], false);
    let text = schema.to_string();
    for word in [
        "medical_device",
        "depends_on",
        "AdultICU",
        "bms_points",
        "^([0-9]+[smhd])+$",
    ] {
        assert!(text.contains(word), "{word} missing from the schema");
    }
}

#[test]
fn hostile_yaml_is_refused_with_an_error() {
    // An alias bomb ("billion laughs"), deep nesting and control characters end in
    // errors, not in a hang: no field of the model takes arbitrary nested values.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str("id: x\nname: y\n");
    assert_eq!(load_err(&bomb).code(), "syntax");

    let deep = format!(
        "id: x\nname: y\nassets: {}{}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(load_err(&deep).code(), "syntax");

    let binary = "id: x\nname: \u{0}\u{1}\n";
    assert_eq!(load_err(binary).code(), "syntax");
}
