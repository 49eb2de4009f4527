//! Modbus/TCP detections.

use serde_json::json;

use super::{Detector, Ends};
use crate::baseline::{modbus_writes, unit_key};
use crate::modbus::{Body, Pdu};
use crate::transaction::{ModbusExchange, Transaction};

impl Detector<'_> {
    pub(super) fn modbus(&mut self, t: &Transaction, x: &ModbusExchange) {
        if let Some(code) = x.exception() {
            self.exception_storm(t, "modbus", code);
        }
        let Some(request) = &x.request else { return };
        if x.response.is_none() {
            self.modbus_silence(t, x);
        }

        self.modbus_function(t, x, request);
        self.modbus_sweep(t, x, request);
        if request.is_write() {
            self.modbus_allowlist(t, x, request);
            self.modbus_setpoints(t, x, request);
        }
    }

    /// Diagnostics and identification functions, and codes the unit never received.
    fn modbus_function(&mut self, t: &Transaction, x: &ModbusExchange, request: &Pdu) {
        let name = x.function_name.unwrap_or("unassigned");
        let (severity, techniques, what): (u8, &[&str], String) = match &request.body {
            Body::Diagnostics { sub_function, .. } => match sub_function {
                1 => (
                    75,
                    &["T0816", "T0888"],
                    "diagnostics: restart communications".into(),
                ),
                4 => (
                    75,
                    &["T0814", "T0888"],
                    "diagnostics: force listen-only mode".into(),
                ),
                10 => (60, &["T0888"], "diagnostics: clear counters".into()),
                n => (55, &["T0888"], format!("diagnostics sub-function {n}")),
            },
            Body::ReadDeviceId { .. } => (50, &["T0888"], "read device identification".into()),
            _ if request.function == 17 => (50, &["T0888"], "report server id".into()),
            _ => match self.new_function(t, x) {
                true => (
                    60,
                    &["T0855"],
                    format!("function {} ({name}) never seen", x.function),
                ),
                false => return,
            },
        };
        let key = format!("fc|{}|{}|{}|{what}", t.client, t.server, x.unit_id);
        if !self.first_in_window(&key, t.time) {
            return;
        }
        let summary = format!(
            "Modbus {what} from {} to {} unit {}",
            t.client, t.server, x.unit_id
        );
        let evidence = json!({"unit_id": x.unit_id, "function": x.function,
            "function_name": name, "transaction_id": x.transaction_id});
        let kind = "ot.modbus.function_code_anomaly";
        self.raise(
            kind,
            severity,
            0.9,
            summary,
            &Ends::of(t),
            techniques,
            evidence,
        );
    }

    fn new_function(&self, t: &Transaction, x: &ModbusExchange) -> bool {
        let Some(baseline) = &self.config.baseline else {
            return false;
        };
        let unit = baseline.modbus.get(&unit_key(t.server, x.unit_id));
        unit.is_none_or(|u| !u.functions.contains(&x.function))
    }

    /// One client reading many units, or many start registers, within a window.
    fn modbus_sweep(&mut self, t: &Transaction, x: &ModbusExchange, request: &Pdu) {
        let client = t.client;
        let unit_id = u64::from(x.unit_id) << 40 | super::fingerprint(&t.server.to_string()) >> 24;
        let (_, units) = self.count(&format!("units|{client}"), t.time, unit_id);
        let registers = match request.read_range() {
            Some((address, _)) => {
                let value = u64::from(x.function) << 16 | u64::from(address);
                self.count(&format!("regs|{client}|{}", t.server), t.time, value)
                    .1
            }
            None => 0,
        };

        let swept = if units >= self.config.sweep_units {
            format!("{units} unit ids")
        } else if registers >= self.config.sweep_registers {
            format!("{registers} register ranges")
        } else {
            return;
        };
        if !self.first_in_window(&format!("sweep|{client}"), t.time) {
            return;
        }
        let summary = format!("Modbus sweep: {client} read {swept} within a minute");
        let evidence = json!({"distinct_units": units, "distinct_registers": registers,
            "server": t.server.to_string()});
        self.raise(
            "ot.modbus.scan",
            45,
            0.8,
            summary,
            &Ends::of(t),
            &["T0846"],
            evidence,
        );
    }

    /// Writes from clients the baseline never saw write, or outside learned values.
    fn modbus_allowlist(&mut self, t: &Transaction, x: &ModbusExchange, request: &Pdu) {
        let Some(baseline) = &self.config.baseline else {
            return;
        };
        let client = t.client.to_string();
        let unit = baseline.modbus.get(&unit_key(t.server, x.unit_id));
        let allowed = unit.is_some_and(|u| u.writers.contains(&client));
        let outside: Vec<String> = modbus_writes(request)
            .into_iter()
            .filter(|(key, value)| {
                let range = unit.and_then(|u| u.written.get(key));
                range.is_none_or(|r| !r.contains(*value))
            })
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let range = request.written_range();

        if !allowed {
            let summary = format!(
                "Modbus write ({}) from {client}, not a known writer of {} unit {}",
                x.function_name.unwrap_or("write"),
                t.server,
                x.unit_id
            );
            let evidence = json!({"unit_id": x.unit_id, "function": x.function, "range": range});
            let kind = "ot.modbus.unauthorized_write";
            self.raise(
                kind,
                85,
                0.9,
                summary,
                &Ends::of(t),
                &["T0855", "T0836"],
                evidence,
            );
        } else if !outside.is_empty() {
            let summary = format!(
                "Modbus write outside the learned range on {} unit {}: {}",
                t.server,
                x.unit_id,
                outside.join(", ")
            );
            let evidence = json!({"unit_id": x.unit_id, "function": x.function, "writes": outside});
            let kind = "ot.modbus.write_out_of_range";
            self.raise(kind, 70, 0.8, summary, &Ends::of(t), &["T0836"], evidence);
        }
    }

    /// Register writes that set a site BMS point outside its safe bounds.
    fn modbus_setpoints(&mut self, t: &Transaction, x: &ModbusExchange, request: &Pdu) {
        let Some(site) = self.site else { return };
        let Some(controller) = site.by_modbus(t.server, x.unit_id) else {
            return;
        };
        let scale = self.config.modbus_scale;
        for (address, raw) in request.written_registers() {
            let point = site.bms_points().iter().find(|p| {
                p.via.as_deref() == Some(controller.id.as_str())
                    && p.modbus_register == Some(address)
            });
            let Some(point) = point else { continue };
            let value = f64::from(raw as i16) * scale;
            if point.is_safe(value) {
                continue;
            }
            let summary = format!(
                "Modbus write sets {} to {value:.1} {}, outside its safe range {}",
                point.id,
                point.unit,
                bounds(point.min, point.max)
            );
            let evidence = json!({"point": point.id, "register": address, "raw": raw,
                "value": value, "min": point.min, "max": point.max, "unit_id": x.unit_id});
            let mut ends = Ends::of(t);
            ends.asset = Some(point.asset.clone());
            let kind = "ot.modbus.setpoint_unsafe";
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

    /// A controller that leaves requests unanswered: it is down, overloaded or silenced.
    fn modbus_silence(&mut self, t: &Transaction, x: &ModbusExchange) {
        let key = format!("silent|{}|{}", t.server, x.unit_id);
        let (count, _) = self.count(&key, t.time, u64::from(x.transaction_id));
        if count < self.config.unanswered || !self.first_in_window(&key, t.time) {
            return;
        }
        let summary = format!(
            "Modbus unit {} at {} left {count} requests unanswered within a minute",
            x.unit_id, t.server
        );
        let evidence = json!({"unit_id": x.unit_id, "unanswered": count});
        let kind = "ot.modbus.controller_silent";
        self.raise(
            kind,
            60,
            0.7,
            summary,
            &Ends::of(t),
            &["T0814", "T0829"],
            evidence,
        );
    }

    /// Many exception, error, reject or abort answers from one device in a window.
    pub(super) fn exception_storm(&mut self, t: &Transaction, protocol: &str, code: u8) {
        let device = match protocol {
            "modbus" => t.server,
            _ => t.client,
        };
        let key = format!("exc|{protocol}|{device}");
        let (count, _) = self.count(&key, t.time, u64::from(code));
        if count < self.config.exception_storm || !self.first_in_window(&key, t.time) {
            return;
        }
        let summary = format!("{count} {protocol} error answers from {device} within a minute");
        let evidence = json!({"reason": "exception_storm", "answers": count, "last_code": code});
        let kind = format!("ot.{protocol}.malformed");
        self.raise(&kind, 55, 0.7, summary, &Ends::of(t), &["T0814"], evidence);
    }
}

pub(super) fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    let show = |v: Option<f64>| v.map_or("-".to_string(), |v| v.to_string());
    format!("[{}, {}]", show(min), show(max))
}
