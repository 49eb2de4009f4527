//! ONVIF cameras: the notifications of a PullMessagesResponse.
//!
//! A pull-point poller (or a bridge) publishes the XML body of each
//! `PullMessagesResponse` on `site/onvif/{camera}`; the camera is named by the topic,
//! since the notifications do not name it. Topics understood (the last segments, after
//! any namespace prefix):
//!
//! | ONVIF topic | data item | observation |
//! |---|---|---|
//! | `RuleEngine/CellMotionDetector/Motion`, `VideoSource/MotionAlarm` | `IsMotion` / `State` | motion |
//! | `RuleEngine/TamperDetector/Tamper`, `VideoSource/GlobalSceneChange/*`, `VideoSource/ImageTooDark`... | `IsTamper` / `State` | tampering |
//! | `RuleEngine/LineDetector/Crossed` | `ObjectId` | line crossing |
//! | `RuleEngine/FieldDetector/ObjectsInside` | `IsInside` | field detection |
//!
//! Other topics are skipped. `PropertyOperation="Initialized"` messages that report an
//! inactive state are skipped too (they describe the state at subscription).

use chrono::{DateTime, Utc};
use roxmltree::{Document, Node};

use super::check_id;
use crate::error::{AdapterError, check_size};
use crate::observation::{Fact, Observation, System};

/// Most notifications read from one response.
pub const MAX_NOTIFICATIONS: usize = 1000;

/// Decodes a PullMessagesResponse (or a single Notify) body for `camera`.
pub fn decode(
    payload: &[u8],
    camera: &str,
    received: DateTime<Utc>,
) -> Result<Vec<Observation>, AdapterError> {
    check_size(payload)?;
    check_id("camera", camera)?;
    let text = std::str::from_utf8(payload).map_err(|e| AdapterError::Xml(e.to_string()))?;
    let document = Document::parse(text).map_err(|e| AdapterError::Xml(e.to_string()))?;

    let notifications: Vec<Node> = document
        .descendants()
        .filter(|n| n.tag_name().name() == "NotificationMessage")
        .collect();
    if notifications.len() > MAX_NOTIFICATIONS {
        return Err(AdapterError::field(
            "NotificationMessage",
            format!(
                "{} notifications, over {MAX_NOTIFICATIONS}",
                notifications.len()
            ),
        ));
    }

    let mut out = Vec::new();
    for node in notifications {
        if let Some(observation) = notification(node, camera, received)? {
            out.push(observation);
        }
    }
    Ok(out)
}

/// One NotificationMessage; `None` when its topic is not one we use.
fn notification(
    node: Node,
    camera: &str,
    received: DateTime<Utc>,
) -> Result<Option<Observation>, AdapterError> {
    let topic = child(node, "Topic")
        .and_then(|t| t.text())
        .map(strip_prefixes)
        .ok_or_else(|| AdapterError::field("Topic", "missing in a NotificationMessage"))?;
    let Some(message) = node
        .descendants()
        .find(|n| n.tag_name().name() == "Message" && n.attribute("UtcTime").is_some())
    else {
        return Err(AdapterError::field(
            "Message",
            "missing tt:Message with UtcTime",
        ));
    };

    let time = message.attribute("UtcTime").unwrap_or_default();
    let time = DateTime::parse_from_rfc3339(time)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| AdapterError::field("UtcTime", format!("`{time}`: {e}")))?;
    let initialized = message.attribute("PropertyOperation") == Some("Initialized");
    let flag = |names: &[&str]| data_flag(message, names);

    let fact = if topic.contains("MotionDetector") || topic.ends_with("MotionAlarm") {
        Fact::VideoMotion {
            active: flag(&["IsMotion", "State"]).unwrap_or(true),
        }
    } else if topic.contains("Tamper")
        || topic.contains("GlobalSceneChange")
        || topic.contains("ImageToo")
    {
        Fact::CameraTamper {
            active: flag(&["IsTamper", "State"]).unwrap_or(true),
        }
    } else if topic.contains("LineDetector") {
        Fact::LineCrossing {
            count: 1,
            door: None,
        }
    } else if topic.contains("FieldDetector") {
        Fact::FieldIntrusion {
            active: flag(&["IsInside", "State"]).unwrap_or(true),
        }
    } else {
        return Ok(None);
    };
    if initialized && !is_active(&fact) {
        return Ok(None);
    }

    let _ = received;
    Ok(Some(Observation {
        time,
        time_assumed: false,
        system: System::Onvif,
        device: camera.to_string(),
        zone: None,
        fact,
    }))
}

