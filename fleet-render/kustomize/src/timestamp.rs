//! YAML timestamps as kustomize outputs them.
//!
//! Go's YAML libraries resolve an untagged plain scalar such as `2020-05-17` or
//! `2001-12-14 21:59:43.10` to a timestamp when `time.Parse` accepts it with one of four
//! layouts (`resolve.go` of go-yaml v2 and v3: `2006-1-2T15:4:5.999999999Z07:00`, the same
//! with a lower-case `t`, `2006-1-2 15:4:5.999999999` and `2006-1-2`). kustomize turns each
//! object into JSON before printing it (`Resource.AsYAML`: kyaml's `MarshalJSON` decodes the
//! node into Go values), so such a scalar comes out as the RFC 3339 text `encoding/json`
//! writes for a `time.Time`: `"2020-05-17T00:00:00Z"`. Quoted scalars stay as written.
//!
//! Two exceptions, both from the same round trip: kyaml re-encodes the node before decoding
//! it, and its encoder single-quotes a plain scalar holding `:` inside a flow collection, so
//! there a date-time is read back as a string; and the top-level annotations of an object
//! read from a resource file are string-tagged when kustomize loads it, so their text is kept
//! (annotations a strategic merge patch brings are not: they come out as timestamps).

use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

/// A date and time as `time.Parse` returns it for the YAML timestamp layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset from UTC in seconds; `0` prints as `Z`.
    offset: i32,
}

/// A one- or two-digit number, taken greedily (Go's `getnum` without `fixed`).
fn number(s: &[u8]) -> Option<(u32, &[u8])> {
    let d0 = s.first().filter(|c| c.is_ascii_digit())?;
    match s.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'), &s[2..])),
        None => Some((u32::from(d0 - b'0'), &s[1..])),
    }
}

fn literal(s: &[u8], c: u8) -> Option<&[u8]> {
    (s.first() == Some(&c)).then(|| &s[1..])
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// How the time of day is separated from the date in a layout.
#[derive(Clone, Copy)]
enum Layout {
    /// `T` or `t`, then a zone (`Z` or `±hh:mm`).
    Zoned(u8),
    /// One or more spaces, no zone (UTC).
    Spaced,
    /// The date alone (UTC midnight).
    DateOnly,
}

fn parse_with(s: &[u8], layout: Layout) -> Option<Timestamp> {
    if s.len() < 4 || !s[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = s[..4].iter().fold(0, |y, d| y * 10 + u32::from(d - b'0'));
    let rest = literal(&s[4..], b'-')?;
    let (month, rest) = number(rest)?;
    let rest = literal(rest, b'-')?;
    let (day, mut rest) = number(rest)?;
    let mut t = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: 0,
    };
    if !matches!(layout, Layout::DateOnly) {
        rest = match layout {
            Layout::Zoned(sep) => literal(rest, sep)?,
            // A space in a Go layout matches one or more spaces.
            _ => {
                let trimmed = rest.trim_ascii_start();
                if trimmed.len() == rest.len() && !rest.is_empty() {
                    return None;
                }
                trimmed
            }
        };
        let (hour, r) = number(rest)?;
        let (minute, r) = number(literal(r, b':')?)?;
        let (second, r) = number(literal(r, b':')?)?;
        (t.hour, t.minute, t.second, rest) = (hour, minute, second, r);
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        // An optional fraction: `.` or `,` and any number of digits, nine of them kept.
        if rest.len() >= 2 && matches!(rest[0], b'.' | b',') && rest[1].is_ascii_digit() {
            let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let kept = &rest[1..1 + digits.min(9)];
            let value = kept.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            t.nanos = value * 10u32.pow(9 - kept.len() as u32);
            rest = &rest[1 + digits..];
        }
        if matches!(layout, Layout::Zoned(_)) {
            if let Some(r) = literal(rest, b'Z') {
                rest = r;
            } else {
                if rest.len() < 6 || rest[3] != b':' {
                    return None;
                }
                let two = |b: &[u8]| -> Option<i32> {
                    b.iter()
                        .all(u8::is_ascii_digit)
                        .then(|| i32::from(b[0] - b'0') * 10 + i32::from(b[1] - b'0'))
                };
                let (hours, minutes) = (two(&rest[1..3])?, two(&rest[4..6])?);
                // Go accepts offsets up to 24 hours and 60 minutes.
                if hours > 24 || minutes > 60 {
                    return None;
                }
                let offset = (hours * 60 + minutes) * 60;
                t.offset = match rest[0] {
                    b'+' => offset,
                    b'-' => -offset,
                    _ => return None,
                };
                rest = &rest[6..];
            }
        }
    }
    if !rest.is_empty() || !(1..=12).contains(&t.month) || t.day < 1 {
        return None;
    }
    (t.day <= days_in(t.month, t.year)).then_some(t)
}

/// The timestamp a plain scalar resolves to in Go's YAML libraries, if any.
pub(crate) fn parse(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    // go-yaml's quick check: every layout starts with four digits and a dash.
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    [
        Layout::Zoned(b'T'),
        Layout::Zoned(b't'),
        Layout::Spaced,
        Layout::DateOnly,
    ]
    .into_iter()
    .find_map(|layout| parse_with(b, layout))
}

impl Timestamp {
    /// The text Go's `encoding/json` writes for the time (`time.RFC3339Nano`), or `None`
    /// where it refuses to (a zone offset of 24 hours or more).
    pub(crate) fn to_rfc3339(self) -> Option<String> {
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let minutes = self.offset.abs() / 60;
            if minutes / 60 >= 24 {
                return None;
            }
            let sign = if self.offset < 0 { '-' } else { '+' };
            out.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
        }
        Some(out)
    }
}

