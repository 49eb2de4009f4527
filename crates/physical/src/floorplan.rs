//! Floor plans as SVG, drawn from the site's polygons with the live zone states.
//!
//! Zones are filled by their worst open alert (CAP severity), outlined in blue when
//! restricted, with their rooms dashed; doors (squares), cameras (circles) and sensors (diamonds) are drawn in a
//! row inside their zone, coloured by status, since the site model gives devices a zone
//! but no position. Every shape carries `data-zone` or `data-asset` and a `<title>` for
//! the console to hook on.

use std::fmt::Write;

use safecare_core::CapSeverity;
use safecare_core::site::{Floor, Polygon, Site};

use crate::zones::{CameraStatus, DoorStatus, SensorStatus, ZoneState, ZoneStates};

/// Pixels per metre.
const SCALE: f64 = 10.0;
/// Margin around the plan, pixels.
const MARGIN: f64 = 20.0;
/// Device icon size and spacing, pixels.
const ICON: f64 = 10.0;
const ICON_STEP: f64 = 16.0;

/// Draws one floor of `site` with the states of its zones.
///
/// An unknown floor id gives a small SVG that says so, never a panic.
pub fn render_floor_svg(site: &Site, floor_id: &str, states: &ZoneStates) -> String {
    let Some(floor) = find_floor(site, floor_id) else {
        return message_svg(&format!("floor {floor_id} is not in the site model"));
    };
    let (min, max) = bounds(floor);
    let width = (max[0] - min[0]) * SCALE + 2.0 * MARGIN;
    let height = (max[1] - min[1]) * SCALE + 2.0 * MARGIN + 20.0;
    let at = |p: [f64; 2]| -> (f64, f64) {
        (
            (p[0] - min[0]) * SCALE + MARGIN,
            (p[1] - min[1]) * SCALE + MARGIN + 20.0,
        )
    };

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11" data-floor="{id}">"#,
        id = escape(&floor.id)
    );
    let _ = write!(
        svg,
        r#"<text x="{MARGIN}" y="16" font-size="14" font-weight="bold">{}</text>"#,
        escape(&floor.name)
    );
    if let Some(outline) = &floor.polygon {
        let _ = write!(
            svg,
            r##"<polygon class="floor" points="{}" fill="#ffffff" stroke="#333" stroke-width="2"/>"##,
            points(outline, at)
        );
    }

    for zone in &floor.zones {
        let Some(polygon) = zone.polygon.as_ref().filter(|p| p.len() >= 3) else {
            continue;
        };
        let state = states.zone(&zone.id);
        draw_zone(&mut svg, &zone.id, &zone.name, polygon, state, at);
    }
    for room in floor.zones.iter().flat_map(|z| z.rooms.iter()) {
        let Some(polygon) = room.polygon.as_ref().filter(|p| p.len() >= 3) else {
            continue;
        };
        let _ = write!(
            svg,
            r##"<polygon class="room" data-room="{id}" points="{points}" fill="none" stroke="#aaa" stroke-dasharray="4 3"><title>{name}</title></polygon>"##,
            id = escape(&room.id),
            points = points(polygon, at),
            name = escape(&room.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn draw_zone(
    svg: &mut String,
    id: &str,
    name: &str,
    polygon: &Polygon,
    state: Option<&ZoneState>,
    at: impl Fn([f64; 2]) -> (f64, f64),
) {
    let level = state.and_then(|s| s.alert_level);
    let restricted = state.is_some_and(|s| s.restricted);
    let fill = match level {
        Some(CapSeverity::Extreme) => "#d7191c",
        Some(CapSeverity::Severe) => "#fd8d3c",
        Some(CapSeverity::Moderate) => "#fecc5c",
        Some(CapSeverity::Minor) => "#ffffb2",
        None if restricted => "#e8eef7",
        None => "#f4f4f4",
    };
    let stroke = if restricted { "#2b5797" } else { "#777" };
    let alerts = state.map_or(0, |s| s.alerts.len());
    let _ = write!(
        svg,
        r#"<g class="zone" data-zone="{id}" data-alerts="{alerts}"><title>{title}</title><polygon points="{points}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#,
        id = escape(id),
        title = escape(&zone_title(name, state)),
        points = points(polygon, &at),
    );

    let (left, top) = polygon
        .iter()
        .map(|p| at(*p))
        .fold((f64::MAX, f64::MAX), |(x, y), (px, py)| {
            (x.min(px), y.min(py))
        });
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
        left + 4.0,
        top + 13.0,
        escape(&zone_label(name, state))
    );
    if let Some(state) = state {
        draw_devices(svg, state, left + 4.0, top + 20.0);
    }
    svg.push_str("</g>");
}

/// Devices in a row under the zone label: doors, then cameras, then sensors.
fn draw_devices(svg: &mut String, state: &ZoneState, x: f64, y: f64) {
    let mut x = x;
    for (id, door) in &state.doors {
        let (colour, word) = match door.status {
            DoorStatus::Normal => ("#2ca25f", "normal"),
            DoorStatus::Forced => ("#d7191c", "forced"),
            DoorStatus::HeldOpen => ("#fd8d3c", "held open"),
            DoorStatus::Tampered => ("#7b3294", "tampered"),
        };
        let _ = write!(
            svg,
            r##"<rect class="door" data-asset="{id}" x="{x:.1}" y="{y:.1}" width="{ICON}" height="{ICON}" fill="{colour}" stroke="#222"><title>{id}: {word}</title></rect>"##,
            id = escape(id)
        );
        x += ICON_STEP;
    }
    for (id, camera) in &state.cameras {
        let (colour, word) = match camera.status {
            CameraStatus::Online => ("#2ca25f", "online"),
            CameraStatus::Offline => ("#636363", "offline"),
            CameraStatus::Tampered => ("#7b3294", "tampered"),
        };
        let _ = write!(
            svg,
            r##"<circle class="camera" data-asset="{id}" cx="{:.1}" cy="{:.1}" r="{:.1}" fill="{colour}" stroke="#222"><title>{id}: {word}</title></circle>"##,
            x + ICON / 2.0,
            y + ICON / 2.0,
            ICON / 2.0,
            id = escape(id)
        );
        x += ICON_STEP;
    }
    for (id, sensor) in &state.sensors {
        let (colour, word) = match sensor.status {
            SensorStatus::Normal => ("#2ca25f", "normal"),
            SensorStatus::Alarm => ("#d7191c", "alarm"),
            SensorStatus::PreAlarm => ("#fd8d3c", "pre-alarm"),
            SensorStatus::Fault => ("#fecc5c", "fault"),
            SensorStatus::Isolated => ("#636363", "isolated"),
        };
        let (cx, cy, h) = (x + ICON / 2.0, y + ICON / 2.0, ICON / 2.0);
        let _ = write!(
            svg,
            r##"<polygon class="sensor" data-asset="{id}" points="{cx:.1},{:.1} {:.1},{cy:.1} {cx:.1},{:.1} {:.1},{cy:.1}" fill="{colour}" stroke="#222"><title>{id}: {word}</title></polygon>"##,
            cy - h,
            cx + h,
            cy + h,
            cx - h,
            id = escape(id)
        );
        x += ICON_STEP;
    }
}

fn zone_label(name: &str, state: Option<&ZoneState>) -> String {
    let Some(state) = state else {
        return name.to_string();
    };
    match (state.people, state.capacity) {
        (Some(people), Some(capacity)) => format!("{name} ({people}/{capacity})"),
        (Some(people), None) => format!("{name} ({people})"),
        _ => name.to_string(),
    }
}

fn zone_title(name: &str, state: Option<&ZoneState>) -> String {
    let Some(state) = state else {
        return name.to_string();
    };
    let mut title = name.to_string();
    for alert in &state.alerts {
        let _ = write!(title, "\n{}: {}", alert.severity.as_str(), alert.title);
    }
    if let Some(armed) = state.armed {
        title.push_str(if armed { "\narmed" } else { "\ndisarmed" });
    }
    title
}

fn find_floor<'s>(site: &'s Site, id: &str) -> Option<&'s Floor> {
    site.model()
        .buildings
        .iter()
        .flat_map(|b| b.floors.iter())
        .find(|f| f.id == id)
}

