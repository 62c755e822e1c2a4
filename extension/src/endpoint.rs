//! `AWS_LAMBDA_RUNTIME_API` read the way runtime clients read it, once, for the proxy's
//! upstream, the Extensions API client and the Telemetry API subscription.
//!
//! Runtime clients build their URLs as `http://` + the variable + the API path: AWS's Node.js
//! client formats `http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/...`, and `lambda_runtime_api_client`
//! 1.1 parses the variable as a URI and keeps its scheme (default `http`), its authority and its
//! path as a prefix of every call (`set_origin`). So the forms in use are `host:port` (Lambda,
//! `127.0.0.1:9001`), `host:port/prefix` (`cargo lambda watch`'s `127.0.0.1:9000/.rt`),
//! `http://host:port[/prefix]`, IPv6 literals (`[::1]:9001`), and a host without a port (port
//! 80, as the clients' URL rules have it). A bare port (`9000`) or another scheme is refused: no
//! runtime client reaches the API with it, and the extension then stays out of the runtime's
//! way.

use std::fmt;

use http::Uri;
use http::uri::{Authority, PathAndQuery, Scheme};

/// Where the Runtime API (and the Extensions and Telemetry APIs) listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeApi {
    authority: Authority,
    /// Path prefix of every call, without a trailing `/` (empty for Lambda).
    base_path: String,
}

/// Why an `AWS_LAMBDA_RUNTIME_API` value is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AWS_LAMBDA_RUNTIME_API={value:?} {problem}")]
pub struct EndpointError {
    /// The value as found.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

impl RuntimeApi {
    /// Reads an `AWS_LAMBDA_RUNTIME_API` value (forms in the module documentation).
    pub fn parse(value: &str) -> Result<Self, EndpointError> {
        let fail = |problem: &str| EndpointError {
            value: value.to_owned(),
            problem: problem.to_owned(),
        };
        let trimmed = value.trim();
        let rest = match trimmed.split_once("://") {
            None => trimmed,
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => {
                return Err(fail(
                    "has a scheme other than http://; the Runtime API is plain HTTP `host:port`",
                ));
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(fail("names no host; expected `host:port`"));
        }
        if authority.contains('@') {
            return Err(fail("carries user information; expected `host:port`"));
        }
        let authority: Authority = authority.parse().map_err(|_| fail("is not `host:port`"))?;
        if authority.host().is_empty() {
            return Err(fail("names no host; expected `host:port`"));
        }
        let text = authority.as_str();
        let port_written = !text.ends_with(']') && text.contains(':');
        if port_written && authority.port_u16().is_none() {
            return Err(fail(
                "has a port outside 1-65535; expected `host:port` (e.g. 127.0.0.1:9001)",
            ));
        }
        if !port_written && authority.host().bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail(
                "is a bare port, not `host:port` (e.g. 127.0.0.1:9001); no runtime client can reach it",
            ));
        }
        if path.contains(['?', '#']) || PathAndQuery::try_from(path).is_err() && !path.is_empty() {
            return Err(fail("has a path that is not a plain URL path"));
        }
        Ok(Self {
            authority,
            base_path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `host:port` of the API.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The path prefix of every call (empty for Lambda, `/.rt` for `cargo lambda watch`).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The URI of `path_and_query` (which starts with `/`) on this API.
    pub fn uri(&self, path_and_query: &str) -> Uri {
        let joined = format!("{}{path_and_query}", self.base_path);
        let path = PathAndQuery::try_from(joined.as_str())
            .unwrap_or_else(|_| PathAndQuery::from_static("/"));
        Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .unwrap_or_default()
    }
}

impl fmt::Display for RuntimeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.base_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_a_runtime_client_accepts_is_understood() {
        let cases = [
            ("127.0.0.1:9001", "127.0.0.1:9001", ""),
            ("127.0.0.1:9000/.rt", "127.0.0.1:9000", "/.rt"),
            ("http://127.0.0.1:9000", "127.0.0.1:9000", ""),
            ("http://127.0.0.1:9000/", "127.0.0.1:9000", ""),
            ("HTTP://127.0.0.1:9000/.rt/", "127.0.0.1:9000", "/.rt"),
            ("[::1]:9001", "[::1]:9001", ""),
            ("http://[::1]:9001/.rt", "[::1]:9001", "/.rt"),
            ("localhost:9001", "localhost:9001", ""),
            ("localhost", "localhost", ""),
            ("http://api.local/.rt", "api.local", "/.rt"),
            (" 127.0.0.1:9001\n", "127.0.0.1:9001", ""),
        ];
        for (value, authority, base) in cases {
            let api = RuntimeApi::parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
            assert_eq!(api.authority().as_str(), authority, "{value:?}");
            assert_eq!(api.base_path(), base, "{value:?}");
            assert_eq!(
                api.uri("/2018-06-01/runtime/invocation/next").to_string(),
                format!("http://{authority}{base}/2018-06-01/runtime/invocation/next"),
                "{value:?}"
            );
        }
    }

    /// A scheme is never doubled: the URI of a call is `http://` once.
    #[test]
    fn a_scheme_in_the_value_is_not_doubled() {
        let api = RuntimeApi::parse("http://127.0.0.1:9001").unwrap();
        let uri = api.uri("/2022-07-01/telemetry").to_string();
        assert_eq!(uri, "http://127.0.0.1:9001/2022-07-01/telemetry");
        assert_eq!(api.to_string(), "http://127.0.0.1:9001");
    }

    #[test]
    fn forms_no_runtime_client_can_use_are_refused_with_the_reason() {
        for (value, why) in [
            ("9000", "bare port"),
            ("http://9000/.rt", "bare port"),
            (":9000", "host"),
            ("", "no host"),
            ("/.rt", "no host"),
            ("https://127.0.0.1:9001", "scheme"),
            ("unix:///var/run/api.sock", "scheme"),
            ("user@127.0.0.1:9001", "user information"),
            ("127.0.0.1:9001/a?b", "path"),
            ("127.0.0.1:99999", "port outside"),
        ] {
            let err = RuntimeApi::parse(value).expect_err(value);
            let text = err.to_string();
            assert!(text.starts_with("AWS_LAMBDA_RUNTIME_API="), "{text}");
            assert!(text.contains(why), "{value:?}: {text}");
        }
    }
}
