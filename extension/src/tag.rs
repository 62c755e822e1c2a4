//! Tagging a function's response with the version headers: a pure function over the bytes the
//! runtime posts to `/response` (DESIGN.md, "The wire contract").
//!
//! The edit is surgical: the response is read as an ordered list of members whose values stay
//! raw JSON text, only `headers` / `multiValueHeaders` are rebuilt, and every other member
//! (the body above all) is copied byte for byte. Anything that is not clearly an HTTP response
//! of the event's kind, or that would break the payload limit, is left [`Tagged::Unchanged`].

use protocol::EventKind;
use protocol::gateway::{self, OutputFormat};
use protocol::runtime::MAX_PAYLOAD_SIZE;
use protocol::tag::{COLD_HEADER, COLD_VALUE};
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::rawjson::{self, RawObject};

/// The response format an invoke event asks for, learnt from the event on `/next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseShape {
    /// API Gateway REST API, or HTTP API payload 1.0: `statusCode` required; `headers` and
    /// `multiValueHeaders` are merged.
    ProxyV1,
    /// HTTP API payload 2.0 and function URLs: JSON without `statusCode` is a 200 JSON body.
    HttpV2,
    /// Application Load Balancer; `multi_value` when the target group uses multi-value headers
    /// (the request carries `multiValueHeaders`, and the response must too).
    Alb {
        /// Multi-value headers are enabled on the target group.
        multi_value: bool,
    },
}

impl ResponseShape {
    /// The shape for an event of kind `kind` (`None` for non-HTTP events), where `event` is the
    /// parsed event (only consulted for ALB's multi-value mode).
    pub fn of_event(kind: EventKind, event: &Value) -> Option<Self> {
        match kind {
            EventKind::RestV1 | EventKind::HttpV1 => Some(Self::ProxyV1),
            EventKind::HttpV2 => Some(Self::HttpV2),
            EventKind::Alb => Some(Self::Alb {
                multi_value: event.get("multiValueHeaders").is_some_and(Value::is_object),
            }),
            EventKind::Other => None,
        }
    }

    /// The output format the gateway behind this shape reads.
    pub fn format(self) -> OutputFormat {
        match self {
            Self::ProxyV1 => OutputFormat::ProxyV1,
            Self::HttpV2 => OutputFormat::HttpV2,
            Self::Alb { .. } => OutputFormat::Alb,
        }
    }

    /// Reads a raw event and returns its shape; `None` for non-JSON and non-HTTP events. Only
    /// the members that decide the kind are read (see [`crate::probe`]): a 6 MB event costs a
    /// scan, not a tree.
    pub fn of_raw_event(event: &[u8]) -> Option<Self> {
        let value = crate::probe::stand_in(event)?;
        Self::of_event(protocol::event_kind(&value), &value)
    }
}

/// The headers to add: the environment's version and whether this is its first invocation.
#[derive(Debug, Clone, Copy)]
pub struct Tags<'a> {
    /// Name of the version header, lower case (`x-rollcall-version`).
    pub version_header: &'a str,
    /// `AWS_LAMBDA_FUNCTION_VERSION` of this environment (`"7"`, `"$LATEST"`).
    pub version: &'a str,
    /// First invocation of this environment: adds `x-rollcall-cold: 1`.
    pub cold: bool,
}

/// Why a response was left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untagged {
    /// The gateway cannot read it either (it answers 5xx): [`gateway::interpret`] refuses it.
    Malformed,
    /// What the gateway makes of it is not documented alike for every gateway sending this
    /// event shape ([`gateway::Interpretation::agreed`]): a tagged rewrite could change it.
    NotAgreed,
    /// Not JSON (or not UTF-8).
    NotJson,
    /// Valid JSON but not an object, where the shape needs one.
    NotAnObject,
    /// A payload 1.0 / ALB object without `statusCode` (API Gateway answers 502 anyway).
    NoStatusCode,
    /// `headers` or `multiValueHeaders` is neither an object nor `null`.
    HeadersNotObject,
    /// The object repeats `statusCode`, `headers` or `multiValueHeaders`: ambiguous.
    DuplicateMember,
    /// The tagged response would exceed Lambda's payload limit.
    TooLarge,
}

