//! Durations written in poll configs and fault files: `250ms`, `5s`, `10m`, `1h`, `1m30s`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The longest duration accepted: one week.
const MAX_SPAN_MS: u64 = 7 * 24 * 3600 * 1000;

/// A duration kept to the millisecond, read from text such as `250ms` or `1m30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span(Duration);

impl Span {
    /// A span of whole milliseconds.
    pub fn from_millis(ms: u64) -> Self {
        Span(Duration::from_millis(ms))
    }

    /// The span as a standard duration.
    pub fn duration(self) -> Duration {
        self.0
    }

    /// Parses `250ms`, `5s`, `10m`, `1h` or a sum such as `1m30s`; refuses bare numbers.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the duration is empty; write e.g. `500ms`, `5s` or `10m`".into());
        }

        let mut total: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(format!(
                    "`{text}`: a number must come before each unit, e.g. `5s`"
                ));
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("`{text}` has a number too large"))?;
            rest = &rest[digits..];

            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit_ms = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "" => {
                    return Err(format!(
                        "`{text}` ends without a unit; write e.g. `{text}s`"
                    ));
                }
                other => {
                    return Err(format!(
                        "`{text}` has the unit `{other}`; units are ms, s, m and h"
                    ));
                }
            };
            rest = &rest[unit_len..];
            total = total.saturating_add(number.saturating_mul(unit_ms));
        }

        if total > MAX_SPAN_MS {
            return Err(format!("`{text}` is over a week; write a shorter duration"));
        }
        Ok(Span::from_millis(total))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) || ms == 0 {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(Span::parse("250ms").unwrap(), Span::from_millis(250));
        assert_eq!(Span::parse("5s").unwrap(), Span::from_millis(5000));
        assert_eq!(Span::parse("1m30s").unwrap(), Span::from_millis(90_000));
        assert_eq!(Span::parse("2h").unwrap(), Span::from_millis(7_200_000));
    }

    #[test]
    fn refuses_bare_numbers_and_unknown_units() {
        assert!(Span::parse("5").unwrap_err().contains("without a unit"));
        assert!(Span::parse("5d").unwrap_err().contains("`d`"));
        assert!(Span::parse("s").unwrap_err().contains("number must come"));
        assert!(Span::parse("").is_err());
        assert!(
            Span::parse("99999999h")
                .unwrap_err()
                .contains("over a week")
        );
    }
}
