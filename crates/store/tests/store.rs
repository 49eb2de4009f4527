//! One behaviour suite, run against both backends: every test below exists
//! twice, as `sqlite::name` (a temporary file) and `postgres::name` (a fresh
//! database on a real server, see `common::postgres_admin_url`).

mod common;

use std::collections::HashSet;

use common::{Kind, TestDb, alert, at, audit, event, incident};
use safecare_core::{
    AlertDomain, AlertStatus, CapSeverity, IncidentState, IncidentType, Module, SecurityEvent,
};
use safecare_store::{
    AlertFilter, Batch, DeadLetter, EventFilter, IncidentFilter, MAX_PAGE_LIMIT, StoreError,
    StoreReader,
};
use ulid::Ulid;

/// Declares each listed test once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Kind::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Kind::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    same_event_id_is_stored_once,
    stored_documents_read_back_unchanged,
    event_filters_select_exactly_the_matching_events,
    event_pages_cover_every_event_once_in_order,
    page_limit_is_capped,
    foreign_cursor_is_refused,
    alerts_upsert_and_filter,
    stale_alert_update_is_ignored,
    incidents_upsert_filter_and_page,
    audit_trail_is_per_target_and_ordered,
    dead_letters_are_kept_newest_first,
    counts_follow_commits,
    failed_batch_writes_nothing,
    reads_are_served_while_batches_are_written,
    an_owned_batch_is_stored_and_handed_back,
    a_closed_store_hands_an_owned_batch_back_unstored,
);

fn events_batch(events: Vec<SecurityEvent>) -> Batch {
    Batch {
        events,
        ..Batch::default()
    }
}

/// Every event of every page of `filter`, following the cursors.
async fn all_pages(reader: &StoreReader, mut filter: EventFilter) -> Vec<SecurityEvent> {
    let mut all = Vec::new();
    loop {
        let page = reader.events(&filter).await.unwrap();
        assert!(page.items.len() <= filter.limit.unwrap_or(100) as usize);
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return all,
        }
    }
}

/// Ids in the order the store must list them: time then id, descending.
fn newest_first(events: &[&SecurityEvent]) -> Vec<Ulid> {
    let mut sorted: Vec<&&SecurityEvent> = events.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse((e.time, e.id)));
    sorted.iter().map(|e| e.id).collect()
}

fn ids(events: &[SecurityEvent]) -> Vec<Ulid> {
    events.iter().map(|e| e.id).collect()
}

async fn same_event_id_is_stored_once(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let first = event(Module::Net, "network.port_scan", 50, at(0), None, None);
    let other = event(Module::Net, "network.port_scan", 50, at(1), None, None);

    let outcome = store
        .commit(&events_batch(vec![first.clone(), other.clone()]))
        .await
        .unwrap();
    assert_eq!((outcome.events_inserted, outcome.events_duplicate), (2, 0));

    // Redelivered, and repeated inside one batch.
    let again = events_batch(vec![first.clone(), first.clone(), other]);
    let outcome = store.commit(&again).await.unwrap();
    assert_eq!((outcome.events_inserted, outcome.events_duplicate), (0, 3));

    // A second copy with the same id but other content does not replace the first.
    let mut changed = first.clone();
    changed.summary = "a different summary".to_string();
    store.commit(&events_batch(vec![changed])).await.unwrap();

    let reader = store.reader();
    assert_eq!(reader.counts().await.unwrap().events, 2);
    assert_eq!(reader.event(first.id).await.unwrap(), Some(first));
}

async fn stored_documents_read_back_unchanged(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let mut full = event(
        Module::Files,
        "file.dicom.polyglot",
        90,
        at(5),
        Some("pacs-01"),
        Some("radiology"),
    )
    .with_techniques("MITRE ATT&CK", &["T1027"]);
    full.evidence
        .insert("offset".to_string(), serde_json::json!(128));
    full.time += chrono::Duration::microseconds(123_456);

    store
        .commit(&events_batch(vec![full.clone()]))
        .await
        .unwrap();

    let reader = store.reader();
    assert_eq!(reader.event(full.id).await.unwrap(), Some(full));
    assert_eq!(reader.event(Ulid::new()).await.unwrap(), None);
}

