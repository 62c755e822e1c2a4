//! The HTTP-integration response a streaming function sends to a function URL: a JSON prelude
//! `{"statusCode", "headers", "multiValueHeaders", "cookies"}`, then 8 NUL bytes, then the body
//! (`lambda_runtime` 1.5 `src/requests.rs` streaming branch; the Node.js runtime's
//! `HttpResponseStream.from`). The runtime marks it with `Content-Type:
//! application/vnd.awslambda.http-integration-response` on its `/response`.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde::Deserialize;

/// The delimiter after the prelude.
pub const DELIMITER: [u8; 8] = [0; 8];
/// The longest prelude the lab reads before giving up (the lab's bound: AWS documents none).
pub const MAX_PRELUDE: usize = 64 * 1024;

/// The prelude as the runtime writes it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Prelude {
    status_code: Option<u16>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    multi_value_headers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    cookies: Vec<String>,
}

/// Why a prelude could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreludeError {
    /// The stream ended before the delimiter.
    #[error("the stream ended before the prelude's 8-NUL delimiter")]
    Unterminated,
    /// No delimiter within [`MAX_PRELUDE`] bytes.
    #[error("no 8-NUL delimiter within the first {MAX_PRELUDE} bytes")]
    TooLong,
    /// The prelude is not the expected JSON.
    #[error("the prelude is not valid: {0}")]
    Invalid(String),
}

/// Collects the prelude from chunks as they come: [`PreludeReader::push`] until it returns the
/// response head and the body bytes that followed the delimiter (which may be split across
/// chunks).
#[derive(Debug, Default)]
pub struct PreludeReader {
    buf: BytesMut,
}

impl PreludeReader {
    /// Adds `chunk`; `Ok(Some((head, rest)))` once the delimiter has arrived.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Option<(Response<()>, Bytes)>, PreludeError> {
        // Only the last 7 bytes already held can start a delimiter that this chunk completes.
        let from = self.buf.len().saturating_sub(DELIMITER.len() - 1);
        self.buf.extend_from_slice(chunk);
        let Some(at) = self.buf[from..]
            .windows(DELIMITER.len())
            .position(|w| w == DELIMITER)
            .map(|i| i + from)
        else {
            return if self.buf.len() > MAX_PRELUDE {
                Err(PreludeError::TooLong)
            } else {
                Ok(None)
            };
        };
        let mut buf = std::mem::take(&mut self.buf);
        let rest = buf.split_off(at + DELIMITER.len()).freeze();
        buf.truncate(at);
        Ok(Some((head(&buf)?, rest)))
    }
}

/// The response head a prelude describes: `statusCode` (default 200), `headers`, then
/// `multiValueHeaders` (appended), each cookie a `set-cookie`; `content-type` defaulting to
/// `application/octet-stream` (`lambda_runtime`'s default).
pub fn head(prelude: &[u8]) -> Result<Response<()>, PreludeError> {
    let invalid = |e: String| PreludeError::Invalid(e);
    let p: Prelude = if prelude.iter().all(u8::is_ascii_whitespace) {
        Prelude::default()
    } else {
        serde_json::from_slice(prelude).map_err(|e| invalid(e.to_string()))?
    };
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::from_u16(p.status_code.unwrap_or(200))
        .map_err(|e| invalid(format!("statusCode: {e}")))?;
    let h = response.headers_mut();
    let header = |name: &str, value: &str| {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| invalid(format!("header {name:?}: {e}")))?;
        let v = HeaderValue::from_str(value).map_err(|e| invalid(format!("header {name}: {e}")))?;
        Ok::<_, PreludeError>((n, v))
    };
    for (name, value) in &p.headers {
        let (n, v) = header(name, value)?;
        h.insert(n, v);
    }
    for (name, values) in &p.multi_value_headers {
        for value in values {
            let (n, v) = header(name, value)?;
            h.append(n, v);
        }
    }
    for cookie in &p.cookies {
        let (n, v) = header("set-cookie", cookie)?;
        h.append(n, v);
    }
    if !h.contains_key(http::header::CONTENT_TYPE) {
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delimiter_split_across_chunks_is_found() {
        let mut r = PreludeReader::default();
        assert!(
            r.push(br#"{"statusCode":201,"cookies":["a=1","b=2"]}"#)
                .unwrap()
                .is_none()
        );
        assert!(r.push(b"\0\0\0").unwrap().is_none());
        let (head, rest) = r.push(b"\0\0\0\0\0body").unwrap().unwrap();
        assert_eq!(head.status(), 201);
        assert_eq!(rest, Bytes::from("body"));
        let cookies: Vec<_> = head.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(head.headers()["content-type"], "application/octet-stream");
    }

    #[test]
    fn headers_and_multi_value_headers_are_merged() {
        let p = br#"{"headers":{"content-type":"text/plain","x-a":"1"},"multiValueHeaders":{"x-a":["2","3"]}}"#;
        let head = head(p).unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-type"], "text/plain");
        let xa: Vec<_> = head.headers().get_all("x-a").iter().collect();
        assert_eq!(xa, ["1", "2", "3"]);
    }

    #[test]
    fn bad_preludes_are_refused_with_the_reason() {
        assert!(matches!(head(b"not json"), Err(PreludeError::Invalid(_))));
        assert!(matches!(
            head(br#"{"statusCode":42}"#),
            Err(PreludeError::Invalid(_))
        ));
        let mut r = PreludeReader::default();
        assert_eq!(
            r.push(&vec![b'x'; MAX_PRELUDE + 1]).unwrap_err(),
            PreludeError::TooLong
        );
    }
}