/// The outcome of tagging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tagged {
    /// The new response bytes.
    Changed(Vec<u8>),
    /// Forward the original bytes, for this reason.
    Unchanged(Untagged),
}

/// What tagging learnt about a response: the new bytes and the HTTP status it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// The tagged response, or why it is unchanged.
    pub tagged: Tagged,
    /// The HTTP status code the client will see (200 for a payload 2.0 response without
    /// `statusCode`); `None` when the gateway's reading is not certain (a malformed response).
    pub status: Option<u16>,
}

/// Tags `body`, the raw response a runtime posted for an event of shape `shape`.
///
/// ```
/// use rollcall_extension::tag::{tag_response, ResponseShape, Tagged, Tags};
/// let tags = Tags { version_header: "x-rollcall-version", version: "7", cold: false };
/// let out = tag_response(ResponseShape::ProxyV1, br#"{"statusCode":201,"body":"hi"}"#, &tags);
/// assert_eq!(out.status, Some(201));
/// assert_eq!(
///     out.tagged,
///     Tagged::Changed(br#"{"statusCode":201,"body":"hi","headers":{"x-rollcall-version":"7"}}"#.to_vec())
/// );
/// ```
pub fn tag_response(shape: ResponseShape, body: &[u8], tags: &Tags<'_>) -> Inspected {
    // First what the client would receive untagged (one interpretation, shared with the lab):
    // only a response the gateway reads, in a way every gateway agrees on, is rewritten.
    let format = shape.format();
    let interpreted = match gateway::interpret(format, body) {
        Ok(i) => i,
        Err(_) => {
            return Inspected {
                tagged: Tagged::Unchanged(Untagged::Malformed),
                // Not counted as the gateway's 5xx: the interpretation may be stricter than
                // AWS's (a string statusCode, non-ASCII header values), and a wrong error
                // would feed the alarms that roll a deployment back.
                status: None,
            };
        }
    };
    let status = Some(interpreted.response.status);
    if !interpreted.agreed {
        return Inspected {
            tagged: Tagged::Unchanged(Untagged::NotAgreed),
            status,
        };
    }
    let tagged = match analyse(shape, body) {
        Err(reason) => Tagged::Unchanged(reason),
        Ok(Analysis::Inferred) => limit(inferred_response(&interpreted.response.body, tags)),
        Ok(Analysis::Object(response)) => response
            .tag(shape, tags)
            .map_or_else(Tagged::Unchanged, limit),
    };
    Inspected { tagged, status }
}

/// The HTTP status a response carries (see [`Inspected::status`]), without tagging it.
pub fn response_status(shape: ResponseShape, body: &[u8]) -> Option<u16> {
    // A response the interpretation refuses has no status we are sure of (see tag_response).
    gateway::interpret(shape.format(), body)
        .ok()
        .map(|i| i.response.status)
}

