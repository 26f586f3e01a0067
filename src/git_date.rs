//! The dates `keyhound git --since` and `--until` take, read the way `git log` reads the common
//! ones: `2024-01-31`, `2024-01-31 12:00`, `2024-01-31T12:00:00Z` or with an offset (`+02:00`),
//! and relative ones (`2 weeks ago`, `yesterday`). A date without an offset is UTC. Also how reports
//! write commit dates (`rfc3339`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch for `text`, relative dates counted back from `now`; an error
/// that shows the accepted forms.
pub fn parse(text: &str, now: i64) -> Result<i64, String> {
    let text = text.trim();
    relative(text, now)
        .or_else(|| absolute(text))
        .ok_or_else(|| {
            format!(
                "`{text}` is not a date: use 2024-01-31, 2024-01-31T12:00:00Z (or +02:00), or \
                 a relative date such as `2 weeks ago`; for the commits after a revision, use \
                 --range REV..HEAD"
            )
        })
}

/// Now, in seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `N unit(s) ago`, `yesterday`, `today`, `now`.
fn relative(text: &str, now: i64) -> Option<i64> {
    const DAY: i64 = 86_400;
    match text {
        "now" => return Some(now),
        "today" => return Some(now - now.rem_euclid(DAY)),
        "yesterday" => return Some(now - DAY),
        _ => {}
    }
    let mut words = text.split_whitespace();
    let count: i64 = words.next()?.parse().ok()?;
    let unit = words.next()?.trim_end_matches('s');
    if words.next() != Some("ago") || words.next().is_some() {
        return None;
    }
    let seconds = match unit {
        "second" => 1,
        "minute" => 60,
        "hour" => 3_600,
        "day" => DAY,
        "week" => 7 * DAY,
        "month" => 30 * DAY,
        "year" => 365 * DAY,
        _ => return None,
    };
    Some(now - count.checked_mul(seconds)?)
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS]` and `Z` or `±HH:MM`.
fn absolute(text: &str) -> Option<i64> {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = split_offset(time)?;
        let mut fields = clock.split(':');
        let hour = number(fields.next()?)?;
        let minute = number(fields.next()?)?;
        let second = fields.next().map_or(Some(0), number)?;
        if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        seconds += hour * 3_600 + minute * 60 + second - offset;
    }
    Some(seconds)
}

/// The clock and the offset east of UTC in seconds (`Z` or none: 0).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    match time.rfind(['+', '-']) {
        Some(at) => {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            Some((
                clock,
                sign * (number(hours)? * 3_600 + number(minutes)? * 60),
            ))
        }
        None => Some((time, 0)),
    }
}

fn number(text: &str) -> Option<i64> {
    (!text.is_empty() && text.len() <= 4 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `2024-05-01T12:34:56+02:00` from seconds since the epoch and a UTC offset in minutes.
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    // A crafted commit can carry any 64-bit time: keep to years 1 through 9999.
    let local = seconds
        .saturating_add(i64::from(offset_minutes) * 60)
        .clamp(-62_135_596_800, 253_402_300_799);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        offset / 60,
        offset % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_handles_offsets_and_dates_before_the_epoch() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_714_566_896, 120), "2024-05-01T14:34:56+02:00");
        assert_eq!(rfc3339(951_782_400, -330), "2000-02-28T18:30:00-05:30");
        assert_eq!(rfc3339(-86_400, 0), "1969-12-31T00:00:00+00:00");
        assert_eq!(rfc3339(i64::MAX, 60), "9999-12-31T23:59:59+01:00");
        assert_eq!(rfc3339(i64::MIN, -60), "0001-01-01T00:00:00-01:00");
    }

    #[test]
    fn absolute_dates_are_utc_unless_they_carry_an_offset() {
        assert_eq!(parse("1970-01-01", 0), Ok(0));
        assert_eq!(parse("2024-01-01", 0), Ok(1_704_067_200));
        assert_eq!(parse("2024-02-29T12:30:00Z", 0), Ok(1_709_209_800));
        assert_eq!(parse("2024-02-29 12:30", 0), Ok(1_709_209_800));
        assert_eq!(parse("2024-02-29T14:30:00+02:00", 0), Ok(1_709_209_800));
        assert_eq!(parse("2024-02-29T10:30:00-02:00", 0), Ok(1_709_209_800));
    }

    #[test]
    fn relative_dates_count_back_from_now() {
        let now = 1_000_000_000;
        assert_eq!(parse("2 weeks ago", now), Ok(now - 14 * 86_400));
        assert_eq!(parse("1 day ago", now), Ok(now - 86_400));
        assert_eq!(parse("yesterday", now), Ok(now - 86_400));
        assert_eq!(parse("3 months ago", now), Ok(now - 90 * 86_400));
    }

    #[test]
    fn refs_and_nonsense_are_refused_with_the_forms_that_work() {
        for text in [
            "main",
            "v1.2",
            "2024-13-01",
            "2024-01-01T25:00",
            "2 fortnights ago",
            "",
        ] {
            let err = parse(text, 0).unwrap_err();
            assert!(err.contains("--range REV..HEAD"), "{text}: {err}");
        }
    }
}
