//! Weekly schedules: `days: mon-fri`, `hours: "07:00-19:00"`, evaluated in local time.

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::model::{Period, Schedule};

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// A schedule with its periods parsed, ready to answer "is it open now?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    periods: Vec<ParsedPeriod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ParsedPeriod {
    /// Bit 0 is Monday.
    days: u8,
    start: u16,
    end: u16,
}

impl WeeklyHours {
    /// Parses every period of a schedule; the error names the first bad one.
    pub fn parse(schedule: &Schedule) -> Result<WeeklyHours, String> {
        let periods = schedule
            .open
            .iter()
            .map(parse_period)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WeeklyHours { periods })
    }

    /// True when local time `at` falls in one of the periods.
    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        let day = at.weekday().num_days_from_monday() as u8;
        let minute = (at.hour() * 60 + at.minute()) as u16;
        self.periods.iter().any(|p| p.covers(day, minute))
    }
}

impl ParsedPeriod {
    fn covers(&self, day: u8, minute: u16) -> bool {
        let on = |d: u8| self.days & (1 << d) != 0;
        if self.start < self.end {
            return on(day) && (self.start..self.end).contains(&minute);
        }
        // Runs past midnight: the evening of a listed day or the morning after it.
        let yesterday = (day + 6) % 7;
        (on(day) && minute >= self.start) || (on(yesterday) && minute < self.end)
    }
}

fn parse_period(period: &Period) -> Result<ParsedPeriod, String> {
    let days = parse_days(&period.days)?;
    let (start, end) = parse_hours(&period.hours)?;
    Ok(ParsedPeriod { days, start, end })
}

/// Parses `mon-fri`, `sat,sun`, `mon,wed-fri` or `daily` into a bit set (bit 0 Monday).
fn parse_days(text: &str) -> Result<u8, String> {
    let text = text.trim().to_ascii_lowercase();
    if text == "daily" {
        return Ok(0x7f);
    }

    let mut days = 0u8;
    for part in text.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let first = day_index(first.trim(), &text)?;
        let last = day_index(last.trim(), &text)?;
        if last < first {
            return Err(format!(
                "`{text}`: a day range runs forward, e.g. `mon-fri`"
            ));
        }
        for d in first..=last {
            days |= 1 << d;
        }
    }
    Ok(days)
}

fn day_index(name: &str, whole: &str) -> Result<u8, String> {
    DAY_NAMES
        .iter()
        .position(|d| *d == name)
        .map(|i| i as u8)
        .ok_or_else(|| {
            format!("`{whole}`: `{name}` is not a day; use mon..sun, ranges `mon-fri` or `daily`")
        })
}

/// Parses `07:00-19:00` into minutes since midnight; `24:00` is allowed as an end.
fn parse_hours(text: &str) -> Result<(u16, u16), String> {
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not `HH:MM-HH:MM`, e.g. `07:00-19:00`"))?;
    let start = parse_clock(start.trim(), text)?;
    let end = parse_clock(end.trim(), text)?;
    if start == end || start >= MINUTES_PER_DAY {
        return Err(format!(
            "`{text}` is empty; for all day write `00:00-24:00`"
        ));
    }
    Ok((start, end))
}

fn parse_clock(clock: &str, whole: &str) -> Result<u16, String> {
    let bad = || format!("`{whole}`: `{clock}` is not a time `HH:MM` from 00:00 to 24:00");
    let (h, m) = clock.split_once(':').ok_or_else(bad)?;
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    let minutes = h * 60 + m;
    if m >= 60 || minutes > MINUTES_PER_DAY {
        return Err(bad());
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(days: &str, hours: &str) -> WeeklyHours {
        let period = Period {
            days: days.into(),
            hours: hours.into(),
        };
        let schedule = Schedule {
            id: "s".into(),
            name: None,
            open: vec![period],
        };
        WeeklyHours::parse(&schedule).unwrap()
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn office_hours_on_weekdays_only() {
        let office = schedule("mon-fri", "07:00-19:00");
        assert!(office.is_open(at("2026-12-02 07:00"))); // a Wednesday
        assert!(!office.is_open(at("2026-12-02 19:00")));
        assert!(!office.is_open(at("2026-12-05 10:00"))); // a Saturday
    }

    #[test]
    fn night_shift_runs_past_midnight() {
        let night = schedule("fri", "22:00-06:00");
        assert!(night.is_open(at("2026-12-04 23:00")));
        assert!(night.is_open(at("2026-12-05 05:59")));
        assert!(!night.is_open(at("2026-12-04 05:00")));
    }

    #[test]
    fn bad_days_and_hours_are_explained() {
        assert!(
            parse_days("mon-fry")
                .unwrap_err()
                .contains("`fry` is not a day")
        );
        assert!(parse_days("fri-mon").is_err());
        assert!(parse_hours("7-19").is_err());
        assert!(parse_hours("07:00-25:00").is_err());
        assert_eq!(parse_hours("00:00-24:00").unwrap(), (0, 1440));
    }
}
