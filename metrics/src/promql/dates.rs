//! The calendar functions (`hour()`, `day_of_week()`, …): UTC civil dates from Unix seconds,
//! computed here (Howard Hinnant's algorithms) rather than through a date library.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateFn {
    DayOfMonth,
    DayOfWeek,
    DayOfYear,
    DaysInMonth,
    Hour,
    Minute,
    Month,
    Year,
}

impl DateFn {
    pub fn from_name(name: &str) -> Option<DateFn> {
        Some(match name {
            "day_of_month" => DateFn::DayOfMonth,
            "day_of_week" => DateFn::DayOfWeek,
            "day_of_year" => DateFn::DayOfYear,
            "days_in_month" => DateFn::DaysInMonth,
            "hour" => DateFn::Hour,
            "minute" => DateFn::Minute,
            "month" => DateFn::Month,
            "year" => DateFn::Year,
            _ => return None,
        })
    }

    /// The function of the time `secs` (Unix seconds, truncated to whole seconds as
    /// Prometheus's `time.Unix(int64(v), 0)`). NaN, infinite or absurd times give NaN
    /// (Prometheus answers with the date of an overflowed integer).
    pub fn apply(self, secs: f64) -> f64 {
        if !secs.is_finite() || secs.abs() > 1e15 {
            return f64::NAN;
        }
        let secs = secs as i64;
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (match self {
            DateFn::DayOfMonth => d,
            DateFn::DayOfWeek => (days + 4).rem_euclid(7),
            DateFn::DayOfYear => days - days_from_civil(y, 1, 1) + 1,
            DateFn::DaysInMonth => days_in_month(y, m),
            DateFn::Hour => of_day / 3600,
            DateFn::Minute => of_day % 3600 / 60,
            DateFn::Month => m,
            DateFn::Year => y,
        }) as f64
    }
}

/// `(year, month 1..=12, day 1..=31)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_across_eras() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn date_functions_read_utc_and_truncate_to_seconds() {
        // 2021-03-14T15:09:26.5Z, a Sunday.
        let t = 1_615_734_566.5;
        assert_eq!(DateFn::Year.apply(t), 2021.0);
        assert_eq!(DateFn::Month.apply(t), 3.0);
        assert_eq!(DateFn::DayOfMonth.apply(t), 14.0);
        assert_eq!(DateFn::DayOfWeek.apply(t), 0.0);
        assert_eq!(DateFn::DayOfYear.apply(t), 73.0);
        assert_eq!(DateFn::DaysInMonth.apply(t), 31.0);
        assert_eq!(DateFn::Hour.apply(t), 15.0);
        assert_eq!(DateFn::Minute.apply(t), 9.0);
        assert_eq!(DateFn::DaysInMonth.apply(951_782_400.0), 29.0); // 2000-02-29
        assert_eq!(DateFn::Year.apply(-1.0), 1969.0);
        assert!(DateFn::Year.apply(f64::NAN).is_nan());
    }
}
