//! Syslog lines: RFC 5424, RFC 3164, and the Linux `auth.log` / `messages` form.
//!
//! `parse_syslog_line` is a pure function over one line so that the file
//! reader, the network receiver and the fuzz target share it. The fields it
//! yields (`message`, `host`, `program`, `pid`, `facility`, `severity`) are
//! what the Linux Sigma rules and the device analytics read.

use std::io::BufRead;

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::json::too_long;
use super::lines::{Line, read_bounded_line};
use super::{MAX_LINE_BYTES, RecordError, RecordResult};
use crate::record::{LogRecord, Origin, RecordSource};

const FACILITY_AUTH: u8 = 4;
const FACILITY_AUTHPRIV: u8 = 10;

/// Reads a syslog file line by line; broken lines are reported and skipped.
pub fn read_syslog(
    mut reader: impl BufRead,
    name: &str,
    visit: &mut dyn FnMut(RecordResult),
) -> std::io::Result<()> {
    let mut number = 0u64;
    let now = Utc::now();
    while let Some(line) = read_bounded_line(&mut reader, MAX_LINE_BYTES)? {
        number += 1;
        let origin = Origin {
            source: name.to_string(),
            record: number,
        };
        match line {
            Line::TooLong { length } => visit(Err(too_long(origin, length))),
            Line::Text(text) if text.trim_ascii().is_empty() => {}
            Line::Text(text) => visit(parse_syslog_line(&text, origin, now)),
        }
    }
    Ok(())
}

/// Parses one syslog line; `now` supplies the year RFC 3164 leaves out.
pub fn parse_syslog_line(bytes: &[u8], origin: Origin, now: DateTime<Utc>) -> RecordResult {
    // 1. Refuse binary data rather than matching rules against it.
    if looks_binary(bytes) {
        return Err(RecordError::new(origin, "binary data, not a syslog line"));
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end();

    // 2. The optional <PRI> header.
    let (priority, rest) = match split_priority(text) {
        Ok(split) => split,
        Err(reason) => return Err(RecordError::new(origin, reason)),
    };

    // 3. The header proper, by format.
    let parsed = if let Some(body) = rest.strip_prefix("1 ") {
        parse_5424(body)
    } else {
        parse_3164(rest, now)
    };
    let Some(parts) = parsed else {
        let reason = "not a syslog line: expected '<PRI>1 TIMESTAMP HOST ...' (RFC 5424) \
                      or 'Mmm dd hh:mm:ss HOST TAG: MSG' (RFC 3164)";
        return Err(RecordError::new(origin, reason));
    };

    Ok(build_record(parts, priority, origin))
}

/// The parts of a syslog header, borrowed from the line.
struct Parts<'a> {
    time: Option<DateTime<Utc>>,
    host: &'a str,
    program: &'a str,
    pid: Option<&'a str>,
    message: &'a str,
}

fn looks_binary(bytes: &[u8]) -> bool {
    let control = bytes
        .iter()
        .filter(|&&b| b < 0x20 && b != b'\t' && b != b'\r')
        .count();
    bytes.contains(&0) || control * 10 > bytes.len()
}

/// Splits `<PRI>` off the line; the priority is `None` when there is none.
fn split_priority(text: &str) -> Result<(Option<u8>, &str), String> {
    let Some(after) = text.strip_prefix('<') else {
        return Ok((None, text));
    };
    let Some((digits, rest)) = after.split_once('>') else {
        return Err("unterminated <PRI> header".into());
    };
    match digits.parse::<u8>() {
        Ok(pri) if digits.len() <= 3 && pri <= 191 => Ok((Some(pri), rest)),
        _ => Err(format!("invalid <PRI> value {digits:?}: must be 0 to 191")),
    }
}