/// Whether the text has four digits, a dash and a digit somewhere: every timestamp does,
/// and most manifests do not, which spares them a second parse.
fn may_hold_timestamp(text: &str) -> bool {
    text.as_bytes()
        .windows(6)
        .any(|w| w[..4].iter().all(u8::is_ascii_digit) && w[4] == b'-' && w[5].is_ascii_digit())
}

/// A container being read: its style, and for a mapping the key of the entry being read
/// and whether the next node is a key.
struct Frame {
    flow: bool,
    mapping: Option<(Option<String>, bool)>,
}

/// Whether the value at this depth is one of the object's top-level annotations (or, in a
/// `List`, of one of its items).
fn is_top_annotation(frames: &[Frame]) -> bool {
    let keys: Vec<Option<&str>> = frames
        .iter()
        .map(|f| f.mapping.as_ref().and_then(|(k, _)| k.as_deref()))
        .collect();
    match keys.as_slice() {
        [Some("metadata"), Some("annotations"), _] => true,
        [
            Some("items"),
            None,
            Some("metadata"),
            Some("annotations"),
            _,
        ] => frames[1].mapping.is_none(),
        _ => false,
    }
}

/// Marks the node just read as complete in its parent: a key was read, or a value (the
/// next node is a key again).
fn node_done(frames: &mut [Frame], key: Option<String>) {
    if let Some(Frame {
        mapping: Some((current, key_next)),
        ..
    }) = frames.last_mut()
    {
        if *key_next {
            *current = key;
            *key_next = false;
        } else {
            *key_next = true;
        }
    }
}

fn is_key_position(frames: &[Frame]) -> bool {
    matches!(
        frames.last(),
        Some(Frame {
            mapping: Some((_, true)),
            ..
        })
    )
}

