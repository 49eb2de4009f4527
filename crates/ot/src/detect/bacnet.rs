//! BACnet/IP detections.

use serde_json::json;

use super::modbus::bounds;
use super::{Detector, Ends};
use crate::bacnet::{Apdu, PduType, Service, names};
use crate::baseline::{bacnet_writes, is_bacnet_write};
use crate::transaction::{BacnetExchange, Transaction};

/// Properties whose writes move a setpoint: present-value and relinquish-default.
const SETPOINT_PROPERTIES: [u32; 2] = [85, 104];

impl Detector<'_> {
    pub(super) fn bacnet(&mut self, t: &Transaction, x: &BacnetExchange) {
        if let Some(declared) = x.message.bvlc_length_mismatch {
            self.malformed(&crate::sensor::Malformed {
                time: t.time,
                protocol: "bacnet",
                client: t.client,
                server: t.server,
                error: format!("BVLC length {declared} disagrees with the datagram"),
            });
        }
        let Some(apdu) = x.apdu() else { return };
        if matches!(
            apdu.pdu_type,
            PduType::Error | PduType::Reject | PduType::Abort
        ) {
            self.exception_storm(t, "bacnet", apdu.service_choice.unwrap_or(0));
        }
        if !apdu.is_request() {
            return;
        }

        self.bacnet_command(t, apdu);
        self.bacnet_discovery(t, apdu);
        self.bacnet_allowlist(t, apdu);
        if is_bacnet_write(apdu) {
            self.bacnet_setpoints(t, apdu);
        }
    }

    /// Reinitialise, communication control and file writes: commands that stop,
    /// silence or reprogram a controller.
    fn bacnet_command(&mut self, t: &Transaction, apdu: &Apdu) {
        let (kind, severity, techniques, what): (&str, u8, &[&str], String) = match &apdu.service {
            Service::ReinitializeDevice { state, password } => (
                "ot.bacnet.reinitialize_device",
                85,
                &["T0816"],
                format!(
                    "ReinitializeDevice ({}, password {})",
                    reinit_state(*state),
                    yes(*password)
                ),
            ),
            Service::DeviceCommunicationControl {
                enable,
                duration_minutes,
                ..
            } => {
                let mode = ["enable", "disable", "disable-initiation"]
                    .get(*enable as usize)
                    .copied()
                    .unwrap_or("unknown");
                let severity = if *enable == 0 { 50 } else { 85 };
                let minutes =
                    duration_minutes.map_or("indefinitely".into(), |m| format!("for {m} min"));
                (
                    "ot.bacnet.device_communication_control",
                    severity,
                    &["T0814", "T0815"],
                    format!("DeviceCommunicationControl {mode} {minutes}"),
                )
            }
            Service::AtomicFile { file } if apdu.service_choice == Some(7) => (
                "ot.bacnet.file_write",
                75,
                &["T0843", "T0839"],
                format!("AtomicWriteFile to {file}"),
            ),
            _ => return,
        };
        // One event per client, device and command a window: a password brute force
        // or a firmware upload is one finding, not hundreds.
        let key = format!("cmd|{}|{}|{kind}", t.client, t.server);
        if !self.first_in_window(&key, t.time) {
            return;
        }
        let summary = format!("BACnet {what} from {} to {}", t.client, t.server);
        let evidence = json!({"service": apdu.service_name, "invoke_id": apdu.invoke_id});
        self.raise(
            kind,
            severity,
            0.95,
            summary,
            &Ends::of(t),
            techniques,
            evidence,
        );
    }

    /// Bursts of Who-Is or Who-Has from one sender: device enumeration.
    fn bacnet_discovery(&mut self, t: &Transaction, apdu: &Apdu) {
        let range = match &apdu.service {
            Service::WhoIs { low, high } => format!("{low:?}-{high:?}"),
            Service::WhoHas { object, name } => format!("{object:?}{name:?}"),
            _ => return,
        };
        let key = format!("whois|{}", t.client);
        let (count, distinct) = self.count(&key, t.time, super::fingerprint(&range));
        if count < self.config.who_is_burst || !self.first_in_window(&key, t.time) {
            return;
        }
        let summary = format!(
            "BACnet discovery sweep: {} sent {count} Who-Is/Who-Has ({distinct} distinct ranges) within a minute",
            t.client
        );
        let evidence = json!({"messages": count, "distinct_ranges": distinct});
        let kind = "ot.bacnet.who_is_scan";
        self.raise(
            kind,
            45,
            0.8,
            summary,
            &Ends::of(t),
            &["T0846", "T0888"],
            evidence,
        );
    }

    /// Unknown clients, unknown writers, new services and writes outside learned values.
    fn bacnet_allowlist(&mut self, t: &Transaction, apdu: &Apdu) {
        let Some(baseline) = &self.config.baseline else {
            return;
        };
        let client = t.client.to_string();
        let service = apdu.service_name.unwrap_or("unknown");
        let device = baseline.bacnet.get(&t.server.to_string());
        let known_client = baseline
            .bacnet
            .values()
            .any(|d| d.clients.contains(&client));
        let new_service = device.is_none_or(|d| !d.services.contains(service));
        let writer = device.is_some_and(|d| d.writers.contains(&client));
        let outside: Vec<String> = bacnet_writes(&apdu.service)
            .into_iter()
            .filter(|(key, value)| {
                let range = device.and_then(|d| d.written.get(key));
                range.is_none_or(|r| !r.contains(*value))
            })
            .map(|(key, value)| format!("{key}={value}"))
            .collect();

        let ends = Ends::of(t);
        if !known_client && self.first_in_window(&format!("client|{client}"), t.time) {
            let summary = format!("BACnet client {client} is not in the learned baseline");
            let evidence = json!({"service": service});
            self.raise(
                "ot.bacnet.unknown_client",
                50,
                0.7,
                summary,
                &ends,
                &["T0886"],
                evidence,
            );
        }
        if is_bacnet_write(apdu) && !writer {
            let summary = format!(
                "BACnet {service} from {client}, not a known writer of {}",
                t.server
            );
            let evidence = json!({"service": service, "writes": bacnet_writes(&apdu.service)});
            let kind = "ot.bacnet.write_property";
            self.raise(kind, 80, 0.9, summary, &ends, &["T0836", "T0855"], evidence);
        } else if is_bacnet_write(apdu) && !outside.is_empty() {
            let summary = format!(
                "BACnet write outside the learned range on {}: {}",
                t.server,
                outside.join(", ")
            );
            let evidence = json!({"service": service, "writes": outside});
            let kind = "ot.bacnet.write_out_of_range";
            self.raise(kind, 70, 0.8, summary, &ends, &["T0836"], evidence);
        } else if new_service && known_client {
            let key = format!("svc|{client}|{}|{service}", t.server);
            if self.first_in_window(&key, t.time) {
                let summary = format!(
                    "BACnet service {service} from {client} to {} never seen",
                    t.server
                );
                let evidence = json!({"service": service});
                let kind = "ot.bacnet.service_anomaly";
                self.raise(kind, 55, 0.8, summary, &ends, &["T0855"], evidence);
            }
        }
    }

    /// Writes that set a site BMS point outside its safe bounds.
    fn bacnet_setpoints(&mut self, t: &Transaction, apdu: &Apdu) {
        let Some(site) = self.site else { return };
        let Service::Properties { refs } = &apdu.service else {
            return;
        };
        let Some(controller) = self.directory.by_ip(t.server) else {
            return;
        };
        for r in refs
            .iter()
            .filter(|r| SETPOINT_PROPERTIES.contains(&r.property))
        {
            let Some(value) = r.value else { continue };
            let object = r.object.to_string();
            let point = site.bms_points().iter().find(|p| {
                p.via.as_deref() == Some(controller.id.as_str())
                    && p.bacnet_object.as_deref() == Some(object.as_str())
            });
            let Some(point) = point.filter(|p| !p.is_safe(value)) else {
                continue;
            };
            let summary = format!(
                "BACnet write sets {} ({object}) to {value:.1} {}, outside its safe range {}",
                point.id,
                point.unit,
                bounds(point.min, point.max)
            );
            let evidence = json!({"point": point.id, "object": object,
                "property": names::property(r.property), "value": value,
                "priority": r.priority, "min": point.min, "max": point.max});
            let mut ends = Ends::of(t);
            ends.asset = Some(point.asset.clone());
            let kind = "ot.bacnet.setpoint_unsafe";
            self.raise(
                kind,
                90,
                0.95,
                summary,
                &ends,
                &["T0836", "T0831"],
                evidence,
            );
        }
    }
}

fn reinit_state(state: u32) -> &'static str {
    match state {
        0 => "coldstart",
        1 => "warmstart",
        2 => "start-backup",
        3 => "end-backup",
        4 => "start-restore",
        5 => "end-restore",
        6 => "abort-restore",
        7 => "activate-changes",
        _ => "unknown state",
    }
}

fn yes(flag: bool) -> &'static str {
    if flag { "given" } else { "none" }
}
