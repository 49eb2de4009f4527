//! The bare status page at `/` and Prometheus metrics at `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use safecare_store::AlertFilter;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(status_page))
        .route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.exchange.metrics().render();
    if let Some(rss) = resident_bytes() {
        text.push_str("# HELP safecare_process_resident_bytes Resident memory of the process.\n");
        text.push_str("# TYPE safecare_process_resident_bytes gauge\n");
        text.push_str(&format!("safecare_process_resident_bytes {rss}\n"));
    }
    if let Ok(counts) = state.exchange.reader().counts().await {
        text.push_str("# HELP safecare_store_rows Rows in the central store, by table.\n");
        text.push_str("# TYPE safecare_store_rows gauge\n");
        for (table, n) in [
            ("events", counts.events),
            ("alerts", counts.alerts),
            ("incidents", counts.incidents),
            ("dead_letters", counts.dead_letters),
        ] {
            text.push_str(&format!("safecare_store_rows{{table=\"{table}\"}} {n}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Resident set size from /proc (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn status_page(State(state): State<AppState>) -> Html<String> {
    let counts = state
        .exchange
        .reader()
        .counts()
        .await
        .ok()
        .unwrap_or_default();
    let alerts = state
        .exchange
        .reader()
        .alerts(&AlertFilter {
            limit: Some(20),
            ..AlertFilter::default()
        })
        .await
        .map(|page| page.items)
        .unwrap_or_default();

    let mut rows = String::new();
    for alert in alerts {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(alert.severity.as_str()),
            escape(alert.status.as_str()),
            escape(alert.domain.as_str()),
            escape(alert.zone.as_deref().unwrap_or("-")),
            escape(&alert.title),
        ));
    }
    let mut modules = String::new();
    for report in state.exchange.module_health() {
        let status = if report.status == safecare_bus::HealthStatus::Up {
            "up"
        } else {
            "down"
        };
        modules.push_str(&format!("<li>{}: {status}</li>", escape(&report.module)));
    }

    Html(format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>SafeCare</title></head>\
         <body><h1>SafeCare — {site}</h1><p>Up {uptime} s. Bus {bus}. Events {events}, alerts \
         {alerts_n}, incidents {incidents}, dead letters {dead}.</p><h2>Modules</h2><ul>{modules}</ul>\
         <h2>Latest alerts</h2><table><tr><th>Severity</th><th>Status</th><th>Domain</th>\
         <th>Zone</th><th>Title</th></tr>{rows}</table><p><a href=/api/openapi.json>API</a> · \
         <a href=/metrics>metrics</a> · <a href=/api/stream>live stream</a></p></body></html>",
        site = escape(&state.site_name),
        uptime = state.started.elapsed().as_secs(),
        bus = if state.exchange.bus().is_connected() {
            "connected"
        } else {
            "DISCONNECTED"
        },
        events = counts.events,
        alerts_n = counts.alerts,
        incidents = counts.incidents,
        dead = counts.dead_letters,
    ))
}

fn escape(text: &str) -> String {
    safecare_core::markup::escape(text)
}