/// RFC 5424 after the version: TIMESTAMP HOST APP PROCID MSGID SD [MSG].
fn parse_5424(body: &str) -> Option<Parts<'_>> {
    let mut fields = body.splitn(6, ' ');
    let timestamp = fields.next()?;
    let host = fields.next()?;
    let program = fields.next()?;
    let pid = fields.next()?;
    let _msgid = fields.next()?;
    let rest = fields.next().unwrap_or_default();

    let message = skip_structured_data(rest);
    let time = DateTime::parse_from_rfc3339(timestamp)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    Some(Parts {
        time,
        host: nil_to_empty(host),
        program: nil_to_empty(program),
        pid: Some(pid).filter(|p| *p != "-"),
        message: message.strip_prefix('\u{feff}').unwrap_or(message),
    })
}

fn nil_to_empty(value: &str) -> &str {
    if value == "-" { "" } else { value }
}

/// Skips `-` or a run of `[...]` structured-data elements (with `\]` escapes).
fn skip_structured_data(rest: &str) -> &str {
    if let Some(message) = rest.strip_prefix('-') {
        return message.trim_start();
    }
    let mut in_element = false;
    let mut escaped = false;
    for (at, c) in rest.char_indices() {
        match (in_element, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, ']') => in_element = false,
            (false, _, '[') => in_element = true,
            (false, _, ' ') => return rest.get(at + 1..).unwrap_or_default(),
            (false, _, _) => return rest.get(at..).unwrap_or_default(),
            _ => {}
        }
    }
    ""
}

/// RFC 3164 / auth.log: `Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, or an ISO timestamp first.
fn parse_3164(text: &str, now: DateTime<Utc>) -> Option<Parts<'_>> {
    let (time, rest) = split_3164_time(text, now)?;
    let rest = rest.trim_start();
    let (host, rest) = rest.split_once(' ')?;
    let (tag, message) = match rest.split_once(": ") {
        Some((tag, message)) if !tag.contains(' ') => (tag, message),
        _ => ("", rest),
    };
    let (program, pid) = match tag.rsplit_once('[') {
        Some((program, pid)) => (program, pid.strip_suffix(']')),
        None => (tag.trim_end_matches(':'), None),
    };
    Some(Parts {
        time: Some(time),
        host,
        program,
        pid,
        message,
    })
}

fn split_3164_time(text: &str, now: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
    // ISO 8601, as rsyslog writes with high-precision timestamps.
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (stamp, rest) = text.split_once(' ')?;
        let time = DateTime::parse_from_rfc3339(stamp)
            .ok()?
            .with_timezone(&Utc);
        return Some((time, rest));
    }

    let stamp = text.get(..15)?;
    let rest = text.get(15..)?;
    let with_year = format!("{} {}", now.year(), stamp.replace("  ", " 0"));
    let naive = NaiveDateTime::parse_from_str(&with_year, "%Y %b %d %H:%M:%S").ok()?;
    let mut time = Utc.from_utc_datetime(&naive);
    // A December line read in January belongs to last year.
    if time > now + chrono::Duration::days(1) {
        let last_year = naive.with_year(now.year() - 1)?;
        time = Utc.from_utc_datetime(&last_year);
    }
    Some((time, rest))
}

fn build_record(parts: Parts<'_>, priority: Option<u8>, origin: Origin) -> LogRecord {
    let mut fields = Map::new();
    fields.insert("message".into(), Value::from(parts.message));
    if !parts.host.is_empty() {
        fields.insert("host".into(), Value::from(parts.host));
    }
    if !parts.program.is_empty() {
        fields.insert("program".into(), Value::from(parts.program));
    }
    if let Some(pid) = parts.pid {
        fields.insert("pid".into(), Value::from(pid));
    }
    if let Some(pri) = priority {
        fields.insert("facility".into(), Value::from(pri / 8));
        fields.insert("severity".into(), Value::from(pri % 8));
    }

    let source = linux_source(parts.program, priority.map(|p| p / 8));
    let mut record = LogRecord::new(fields, origin);
    record.time = parts.time;
    record.host = Some(parts.host.to_string()).filter(|h| !h.is_empty());
    record.source = source;
    record
}

