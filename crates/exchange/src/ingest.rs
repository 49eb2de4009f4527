//! Turning bus messages into events, or into dead letters with a reason.

use safecare_bus::topics::{self, Topic};
use safecare_core::{Module, SecurityEvent};
use safecare_store::DeadLetter;

/// What one received message became.
#[derive(Debug)]
pub enum Decoded {
    Event(Box<SecurityEvent>),
    Rejected(DeadLetter),
}

/// Parses and checks one message received on `event/{module}`.
///
/// A message is refused when its topic is not an event topic of a known
/// module, when it is not a valid event, or when the event names another
/// module than its topic (a detector may publish only to its own topic).
pub fn decode(topic: &str, payload: &[u8]) -> Decoded {
    let Topic::Event(topic_module) = topics::parse(topic) else {
        return reject(
            "unknown",
            topic,
            "unknown_topic",
            "not an event topic",
            payload,
        );
    };
    let Some(module) = Module::from_name(topic_module) else {
        let reason = format!(
            "unknown module `{topic_module}` in the topic; known modules: {}",
            Module::ALL.map(Module::as_str).join(", ")
        );
        return reject(topic_module, topic, "unknown_module", &reason, payload);
    };

    let event = match SecurityEvent::from_json(payload) {
        Ok(event) => event,
        Err(err) => return reject(topic_module, topic, err.code(), &err.to_string(), payload),
    };
    if event.module != module {
        let reason = format!(
            "the event says module `{}` but was published on event/{module}; a detector may \
             publish only to its own topic",
            event.module
        );
        return reject(topic_module, topic, "module_mismatch", &reason, payload);
    }

    Decoded::Event(Box::new(event))
}

fn reject(module: &str, topic: &str, code: &str, reason: &str, payload: &[u8]) -> Decoded {
    Decoded::Rejected(DeadLetter::new(module, topic, code, reason, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_json(module: &str) -> Vec<u8> {
        let event = SecurityEvent::new(Module::Net, "network.port_scan", 40, "scan");
        let mut value = serde_json::to_value(event).unwrap();
        value["module"] = module.into();
        serde_json::to_vec(&value).unwrap()
    }

    fn rejected(decoded: Decoded) -> DeadLetter {
        match decoded {
            Decoded::Rejected(letter) => letter,
            Decoded::Event(event) => panic!("accepted {event:?}"),
        }
    }

    #[test]
    fn a_valid_event_on_its_own_topic_is_accepted() {
        assert!(matches!(
            decode("safecare/v1/event/net", &event_json("net")),
            Decoded::Event(_)
        ));
    }

    #[test]
    fn each_kind_of_bad_message_has_its_own_reason() {
        let cases: [(&str, Vec<u8>, &str); 5] = [
            ("safecare/v1/event/net", b"{oops".to_vec(), "malformed_json"),
            (
                "safecare/v1/event/toaster",
                event_json("net"),
                "unknown_module",
            ),
            ("safecare/v1/event/ot", event_json("net"), "module_mismatch"),
            (
                "safecare/v1/event/net",
                br#"{"id":5}"#.to_vec(),
                "wrong_field",
            ),
            (
                "safecare/v1/event/net",
                vec![b' '; safecare_core::MAX_MESSAGE_BYTES + 1],
                "too_large",
            ),
        ];
        for (topic, payload, code) in cases {
            let letter = rejected(decode(topic, &payload));
            assert_eq!(letter.reason_code, code, "{topic}: {}", letter.reason);
        }
    }
}