/// A varied set of events for the filter and page tests.
fn sample_events() -> Vec<SecurityEvent> {
    let kinds = [
        (Module::Net, "network.port_scan"),
        (Module::Net, "network.dns_tunnel"),
        (Module::Ot, "ot.modbus.unauthorized_write"),
        (Module::Access, "access.door_forced"),
        (Module::Logs, "auth.brute_force"),
        (Module::Files, "a_b.c"),
        (Module::Files, "axb.c"),
    ];
    let assets = [Some("pacs-01"), Some("ahu-02"), None];
    let zones = [Some("radiology"), Some("technical"), None];

    (0..60)
        .map(|i: usize| {
            let (module, kind) = kinds[i % kinds.len()];
            // Every third event shares its second with the previous one.
            let time = at((i - i / 3) as i64);
            event(
                module,
                kind,
                (i * 7 % 101) as u8,
                time,
                assets[i % 3],
                zones[i / 3 % 3],
            )
        })
        .collect()
}

async fn event_filters_select_exactly_the_matching_events(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let events = sample_events();
    store.commit(&events_batch(events.clone())).await.unwrap();
    let reader = store.reader();

    type Check = (EventFilter, Box<dyn Fn(&SecurityEvent) -> bool>);
    let checks: Vec<Check> = vec![
        (EventFilter::default(), Box::new(|_| true)),
        (
            EventFilter {
                from: Some(at(10)),
                to: Some(at(20)),
                ..Default::default()
            },
            Box::new(|e| e.time >= at(10) && e.time < at(20)),
        ),
        (
            EventFilter {
                module: Some(Module::Net),
                ..Default::default()
            },
            Box::new(|e| e.module == Module::Net),
        ),
        (
            EventFilter {
                kind: Some("network.port_scan".into()),
                ..Default::default()
            },
            Box::new(|e| e.kind == "network.port_scan"),
        ),
        (
            EventFilter {
                kind: Some("network.*".into()),
                ..Default::default()
            },
            Box::new(|e| e.kind.starts_with("network.")),
        ),
        (
            // `_` in a prefix is a plain character, not a LIKE wildcard.
            EventFilter {
                kind: Some("a_b.*".into()),
                ..Default::default()
            },
            Box::new(|e| e.kind == "a_b.c"),
        ),
        (
            EventFilter {
                asset: Some("pacs-01".into()),
                ..Default::default()
            },
            Box::new(|e| e.asset.as_deref() == Some("pacs-01")),
        ),
        (
            EventFilter {
                zone: Some("technical".into()),
                ..Default::default()
            },
            Box::new(|e| e.zone() == Some("technical")),
        ),
        (
            EventFilter {
                min_severity: Some(60),
                ..Default::default()
            },
            Box::new(|e| e.severity >= 60),
        ),
        (
            EventFilter {
                module: Some(Module::Net),
                zone: Some("radiology".into()),
                min_severity: Some(20),
                from: Some(at(5)),
                ..Default::default()
            },
            Box::new(|e| {
                e.module == Module::Net
                    && e.zone() == Some("radiology")
                    && e.severity >= 20
                    && e.time >= at(5)
            }),
        ),
    ];

    for (filter, matches) in checks {
        let expected: Vec<&SecurityEvent> = events.iter().filter(|e| matches(e)).collect();
        assert!(!expected.is_empty(), "sample data must exercise {filter:?}");
        let page = reader
            .events(&EventFilter {
                limit: Some(1000),
                ..filter.clone()
            })
            .await
            .unwrap();
        assert_eq!(
            ids(&page.items),
            newest_first(&expected),
            "filter {filter:?}"
        );
        assert_eq!(page.next_cursor, None);
    }
}

