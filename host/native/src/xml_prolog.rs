//! The byte-level refusals of the ISO 20022 admission check, made before
//! libxml2 sees a message: empty, too large, not UTF-8, not XML, an encoding
//! other than UTF-8 declared, a DOCTYPE or ENTITY declaration anywhere. The
//! host makes the same checks in TypeScript (host/payments/xsd.ts,
//! `precheckIsoMessage`); these run again here because the addon may be
//! called without them, and they are what keeps DTDs (external entities,
//! entity expansion) away from the parser whatever its options.
//!
//! Every check is one pass over the bytes: no backtracking on untrusted input.

#![deny(unsafe_code)]

/// A refusal: the line it concerns (0: the message as a whole) and why.
pub type Refusal = (u32, String);

/// An XML declaration longer than this is refused rather than searched:
/// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` is 55 bytes.
const DECLARATION_BYTES_MAX: usize = 256;

/// Checks `bytes` before parsing; the first refusal found, if any.
pub fn precheck(bytes: &[u8], bytes_max: usize) -> Result<(), Refusal> {
    if bytes.is_empty() {
        return Err((0, "empty body: an ISO 20022 message is an XML document".into()));
    }
    if bytes.len() > bytes_max {
        return Err((0, format!("{} bytes: over the limit of {bytes_max} bytes", bytes.len())));
    }
    if bytes.starts_with(&[0xfe, 0xff]) || bytes.starts_with(&[0xff, 0xfe]) {
        return Err((0, "a UTF-16 byte order mark: messages are UTF-8".into()));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err((line_at(bytes, at), format!("a NUL byte at byte {at}: not UTF-8 XML (UTF-16 or binary data?)")));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        (line_at(bytes, at), format!("not UTF-8: an invalid byte sequence at byte {at}"))
    })?;
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = body.trim_start_matches([' ', '\t', '\r', '\n']);
    if !start.starts_with('<') {
        let shown: String = start.chars().take(16).collect();
        return Err((0, format!("not XML: the body begins with {shown:?}")));
    }
    check_declared_encoding(body)?;
    check_markup_declarations(bytes)
}

/// Refuses an XML declaration that names an encoding other than UTF-8.
fn check_declared_encoding(body: &str) -> Result<(), Refusal> {
    let Some(rest) = body.strip_prefix("<?xml") else { return Ok(()) };
    if !rest.starts_with([' ', '\t', '\r', '\n']) {
        return Ok(()); // a processing instruction such as <?xml-stylesheet?>, which libxml2 judges
    }
    let window = &rest.as_bytes()[..rest.len().min(DECLARATION_BYTES_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"?>") else {
        return Err((1, format!("an XML declaration without its '?>' in its first {DECLARATION_BYTES_MAX} bytes")));
    };
    match encoding_of(&rest[..end]) {
        Some(name) if !name.eq_ignore_ascii_case("UTF-8") => {
            Err((1, format!("declared encoding {name:?}: messages are UTF-8")))
        }
        _ => Ok(()),
    }
}

/// The value of the `encoding` pseudo-attribute of a declaration's inside.
fn encoding_of(declaration: &str) -> Option<&str> {
    let at = declaration.find("encoding")?;
    let rest = declaration[at + "encoding".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|&c| c == '"' || c == '\'')?;
    let value = &rest[1..];
    Some(&value[..value.find(quote)?])
}

/// Refuses `<!DOCTYPE` and `<!ENTITY` anywhere, comments and CDATA
/// included: a message never needs those words there, and looking nowhere
/// else keeps this one linear pass.
fn check_markup_declarations(bytes: &[u8]) -> Result<(), Refusal> {
    // Lines are counted only for a refusal: the common case is one scan for '<'.
    let mut from = 0;
    while let Some(found) = bytes[from..].iter().position(|&b| b == b'<') {
        let at = from + found;
        if bytes.get(at + 1) == Some(&b'!') {
            let after = &bytes[at + 2..];
            if after.starts_with(b"DOCTYPE") {
                return Err((line_at(bytes, at), "a DOCTYPE declaration: DTDs and entities are refused".into()));
            }
            if after.starts_with(b"ENTITY") {
                return Err((line_at(bytes, at), "an ENTITY declaration: DTDs and entities are refused".into()));
            }
        }
        from = at + 1;
    }
    Ok(())
}

fn line_at(bytes: &[u8], at: usize) -> u32 {
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_encodings() {
        assert!(precheck(b"<?xml version='1.0' encoding='utf-8'?><a/>", 100).is_ok());
        assert!(precheck(b"<?xml version=\"1.0\"?><a/>", 100).is_ok());
        let (line, why) = precheck(b"<?xml version='1.0' encoding = \"ISO-8859-1\"?><a/>", 100).unwrap_err();
        assert_eq!((line, why.as_str()), (1, "declared encoding \"ISO-8859-1\": messages are UTF-8"));
    }

    #[test]
    fn declarations_anywhere() {
        let (line, why) = precheck(b"<?xml version='1.0'?>\n<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", 100).unwrap_err();
        assert_eq!(line, 2);
        assert!(why.starts_with("a DOCTYPE declaration"));
        assert!(precheck(b"<a><!-- <!ENTITY --></a>", 100).unwrap_err().1.starts_with("an ENTITY"));
    }

    #[test]
    fn not_xml() {
        assert_eq!(precheck(b"", 10).unwrap_err().0, 0);
        assert!(precheck(b"{\"a\":1}", 100).unwrap_err().1.starts_with("not XML"));
        assert!(precheck(&[0xff, 0xfe, b'<', 0], 100).unwrap_err().1.contains("UTF-16"));
        assert!(precheck(b"<a>\xc3</a>", 100).unwrap_err().1.starts_with("not UTF-8"));
        assert!(precheck(b"<a/>", 3).unwrap_err().1.contains("over the limit"));
    }
}