/// Rewrites the plain timestamps of a YAML stream as the double-quoted RFC 3339 text
/// kustomize prints for them, so that the rest of the build sees the strings kustomize
/// outputs. Text without such scalars is returned unchanged. A timestamp kustomize cannot
/// print (a zone offset of 24 hours) is an error naming it. `keep_annotations` keeps the
/// text of the objects' top-level annotations, as for resource files.
pub(crate) fn retime(text: &str, keep_annotations: bool) -> Result<Cow<'_, str>, String> {
    if !may_hold_timestamp(text) {
        return Ok(Cow::Borrowed(text));
    }
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(text) {
        // Syntax errors are left for the YAML reader to report.
        let Ok((event, span)) = event else {
            return Ok(Cow::Borrowed(text));
        };
        match event {
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                frames.push(Frame {
                    flow: style == StructureStyle::Flow,
                    mapping: is_map.then_some((None, true)),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
                node_done(&mut frames, None);
            }
            Event::Scalar(value, style, _, tag) => {
                let key = is_key_position(&frames);
                if !key && tag.is_none() && style == ScalarStyle::Plain {
                    let in_flow = frames.iter().any(|f| f.flow);
                    if let Some(ts) = parse(&value)
                        && !(in_flow && value.contains(':'))
                        && !(keep_annotations && is_top_annotation(&frames))
                    {
                        let rfc = ts.to_rfc3339().ok_or_else(|| {
                            format!("timestamp '{value}': zone offset out of range")
                        })?;
                        if let Some(range) = span.byte_range()
                            && text.get(range.clone()) == Some(value.as_ref())
                        {
                            edits.push((range, format!("\"{rfc}\"")));
                        }
                    }
                }
                node_done(&mut frames, key.then(|| value.into_owned()));
            }
            Event::Alias(_) => node_done(&mut frames, None),
            Event::DocumentEnd => frames.clear(),
            _ => {}
        }
    }
    if edits.is_empty() {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len() + edits.len() * 8);
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(s: &str) -> Option<String> {
        parse(s).and_then(Timestamp::to_rfc3339)
    }

    #[test]
    fn layouts_of_go_yaml() {
        assert_eq!(rfc("2020-05-17").as_deref(), Some("2020-05-17T00:00:00Z"));
        assert_eq!(rfc("2002-1-2").as_deref(), Some("2002-01-02T00:00:00Z"));
        assert_eq!(
            rfc("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            rfc("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        // Several spaces match the layout's one; hours may have one digit.
        assert_eq!(
            rfc("2020-05-17  1:2:3").as_deref(),
            Some("2020-05-17T01:02:03Z")
        );
        // A comma is a decimal separator too; only nine digits are kept.
        assert_eq!(
            rfc("2020-05-17T10:00:00,5Z").as_deref(),
            Some("2020-05-17T10:00:00.5Z")
        );
        assert_eq!(
            rfc("2020-05-17T10:00:00.1234567891Z").as_deref(),
            Some("2020-05-17T10:00:00.123456789Z")
        );
        // A zero offset prints as Z; offsets may say 60 minutes.
        assert_eq!(
            rfc("2020-05-17T10:00:00+00:00").as_deref(),
            Some("2020-05-17T10:00:00Z")
        );
        assert_eq!(
            rfc("2020-05-17T10:00:00+05:60").as_deref(),
            Some("2020-05-17T10:00:00+06:00")
        );
        assert_eq!(rfc("2020-02-29").as_deref(), Some("2020-02-29T00:00:00Z"));
    }

    #[test]
    fn not_timestamps() {
        for s in [
            "2001-12-14 21:59:43.10 -5", // the YAML spec's example Go cannot parse
            "2020-02-30",
            "2021-02-29",
            "2020-13-01",
            "2020-05-17T24:00:00Z",
            "2020-05-17T10:00:60Z",
            "2020-05-17t10:00:00z",
            "12020-05-17",
            "2020-05-17T10:00Z",
            "2020-05-17T10:00:00.Z",
            "2020-05-17T10:00:00",
            "2020-05-17 is a date",
            "2020-005-17",
            "4.5.6",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
        // Parsed, but Go's encoding/json refuses a 24-hour offset.
        assert_eq!(
            parse("2020-05-17T10:00:00+24:00").and_then(Timestamp::to_rfc3339),
            None
        );
    }

    #[test]
    fn retimes_plain_values_only() {
        let text = "a: 2020-05-17\nb: \"2020-05-17\"\nc: '2020-05-17'\nd: !!str 2020-05-17\n\
                    2020-05-17: key\nl:\n- 2020-05-17 10:00:00\nf: [2020-05-17, 2020-05-17 10:00:00]\n\
                    metadata:\n  annotations:\n    x: 2020-05-17\n  labels:\n    x: 2020-05-17\n";
        let out = retime(text, true).unwrap();
        assert_eq!(
            out,
            "a: \"2020-05-17T00:00:00Z\"\nb: \"2020-05-17\"\nc: '2020-05-17'\nd: !!str 2020-05-17\n\
             2020-05-17: key\nl:\n- \"2020-05-17T10:00:00Z\"\nf: [\"2020-05-17T00:00:00Z\", 2020-05-17 10:00:00]\n\
             metadata:\n  annotations:\n    x: 2020-05-17\n  labels:\n    x: \"2020-05-17T00:00:00Z\"\n"
        );
        assert!(matches!(retime("a: b\n", true).unwrap(), Cow::Borrowed(_)));
        assert!(!may_hold_timestamp("image: app:1.2.3\nport: 8080\n"));
        assert!(may_hold_timestamp("since: 2020-5-1\n"));
        assert!(retime("a: 2020-05-17T10:00:00+24:00\n", true).is_err());
        // A patch's annotations are timestamps like any other value.
        assert_eq!(
            retime("metadata:\n  annotations:\n    x: 2020-05-17\n", false).unwrap(),
            "metadata:\n  annotations:\n    x: \"2020-05-17T00:00:00Z\"\n"
        );
    }
}