async fn event_pages_cover_every_event_once_in_order(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let events = sample_events();
    store.commit(&events_batch(events.clone())).await.unwrap();
    let reader = store.reader();

    let all = all_pages(
        &reader,
        EventFilter {
            limit: Some(7),
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<&SecurityEvent> = events.iter().collect();
    assert_eq!(ids(&all), newest_first(&expected));

    // Pages of a filtered listing.
    let filter = EventFilter {
        min_severity: Some(30),
        limit: Some(4),
        ..Default::default()
    };
    let all = all_pages(&reader, filter).await;
    let expected: Vec<&SecurityEvent> = events.iter().filter(|e| e.severity >= 30).collect();
    assert_eq!(ids(&all), newest_first(&expected));
    assert_eq!(
        all.iter().map(|e| e.id).collect::<HashSet<_>>().len(),
        all.len()
    );

    // An exact fit leaves no empty trailing page.
    let filter = EventFilter {
        limit: Some(60),
        ..Default::default()
    };
    assert_eq!(reader.events(&filter).await.unwrap().next_cursor, None);
}

async fn page_limit_is_capped(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let events: Vec<SecurityEvent> = (0..1100)
        .map(|i| event(Module::Net, "network.port_scan", 10, at(i), None, None))
        .collect();
    store.commit(&events_batch(events)).await.unwrap();

    let filter = EventFilter {
        limit: Some(50_000),
        ..Default::default()
    };
    let page = store.reader().events(&filter).await.unwrap();
    assert_eq!(page.items.len(), MAX_PAGE_LIMIT as usize);
    assert!(page.next_cursor.is_some());
}

async fn foreign_cursor_is_refused(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let filter = EventFilter {
        cursor: Some("page-2".into()),
        ..Default::default()
    };
    let err = store.reader().events(&filter).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidCursor { .. }), "{err}");
    assert!(err.to_string().contains("next_cursor"), "{err}");
}

