//! Extensions API (`/2020-01-01/extension/...`) and Telemetry API subscription handlers, with
//! RAPID's 403 error types.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use protocol::extension::{self as ext, error_type};

use super::reply::{Refusal, Reply, accepted, error_reply, header, json_reply, read_body};
use super::shared::{ExtensionSlot, NextGuard, PostedError, Shared};
use super::telemetry;

/// Lambda's limit on registered extensions.
pub const MAX_EXTENSIONS: usize = ext::MAX_EXTENSIONS;

fn forbidden(error_type: &'static str, message: &str) -> Reply {
    error_reply(StatusCode::FORBIDDEN, error_type, message)
}

fn refuse(error_type: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::FORBIDDEN, error_type, message)
}

/// A random UUID v4 (identifiers, request ids), built in one allocation.
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = 0x40 | (b[6] & 0x0f); // version 4
    b[8] = 0x80 | (b[8] & 0x3f); // variant 10xx
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        push_hex(&mut s, *x);
    }
    s
}

/// Appends `byte` as two lower-case hex digits.
pub fn push_hex(s: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.push(DIGITS[usize::from(byte >> 4)] as char);
    s.push(DIGITS[usize::from(byte & 0xf)] as char);
}

/// `POST /extension/register`.
pub async fn register(shared: &Shared, req: Request<Incoming>) -> Reply {
    let name = header(&req, ext::HEADER_NAME).unwrap_or("").to_string();
    let account_feature = header(&req, ext::HEADER_ACCEPT_FEATURE)
        .is_some_and(|f| f.split(',').any(|x| x.trim() == ext::FEATURE_ACCOUNT_ID));
    if name.is_empty() {
        return forbidden(error_type::INVALID_EXTENSION_NAME, "Empty extension name");
    }
    let body = read_body(req).await.unwrap_or_default();
    let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return forbidden(error_type::INVALID_REQUEST_FORMAT, &e.to_string()),
        }
    };
    if parsed
        .get("configurationKeys")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return forbidden(
            error_type::INVALID_REQUEST_FORMAT,
            "configurationKeys are deprecated; use environment variables instead",
        );
    }
    let events: Vec<String> = parsed
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let external = shared.external_names.contains(&name);
    for e in &events {
        let ok = match e.as_str() {
            "INVOKE" => true,
            "SHUTDOWN" => external,
            _ => false,
        };
        if !ok {
            let why = if e == "SHUTDOWN" {
                "internal extensions cannot subscribe to SHUTDOWN"
            } else {
                "unknown event type"
            };
            return forbidden(error_type::INVALID_EVENT_TYPE, &format!("{e}: {why}"));
        }
    }
    let registered = shared.update(|inner| {
        if !inner.registration_open {
            return Err(refuse(
                error_type::REGISTRATION_CLOSED,
                "Extension registration closed already",
            ));
        }
        if inner.extensions.iter().any(|x| x.name == name) {
            return Err(refuse(
                error_type::INVALID_EXTENSION_STATE,
                "Extension with this name already registered",
            ));
        }
        if inner.extensions.len() >= MAX_EXTENSIONS {
            return Err(refuse(
                error_type::TOO_MANY_EXTENSIONS,
                format!("Extension limit ({MAX_EXTENSIONS}) reached"),
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let id = uuid_v4();
        inner.extensions.push(ExtensionSlot {
            id: id.clone(),
            name: name.clone(),
            invoke: events.iter().any(|e| e == "INVOKE"),
            shutdown: events.iter().any(|e| e == "SHUTDOWN"),
            nexts: 0,
            delivered: 0,
            tx,
            rx: Arc::new(tokio::sync::Mutex::new(rx)),
            error: None,
            subscribed: false,
            shutdown_sent: false,
        });
        inner.last_register_at = Some(std::time::Instant::now());
        Ok(id)
    });
    let id = match registered {
        Ok(id) => id,
        Err(r) => return r.reply(),
    };
    shared.hub.emit(telemetry::extension(&name, &events));
    let mut body = json!({
        "functionName": shared.identity.function_name,
        "functionVersion": shared.identity.version,
        "handler": shared.identity.handler,
    });
    if account_feature {
        body["accountId"] = json!(shared.identity.account_id);
    }
    let mut reply = json_reply(StatusCode::OK, body);
    if let Ok(v) = id.parse() {
        reply.headers_mut().insert(ext::HEADER_IDENTIFIER, v);
    }
    reply
}

/// Finds the caller's slot index from `Lambda-Extension-Identifier`.
fn caller(shared: &Shared, req: &Request<Incoming>) -> Result<usize, Refusal> {
    let Some(id) = header(req, ext::HEADER_IDENTIFIER) else {
        return Err(refuse(
            error_type::MISSING_EXTENSION_IDENTIFIER,
            "Missing Lambda-Extension-Identifier header",
        ));
    };
    shared
        .lock()
        .extensions
        .iter()
        .position(|x| x.id == id)
        .ok_or_else(|| {
            refuse(
                error_type::UNKNOWN_EXTENSION_IDENTIFIER,
                format!("Unknown extension {id}"),
            )
        })
}

/// `GET /extension/event/next`: long-polls for the extension's next event.
pub async fn next(shared: &Shared, req: Request<Incoming>) -> Reply {
    let idx = match caller(shared, &req) {
        Ok(i) => i,
        Err(r) => return r.reply(),
    };
    let rx = shared.update(|inner| {
        let slot = &mut inner.extensions[idx];
        if slot.error.is_some() {
            return Err(refuse(
                error_type::INVALID_EXTENSION_STATE,
                "extension reported an error; no further calls",
            ));
        }
        if slot.shutdown_sent {
            // RAPID has no transition out of the SHUTDOWN it delivered but to Exited.
            tracing::warn!(
                extension = %slot.name,
                "protocol error: /extension/event/next called after SHUTDOWN; an extension \
                 must flush and exit once it has received SHUTDOWN"
            );
            return Err(refuse(
                error_type::INVALID_EXTENSION_STATE,
                format!(
                    "State transition from ShuttingDown to Ready failed for extension {}. \
                     Error: SHUTDOWN was delivered: the extension must exit, not call next",
                    slot.id
                ),
            ));
        }
        slot.nexts += 1;
        let rx = slot.rx.clone();
        inner.last_next_at = Some(std::time::Instant::now());
        Ok(rx)
    });
    let rx = match rx {
        Ok(rx) => rx,
        Err(r) => return r.reply(),
    };
    let guard = NextGuard::new(shared, move |inner| inner.extensions[idx].nexts -= 1);
    let event = {
        let mut rx = rx.lock().await;
        tokio::select! {
            e = rx.recv() => e,
            _ = shared.closed() => None,
        }
    };
    guard.disarm();
    match event {
        Some(body) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .header(ext::HEADER_EVENT_IDENTIFIER, uuid_v4())
            .body(Full::new(body))
            .unwrap_or_default(),
        None => error_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "environment is shutting down",
        ),
    }
}

/// `POST /extension/init/error` and `/extension/exit/error`.
pub async fn post_error(shared: &Shared, kind: &str, req: Request<Incoming>) -> Reply {
    let idx = match caller(shared, &req) {
        Ok(i) => i,
        Err(r) => return r.reply(),
    };
    let Some(error_type) = header(&req, ext::HEADER_FUNCTION_ERROR_TYPE).map(str::to_string) else {
        return forbidden(
            error_type::MISSING_HEADER,
            "Missing Lambda-Extension-Function-Error-Type header",
        );
    };
    if kind == "init" && !shared.lock().registration_open {
        return forbidden(
            error_type::INVALID_EXTENSION_STATE,
            "init/error is only allowed during Init",
        );
    }
    let body = read_body(req).await.unwrap_or_default();
    shared.update(|inner| inner.extensions[idx].error = Some(PostedError { error_type, body }));
    accepted()
}

/// `PUT /2022-07-01/telemetry`.
pub async fn subscribe(shared: &Shared, req: Request<Incoming>) -> Reply {
    let idx = match caller(shared, &req) {
        Ok(i) => i,
        Err(r) => return r.reply(),
    };
    let body = read_body(req).await.unwrap_or_default();
    let sub = match telemetry::parse_subscription(&body) {
        Ok(s) => s,
        Err(msg) => {
            return error_reply(
                StatusCode::BAD_REQUEST,
                protocol::telemetry::ERROR_TYPE_VALIDATION,
                &msg,
            );
        }
    };
    let name = shared.update(|inner| {
        if !inner.registration_open {
            return Err(refuse(
                protocol::telemetry::ERROR_TYPE_SUBSCRIPTION_CLOSED,
                "Telemetry API subscription is only allowed during Init",
            ));
        }
        let slot = &mut inner.extensions[idx];
        slot.subscribed = true;
        Ok(slot.name.clone())
    });
    let name = match name {
        Ok(n) => n,
        Err(r) => return r.reply(),
    };
    let types = sub.type_names.clone();
    shared.hub.subscribe(sub);
    shared
        .hub
        .emit(telemetry::telemetry_subscription(&name, &types));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            protocol::telemetry::SUBSCRIBE_OK_BODY.as_bytes(),
        )))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_shaped() {
        let u = uuid_v4();
        let parts: Vec<_> = u.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{u}");
        assert!(u.as_bytes()[14] == b'4', "{u}");
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{u}");
        assert_ne!(uuid_v4(), uuid_v4());
        assert!(
            u.bytes()
                .all(|b| b == b'-' || b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn trace_ids_have_the_x_ray_shape() {
        let t = super::super::new_trace_id();
        let (root, rest) = t.split_once(";Parent=").unwrap();
        let (parent, sampled) = rest.split_once(';').unwrap();
        let root: Vec<_> = root.strip_prefix("Root=1-").unwrap().split('-').collect();
        assert_eq!(
            root.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 24],
            "{t}"
        );
        assert_eq!(parent.len(), 16, "{t}");
        assert_eq!(sampled, "Sampled=0");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let secs = u64::from_str_radix(root[0], 16).unwrap();
        assert!(secs.abs_diff(now) < 5, "{t}");
        assert_ne!(t, super::super::new_trace_id());
    }
}
