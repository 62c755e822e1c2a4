//! `--url`: the target split the way the connection code needs it, its user info as basic
//! auth, and its query as SigV4 signs it.

use base64::Engine as _;
use http::Uri;
use http::header::HeaderValue;

use crate::error::ProberError;
use crate::redact::redact_url;

/// URL scheme of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// Where requests go, split the way the connection code needs it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host name or IP literal (without brackets), for DNS and TLS server name.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Full URI (for HTTP/2 requests).
    pub uri: Uri,
    /// Origin-form URI, path and query (for HTTP/1.1 requests).
    pub origin_form: Uri,
    /// Value of the `Host` header.
    pub host_header: HeaderValue,
    /// The URL with user info and query-string secrets removed, for logs and the report.
    pub redacted: String,
}

/// With `--sigv4`: the query as the signature reads it (each name and value decoded, `+` as a
/// space, and encoded again the SigV4 way), so that what is sent is exactly what is signed.
pub(super) fn sign_query_as_sent(target: &mut Target) -> Result<(), ProberError> {
    let Some(query) = target.uri.query() else {
        return Ok(());
    };
    let canonical = crate::aws::sigv4::canonical_query(query);
    if canonical == query {
        return Ok(());
    }
    let bad = || ProberError::invalid("--url", &target.redacted, "the query cannot be signed");
    let pq = format!("{}?{canonical}", target.uri.path());
    let mut parts = target.uri.clone().into_parts();
    parts.path_and_query = Some(pq.parse().map_err(|_| bad())?);
    target.uri = Uri::from_parts(parts).map_err(|_| bad())?;
    target.origin_form = pq.parse().map_err(|_| bad())?;
    Ok(())
}

/// Parses `--url`; user info becomes a (sensitive) basic `Authorization` header.
pub(super) fn parse_target(raw: &str) -> Result<(Target, Option<HeaderValue>), ProberError> {
    let shown = redact_url(raw);
    let bad = |reason: &str| ProberError::invalid("--url", &shown, reason);
    let url = url::Url::parse(raw.trim()).map_err(|e| {
        bad(&format!(
            "{e}; give an absolute URL such as https://host/path"
        ))
    })?;
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(bad("the scheme must be http or https")),
    };
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => return Err(bad("the URL has no host; give e.g. http://127.0.0.1:3000/")),
    };
    let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
    let basic = if url.username().is_empty() {
        None
    } else {
        let user = percent_decode(url.username());
        let pass = url.password().map(percent_decode).unwrap_or_default();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut v = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| bad("the user info cannot be sent as basic auth"))?;
        v.set_sensitive(true);
        Some(v)
    };
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    // Requests carry the query as given; logs and artifacts show it redacted.
    let redacted = redact_url(clean.as_str());
    let uri: Uri = clean
        .as_str()
        .parse()
        .map_err(|_| bad("not a valid HTTP URI"))?;
    let pq = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let origin_form: Uri = pq.parse().map_err(|_| bad("not a valid path"))?;
    let authority = uri
        .authority()
        .ok_or_else(|| bad("no authority"))?
        .as_str()
        .to_owned();
    let host_header = HeaderValue::from_str(&authority).map_err(|_| bad("bad host"))?;
    Ok((
        Target {
            scheme,
            host,
            port,
            uri,
            origin_form,
            host_header,
            redacted,
        },
        basic,
    ))
}

/// User info as the URL carries it, percent-decoded (invalid UTF-8 replaced).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