async fn alerts_upsert_and_filter(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let reader = store.reader();
    let mut scan = alert(
        AlertStatus::New,
        CapSeverity::Moderate,
        AlertDomain::Cyber,
        Some("radiology"),
        at(0),
    );
    let door = alert(
        AlertStatus::New,
        CapSeverity::Severe,
        AlertDomain::Physical,
        Some("pharmacy"),
        at(100),
    );
    let joint = alert(
        AlertStatus::Confirmed,
        CapSeverity::Extreme,
        AlertDomain::CyberPhysical,
        Some("pharmacy"),
        at(200),
    );
    let batch = Batch {
        alerts: vec![scan.clone(), door.clone(), joint.clone()],
        ..Batch::default()
    };
    assert_eq!(store.commit(&batch).await.unwrap().alerts_written, 3);

    // An operator acknowledges the scan alert: the newer version replaces the old.
    scan.status = AlertStatus::Acknowledged;
    scan.updated = at(50);
    store
        .commit(&Batch {
            alerts: vec![scan.clone()],
            ..Batch::default()
        })
        .await
        .unwrap();
    assert_eq!(reader.alert(scan.id).await.unwrap(), Some(scan.clone()));
    assert_eq!(reader.counts().await.unwrap().alerts, 3);

    let listed = |filter: AlertFilter| {
        let reader = reader.clone();
        async move {
            let page = reader.alerts(&filter).await.unwrap();
            page.items.into_iter().map(|a| a.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(AlertFilter::default()).await,
        vec![joint.id, door.id, scan.id]
    );
    let status = AlertFilter {
        status: Some(AlertStatus::Acknowledged),
        ..Default::default()
    };
    assert_eq!(listed(status).await, vec![scan.id]);
    let severe = AlertFilter {
        min_severity: Some(CapSeverity::Severe),
        ..Default::default()
    };
    assert_eq!(listed(severe).await, vec![joint.id, door.id]);
    let domain = AlertFilter {
        domain: Some(AlertDomain::CyberPhysical),
        ..Default::default()
    };
    assert_eq!(listed(domain).await, vec![joint.id]);
    let zone = AlertFilter {
        zone: Some("pharmacy".into()),
        ..Default::default()
    };
    assert_eq!(listed(zone).await, vec![joint.id, door.id]);
    let asset = AlertFilter {
        asset: Some("pacs-01".into()),
        ..Default::default()
    };
    assert_eq!(listed(asset).await.len(), 3);
    let no_asset = AlertFilter {
        asset: Some("nothing".into()),
        ..Default::default()
    };
    assert!(listed(no_asset).await.is_empty());
    // Alerts active in [90 s, 150 s): only `door` (100..160); `scan` ended at 60.
    let window = AlertFilter {
        from: Some(at(90)),
        to: Some(at(150)),
        ..Default::default()
    };
    assert_eq!(listed(window).await, vec![door.id]);

    let mut paged = Vec::new();
    let mut filter = AlertFilter {
        limit: Some(2),
        ..Default::default()
    };
    loop {
        let page = reader.alerts(&filter).await.unwrap();
        paged.extend(page.items.iter().map(|a| a.id));
        let Some(cursor) = page.next_cursor else {
            break;
        };
        filter.cursor = Some(cursor);
    }
    assert_eq!(paged, vec![joint.id, door.id, scan.id]);
}

async fn stale_alert_update_is_ignored(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let mut newer = alert(
        AlertStatus::Confirmed,
        CapSeverity::Severe,
        AlertDomain::Cyber,
        None,
        at(0),
    );
    newer.updated = at(30);
    let mut older = newer.clone();
    older.status = AlertStatus::New;
    older.updated = at(10);

    store
        .commit(&Batch {
            alerts: vec![newer.clone()],
            ..Batch::default()
        })
        .await
        .unwrap();
    let outcome = store
        .commit(&Batch {
            alerts: vec![older.clone()],
            ..Batch::default()
        })
        .await
        .unwrap();
    assert_eq!(outcome.alerts_written, 0);
    assert_eq!(
        store.reader().alert(newer.id).await.unwrap(),
        Some(newer.clone())
    );

    // Both versions in one batch, old one last: the newer still wins.
    let other = alert(
        AlertStatus::New,
        CapSeverity::Minor,
        AlertDomain::Cyber,
        None,
        at(0),
    );
    let mut other_later = other.clone();
    other_later.status = AlertStatus::Dismissed;
    other_later.updated = at(40);
    let batch = Batch {
        alerts: vec![other_later.clone(), other],
        ..Batch::default()
    };
    store.commit(&batch).await.unwrap();
    assert_eq!(
        store.reader().alert(other_later.id).await.unwrap(),
        Some(other_later)
    );
}

async fn incidents_upsert_filter_and_page(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let reader = store.reader();
    let mut ransomware = incident(
        IncidentType::Ransomware,
        IncidentState::Open,
        Some("bob"),
        at(0),
    );
    let theft = incident(IncidentType::Theft, IncidentState::Open, None, at(10));
    let fire = incident(
        IncidentType::Fire,
        IncidentState::Resolved,
        Some("carol"),
        at(20),
    );
    let batch = Batch {
        incidents: vec![ransomware.clone(), theft.clone(), fire.clone()],
        ..Batch::default()
    };
    assert_eq!(store.commit(&batch).await.unwrap().incidents_written, 3);

    ransomware.state = IncidentState::Contained;
    ransomware.owner = Some("dave".into());
    ransomware.updated = at(30);
    store
        .commit(&Batch {
            incidents: vec![ransomware.clone()],
            ..Batch::default()
        })
        .await
        .unwrap();
    assert_eq!(
        reader.incident(ransomware.id).await.unwrap(),
        Some(ransomware.clone())
    );
    assert_eq!(reader.counts().await.unwrap().incidents, 3);

    let listed = |filter: IncidentFilter| {
        let reader = reader.clone();
        async move {
            let page = reader.incidents(&filter).await.unwrap();
            page.items.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(IncidentFilter::default()).await,
        vec![fire.id, theft.id, ransomware.id]
    );
    let open = IncidentFilter {
        state: Some(IncidentState::Open),
        ..Default::default()
    };
    assert_eq!(listed(open).await, vec![theft.id]);
    let kind = IncidentFilter {
        kind: Some(IncidentType::Fire),
        ..Default::default()
    };
    assert_eq!(listed(kind).await, vec![fire.id]);
    let owner = IncidentFilter {
        owner: Some("dave".into()),
        ..Default::default()
    };
    assert_eq!(listed(owner).await, vec![ransomware.id]);
    let nobody = IncidentFilter {
        owner: Some("bob".into()),
        ..Default::default()
    };
    assert!(listed(nobody).await.is_empty());

    let first = reader
        .incidents(&IncidentFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = IncidentFilter {
        limit: Some(2),
        cursor: first.next_cursor,
        ..Default::default()
    };
    let second = reader.incidents(&rest).await.unwrap();
    assert_eq!(
        second.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ransomware.id]
    );
    assert_eq!(second.next_cursor, None);
}

async fn audit_trail_is_per_target_and_ordered(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let (target, other) = (Ulid::new(), Ulid::new());
    let records = vec![
        audit(target, "alert.confirm", at(20)),
        audit(other, "alert.acknowledge", at(5)),
        audit(target, "alert.acknowledge", at(10)),
    ];
    let batch = Batch {
        audit: records.clone(),
        ..Batch::default()
    };
    assert_eq!(store.commit(&batch).await.unwrap().audit_written, 3);
    // A retried batch appends nothing twice.
    assert_eq!(store.commit(&batch).await.unwrap().audit_written, 0);

    let trail = store.reader().audit_for(&target.to_string()).await.unwrap();
    assert_eq!(trail, vec![records[2].clone(), records[0].clone()]);
    assert!(
        store
            .reader()
            .audit_for("unknown")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn dead_letters_are_kept_newest_first(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let mut big = vec![b'x'; 10_000];
    big[0] = 0xC3; // a broken UTF-8 sequence
    let mut older = DeadLetter::new(
        "net",
        "safecare/v1/event/net",
        "invalid_json",
        "expected value at line 1",
        &big,
    );
    older.time = at(0);
    let mut newer = DeadLetter::new(
        "toaster",
        "safecare/v1/event/toaster",
        "unknown_module",
        "module toaster is unknown",
        b"{}",
    );
    newer.time = at(1);

    let batch = Batch {
        dead_letters: vec![older.clone(), newer.clone()],
        ..Batch::default()
    };
    assert_eq!(store.commit(&batch).await.unwrap().dead_letters_written, 2);

    let reader = store.reader();
    assert_eq!(
        reader.dead_letters(10).await.unwrap(),
        vec![newer.clone(), older.clone()]
    );
    assert_eq!(reader.dead_letters(1).await.unwrap(), vec![newer]);
    let kept = &reader.dead_letters(10).await.unwrap()[1];
    assert_eq!(kept.payload_size, 10_000);
    assert!(kept.payload_excerpt.starts_with('\u{fffd}'));
    assert!(kept.payload_excerpt.len() <= 4096 + 2);
    assert_eq!(reader.counts().await.unwrap().dead_letters, 2);
}

async fn counts_follow_commits(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let reader = store.reader();
    assert_eq!(reader.counts().await.unwrap(), Default::default());

    let batch = Batch {
        events: sample_events(),
        alerts: vec![alert(
            AlertStatus::New,
            CapSeverity::Minor,
            AlertDomain::Cyber,
            None,
            at(0),
        )],
        incidents: vec![incident(
            IncidentType::Malware,
            IncidentState::Open,
            None,
            at(0),
        )],
        audit: vec![audit(Ulid::new(), "alert.create", at(0))],
        dead_letters: vec![DeadLetter::new("net", "t", "too_large", "too large", b"x")],
    };
    store.commit(&batch).await.unwrap();
    let counts = reader.counts().await.unwrap();
    assert_eq!(
        (
            counts.events,
            counts.alerts,
            counts.incidents,
            counts.dead_letters
        ),
        (60, 1, 1, 1)
    );
}

async fn failed_batch_writes_nothing(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    store
        .commit(&events_batch(vec![event(
            Module::Net,
            "network.port_scan",
            1,
            at(0),
            None,
            None,
        )]))
        .await
        .unwrap();

    // The audit table vanishes, so the last step of the next batch fails.
    db.execute_raw("DROP TABLE audit_records").await;
    let batch = Batch {
        events: sample_events(),
        alerts: vec![alert(
            AlertStatus::New,
            CapSeverity::Minor,
            AlertDomain::Cyber,
            None,
            at(0),
        )],
        audit: vec![audit(Ulid::new(), "alert.create", at(0))],
        ..Batch::default()
    };
    let err = store.commit(&batch).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");

    let counts = store.reader().counts().await.unwrap();
    assert_eq!(
        (counts.events, counts.alerts),
        (1, 0),
        "a failed batch left rows behind"
    );
}

async fn reads_are_served_while_batches_are_written(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = std::sync::Arc::new(db.open().await);
    let reader = store.reader();

    // The writer and a reader run as separate tasks, as the exchange service and web do.
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            for round in 0..20 {
                let events = (0..500)
                    .map(|i| {
                        event(
                            Module::Net,
                            "network.port_scan",
                            10,
                            at(round * 500 + i),
                            None,
                            None,
                        )
                    })
                    .collect();
                store.commit(&events_batch(events)).await.unwrap();
            }
        }
    });
    let reads = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..50 {
            seen.push(reader.counts().await.unwrap().events);
            tokio::task::yield_now().await;
        }
        seen
    });

    writer.await.unwrap();
    let seen = reads.await.unwrap();
    // Each read sees whole batches only, and counts never go back.
    assert!(seen.iter().all(|n| n % 500 == 0), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(store.reader().counts().await.unwrap().events, 10_000);
}

async fn an_owned_batch_is_stored_and_handed_back(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let events = sample_events();
    let batch = Batch {
        events: events.clone(),
        audit: vec![audit(Ulid::new(), "alert.create", at(0))],
        ..Batch::default()
    };

    let (back, outcome) = store.commit_owned(batch).await;
    let outcome = outcome.unwrap();
    assert_eq!(ids(&back.events), ids(&events));
    assert_eq!(back.audit.len(), 1);
    assert_eq!(outcome.events_inserted, events.len() as u64);
    assert_eq!(outcome.audit_written, 1);

    // Committed again, the same batch is all duplicates.
    let (_, again) = store.commit_owned(back).await;
    assert_eq!(again.unwrap().events_duplicate, events.len() as u64);
    let reader = store.reader();
    assert_eq!(reader.counts().await.unwrap().events, events.len() as u64);
    assert_eq!(
        reader.event(events[0].id).await.unwrap(),
        Some(events[0].clone())
    );
}

async fn a_closed_store_hands_an_owned_batch_back_unstored(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    store.close().await;

    let events = sample_events();
    let (back, outcome) = store.commit_owned(events_batch(events.clone())).await;
    let err = outcome.unwrap_err();
    assert!(
        err.is_retryable(),
        "a closed store should say retry elsewhere: {err}"
    );
    assert_eq!(
        ids(&back.events),
        ids(&events),
        "the batch was not handed back whole"
    );
}
