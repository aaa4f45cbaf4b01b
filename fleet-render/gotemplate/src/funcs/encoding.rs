//! Checksums, base64 (the `base64` crate) and base32 with Go's error texts, and Go's `path`
//! functions.

pub(super) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Go's `base64.StdEncoding`: the standard alphabet with padding, and (Go not being strict)
/// unused bits of the last symbol may be set.
const GO_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
);

/// Standard base64 with padding (`base64.StdEncoding.EncodeToString`).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    GO_STD.encode(bytes)
}

/// `base64.StdEncoding.DecodeString`: line breaks (`\r`, `\n`) anywhere are skipped, and a
/// failure is Go's `CorruptInputError` text, `illegal base64 data at input byte N`, with N
/// an offset into the text as given.
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let raw = text.as_bytes();
    // Offsets (in `raw`) of the bytes that are not line breaks.
    let kept: Vec<usize> = (0..raw.len())
        .filter(|&i| raw[i] != b'\n' && raw[i] != b'\r')
        .collect();
    let symbols: Vec<u8> = kept.iter().map(|&i| raw[i]).collect();
    GO_STD.decode(&symbols).map_err(|e| {
        format!(
            "illegal base64 data at input byte {}",
            go_offset(&symbols, &kept, raw.len(), e)
        )
    })
}

/// Where Go's decoder stops, from the crate's error on the text without line breaks.
///
/// Go reads quanta of four symbols and reports the first offending byte; the crate agrees on a
/// bad byte except in two ways, handled here: it checks a lone trailing byte before the rest,
/// and it reports any `=` that does not end the input, while Go takes `=` in the third or
/// fourth place of a quantum as padding and then reports what follows it. A text that runs
/// out in the middle of a quantum (the crate's `InvalidLength`/`InvalidPadding`) is reported
/// by Go at the end of the input minus the symbols read of that quantum, or at the end when a
/// second `=` is missing.
fn go_offset(symbols: &[u8], kept: &[usize], len: usize, err: base64::DecodeError) -> usize {
    use base64::DecodeError as E;
    let is_symbol = |b: &u8| base64::alphabet::STANDARD.as_str().as_bytes().contains(b);
    // The first byte that is not a symbol: a bad byte or the first `=`.
    let first = match err {
        E::InvalidByte(at, _) | E::InvalidLastSymbol(at, _) => Some(
            symbols[..at]
                .iter()
                .position(|b| !is_symbol(b))
                .unwrap_or(at),
        ),
        E::InvalidLength(_) | E::InvalidPadding => symbols.iter().position(|b| !is_symbol(b)),
    };
    // Offset in the given text of symbol `i`, or the end.
    let at = |i: usize| kept.get(i).copied().unwrap_or(len);
    let Some(p) = first else {
        // Only symbols, the last quantum incomplete.
        return len - symbols.len() % 4;
    };
    if symbols[p] != b'=' {
        return at(p);
    }
    match p % 4 {
        0 | 1 => at(p),
        2 => match symbols.get(p + 1) {
            None => len,
            // Go reports the byte before the one that should have been `=`.
            Some(b'=') => at(p + 2),
            Some(_) => at(p + 1) - 1,
        },
        // Padding complete: what follows is trailing garbage.
        _ => at(p + 1),
    }
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(super) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(super) fn base32_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut buf = 0u64;
    let mut bits = 0;
    for (i, c) in text.bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let v = B32
            .iter()
            .position(|&b| b == c)
            .ok_or_else(|| format!("illegal base32 data at input byte {i}"))?;
        buf = (buf << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

/// Go's `path.Clean`.
pub(super) fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(super) fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

pub(super) fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

pub(super) fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funcs::call;
    use crate::value::GoValue;

    fn b64dec(text: &str) -> String {
        call("b64dec", &[GoValue::str(text)])
            .map(|v| v.sprint())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// What Go's `base64.StdEncoding.DecodeString` gives, worked out from `decodeQuantum`
    /// (`encoding/base64/base64.go`), and sprig's `b64dec` returning the error text as the
    /// value (`strings.go` `base64decode`).
    #[test]
    fn decode_errors_are_gos() {
        for (input, want) in [
            ("aGk=", "hi"),
            ("aGVsbG8gd29ybGQ=", "hello world"),
            ("", ""),
            // Line breaks anywhere are skipped, inside padding too.
            ("aG\r\nk=\n", "hi"),
            ("YQ=\n=", "a"),
            // Unused bits of the last symbol may be set (Go is not strict).
            ("YR==", "a"),
            // A bad byte.
            ("a$b", "illegal base64 data at input byte 1"),
            ("é", "illegal base64 data at input byte 0"),
            // Go scans in order; the crate looks at a lone trailing byte first.
            ("ab$c$", "illegal base64 data at input byte 2"),
            // The input ends inside a quantum: the quantum's start.
            ("YWJ", "illegal base64 data at input byte 0"),
            ("Y", "illegal base64 data at input byte 0"),
            ("YWJjZA", "illegal base64 data at input byte 4"),
            ("YW\nJj\nZA", "illegal base64 data at input byte 6"),
            // `=` first or second in a quantum.
            ("=", "illegal base64 data at input byte 0"),
            ("YWJjY===", "illegal base64 data at input byte 5"),
            // One `=` where two are needed: the end, or the byte before the wrong one.
            ("YWJjZA=", "illegal base64 data at input byte 7"),
            ("YQ=x", "illegal base64 data at input byte 2"),
            ("YQ=\nx", "illegal base64 data at input byte 3"),
            // Anything after the padding.
            ("YQ==YQ==", "illegal base64 data at input byte 4"),
            ("YQ===", "illegal base64 data at input byte 4"),
            ("YQ==\nx", "illegal base64 data at input byte 5"),
            ("YWI=x", "illegal base64 data at input byte 4"),
        ] {
            assert_eq!(b64dec(input), want, "{input:?}");
        }
    }

    #[test]
    fn encode_is_std_with_padding() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"a"), "YQ==");
        assert_eq!(base64_encode(b"hi"), "aGk=");
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64_decode("+/8=").as_deref(), Ok(&[0xfb, 0xff][..]));
    }
}