/// Removes the version and cold headers that [`tag_response`] adds, dropping a `headers` /
/// `multiValueHeaders` member that is left empty. For a response tagged from an object, this
/// returns the original bytes when the original was compact JSON without an empty header map.
/// `None` if `body` is not a JSON object.
pub fn strip_tags(body: &[u8], version_header: &str) -> Option<Vec<u8>> {
    let object: RawObject<'_> = serde_json::from_slice(body).ok()?;
    let mut members: Vec<(&str, Vec<u8>)> = Vec::with_capacity(object.0.len());
    for (key, raw) in &object.0 {
        let map = (key == "headers" || key == "multiValueHeaders")
            .then(|| serde_json::from_str::<RawObject<'_>>(raw.get()).ok())
            .flatten();
        let Some(map) = map else {
            members.push((key, raw.get().as_bytes().to_vec()));
            continue;
        };
        let kept: Vec<(&str, &[u8])> = map
            .0
            .iter()
            .filter(|(k, _)| !is_tag_header(k, version_header))
            .map(|(k, v)| (k.as_str(), v.get().as_bytes()))
            .collect();
        if !kept.is_empty() {
            let mut buf = Vec::new();
            rawjson::write_object(&mut buf, kept);
            members.push((key, buf));
        }
    }
    let mut out = Vec::with_capacity(body.len());
    rawjson::write_object(&mut out, members.iter().map(|(k, v)| (*k, &v[..])));
    Some(out)
}

enum Analysis<'a> {
    /// Payload 2.0 JSON without `statusCode`: API Gateway infers a 200 JSON response.
    Inferred,
    /// An explicit response object.
    Object(Response<'a>),
}

struct Response<'a> {
    members: RawObject<'a>,
    headers: Option<usize>,
    multi_value_headers: Option<usize>,
}

fn analyse(shape: ResponseShape, body: &[u8]) -> Result<Analysis<'_>, Untagged> {
    let members: RawObject<'_> = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(_) => {
            let valid = std::str::from_utf8(body).is_ok()
                && serde_json::from_slice::<IgnoredAny>(body).is_ok();
            return match (valid, shape) {
                (false, _) => Err(Untagged::NotJson),
                (true, ResponseShape::HttpV2) => Ok(Analysis::Inferred),
                (true, _) => Err(Untagged::NotAnObject),
            };
        }
    };
    let find = |name: &str| -> Result<Option<usize>, Untagged> {
        let mut found = members.0.iter().enumerate().filter(|(_, (k, _))| k == name);
        match (found.next(), found.next()) {
            (_, Some(_)) => Err(Untagged::DuplicateMember),
            (first, None) => Ok(first.map(|(i, _)| i)),
        }
    };
    let status_at = find("statusCode")?;
    let headers = find("headers")?;
    let multi_value_headers = find("multiValueHeaders")?;
    if status_at.is_none() {
        return match shape {
            ResponseShape::HttpV2 => Ok(Analysis::Inferred),
            _ => Err(Untagged::NoStatusCode),
        };
    }
    let map_or_null = |at: Option<usize>| -> Result<Option<usize>, Untagged> {
        let Some(i) = at else { return Ok(None) };
        match members.0[i].1.get().as_bytes().first() {
            Some(b'{') | Some(b'n') => Ok(Some(i)),
            _ => Err(Untagged::HeadersNotObject),
        }
    };
    let headers = map_or_null(headers)?;
    let multi_value_headers = map_or_null(multi_value_headers)?;
    Ok(Analysis::Object(Response {
        members,
        headers,
        multi_value_headers,
    }))
}

fn is_tag_header(name: &str, version_header: &str) -> bool {
    name.eq_ignore_ascii_case(version_header) || name.eq_ignore_ascii_case(COLD_HEADER)
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

impl Response<'_> {
    fn tag(&self, shape: ResponseShape, tags: &Tags<'_>) -> Result<Vec<u8>, Untagged> {
        let present = |at: Option<usize>| at.filter(|&i| !is_null(self.members.0[i].1));
        let has_single = present(self.headers).is_some();
        let has_multi = present(self.multi_value_headers).is_some();
        let alb_multi = matches!(shape, ResponseShape::Alb { multi_value: true });
        // Tag the maps the response uses; with none, the one the shape expects. Payload 2.0
        // has no multiValueHeaders (API Gateway ignores the member): only `headers` counts.
        let v2 = shape == ResponseShape::HttpV2;
        let to_single = v2 || has_single || (!has_multi && !alb_multi);
        let to_multi = !v2 && (has_multi || (!has_single && alb_multi));

        let single = to_single
            .then(|| {
                edit_headers(
                    present(self.headers).map(|i| self.members.0[i].1),
                    tags,
                    false,
                )
            })
            .transpose()?;
        let multi = to_multi
            .then(|| {
                edit_headers(
                    present(self.multi_value_headers).map(|i| self.members.0[i].1),
                    tags,
                    true,
                )
            })
            .transpose()?;

        let mut members: Vec<(&str, &[u8])> = Vec::with_capacity(self.members.0.len() + 2);
        for (i, (key, raw)) in self.members.0.iter().enumerate() {
            let replacement = if Some(i) == self.headers {
                single.as_deref()
            } else if Some(i) == self.multi_value_headers {
                multi.as_deref()
            } else {
                None
            };
            members.push((key, replacement.unwrap_or(raw.get().as_bytes())));
        }
        if self.headers.is_none()
            && let Some(s) = &single
        {
            members.push(("headers", s));
        }
        if self.multi_value_headers.is_none()
            && let Some(m) = &multi
        {
            members.push(("multiValueHeaders", m));
        }
        let size = members
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>()
            + 2;
        let mut out = Vec::with_capacity(size);
        rawjson::write_object(&mut out, members);
        Ok(out)
    }
}

