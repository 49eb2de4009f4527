//! The topic scheme: every topic starts with `safecare/v1/`.

/// The prefix of every SafeCare topic.
pub const ROOT: &str = "safecare/v1";

/// Subscribes to the events of every module.
pub const ALL_EVENTS: &str = "safecare/v1/event/+";
/// Subscribes to every module's heartbeat.
pub const ALL_HEALTH: &str = "safecare/v1/health/+";

/// `event/{module}`: one security event from a detector (QoS 1).
pub fn event(module: &str) -> String {
    format!("{ROOT}/event/{module}")
}

/// `telemetry/{sensor}`: one sensor reading (QoS 0).
pub fn telemetry(sensor: &str) -> String {
    format!("{ROOT}/telemetry/{sensor}")
}

/// `alert`: an alert on every state change (QoS 1).
pub const ALERT: &str = "safecare/v1/alert";
/// `incident`: an incident on every change (QoS 1).
pub const INCIDENT: &str = "safecare/v1/incident";
/// `impact`: the impact assessment of one incident (QoS 1).
pub const IMPACT: &str = "safecare/v1/impact";
/// `availability`: the hospital's availability as JSON (QoS 1, retained).
pub const AVAILABILITY: &str = "safecare/v1/availability";
/// `availability/have`: the same as EDXL-HAVE XML (QoS 1, retained).
pub const AVAILABILITY_HAVE: &str = "safecare/v1/availability/have";
/// `cap`: a CAP 1.2 XML message to staff (QoS 1).
pub const CAP: &str = "safecare/v1/cap";
/// `cap/ack`: acknowledgements of CAP messages (QoS 1).
pub const CAP_ACK: &str = "safecare/v1/cap/ack";

/// `command/{module}`: operator commands for a module (QoS 1).
pub fn command(module: &str) -> String {
    format!("{ROOT}/command/{module}")
}

/// `health/{module}`: a module's heartbeat (QoS 1, retained, last will).
pub fn health(module: &str) -> String {
    format!("{ROOT}/health/{module}")
}

/// `deadletter/{module}`: a rejected message and the reason (QoS 1).
pub fn deadletter(module: &str) -> String {
    format!("{ROOT}/deadletter/{module}")
}

/// A topic split into what it addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic<'a> {
    Event(&'a str),
    Telemetry(&'a str),
    Health(&'a str),
    Command(&'a str),
    DeadLetter(&'a str),
    Alert,
    Incident,
    Impact,
    Availability,
    AvailabilityHave,
    Cap,
    CapAck,
    /// Under `safecare/v1/` but not part of the scheme, or outside it.
    Unknown,
}

/// Splits a topic; anything outside the scheme is [`Topic::Unknown`].
pub fn parse(topic: &str) -> Topic<'_> {
    let Some(rest) = topic.strip_prefix(ROOT).and_then(|r| r.strip_prefix('/')) else {
        return Topic::Unknown;
    };
    let (head, tail) = match rest.split_once('/') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    };
    let name = match tail {
        Some(name) if !name.is_empty() && !name.contains('/') => Some(name),
        _ => None,
    };
    match (head, tail) {
        ("event", _) => name.map_or(Topic::Unknown, Topic::Event),
        ("telemetry", _) => name.map_or(Topic::Unknown, Topic::Telemetry),
        ("health", _) => name.map_or(Topic::Unknown, Topic::Health),
        ("command", _) => name.map_or(Topic::Unknown, Topic::Command),
        ("deadletter", _) => name.map_or(Topic::Unknown, Topic::DeadLetter),
        ("alert", None) => Topic::Alert,
        ("incident", None) => Topic::Incident,
        ("impact", None) => Topic::Impact,
        ("availability", None) => Topic::Availability,
        ("availability", Some("have")) => Topic::AvailabilityHave,
        ("cap", None) => Topic::Cap,
        ("cap", Some("ack")) => Topic::CapAck,
        _ => Topic::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_parser_agree() {
        assert_eq!(parse(&event("net")), Topic::Event("net"));
        assert_eq!(parse(&health("exchange")), Topic::Health("exchange"));
        assert_eq!(parse(&deadletter("ot")), Topic::DeadLetter("ot"));
        assert_eq!(
            parse(&telemetry("freezer-1")),
            Topic::Telemetry("freezer-1")
        );
        assert_eq!(parse(ALERT), Topic::Alert);
        assert_eq!(parse(AVAILABILITY_HAVE), Topic::AvailabilityHave);
        assert_eq!(parse(CAP_ACK), Topic::CapAck);
    }

    #[test]
    fn foreign_and_malformed_topics_are_unknown() {
        assert_eq!(parse("other/v1/event/net"), Topic::Unknown);
        assert_eq!(parse("safecare/v1/event"), Topic::Unknown);
        assert_eq!(parse("safecare/v1/event/net/extra"), Topic::Unknown);
        assert_eq!(parse("safecare/v1/alerts"), Topic::Unknown);
    }
}
