//! RFC 3339 timestamps ⇄ microseconds since the epoch, the store's time unit. Small enough
//! to own: consent events and audit entries need exactly this and nothing of a calendar
//! library.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `2026-11-23T09:30:00Z`, `2026-11-23T09:30:00.250+01:00` or a date alone
/// (`2026-11-23`, midnight UTC) into microseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad =
        || format!("time {text:?} is not RFC 3339; write e.g. 2026-11-23T09:30:00Z or 2026-11-23");
    let t = text.trim();
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let s = t.get(r).ok_or_else(bad)?;
        if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if b.len() == 10 {
        return Ok(days * 86_400_000_000);
    }
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &t[start..i];
        if frac.is_empty() {
            return Err(bad());
        }
        let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = six.parse().map_err(|_| bad())?;
    }
    let offset_s = match &t[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && (tz.starts_with('+') || tz.starts_with('-'))
            && tz.as_bytes()[3] == b':' =>
        {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(bad()),
    };
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss.min(59) - offset_s;
    Ok(secs * 1_000_000 + micros)
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Microseconds per day.
const DAY_US: i64 = 86_400 * 1_000_000;

/// The last microsecond (UTC) of the day `days` calendar days after the day of `us`.
pub fn end_of_day_after_days(us: i64, days: i64) -> i64 {
    (us.div_euclid(DAY_US) + days + 1) * DAY_US - 1
}

/// The last microsecond (UTC) of the day `months` calendar months after the day of `us`:
/// the same day of the month, or the month's last day when it has no such day (received
/// on 31 January, one month is 28 or 29 February), as the GDPR's time limits are read
/// (Regulation 1182/71, art. 3(2)(c)).
pub fn end_of_day_after_months(us: i64, months: i64) -> i64 {
    let (y, m, d) = civil_from_days(us.div_euclid(DAY_US));
    let index = y * 12 + (m - 1) + months;
    let (y, m) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let d = d.min(days_in_month(y, m));
    (days_from_civil(y, m, d) + 1) * DAY_US - 1
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic
/// Gregorian).
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (or with `.ffffff` when
/// there is a fraction).
pub fn format_rfc3339(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let base = rfc3339(secs);
    if frac == 0 {
        base
    } else {
        format!("{}.{frac:06}Z", base.trim_end_matches('Z'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_count_calendar_days_and_months_to_the_end_of_the_day() {
        let t = |s: &str| parse_rfc3339(s).unwrap();
        let received = t("2026-11-23T16:45:00Z");
        assert_eq!(
            format_rfc3339(end_of_day_after_days(received, 45)),
            "2027-01-07T23:59:59.999999Z"
        );
        assert_eq!(
            format_rfc3339(end_of_day_after_months(received, 1)),
            "2026-12-23T23:59:59.999999Z"
        );
        // No 31 February: the month's last day, leap years included.
        let jan31 = t("2026-01-31T08:00:00Z");
        assert_eq!(
            format_rfc3339(end_of_day_after_months(jan31, 1)),
            "2026-02-28T23:59:59.999999Z"
        );
        assert_eq!(
            format_rfc3339(end_of_day_after_months(t("2028-01-31"), 1)),
            "2028-02-29T23:59:59.999999Z"
        );
        // Three months (one plus a two-month extension) across a year end.
        assert_eq!(
            format_rfc3339(end_of_day_after_months(t("2026-11-30"), 3)),
            "2027-02-28T23:59:59.999999Z"
        );
        assert_eq!(
            format_rfc3339(end_of_day_after_days(t("1969-12-31T12:00:00Z"), 1)),
            "1970-01-01T23:59:59.999999Z"
        );
    }

    #[test]
    fn known_instants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("2000-03-01").unwrap(),
            951_868_800 * 1_000_000
        );
        assert_eq!(
            parse_rfc3339("2026-11-23T10:30:00+01:00").unwrap(),
            parse_rfc3339("2026-11-23T09:30:00Z").unwrap()
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00.25Z").unwrap() % 1_000_000,
            250_000
        );
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "yesterday",
            "2026-11-23T25:00:00Z",
            "2026-11-23T09:30Z",
            "2026-11-23T09:30:00",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for t in [
            "2026-11-23T09:30:00Z",
            "1999-12-31T23:59:59Z",
            "2024-02-29T12:00:00.000250Z",
        ] {
            assert_eq!(format_rfc3339(parse_rfc3339(t).unwrap()), t);
        }
    }
}
