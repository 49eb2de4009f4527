//! Delays written as `30s`, `30m`, `2h`, `1d` or combined, `1h30m`.

use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest delay accepted: one year.
const MAX_DELAY_SECS: u64 = 366 * 24 * 3600;

/// A delay before harm is felt, kept to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delay(Duration);

impl Delay {
    /// A delay of whole seconds.
    pub fn from_secs(secs: u64) -> Self {
        Delay(Duration::from_secs(secs))
    }

    /// The delay as a duration.
    pub fn duration(self) -> Duration {
        self.0
    }

    /// Parses `30m`, `2h`, `1h30m`, `45s`, `1d`; refuses bare numbers and unknown units.
    pub fn parse(text: &str) -> Result<Delay, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the delay is empty; write e.g. `30m`, `2h` or `1h30m`".into());
        }

        let mut total: u64 = 0;
        let mut number: Option<u64> = None;
        for c in text.chars() {
            if let Some(digit) = c.to_digit(10) {
                let n = number
                    .unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(digit));
                number = Some(n);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => {
                    return Err(format!(
                        "`{text}` has `{c}`; units are s, m, h and d, e.g. `30m`"
                    ));
                }
            };
            let n = number
                .take()
                .ok_or_else(|| format!("`{text}`: a number must come before `{c}`"))?;
            total = total.saturating_add(n.saturating_mul(unit));
        }

        if number.is_some() {
            return Err(format!(
                "`{text}` ends without a unit; write e.g. `{text}m`"
            ));
        }
        if total > MAX_DELAY_SECS {
            return Err(format!("`{text}` is over a year; write a shorter delay"));
        }
        Ok(Delay::from_secs(total))
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Delay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Delay::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Delay {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Delay".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+[smhd])+$",
            "description": "A delay such as `30m`, `2h`, `1d` or `1h30m`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_units() {
        assert_eq!(Delay::parse("30m").unwrap().duration().as_secs(), 1800);
        assert_eq!(Delay::parse("1h30m").unwrap().duration().as_secs(), 5400);
        assert_eq!(Delay::parse("1d").unwrap().to_string(), "1d");
        assert_eq!(Delay::parse("90m").unwrap().to_string(), "1h30m");
    }

    #[test]
    fn refuses_bare_numbers_and_unknown_units() {
        assert!(Delay::parse("30").unwrap_err().contains("without a unit"));
        assert!(Delay::parse("3w").unwrap_err().contains("units are"));
        assert!(Delay::parse("m").is_err());
        assert!(Delay::parse("9999d").is_err());
    }
}
