//! Time formatting for the few shapes CloudTrail uses. All times are UTC
//! epoch seconds.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};

fn dt(t: i64) -> NaiveDateTime {
    DateTime::from_timestamp(t, 0)
        .expect("time in range")
        .naive_utc()
}

/// `2024-07-31T19:52:33Z` (eventTime, creationDate).
pub fn iso(t: i64) -> String {
    let d = dt(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `20240731T1955Z` for file names.
pub fn file_stamp(t: i64) -> String {
    let d = dt(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute()
    )
}

/// `2024/07/31` for the S3 key layout.
pub fn date_path(t: i64) -> String {
    let d = dt(t);
    format!("{:04}/{:02}/{:02}", d.year(), d.month(), d.day())
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `credentials.expiration`: `"Jul 31, 2024, 8:07:33 PM"` (`comma`) or
/// `"Sep 17, 2020 8:04:10 PM"`, both UTC without a zone marker (spec 2.4.8).
pub fn expiration(t: i64, comma: bool) -> String {
    let d = dt(t);
    let (pm, h12) = d.hour12();
    format!(
        "{} {}, {}{} {}:{:02}:{:02} {}",
        MONTHS[d.month0() as usize],
        d.day(),
        d.year(),
        if comma { "," } else { "" },
        h12,
        d.minute(),
        d.second(),
        if pm { "PM" } else { "AM" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // 2024-07-31T20:07:33Z
        let t = 1_722_456_453;
        assert_eq!(iso(t), "2024-07-31T20:07:33Z");
        assert_eq!(expiration(t, true), "Jul 31, 2024, 8:07:33 PM");
        assert_eq!(expiration(1_600_373_050, false), "Sep 17, 2020 8:04:10 PM");
        assert_eq!(file_stamp(t), "20240731T2007Z");
        assert_eq!(date_path(t), "2024/07/31");
        assert_eq!(expiration(1_593_561_600, true), "Jul 1, 2020, 12:00:00 AM");
    }
}
