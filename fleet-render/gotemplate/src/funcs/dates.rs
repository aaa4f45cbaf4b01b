//! sprig's date functions with Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`).
//! Instants are UTC unless `dateInZone` puts them in an IANA zone (from the tz database
//! compiled into the crate, so rendering reads no files); Go's `Local` zone is UTC here, as in
//! a container without a `TZ`.

use std::rc::Rc;

use super::{Pure, R, str_param, want, want_at_least};
use crate::value::{GoValue, Object};

/// An instant (seconds and nanoseconds since the Unix epoch) and the zone it is shown in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time {
    secs: i64,
    nanos: u32,
    /// The zone's offset from UTC at this instant and its abbreviation (`CET`, `EST`, `+03`);
    /// `None` is UTC.
    zone: Option<(i32, Rc<str>)>,
}

impl Time {
    fn utc(secs: i64, nanos: u32) -> Time {
        Time {
            secs,
            nanos,
            zone: None,
        }
    }

    fn now() -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time::utc(d.as_secs() as i64, d.subsec_nanos())
    }

    /// The same instant in the IANA zone `name`, as Go's `t.In(time.LoadLocation(name))`; an
    /// unknown name gives UTC, as sprig's `dateInZone` falls back to. `Local` is UTC.
    fn in_zone(&self, name: &str) -> Time {
        let utc = Time::utc(self.secs, self.nanos);
        if name.is_empty() || name == "UTC" || name == "Local" {
            return utc;
        }
        let (Ok(tz), Ok(ts)) = (
            jiff::tz::TimeZone::get(name),
            jiff::Timestamp::new(self.secs, self.nanos as i32),
        ) else {
            return utc;
        };
        let info = tz.to_offset_info(ts);
        Time {
            zone: Some((info.offset().seconds(), Rc::from(info.abbreviation()))),
            ..utc
        }
    }

    fn offset(&self) -> i32 {
        self.zone.as_ref().map_or(0, |(o, _)| *o)
    }

    fn civil(&self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let local = self.secs + i64::from(self.offset());
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400) as u32;
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        let weekday = (days + 4).rem_euclid(7) as u32;
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60, weekday)
    }

    fn from_civil(y: i64, m: u32, d: u32, h: u32, min: u32, s: u32) -> Time {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Time::utc(
            days * 86_400 + i64::from(h) * 3600 + i64::from(min) * 60 + i64::from(s),
            0,
        )
    }

    /// Formats with a Go layout.
    pub fn format(&self, layout: &str) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        let (y, mo, d, h, mi, s, wd) = self.civil();
        let zone = |z: bool, colons: bool, minutes: bool, seconds: bool| {
            let off = self.offset();
            if z && off == 0 {
                return "Z".to_string();
            }
            let sign = if off < 0 { '-' } else { '+' };
            let a = off.unsigned_abs();
            let (hh, mm, ss) = (a / 3600, a / 60 % 60, a % 60);
            let sep = if colons { ":" } else { "" };
            let mut out = format!("{sign}{hh:02}");
            if minutes {
                out.push_str(&format!("{sep}{mm:02}"));
            }
            if seconds {
                out.push_str(&format!("{sep}{ss:02}"));
            }
            out
        };
        let abbreviation = self
            .zone
            .as_ref()
            .map_or_else(|| "UTC".to_string(), |(_, a)| a.to_string());
        // Longest first where one token starts another, as Go's layout scanner reads them.
        let tokens: [(&str, String); 32] = [
            ("January", MONTHS[mo as usize - 1].to_string()),
            ("Monday", DAYS[wd as usize].to_string()),
            ("Z070000", zone(true, false, true, true)),
            ("Z07:00:00", zone(true, true, true, true)),
            ("Z0700", zone(true, false, true, false)),
            ("Z07:00", zone(true, true, true, false)),
            ("Z07", zone(true, false, false, false)),
            ("-070000", zone(false, false, true, true)),
            ("-07:00:00", zone(false, true, true, true)),
            ("-0700", zone(false, false, true, false)),
            ("-07:00", zone(false, true, true, false)),
            ("2006", format!("{y:04}")),
            ("Jan", MONTHS[mo as usize - 1][..3].to_string()),
            ("Mon", DAYS[wd as usize][..3].to_string()),
            ("MST", abbreviation),
            (".000000000", format!(".{:09}", self.nanos)),
            (".000000", format!(".{:06}", self.nanos / 1000)),
            (".000", format!(".{:03}", self.nanos / 1_000_000)),
            (".999999999", trimmed_fraction(self.nanos, 9)),
            (".999999", trimmed_fraction(self.nanos / 1000, 6)),
            (".999", trimmed_fraction(self.nanos / 1_000_000, 3)),
            ("-07", zone(false, false, false, false)),
            ("01", format!("{mo:02}")),
            ("02", format!("{d:02}")),
            ("_2", format!("{d:>2}")),
            ("06", format!("{:02}", y.rem_euclid(100))),
            ("15", format!("{h:02}")),
            (
                "03",
                format!("{:02}", if h % 12 == 0 { 12 } else { h % 12 }),
            ),
            ("04", format!("{mi:02}")),
            ("05", format!("{s:02}")),
            ("PM", if h >= 12 { "PM" } else { "AM" }.into()),
            ("pm", if h >= 12 { "pm" } else { "am" }.into()),
        ];
        let singles: [(&str, String); 5] = [
            ("1", mo.to_string()),
            ("2", d.to_string()),
            ("3", (if h % 12 == 0 { 12 } else { h % 12 }).to_string()),
            ("4", mi.to_string()),
            ("5", s.to_string()),
        ];
        let mut out = String::new();
        let mut rest = layout;
        'outer: while !rest.is_empty() {
            for (tok, val) in tokens.iter().chain(singles.iter()) {
                if let Some(r) = rest.strip_prefix(tok) {
                    out.push_str(val);
                    rest = r;
                    continue 'outer;
                }
            }
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