/// The Sigma log source of a Linux syslog line: `syslog`, plus the service of its program.
fn linux_source(program: &str, facility: Option<u8>) -> RecordSource {
    let base = program
        .split('(')
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase();
    let mut source = RecordSource::new("linux", Some("syslog"));
    let service = match base.as_str() {
        "sshd" => Some("sshd"),
        "sudo" => Some("sudo"),
        "cron" | "crond" => Some("cron"),
        "vsftpd" => Some("vsftpd"),
        "clamd" | "freshclam" => Some("clamav"),
        "guacd" => Some("guacamole"),
        _ => None,
    };
    if let Some(service) = service {
        source = source.with_service(service);
    }
    let auth_program = matches!(
        base.as_str(),
        "sshd"
            | "sudo"
            | "su"
            | "login"
            | "passwd"
            | "useradd"
            | "usermod"
            | "userdel"
            | "groupadd"
            | "systemd-logind"
            | "gdm-password"
            | "polkitd"
            | "unix_chkpwd"
    );
    if auth_program || matches!(facility, Some(FACILITY_AUTH | FACILITY_AUTHPRIV)) {
        source = source.with_service("auth");
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 18, 0, 0).unwrap()
    }

    fn parse(line: &str) -> RecordResult {
        parse_syslog_line(line.as_bytes(), Origin::default(), now())
    }

    #[test]
    fn auth_log_line() {
        let record =
            parse("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186")
                .unwrap();

        assert_eq!(record.str("host"), Some("LabSZ"));
        assert_eq!(record.str("program"), Some("sshd"));
        assert_eq!(record.str("pid"), Some("24200"));
        assert_eq!(
            record.str("message"),
            Some("Invalid user webmaster from 173.234.31.186")
        );
        assert_eq!(record.source.services, ["syslog", "sshd", "auth"]);
        assert_eq!(
            record.time.unwrap().to_rfc3339(),
            "2025-12-10T06:55:46+00:00"
        );
    }

    #[test]
    fn rfc3164_with_priority_and_single_digit_day() {
        let record =
            parse("<38>Jun  4 15:16:01 combo sshd(pam_unix)[19939]: authentication failure")
                .unwrap();

        assert_eq!(record.int("facility"), Some(4));
        assert_eq!(record.int("severity"), Some(6));
        assert_eq!(record.str("program"), Some("sshd(pam_unix)"));
        assert!(record.source.services.contains(&"auth".to_string()));
        assert_eq!(
            record.time.unwrap().to_rfc3339(),
            "2026-06-04T15:16:01+00:00"
        );
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let line = r#"<165>1 2026-12-03T02:14:00.003Z ct-scanner.hospital.local agent 811 ID47 [ex@32473 iut="3" note="a\]b"] BOMlogon failed"#;
        let record = parse(line).unwrap();

        assert_eq!(record.str("host"), Some("ct-scanner.hospital.local"));
        assert_eq!(record.str("program"), Some("agent"));
        assert_eq!(record.str("message"), Some("BOMlogon failed"));
        assert_eq!(
            record.time.unwrap().to_rfc3339(),
            "2026-12-03T02:14:00.003+00:00"
        );
    }

    #[test]
    fn rfc5424_without_structured_data() {
        let record = parse("<34>1 2026-12-03T02:14:00Z host su - - - 'su root' failed").unwrap();
        assert_eq!(record.str("message"), Some("'su root' failed"));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse_syslog_line(b"\x00\x01\x02\xff\xfe", Origin::default(), now()).unwrap_err();
        assert!(err.reason.contains("binary"), "{}", err.reason);

        let err = parse("<999>Dec 10 06:55:46 h p: m").unwrap_err();
        assert!(err.reason.contains("PRI"), "{}", err.reason);

        let err = parse("hello world").unwrap_err();
        assert!(err.reason.contains("not a syslog line"), "{}", err.reason);
    }
}
