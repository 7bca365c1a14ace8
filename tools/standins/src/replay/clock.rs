//! Time text for the replay server: RFC 3339 (Coinbase envelopes), Go's `time.String()`
//! (heartbeat `current_time`) and the `/time` endpoint's forms, all from integer UNIX
//! nanoseconds. Runs on the server's tokio tasks; pure functions, no clock reads except
//! [`now_unix_ns`].

use std::time::{SystemTime, UNIX_EPOCH};

const NS_PER_SECOND: u64 = 1_000_000_000;
const SECONDS_PER_DAY: u64 = 86_400;

/// Wall-clock UNIX nanoseconds (0 if the clock is before 1970).
pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD`, the separator, `HH:MM:SS` of `ns`, and its fractional nanoseconds.
fn civil_parts(ns: u64, separator: char) -> (String, u64) {
    let seconds = ns / NS_PER_SECOND;
    let (year, month, day) = civil_from_days((seconds / SECONDS_PER_DAY) as i64);
    let second_of_day = seconds % SECONDS_PER_DAY;
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let text = format!("{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}");
    (text, ns % NS_PER_SECOND)
}

/// `.123` for 123_000_000 ns: nine digits with trailing zeros trimmed; empty for zero.
fn trimmed_fraction(fraction_ns: u64) -> String {
    if fraction_ns == 0 {
        return String::new();
    }
    let digits = format!("{fraction_ns:09}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// RFC 3339 UTC with trailing zeros of the fraction trimmed, as Coinbase writes envelope
/// timestamps: `2026-08-09T21:05:48.59377133Z`.
pub fn format_rfc3339_ns(ns: u64) -> String {
    let (text, fraction_ns) = civil_parts(ns, 'T');
    format!("{text}{}Z", trimmed_fraction(fraction_ns))
}

/// RFC 3339 UTC with exactly three fractional digits (the `/time` endpoint's `iso`).
pub fn format_rfc3339_ms(ns: u64) -> String {
    let (text, fraction_ns) = civil_parts(ns, 'T');
    format!("{text}.{:03}Z", fraction_ns / 1_000_000)
}

/// Go's `time.String()` of a UTC time with a monotonic reading, as in heartbeats:
/// `2026-08-09 21:06:12.854802908 +0000 UTC m=+41715.260448204`.
pub fn format_go_time(wall_ns: u64, monotonic_ns: u64) -> String {
    let (text, fraction_ns) = civil_parts(wall_ns, ' ');
    let (mono_s, mono_frac) = (monotonic_ns / NS_PER_SECOND, monotonic_ns % NS_PER_SECOND);
    format!(
        "{text}{} +0000 UTC m=+{mono_s}.{mono_frac:09}",
        trimmed_fraction(fraction_ns)
    )
}

/// Parses `YYYY-MM-DD?HH:MM:SS[.fraction]` at the start of `text` (`?` = `separator`);
/// returns UNIX nanoseconds (fraction truncated to 9 digits) and the rest of the text.
fn parse_civil(text: &str, separator: u8) -> Option<(u64, &str)> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = bytes.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| {
            digits
                .iter()
                .fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'))
        })
    };
    let punctuation = [
        (4, b'-'),
        (7, b'-'),
        (10, separator),
        (13, b':'),
        (16, b':'),
    ];
    if punctuation
        .iter()
        .any(|&(index, byte)| bytes.get(index) != Some(&byte))
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = u64::try_from(days_from_civil(i64::from(year), month, day)).ok()?;
    let seconds = days * SECONDS_PER_DAY + u64::from(hour * 3600 + minute * 60 + second);
    let mut rest = &text[19..];
    let mut fraction_ns = 0u64;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let count = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return None;
        }
        for index in 0..9 {
            let digit = after_dot.as_bytes().get(index).filter(|_| index < count);
            fraction_ns = fraction_ns * 10 + digit.map_or(0, |&b| u64::from(b - b'0'));
        }
        rest = &after_dot[count..];
    }
    Some((seconds * NS_PER_SECOND + fraction_ns, rest))
}

/// Parses an RFC 3339 UTC (`Z`) timestamp with any number of fractional digits.
pub fn parse_rfc3339_ns(text: &str) -> Option<u64> {
    match parse_civil(text, b'T')? {
        (ns, "Z") => Some(ns),
        _ => None,
    }
}

/// Parses Go's `time.String()` form of a UTC time: `(wall_ns, monotonic_ns if present)`.
pub fn parse_go_time(text: &str) -> Option<(u64, Option<u64>)> {
    let (wall_ns, rest) = parse_civil(text, b' ')?;
    let rest = rest.strip_prefix(" +0000 UTC")?;
    if rest.is_empty() {
        return Some((wall_ns, None));
    }
    let monotonic = rest.strip_prefix(" m=+")?;
    let (seconds, fraction) = monotonic.split_once('.').unwrap_or((monotonic, ""));
    let seconds: u64 = seconds.parse().ok()?;
    let fraction_ns: u64 = if fraction.is_empty() {
        0
    } else {
        format!("{:0<9}", fraction.get(..fraction.len().min(9))?)
            .parse()
            .ok()?
    };
    Some((wall_ns, Some(seconds * NS_PER_SECOND + fraction_ns)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_the_recorded_forms() {
        // Proves recorded RFC 3339 stamps parse and print back identically; malformed ones fail.
        let ns = parse_rfc3339_ns("2026-08-09T21:05:48.59377133Z").expect("parses");
        assert_eq!(format_rfc3339_ns(ns), "2026-08-09T21:05:48.59377133Z");
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_rfc3339_ns(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339_ms(1_500_000_000), "1970-01-01T00:00:01.500Z");
        assert_eq!(
            parse_rfc3339_ns("2000-02-29T12:00:00.5Z"),
            Some(951_825_600_500_000_000)
        );
        for bad in [
            "",
            "2026-08-09",
            "2026-13-01T00:00:00Z",
            "2026-08-09T21:05:48.Z",
            "2026-08-09T21:05:48+01:00",
        ] {
            assert_eq!(parse_rfc3339_ns(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn go_time_round_trips_a_recorded_heartbeat() {
        // Proves a recorded heartbeat current_time parses and prints back identically.
        let text = "2026-08-09 21:06:12.854802908 +0000 UTC m=+41715.260448204";
        let (wall_ns, monotonic_ns) = parse_go_time(text).expect("parses");
        assert_eq!(
            format_go_time(wall_ns, monotonic_ns.expect("monotonic")),
            text
        );
        assert_eq!(
            parse_go_time("2026-08-09 21:06:12 +0000 UTC").map(|p| p.1),
            Some(None)
        );
    }

    #[test]
    fn civil_conversion_is_consistent_over_centuries() {
        // Proves the day/date conversions are inverse over +-2000 years.
        for days in (-800_000i64..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