fn trimmed_fraction(n: u32, width: usize) -> String {
    let s = format!("{n:0width$}");
    let t = s.trim_end_matches('0');
    if t.is_empty() {
        String::new()
    } else {
        format!(".{t}")
    }
}

impl Object for Time {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn member(&self, name: &str, args: &[GoValue]) -> Option<Result<GoValue, String>> {
        Some(Ok(match name {
            "Unix" => GoValue::Int64(self.secs),
            "UnixNano" => {
                GoValue::Int64(self.secs.saturating_mul(1_000_000_000) + i64::from(self.nanos))
            }
            "Year" => GoValue::Int(self.civil().0),
            "Month" => GoValue::Int(i64::from(self.civil().1)),
            "Day" => GoValue::Int(i64::from(self.civil().2)),
            "Hour" => GoValue::Int(i64::from(self.civil().3)),
            "Minute" => GoValue::Int(i64::from(self.civil().4)),
            "Second" => GoValue::Int(i64::from(self.civil().5)),
            "UTC" | "Local" => GoValue::Object(Rc::new(Time::utc(self.secs, self.nanos))),
            "Format" => match args.first() {
                Some(GoValue::Str(l)) => GoValue::from(self.format(l)),
                _ => return Some(Err("Format needs a layout string".into())),
            },
            _ => return None,
        }))
    }