/// The corners of the floor outline and all zone polygons; a 10 m square when none.
fn bounds(floor: &Floor) -> ([f64; 2], [f64; 2]) {
    let corners = floor
        .polygon
        .iter()
        .chain(floor.zones.iter().filter_map(|z| z.polygon.as_ref()))
        .flatten()
        .filter(|p| p[0].is_finite() && p[1].is_finite());
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in corners {
        min = [min[0].min(p[0]), min[1].min(p[1])];
        max = [max[0].max(p[0]), max[1].max(p[1])];
    }
    if min[0] > max[0] {
        return ([0.0, 0.0], [10.0, 10.0]);
    }
    (min, max)
}

fn points(polygon: &Polygon, at: impl Fn([f64; 2]) -> (f64, f64)) -> String {
    polygon
        .iter()
        .map(|p| {
            let (x, y) = at(*p);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn message_svg(text: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 40" width="400" height="40"><text x="10" y="25" font-family="sans-serif">{}</text></svg>"#,
        escape(text)
    )
}

/// Escapes text for SVG content and attribute values.
pub fn escape(text: &str) -> String {
    safecare_core::markup::escape(text)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use safecare_core::{Module, SecurityEvent};

    #[test]
    fn ground_floor_shows_zones_devices_and_state() {
        let site = Arc::new(Site::demo());
        let mut states = ZoneStates::new(site.clone());
        let mut forced = SecurityEvent::new(Module::Access, "access.door_forced", 80, "forced");
        forced.asset = Some("door-pharmacy".into());
        states.apply_event(&forced);

        let svg = render_floor_svg(&site, "main-0", &states);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for zone in ["ed", "waiting-room", "pharmacy", "radiology"] {
            assert!(svg.contains(&format!(r#"data-zone="{zone}""#)), "{zone}");
        }
        assert!(!svg.contains(r#"data-zone="icu""#), "icu is on main-1");
        assert!(svg.contains("door-pharmacy: forced"), "{svg}");
        assert!(svg.contains("cam-pharmacy: online"));
        assert!(roxmltree::Document::parse(&svg).is_ok(), "well-formed XML");
    }

    #[test]
    fn unknown_floor_says_so() {
        let site = Arc::new(Site::demo());
        let states = ZoneStates::new(site.clone());
        let svg = render_floor_svg(&site, "roof", &states);
        assert!(svg.contains("roof is not in the site model"));
    }
}