/// The header map `existing` (raw JSON object, or none) without any case variant of the tag
/// headers, plus the tags; values are arrays when `multi`.
pub(crate) fn edit_headers(
    existing: Option<&RawValue>,
    tags: &Tags<'_>,
    multi: bool,
) -> Result<Vec<u8>, Untagged> {
    let map: RawObject<'_> = match existing {
        Some(raw) => serde_json::from_str(raw.get()).map_err(|_| Untagged::HeadersNotObject)?,
        None => RawObject(Vec::new()),
    };
    let version = json_value(tags.version, multi);
    let cold = json_value(COLD_VALUE, multi);
    let mut members: Vec<(&str, &[u8])> = map
        .0
        .iter()
        .filter(|(k, _)| !is_tag_header(k, tags.version_header))
        .map(|(k, v)| (k.as_str(), v.get().as_bytes()))
        .collect();
    members.push((tags.version_header, &version));
    if tags.cold {
        members.push((COLD_HEADER, &cold));
    }
    let mut out = Vec::new();
    rawjson::write_object(&mut out, members);
    Ok(out)
}

/// `"value"` or `["value"]` as JSON text.
fn json_value(value: &str, multi: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    if multi {
        out.push(b'[');
    }
    rawjson::write_string(&mut out, value);
    if multi {
        out.push(b']');
    }
    out
}

/// The explicit equivalent of a payload 2.0 response without `statusCode` (API Gateway: 200,
/// `content-type: application/json`, `body` the client receives), tagged.
fn inferred_response(body: &[u8], tags: &Tags<'_>) -> Vec<u8> {
    // `gateway::interpret` read the output as JSON text: `body` is UTF-8.
    let text = String::from_utf8_lossy(body);
    let mut headers: Vec<(&str, Vec<u8>)> = vec![
        ("content-type", json_value("application/json", false)),
        (tags.version_header, json_value(tags.version, false)),
    ];
    if tags.cold {
        headers.push((COLD_HEADER, json_value(COLD_VALUE, false)));
    }
    let mut header_map = Vec::new();
    rawjson::write_object(&mut header_map, headers.iter().map(|(k, v)| (*k, &v[..])));
    let mut body_text = Vec::with_capacity(body.len() + body.len() / 8 + 2);
    rawjson::write_string(&mut body_text, &text);
    let mut out = Vec::with_capacity(body_text.len() + header_map.len() + 64);
    rawjson::write_object(
        &mut out,
        [
            ("statusCode", &b"200"[..]),
            ("headers", &header_map),
            ("body", &body_text),
            ("isBase64Encoded", b"false"),
        ],
    );
    out
}

fn limit(tagged: Vec<u8>) -> Tagged {
    if tagged.len() > MAX_PAYLOAD_SIZE {
        Tagged::Unchanged(Untagged::TooLarge)
    } else {
        Tagged::Changed(tagged)
    }
}

#[cfg(test)]
#[path = "tag_tests.rs"]
mod tests;
