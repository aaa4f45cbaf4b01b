//! Checksums, base64/base32 with Go's error texts, and Go's `path` functions.

pub(super) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 decoding with Go's error text (`illegal base64 data at input byte N`).
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let illegal = |i: usize| format!("illegal base64 data at input byte {i}");
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    let mut i = 0;
    let mut quantum = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' || c == b'\r' {
            i += 1;
            continue;
        }
        if c == b'=' {
            // Padding must complete the quantum and end the input.
            let need = match quantum {
                2 => 2,
                3 => 1,
                _ => return Err(illegal(i)),
            };
            let pads = bytes[i..]
                .iter()
                .filter(|&&b| b != b'\n' && b != b'\r')
                .count();
            if pads != need
                || bytes[i..]
                    .iter()
                    .any(|&b| b != b'=' && b != b'\n' && b != b'\r')
            {
                return Err(illegal(i + 1));
            }
            return Ok(out);
        }
        let v = B64.iter().position(|&b| b == c).ok_or_else(|| illegal(i))?;
        buf = (buf << 6) | v as u32;
        bits += 6;
        quantum = (quantum + 1) % 4;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
        i += 1;
    }
    if quantum != 0 {
        return Err(illegal(bytes.len()));
    }
    Ok(out)
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
