//! nginx 1.22's grammar of response-head lines: status lines, header lines, the CGI
//! `Status` value, `ngx_atoof`; each rule commented with the nginx behaviour it follows.

use crate::exchange::error::HeadErrorKind;

/// A range of the head: start and end offsets.
pub(super) type Span = (usize, usize);

/// A status line's code, minor version (for `HTTP/1.x`) and reason.
pub(super) type StatusLine = (u16, Option<u8>, Span);

/// `bytes` without the CRs at its end.
pub(super) fn trim_crs(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&b| b != b'\r')
        .map_or(0, |last| last + 1);
    bytes.get(..end).unwrap_or_default()
}

/// nginx's name and value of a valid header line's `content` (no CR or LF), and the
/// offset of the value in it. The name runs to the first colon, or is the whole line
/// when there is none (nginx: a header with an empty value). The value skips the spaces
/// after the colon and loses those at its end; tabs are part of it (nginx's
/// sw_space_before_value and sw_space_after_value know only the space).
pub(super) fn split_header(content: &[u8]) -> (&[u8], &[u8], usize) {
    let Some(colon) = content.iter().position(|&b| b == b':') else {
        return (content, &[], content.len());
    };
    let name = content.get(..colon).unwrap_or_default();
    let after = content.get(colon + 1..).unwrap_or_default();
    let start = after.iter().position(|&b| b != b' ').unwrap_or(after.len());
    let end = after
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let value = after.get(start..end).unwrap_or_default();
    (name, value, colon + 1 + start)
}

/// nginx's verdict on the bytes of a header line that are there (`bytes`: without its
/// LF, or the part of a line that has arrived): the kind and offset of the first bad
/// byte. Run only where httparse refused the line, or at the limit; this is
/// ngx_http_parse_header_line with `allow_underscores` (upstream), which differs from
/// httparse in that it accepts:
///
/// - name bytes outside RFC 9110's token: anything above space but DEL and `:` (nginx
///   flags them `invalid_header`, which only its client side acts on);
/// - a line with no colon (a header with an empty value);
/// - control bytes other than NUL, CR and LF in a value, DEL and a leading tab
///   included;
/// - any number of CRs before the LF that ends a header line (sw_almost_done stays on
///   a CR); the blank line, though, must be CRLF or LF (sw_header_almost_done);
/// - lines starting with `HTTP/` (skipped before this is called).
pub(super) fn check_line(bytes: &[u8]) -> Result<(), (HeadErrorKind, usize)> {
    let content = trim_crs(bytes);
    let Some(&first) = content.first() else {
        // A blank line so far: CRLF is fine, a second CR is not.
        return if bytes.len() > 1 {
            Err((HeadErrorKind::BareCr, 0))
        } else {
            Ok(())
        };
    };
    if content.starts_with(b"HTTP/") {
        return Ok(());
    }
    match first {
        b' ' | b'\t' => return Err((HeadErrorKind::FoldedLine, 0)),
        b'\r' => return Err((HeadErrorKind::BareCr, 0)),
        b':' => return Err((HeadErrorKind::InvalidHeaderName, 0)),
        _ => {}
    }
    let mut in_value = false;
    for (at, &b) in content.iter().enumerate() {
        match b {
            // A CR inside the line (the CRs at its end are trimmed) is followed by
            // something else than CR or LF.
            b'\r' => return Err((HeadErrorKind::BareCr, at)),
            b'\0' if in_value => return Err((HeadErrorKind::InvalidHeaderValue, at)),
            b':' if !in_value => in_value = true,
            0..=0x20 | 0x7f if !in_value => return Err((HeadErrorKind::InvalidHeaderName, at)),
            _ => {}
        }
    }
    Ok(())
}

/// The status line a first line starting with `HTTP/` (`line`, its LF included, at
/// offset `start`) holds, if nginx accepts it as one: code, minor version and reason.
pub(super) fn status_line(line: &[u8], start: usize) -> Option<StatusLine> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    // ngx_http_parse_status_line's sw_almost_done: one CR before the LF, no other.
    let text = body.strip_suffix(b"\r").unwrap_or(body);
    // httparse's strict grammar first (`HTTP/1.0` or `HTTP/1.1`, one space, three
    // digits, then a space and a printable reason, or the end of the line); every line
    // it accepts nginx accepts too, its reason starting at byte 13.
    let mut response = httparse::Response::new(&mut []);
    if let (Ok(httparse::Status::Partial), Some(code), Some(minor)) =
        (response.parse(line), response.code, response.version)
    {
        let reason = text.len().min(13);
        return Some((code, Some(minor), (start + reason, start + text.len())));
    }
    let (major, minor, code, reason) = nginx_status_line(text)?;
    let version = if major == 1 {
        u8::try_from(minor).ok()
    } else {
        None
    };
    Some((code, version, (start + reason, start + text.len())))
}

