//! Bad input: cycles, unknown assets, contradictory rules, a site that changes, and the
//! rules' edge cases (redundancy, full protection, cleared incidents).

mod common;

use std::io::Write as _;
use std::sync::Arc;

use common::incident;
use safecare_core::site::{Asset, AssetType, Dependency, DependencyKind, Site, SiteModel};
use safecare_core::{IncidentState, IncidentType};
use safecare_impact::{Domain, Engine, RuleError, RuleSet, assess};

fn demo_engine() -> Engine {
    Engine::with_default_rules(Arc::new(Site::demo()))
}

/// A site of three programs that depend on each other in a ring, and a service on one.
fn ring_site() -> Site {
    let mut model = SiteModel {
        id: "ring".into(),
        name: "Ring".into(),
        ..SiteModel::default()
    };
    for id in ["x", "y", "z"] {
        model.assets.push(Asset::new(id, id, AssetType::Software));
    }
    model
        .assets
        .push(Asset::new("svc", "Service", AssetType::Service));
    model.dependencies = vec![
        Dependency::new("x", DependencyKind::DependsOn, "y"),
        Dependency::new("y", DependencyKind::DependsOn, "z"),
        Dependency::new("z", DependencyKind::DependsOn, "x"),
        Dependency::new("svc", DependencyKind::DependsOn, "x"),
    ];
    Site::from_model(model).expect("the ring site is valid")
}

#[test]
fn dependency_cycles_terminate_and_are_reported() {
    let site = ring_site();
    let assessment = assess(&site, &incident(IncidentType::DenialOfService, &["z"]));

    // z harms y (y depends on z), y harms x, x harms z again: a cycle, not followed.
    assert_eq!(assessment.cycles.len(), 1, "{:?}", assessment.cycles);
    assert_eq!(assessment.cycles[0].assets, ["z", "y", "x", "z"]);
    for id in ["x", "y", "z"] {
        assert_eq!(assessment.asset(id).map(|a| a.score), Some(1.0), "{id}");
    }
    assert_eq!(assessment.service("svc").map(|s| s.score), Some(0.8));
}

#[test]
fn the_demo_site_has_a_phishing_cycle() {
    // mail leads_to pharmacy-ws-1 and pharmacy-ws-1 leads_to mail.
    let assessment = demo_engine().assess(&incident(IncidentType::Malware, &["mail"]));
    let cycle = vec!["mail".to_string(), "pharmacy-ws-1".into(), "mail".into()];
    assert!(
        assessment.cycles.iter().any(|c| c.assets == cycle),
        "{:?}",
        assessment.cycles
    );
    assert_eq!(
        assessment.asset("pharmacy-ws-1").map(|a| a.score),
        Some(0.5 * (1.0 - 0.4)),
        "lateral movement x0.5, workstation malware protection 0.4"
    );
}

#[test]
fn unknown_assets_are_reported_not_fatal() {
    let engine = demo_engine();
    let assessment = engine.assess(&incident(
        IncidentType::Ransomware,
        &["pacs-server", "no-such-box", "no-such-box"],
    ));
    assert_eq!(assessment.unknown_assets, ["no-such-box"]);
    assert_eq!(
        assessment.service("svc-radiology").map(|s| s.score),
        Some(0.8)
    );

    let nothing = engine.assess(&incident(IncidentType::Fire, &["ghost"]));
    assert_eq!(nothing.unknown_assets, ["ghost"]);
    assert!(nothing.assets.is_empty() && nothing.services.is_empty());
}

#[test]
fn redundancy_survives_n_minus_k_losses() {
    let engine = demo_engine();

    // svc-icu needs 1 of [icu-monitor-1, icu-monitor-2]: one lost monitor is absorbed.
    let one = engine.assess(&incident(IncidentType::DenialOfService, &["icu-monitor-1"]));
    assert!(one.service("svc-icu").is_none(), "{:?}", one.services);

    let both = engine.assess(&incident(
        IncidentType::DenialOfService,
        &["icu-monitor-1", "icu-monitor-2"],
    ));
    let icu = both.service("svc-icu").expect("both monitors lost");
    assert_eq!(icu.score, 0.8);
    let last = icu.path.last().unwrap();
    let redundancy = last
        .redundancy
        .expect("the step names the redundancy group");
    assert_eq!(
        (redundancy.needed, redundancy.of, redundancy.lost),
        (1, 2, 2)
    );
}