fn is_active(fact: &Fact) -> bool {
    match fact {
        Fact::VideoMotion { active }
        | Fact::CameraTamper { active }
        | Fact::FieldIntrusion { active } => *active,
        _ => true,
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.tag_name().name() == name)
}

/// `tns1:RuleEngine/tns1:X` -> `RuleEngine/X`.
fn strip_prefixes(topic: &str) -> String {
    topic
        .trim()
        .split('/')
        .map(|part| part.rsplit(':').next().unwrap_or(part))
        .collect::<Vec<_>>()
        .join("/")
}

/// The boolean value of the first Data SimpleItem named in `names`.
fn data_flag(message: Node, names: &[&str]) -> Option<bool> {
    let data = child(message, "Data")?;
    data.children()
        .filter(|n| n.tag_name().name() == "SimpleItem")
        .find(|n| {
            n.attribute("Name")
                .is_some_and(|name| names.contains(&name))
        })
        .and_then(|n| n.attribute("Value"))
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PullMessagesResponse body, in the shape cameras send.
    pub(crate) fn response(topic: &str, item: &str, value: &str, op: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
  xmlns:tev="http://www.onvif.org/ver10/events/wsdl" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"
  xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tns1="http://www.onvif.org/ver10/topics">
 <s:Body><tev:PullMessagesResponse>
  <tev:CurrentTime>2026-12-04T02:11:01Z</tev:CurrentTime>
  <tev:TerminationTime>2026-12-04T02:21:01Z</tev:TerminationTime>
  <wsnt:NotificationMessage>
   <wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">{topic}</wsnt:Topic>
   <wsnt:Message><tt:Message UtcTime="2026-12-04T02:11:00Z" PropertyOperation="{op}">
     <tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="vsc1"/></tt:Source>
     <tt:Data><tt:SimpleItem Name="{item}" Value="{value}"/></tt:Data>
   </tt:Message></wsnt:Message>
  </wsnt:NotificationMessage>
 </tev:PullMessagesResponse></s:Body></s:Envelope>"#
        )
    }

    fn facts(xml: &str) -> Vec<Fact> {
        decode(xml.as_bytes(), "cam-pharmacy", Utc::now())
            .unwrap()
            .into_iter()
            .map(|o| o.fact)
            .collect()
    }

    #[test]
    fn the_four_analytics_topics_are_read() {
        let motion = response(
            "tns1:RuleEngine/CellMotionDetector/Motion",
            "IsMotion",
            "true",
            "Changed",
        );
        assert_eq!(facts(&motion), [Fact::VideoMotion { active: true }]);
        let tamper = response(
            "tns1:RuleEngine/TamperDetector/Tamper",
            "IsTamper",
            "true",
            "Changed",
        );
        assert_eq!(facts(&tamper), [Fact::CameraTamper { active: true }]);
        let line = response(
            "tns1:RuleEngine/LineDetector/Crossed",
            "ObjectId",
            "7",
            "Changed",
        );
        assert_eq!(
            facts(&line),
            [Fact::LineCrossing {
                count: 1,
                door: None
            }]
        );
        let field = response(
            "tns1:RuleEngine/FieldDetector/ObjectsInside",
            "IsInside",
            "false",
            "Changed",
        );
        assert_eq!(facts(&field), [Fact::FieldIntrusion { active: false }]);
    }

    #[test]
    fn initial_inactive_states_and_other_topics_are_skipped() {
        let init = response(
            "tns1:VideoSource/MotionAlarm",
            "State",
            "false",
            "Initialized",
        );
        assert!(facts(&init).is_empty());
        let other = response(
            "tns1:Device/Trigger/DigitalInput",
            "LogicalState",
            "true",
            "Changed",
        );
        assert!(facts(&other).is_empty());
    }

    #[test]
    fn broken_xml_and_bad_times_are_typed_errors() {
        let err = decode(b"<s:Envelope><unclosed>", "cam", Utc::now()).unwrap_err();
        assert!(matches!(err, AdapterError::Xml(_)), "{err}");
        let bad_time = response("tns1:VideoSource/MotionAlarm", "State", "true", "Changed")
            .replace("2026-12-04T02:11:00Z", "noon");
        assert!(decode(bad_time.as_bytes(), "cam", Utc::now()).is_err());
    }
}