    fn print(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    fn to_data(&self) -> GoValue {
        GoValue::from(self.format("2006-01-02T15:04:05.999999999Z07:00"))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// sprig's `toDate`-style input: a time object, or seconds since the epoch.
fn time_arg(v: &GoValue) -> Time {
    match v {
        GoValue::Object(o) => o
            .as_any()
            .downcast_ref::<Time>()
            .cloned()
            .unwrap_or_else(Time::now),
        GoValue::Int(i) | GoValue::Int64(i) => Time::utc(*i, 0),
        GoValue::Float(f) => Time::utc(*f as i64, 0),
        _ => Time::now(),
    }
}

/// Parses a date in a Go layout made of the common numeric tokens.
fn parse_layout(layout: &str, text: &str) -> Result<Time, String> {
    let err = || {
        format!(
            "parsing time {} as {}: cannot parse",
            crate::fmt::quote(text),
            crate::fmt::quote(layout)
        )
    };
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (0i64, 1u32, 1u32, 0u32, 0u32, 0u32);
    let (mut l, mut t) = (layout, text);
    let num = |t: &mut &str, n: usize| -> Result<u32, String> {
        let digits = t.get(..n).ok_or_else(err)?;
        let v = digits.parse::<u32>().map_err(|_| err())?;
        *t = &t[n..];
        Ok(v)
    };
    while !l.is_empty() {
        if let Some(r) = l.strip_prefix("2006") {
            y = i64::from(num(&mut t, 4)?);
            l = r;
        } else if let Some(r) = l.strip_prefix("01") {
            mo = num(&mut t, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("02") {
            d = num(&mut t, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("15") {
            h = num(&mut t, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("04") {
            mi = num(&mut t, 2)?;
            l = r;
        } else if let Some(r) = l.strip_prefix("05") {
            s = num(&mut t, 2)?;
            l = r;
        } else {
            let c = l.chars().next().unwrap_or(' ');
            if !t.starts_with(c) {
                return Err(err());
            }
            l = &l[c.len_utf8()..];
            t = &t[c.len_utf8()..];
        }
    }
    if !t.is_empty() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(err());
    }
    Ok(Time::from_civil(y, mo, d, h, mi, s))
}

/// Go's `time.ParseDuration` for `h`, `m`, `s`, `ms`, `us`, `ns` units; seconds.
fn parse_duration(text: &str) -> Result<f64, String> {
    let err = || format!("time: invalid duration {}", crate::fmt::quote(text));
    let (neg, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    let mut total = 0.0;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(err)?;
        let value: f64 = rest[..n].parse().map_err(|_| err())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(err()),
        };
        total += value * scale;
        rest = &rest[u..];
    }
    Ok(if neg { -total } else { total })
}

/// Go's `Duration.String` of whole seconds.
fn duration_string(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let neg = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{neg}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{neg}{m}m{sec}s")
    } else {
        format!("{neg}{sec}s")
    }
}

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        (
            "now",
            (|_: &[GoValue]| Ok(GoValue::Object(Rc::new(Time::now())))) as Pure,
        ),
        ("date", date),
        ("dateInZone", date_in_zone),
        ("date_in_zone", date_in_zone),
        ("htmlDate", |a| {
            want("htmlDate", a, 1)?;
            Ok(GoValue::from(time_arg(&a[0]).format("2006-01-02")))
        }),
        ("htmlDateInZone", |a| {
            want("htmlDateInZone", a, 2)?;
            let zone = str_param(a, 1)?;
            Ok(GoValue::from(
                time_arg(&a[0]).in_zone(&zone).format("2006-01-02"),
            ))
        }),
        ("unixEpoch", |a| {
            want("unixEpoch", a, 1)?;
            Ok(GoValue::from(time_arg(&a[0]).secs.to_string()))
        }),
        ("toDate", |a| {
            want("toDate", a, 2)?;
            Ok(parse_layout(&str_param(a, 0)?, &str_param(a, 1)?)
                .map(|t| GoValue::Object(Rc::new(t)))
                .unwrap_or_else(|_| GoValue::Object(Rc::new(Time::utc(-62_135_596_800, 0)))))
        }),
        ("mustToDate", |a| {
            want("mustToDate", a, 2)?;
            parse_layout(&str_param(a, 0)?, &str_param(a, 1)?).map(|t| GoValue::Object(Rc::new(t)))
        }),
        ("dateModify", |a| date_modify(a, false)),
        ("date_modify", |a| date_modify(a, false)),
        ("mustDateModify", |a| date_modify(a, true)),
        ("ago", |a| {
            want("ago", a, 1)?;
            let then = time_arg(&a[0]);
            Ok(GoValue::from(duration_string(Time::now().secs - then.secs)))
        }),
        ("duration", |a| {
            want("duration", a, 1)?;
            let secs = super::math::to_int64(&a[0]);
            Ok(GoValue::from(duration_string(secs)))
        }),
        ("durationRound", |a| {
            want("durationRound", a, 1)?;
            let secs = match &a[0] {
                GoValue::Str(s) => parse_duration(s).unwrap_or(0.0) as i64,
                other => super::math::to_int64(other) / 1_000_000_000,
            };
            let s = secs.unsigned_abs();
            let text = match s {
                s if s >= 31_536_000 => format!("{}y", s / 31_536_000),
                s if s >= 2_592_000 => format!("{}mo", s / 2_592_000),
                s if s >= 86_400 => format!("{}d", s / 86_400),
                s if s >= 3600 => format!("{}h", s / 3600),
                s if s >= 60 => format!("{}m", s / 60),
                s => format!("{s}s"),
            };
            Ok(GoValue::from(text))
        }),
    ]);
}

fn date(a: &[GoValue]) -> R {
    want("date", a, 2)?;
    Ok(GoValue::from(time_arg(&a[1]).format(&str_param(a, 0)?)))
}

fn date_in_zone(a: &[GoValue]) -> R {
    want("dateInZone", a, 3)?;
    let zone = str_param(a, 2)?;
    Ok(GoValue::from(
        time_arg(&a[1]).in_zone(&zone).format(&str_param(a, 0)?),
    ))
}

fn date_modify(a: &[GoValue], must: bool) -> R {
    want_at_least("dateModify", a, 2)?;
    let t = time_arg(&a[1]);
    match parse_duration(&str_param(a, 0)?) {
        Ok(d) => Ok(GoValue::Object(Rc::new(Time {
            secs: t.secs + d as i64,
            ..t
        }))),
        Err(e) if must => Err(e),
        Err(_) => Ok(GoValue::Object(Rc::new(t))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_format_and_parse() {
        let t = Time::from_civil(2024, 2, 29, 13, 5, 9);
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2024-02-29T13:05:09Z"
        );
        assert_eq!(t.format("Mon Jan _2 3:04PM"), "Thu Feb 29 1:05PM");
        assert_eq!(
            parse_layout("2006-01-02", "2024-02-29").map(|p| p.format("2006-01-02")),
            Ok("2024-02-29".to_string())
        );
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(duration_string(3725), "1h2m5s");
    }

    /// What Go's `t.In(time.LoadLocation(zone)).Format(layout)` prints for these instants.
    #[test]
    fn zones_format_as_go_does() {
        let winter = Time::from_civil(2024, 2, 29, 13, 5, 9);
        let summer = Time::from_civil(2024, 7, 1, 0, 0, 0);
        let layout = "2006-01-02 15:04:05 MST -0700 Z07:00 -07";
        for (t, zone, want) in [
            (
                &winter,
                "Europe/Berlin",
                "2024-02-29 14:05:09 CET +0100 +01:00 +01",
            ),
            (
                &summer,
                "Europe/Berlin",
                "2024-07-01 02:00:00 CEST +0200 +02:00 +02",
            ),
            (
                &winter,
                "America/New_York",
                "2024-02-29 08:05:09 EST -0500 -05:00 -05",
            ),
            (
                &winter,
                "Asia/Kolkata",
                "2024-02-29 18:35:09 IST +0530 +05:30 +05",
            ),
            // Zones whose tz database entry has no letters show the numeric abbreviation.
            (
                &winter,
                "Asia/Dubai",
                "2024-02-29 17:05:09 +04 +0400 +04:00 +04",
            ),
            (
                &summer,
                "America/Los_Angeles",
                "2024-06-30 17:00:00 PDT -0700 -07:00 -07",
            ),
            // A date crosses back over midnight and a month end.
            (
                &summer,
                "Pacific/Honolulu",
                "2024-06-30 14:00:00 HST -1000 -10:00 -10",
            ),
            // Unknown names fall back to UTC, as sprig's dateInZone does; Local is UTC here.
            (
                &winter,
                "Nowhere/Zone",
                "2024-02-29 13:05:09 UTC +0000 Z +00",
            ),
            (&winter, "Local", "2024-02-29 13:05:09 UTC +0000 Z +00"),
        ] {
            assert_eq!(t.in_zone(zone).format(layout), want, "{zone}");
        }
        let kolkata = winter.in_zone("Asia/Kolkata");
        assert_eq!(kolkata.format("Z070000 -07:00:00"), "+053000 +05:30:00");
        assert_eq!(kolkata.in_zone("UTC"), winter);
    }

    #[test]
    fn date_in_zone_and_html_date_in_zone_take_the_zone() {
        let t = GoValue::Object(Rc::new(Time::from_civil(2024, 2, 29, 20, 0, 0)));
        let tokyo = GoValue::from("Asia/Tokyo");
        let text = |r: R| match r {
            Ok(GoValue::Str(s)) => s.to_string(),
            other => panic!("not a string: {other:?}"),
        };
        assert_eq!(
            text(date_in_zone(&[
                GoValue::from("2006-01-02T15:04:05Z07:00"),
                t.clone(),
                tokyo.clone()
            ])),
            "2024-03-01T05:00:00+09:00"
        );
        let table: Vec<(&str, Pure)> = {
            let mut t = Vec::new();
            register(&mut t);
            t
        };
        let html = table
            .iter()
            .find(|(name, _)| *name == "htmlDateInZone")
            .map(|(_, f)| *f)
            .expect("registered");
        assert_eq!(text(html(&[t, tokyo])), "2024-03-01");
    }
}