#[test]
fn contradictory_rules_are_refused_with_both_lines() {
    let text = "rules:
  - id: servers-take-software
    incident: [ransomware, malware]
    on: computer
    over: hosts
    to: software
    effect: compromised
    factor: 1.0
  - id: softer-view
    incident: ransomware
    on: cyber
    over: [hosts, leads_to]
    to: software
    effect: degraded
    factor: 0.3
";
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let err = RuleSet::load(file.path()).unwrap_err();

    let RuleError::Invalid {
        file: shown,
        problems,
    } = &err
    else {
        panic!("expected an invalid rules error, got {err}");
    };
    assert!(shown.ends_with(&file.path().display().to_string()));
    assert_eq!(problems.len(), 1, "{err}");
    let problem = &problems[0];
    assert!(problem.contradiction);
    assert_eq!(problem.line, Some(9));
    assert_eq!(problem.item, "softer-view");
    assert!(
        problem.message.contains("`servers-take-software` (line 2)"),
        "{err}"
    );
    assert!(
        problem
            .message
            .contains("ransomware on computer over hosts to software"),
        "{err}"
    );

    // Agreeing overlaps are not contradictions.
    let agreeing = text.replace(
        "effect: degraded\n    factor: 0.3",
        "effect: compromised\n    factor: 1.0",
    );
    assert!(RuleSet::from_yaml(&agreeing, "agree.yaml").is_ok());
}

#[test]
fn the_default_rules_cover_the_four_directions() {
    let directions = RuleSet::defaults().directions();
    for pair in [
        (Domain::Cyber, Domain::Cyber),
        (Domain::Cyber, Domain::Physical),
        (Domain::Physical, Domain::Physical),
        (Domain::Physical, Domain::Cyber),
    ] {
        assert!(directions.contains(&pair), "{pair:?} missing");
    }
}

/// Removes an asset and every mention of it from a site model.
fn without(mut model: SiteModel, id: &str) -> SiteModel {
    model.assets.retain(|a| a.id != id);
    for asset in &mut model.assets {
        asset.allowed_peers.retain(|p| p != id);
    }
    model.dependencies.retain(|d| d.from != id);
    for dependency in &mut model.dependencies {
        dependency.to.retain(|t| t != id);
    }
    model.dependencies.retain(|d| !d.to.is_empty());
    model
}

#[test]
fn a_changed_site_is_assessed_as_it_now_is() {
    let open = incident(IncidentType::Ransomware, &["pacs-server"]);
    let before = demo_engine().assess(&open);
    assert_eq!(before.service("svc-radiology").map(|s| s.score), Some(0.8));

    // The PACS software gets full ransomware protection: propagation stops at it.
    let mut model = Site::demo().into_model();
    for asset in model.assets.iter_mut().filter(|a| a.id == "pacs") {
        asset.protection.ransomware = Some(1.0);
    }
    let protected = Engine::with_default_rules(Arc::new(Site::from_model(model).unwrap()));
    let after = protected.assess(&open);
    assert_eq!(after.assets.len(), 1, "{:?}", after.assets);
    assert!(after.services.is_empty());

    // The server is taken out of the site while the incident is open.
    let removed = Site::from_model(without(Site::demo().into_model(), "pacs-server")).unwrap();
    let engine = Engine::with_default_rules(Arc::new(removed));
    let gone = engine.assess(&open);
    assert_eq!(gone.unknown_assets, ["pacs-server"]);
    assert!(gone.assets.is_empty());
}

#[test]
fn resolved_incidents_clear_their_impact() {
    let mut resolved = incident(IncidentType::Ransomware, &["pacs-server"]);
    resolved.state = IncidentState::Resolved;
    let assessment = demo_engine().assess(&resolved);
    assert!(assessment.cleared);
    assert!(assessment.assets.is_empty() && assessment.services.is_empty());
}

#[test]
fn large_assessments_are_trimmed_to_the_bus_limit() {
    let assessment = demo_engine().assess(&incident(IncidentType::Fire, &["mains-power"]));
    let whole = serde_json::to_vec(&assessment).unwrap();
    let limit = whole.len() / 2;

    let bytes = assessment.to_json_within(limit);
    assert!(bytes.len() <= limit);
    let trimmed: safecare_impact::ImpactAssessment = serde_json::from_slice(&bytes).unwrap();
    assert!(trimmed.truncated);
    assert_eq!(
        trimmed.services, assessment.services,
        "services are always kept"
    );
    assert_eq!(
        trimmed.assets.len() + trimmed.omitted_assets,
        assessment.assets.len()
    );
    assert_eq!(
        trimmed.assets[..],
        assessment.assets[..trimmed.assets.len()]
    );
    assert_eq!(assessment.to_json_within(whole.len()), whole);
}
