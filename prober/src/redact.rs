//! Keeping secrets out of logs, errors and the report: `Authorization`, `x-api-key` and
//! friends, and URL user info.

/// Headers whose values are never printed or stored.
const SENSITIVE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
];

/// Placeholder shown instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// True when the header's value must not be shown.
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name.trim()))
}

/// A `--header` argument as it may be shown: the value hidden when the name is sensitive.
pub fn redact_header_arg(raw: &str) -> String {
    match raw.split_once(':') {
        Some((name, _)) if is_sensitive_header(name) => format!("{}: {REDACTED}", name.trim()),
        _ => raw.to_owned(),
    }
}

/// The URL without user info (`https://user:pw@host/` -> `https://host/`). Text that does not
/// parse as a URL has anything before an `@` in its authority replaced.
pub fn redact_url(raw: &str) -> String {
    if let Ok(mut u) = url::Url::parse(raw.trim()) {
        if !u.username().is_empty() || u.password().is_some() {
            let _ = u.set_username("");
            let _ = u.set_password(None);
        }
        return u.to_string();
    }
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}{REDACTED}@{}", &rest[at + 1..]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_headers_are_recognised_in_any_case() {
        for name in ["Authorization", "x-api-key", "X-API-KEY", " cookie "] {
            assert!(is_sensitive_header(name), "{name}");
        }
        assert!(!is_sensitive_header("accept"));
    }

    #[test]
    fn header_args_hide_secret_values() {
        assert_eq!(
            redact_header_arg("Authorization: Bearer s3cret"),
            "Authorization: <redacted>"
        );
        assert_eq!(redact_header_arg("x-api-key:k"), "x-api-key: <redacted>");
        assert_eq!(redact_header_arg("Accept: */*"), "Accept: */*");
        assert_eq!(redact_header_arg("no colon"), "no colon");
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
}
