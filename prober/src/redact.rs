//! Keeping secrets out of logs, errors and the report: `Authorization`, `x-api-key` and
//! friends, URL user info, and query-string parameters that carry credentials (`token`,
//! `X-Amz-Signature`, `sig`, `api_key`, `code`, ...).

/// Headers whose values are never printed or stored.
const SENSITIVE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
];

/// Header or query parameter names are also sensitive when they contain one of these
/// (`x-auth-token`, `client_secret`, `X-Amz-Signature`, ...).
const SENSITIVE_PARTS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "signature",
    "credential",
    "apikey",
    "api_key",
    "api-key",
    "auth",
    "session",
    "cookie",
];

/// Query parameters whose values are never printed or stored, besides those matching
/// [`SENSITIVE_PARTS`]: short names signed URLs and OAuth flows use.
const SENSITIVE_QUERY: &[&str] = &["sig", "key", "code", "pwd", "pass", "jwt", "hmac"];

/// Placeholder shown instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Placeholder written in a URL's query string instead of a secret (URL-safe).
pub const REDACTED_QUERY: &str = "REDACTED";

fn contains_sensitive_part(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    SENSITIVE_PARTS.iter().any(|p| lower.contains(p))
}

/// True when the header's value must not be shown.
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name.trim()))
        || contains_sensitive_part(name)
}

/// True when the query parameter's value must not be shown (`name` as written, possibly
/// percent-encoded).
pub fn is_sensitive_query(name: &str) -> bool {
    let decoded = percent_decode_lossy(name);
    SENSITIVE_QUERY
        .iter()
        .any(|s| s.eq_ignore_ascii_case(decoded.trim()))
        || contains_sensitive_part(&decoded)
}

/// A `--header` argument as it may be shown: the value hidden when the name is sensitive. An
/// argument without a colon shows its first word only, and not even that when the word starts
/// with a sensitive name (`AuthorizationSECRET` -> `Authorization<redacted>`).
pub fn redact_header_arg(raw: &str) -> String {
    match raw.split_once(':') {
        Some((name, _)) if is_sensitive_header(name) => format!("{}: {REDACTED}", name.trim()),
        Some(_) => raw.to_owned(),
        None => {
            let word_end = raw.find(char::is_whitespace).unwrap_or(raw.len());
            let word = &raw[..word_end];
            let lower = word.to_ascii_lowercase();
            if let Some(s) = SENSITIVE.iter().find(|s| lower.starts_with(*s)) {
                format!("{}{REDACTED}", &word[..s.len()])
            } else if contains_sensitive_part(word) {
                REDACTED.to_owned()
            } else if word_end < raw.len() {
                format!("{word} {REDACTED}")
            } else {
                raw.to_owned()
            }
        }
    }
}

/// The query string with the values of sensitive parameters replaced by [`REDACTED_QUERY`].
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_sensitive_query(name) => format!("{name}={REDACTED_QUERY}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The URL as it may be shown: without user info (`https://user:pw@host/` -> `https://host/`)
/// and with the values of sensitive query parameters replaced (`?token=abc` ->
/// `?token=REDACTED`). Text that does not parse as a URL has anything before an `@` in its
/// authority replaced, and its query treated the same way.
pub fn redact_url(raw: &str) -> String {
    if let Ok(mut u) = url::Url::parse(raw.trim()) {
        if !u.username().is_empty() || u.password().is_some() {
            let _ = u.set_username("");
            let _ = u.set_password(None);
        }
        if let Some(q) = u.query().map(redact_query) {
            u.set_query(Some(&q));
        }
        return u.to_string();
    }
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = match rest[..end].rfind('@') {
        Some(at) => format!("{REDACTED}@{}", &rest[at + 1..end]),
        None => rest[..end].to_owned(),
    };
    let tail = &rest[end..];
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, format!("#{f}")),
                None => (query, String::new()),
            };
            format!("{path}?{}{fragment}", redact_query(query))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

fn percent_decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // From the bytes, not `&s[..]`: a multi-byte character after `%` is no hex digit
            // (slicing the text there panicked).
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_before_a_multi_byte_character_is_kept_not_a_panic() {
        // Found in review: `&s[i + 1..i + 3]` sliced inside `é` and panicked (an abort in
        // release) where the prober must answer a bad --url with exit 64.
        assert_eq!(percent_decode_lossy("%aé=1"), "%aé=1");
        assert_eq!(percent_decode_lossy("%é"), "%é");
        assert_eq!(percent_decode_lossy("a%20b"), "a b");
        let redacted = redact_query("%aé=1&token=S3CRET");
        assert!(!redacted.contains("S3CRET"), "{redacted}");
    }

    #[test]
    fn sensitive_headers_are_recognised_in_any_case() {
        for name in [
            "Authorization",
            "x-api-key",
            "X-API-KEY",
            " cookie ",
            "X-Auth-Token",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        assert!(!is_sensitive_header("accept"));
        assert!(!is_sensitive_header("x-rollcall-version"));
    }

    #[test]
    fn header_args_hide_secret_values() {
        assert_eq!(
            redact_header_arg("Authorization: Bearer s3cret"),
            "Authorization: <redacted>"
        );
        assert_eq!(redact_header_arg("x-api-key:k"), "x-api-key: <redacted>");
        assert_eq!(redact_header_arg("Accept: */*"), "Accept: */*");
        assert_eq!(redact_header_arg("NoColonHere"), "NoColonHere");
    }

    #[test]
    fn malformed_header_args_do_not_echo_secrets() {
        assert_eq!(
            redact_header_arg("AuthorizationSECRET"),
            "Authorization<redacted>"
        );
        assert_eq!(
            redact_header_arg("authorization Bearer SECRET"),
            "authorization<redacted>"
        );
        assert_eq!(
            redact_header_arg("Accept SECRET-ish value"),
            "Accept <redacted>"
        );
        assert_eq!(redact_header_arg("mytokenSECRET"), REDACTED);
    }

    #[test]
    fn urls_lose_user_info() {
        assert_eq!(
            redact_url("https://u:pw@example.com/a?b=1"),
            "https://example.com/a?b=1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/"
        );
        let unparsable = redact_url("http://user:pw@[bad/x");
        assert!(!unparsable.contains("pw"), "{unparsable}");
    }

    #[test]
    fn query_string_secrets_are_redacted() {
        let names = [
            "token",
            "X-Amz-Signature",
            "X-Amz-Credential",
            "X-Amz-Security-Token",
            "sig",
            "signature",
            "api_key",
            "apikey",
            "key",
            "code",
            "access_token",
            "password",
            "secret",
            "client_secret",
            "X%2DAmz%2DSignature",
        ];
        for name in names {
            let url = format!("https://h.example/p?keep=1&{name}=S3CRET&b=2#frag");
            let shown = redact_url(&url);
            assert!(!shown.contains("S3CRET"), "{name}: {shown}");
            assert!(shown.contains("keep=1") && shown.contains("b=2"), "{shown}");
            assert!(
                shown.contains(&format!("{name}={REDACTED_QUERY}")),
                "{shown}"
            );
        }
        let unparsable = redact_url("http://[bad/x?token=S3CRET&a=1");
        assert!(!unparsable.contains("S3CRET"), "{unparsable}");
        assert!(unparsable.contains("a=1"), "{unparsable}");
        assert_eq!(
            redact_url("https://h.example/p?version=7&x=y"),
            "https://h.example/p?version=7&x=y"
        );
    }
}
