//! What a matching rule reports.

use rsigma_eval::{EvaluationResult, ResultBody};
use serde_json::Value;

/// A rule or correlation that matched a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The rule's `id`.
    pub rule_id: Option<String>,
    /// The rule's title.
    pub title: String,
    /// Sigma level: informational, low, medium, high, critical.
    pub level: Option<String>,
    /// The rule's tags (`attack.t1059.001`, ...).
    pub tags: Vec<String>,
    /// The fields that made the rule match, with the record's values.
    pub matched: Vec<(String, Value)>,
    /// Single rule or correlation.
    pub kind: DetectionKind,
}

/// A single-record rule, or a correlation over several records.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectionKind {
    /// A rule matched one record.
    Rule,
    /// A correlation crossed its threshold.
    Correlation {
        /// `event_count`, `value_count`, `temporal`, `temporal_ordered`, ...
        correlation_type: String,
        /// The group-by fields and their values.
        group: Vec<(String, String)>,
        /// The count (or sum) that crossed the threshold.
        value: f64,
        /// The correlation window.
        timespan_secs: u64,
    },
}

impl Detection {
    /// Converts an rsigma result.
    pub fn from_result(result: &EvaluationResult) -> Self {
        let header = &result.header;
        let (matched, kind) = match &result.body {
            ResultBody::Detection(body) => {
                let matched = body
                    .matched_fields
                    .iter()
                    .map(|m| (m.field.clone(), m.value.clone()))
                    .collect();
                (matched, DetectionKind::Rule)
            }
            ResultBody::Correlation(body) => {
                let correlation_type = serde_json::to_value(body.correlation_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let kind = DetectionKind::Correlation {
                    correlation_type,
                    group: body.group_key.clone(),
                    value: body.aggregated_value,
                    timespan_secs: body.timespan_secs,
                };
                (Vec::new(), kind)
            }
        };
        Detection {
            rule_id: header.rule_id.clone(),
            title: header.rule_title.clone(),
            level: header.level.map(|l| l.as_str().to_string()),
            tags: header.tags.clone(),
            matched,
            kind,
        }
    }

    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags, upper-cased.
    pub fn techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|tag| tag.strip_prefix("attack."))
            .filter(|id| {
                let mut chars = id.chars();
                matches!(chars.next(), Some('t' | 'T'))
                    && chars.next().is_some_and(|c| c.is_ascii_digit())
            })
            .map(str::to_ascii_uppercase)
            .collect()
    }

    /// 0-100 severity from the Sigma level.
    pub fn severity(&self) -> u8 {
        match self.level.as_deref() {
            Some("critical") => 90,
            Some("high") => 70,
            Some("medium") => 50,
            Some("low") => 30,
            _ => 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn techniques_come_from_attack_t_tags_only() {
        let detection = Detection {
            rule_id: None,
            title: "t".into(),
            level: Some("high".into()),
            tags: [
                "attack.execution",
                "attack.t1059.001",
                "attack.T1105",
                "cve.2021-1",
            ]
            .map(String::from)
            .to_vec(),
            matched: Vec::new(),
            kind: DetectionKind::Rule,
        };
        assert_eq!(detection.techniques(), ["T1059.001", "T1105"]);
        assert_eq!(detection.severity(), 70);
    }
}