/// httparse's grammar for a status line (`httparse::Response::parse` with its default
/// configuration), on the first line of `buf`: `HTTP/1.0` or `HTTP/1.1`, one space,
/// three digits, then the line end, or a space and a reason of tabs, spaces, visible
/// bytes and bytes over 0x7f up to the line end; the line end is CRLF or LF. Returns the
/// code, the minor version, the length of the line without its line end and with it;
/// `None` when the line is not complete or not in that grammar. nginx accepts every
/// such line as a status line, as [`status_line`] reads it.
#[inline]
pub(super) fn strict_status_line(buf: &[u8]) -> Option<(u16, u8, usize, usize)> {
    let (version, rest) = buf.split_first_chunk::<8>()?;
    // One 8-byte compare, as httparse makes it.
    let minor = match u64::from_le_bytes(*version) {
        v if v == u64::from_le_bytes(*b"HTTP/1.1") => 1,
        v if v == u64::from_le_bytes(*b"HTTP/1.0") => 0,
        _ => return None,
    };
    let (&[space, hundreds, tens, ones], rest) = rest.split_first_chunk::<4>()?;
    let digit = |b: u8| b.is_ascii_digit().then(|| u16::from(b - b'0'));
    if space != b' ' {
        return None;
    }
    let code = digit(hundreds)? * 100 + digit(tens)? * 10 + digit(ones)?;
    // The bytes after the code: a reason (after a space) runs to the first byte that
    // may not be in one.
    let (text_len, rest) = match rest.split_first()? {
        (b' ', reason) => {
            let end = reason
                .iter()
                .position(|&b| !(b == b'\t' || (b >= b' ' && b != 0x7f)))?;
            (13 + end, reason.get(end..)?)
        }
        _ => (12, rest),
    };
    let line_end = match rest {
        [b'\n', ..] => 1,
        [b'\r', b'\n', ..] => 2,
        _ => return None,
    };
    Some((code, minor, text_len, text_len + line_end))
}

/// ngx_http_parse_status_line on one line's `text` (without its LF and the CR before
/// it), where httparse refused it: `(major, minor, code, reason offset)`. Beyond
/// httparse, nginx accepts
///
/// - any version `HTTP/M.m` with M from 1 and each number at most 999 (it checks
///   `> 99` before adding a digit; leading zeros are fine in the minor version);
/// - spaces before the code and between its digits (sw_status skips every space);
/// - `.` after the code (IIS's `403.1`);
/// - any byte but CR and LF in the reason, NUL included.
pub(super) fn nginx_status_line(text: &[u8]) -> Option<(u16, u16, u16, usize)> {
    let mut at = 5;
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        _ => None,
    };
    text.strip_prefix(b"HTTP/")?;
    // sw_first_major_digit: 1 to 9.
    let mut major = match text.get(at) {
        Some(&b @ b'1'..=b'9') => u16::from(b - b'0'),
        _ => return None,
    };
    at += 1;
    // sw_major_digit: digits until the dot.
    loop {
        let b = *text.get(at)?;
        at += 1;
        if b == b'.' {
            break;
        }
        if major > 99 {
            return None;
        }
        major = major * 10 + digit(b)?;
    }
    // sw_first_minor_digit, then sw_minor_digit: digits until the space.
    let mut minor = digit(*text.get(at)?)?;
    at += 1;
    loop {
        let b = *text.get(at)?;
        at += 1;
        if b == b' ' {
            break;
        }
        if minor > 99 {
            return None;
        }
        minor = minor * 10 + digit(b)?;
    }
    // sw_status: three digits, spaces skipped before and between them.
    let mut code = 0;
    let mut count = 0;
    while count < 3 {
        let b = *text.get(at)?;
        at += 1;
        if b != b' ' {
            code = code * 10 + digit(b)?;
            count += 1;
        }
    }
    // sw_space_after_status: the end of the line, a space or a dot.
    let reason = match text.get(at) {
        None => at,
        Some(b' ') => at + 1,
        Some(b'.') => at,
        Some(_) => return None,
    };
    // sw_status_text: anything but CR (LF is not in `text`).
    if text.get(reason..)?.contains(&b'\r') {
        return None;
    }
    Some((major, minor, code, reason))
}

/// The first Status header's verdict (`value` at offset `at`): ngx_atoi of its first
/// three bytes (the value must be at least that long: nginx reads the NUL after a
/// shorter one), and the reason after the code and one space; or the offset of the
/// first byte that is not a digit.
pub(super) fn cgi_status(value: &[u8], at: usize) -> Result<(u16, Span), usize> {
    let mut code = 0;
    for i in 0..3 {
        match value.get(i) {
            Some(&b) if b.is_ascii_digit() => code = code * 10 + u16::from(b - b'0'),
            _ => return Err(at + i),
        }
    }
    let reason = if value.get(3) == Some(&b' ') { 4 } else { 3 };
    Ok((code, (at + reason, at + value.len())))
}

/// ngx_atoof: one or more digits, at most `i64::MAX` (NGX_MAX_OFF_T_VALUE).
#[inline(always)]
pub(super) fn atoof(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    // 18 digits stay under 10^18, below `i64::MAX`: no overflow to check for, which
    // halves the work per digit of every real length.
    if value.len() <= 18 {
        let mut n: u64 = 0;
        for &b in value {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n * 10 + u64::from(digit);
        }
        return Some(n);
    }
    atoof_long(value)
}

/// [`atoof`] for a value of 19 digits or more, where the limit may be passed.
#[cold]
#[inline(never)]
pub(super) fn atoof_long(value: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (n <= i64::MAX.unsigned_abs()).then_some(n)
}

/// True when `value` holds `chunked`, in any case.
pub(super) fn contains_chunked(value: &[u8]) -> bool {
    value
        .windows(7)
        .any(|window| window.eq_ignore_ascii_case(b"chunked"))
}
