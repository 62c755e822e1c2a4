//! Test fixture function for the Rollcall lab, built on `lambda_runtime`.
//!
//! The event (JSON object) chooses the behaviour; the first key that matches wins:
//! - `{"sleep_ms": N}` sleeps N ms, then answers `{"slept": N}`;
//! - `{"exit": code}` exits the process (a runtime crash);
//! - `{"error": "msg"}` returns an error (the runtime posts `/error`);
//! - `{"huge_bytes": N}` answers a JSON string of N bytes;
//! - `{"print": ["line", ...]}` prints each line to stdout, then answers `{"printed": n}`;
//! - `{"env": ["NAME", ...]}` answers the values of those environment variables;
//! - `{"pid": true}` answers the process id;
//! - `{"context": true}` answers the invocation context (request id, deadline, ARN, trace id);
//! - `{"stream": ["chunk", ...], "status": 201, "headers": {..}, "cookies": [..], "gate": PORT}`
//!   streams a function-URL response (`lambda_runtime::streaming`: the JSON prelude with the
//!   status, headers and cookies, 8 NULs, then each chunk), waiting after the first chunk until
//!   127.0.0.1:PORT sends a byte, when `gate` is given; a function URL's or API Gateway's event
//!   whose body is such an object streams it too;
//! - anything else is echoed back.
//!
//! `LAB_TESTFN_INIT=exit` exits before the runtime starts; `LAB_TESTFN_INIT=hang` never starts it.

use lambda_runtime::streaming::{Body, channel};
use lambda_runtime::{
    Error, FunctionResponse, LambdaEvent, MetadataPrelude, StreamResponse, service_fn,
};
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;

/// The stream instructions of `event`: the event itself, or the JSON body of an HTTP event.
fn stream_instructions(event: &Value) -> Option<Value> {
    if event.get("stream").is_some() {
        return Some(event.clone());
    }
    event.get("requestContext")?;
    let body = event.get("body")?.as_str()?;
    let text = if event.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        use base64::Engine as _;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .ok()?,
        )
        .ok()?
    } else {
        body.to_owned()
    };
    let instructions: Value = serde_json::from_str(&text).ok()?;
    instructions.get("stream").is_some().then_some(instructions)
}

async fn handle(event: LambdaEvent<Value>) -> Result<FunctionResponse<Value, Body>, Error> {
    let Some(payload) = stream_instructions(&event.payload) else {
        return buffered(event)
            .await
            .map(FunctionResponse::BufferedResponse);
    };
    let chunks = payload
        .get("stream")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let strings = |key: &str| -> Vec<String> {
        let values = payload.get(key).and_then(Value::as_array);
        values
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let cookies = strings("cookies");
    let gate = payload.get("gate").and_then(Value::as_u64);
    let status_code = payload
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| http::StatusCode::from_u16(s as u16).ok())
        .unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    for (name, value) in payload
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let (Ok(name), Some(Ok(value))) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(http::HeaderValue::from_str),
        ) {
            headers.append(name, value);
        }
    }
    let (mut tx, rx) = channel();
    tokio::spawn(async move {
        for (i, chunk) in chunks.iter().enumerate() {
            let text = chunk.as_str().unwrap_or_default().to_owned();
            if tx.send_data(text.into()).await.is_err() {
                return;
            }
            if let (0, Some(port)) = (i, gate)
                && let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port as u16)).await
            {
                let _ = s.read(&mut [0u8; 1]).await;
            }
        }
    });
    Ok(FunctionResponse::StreamingResponse(StreamResponse {
        metadata_prelude: MetadataPrelude {
            status_code,
            headers,
            cookies,
        },
        stream: rx,
    }))
}

async fn buffered(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        return Ok(json!({ "slept": ms }));
    }
    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(code as i32);
    }
    if let Some(msg) = payload.get("error").and_then(Value::as_str) {
        return Err(msg.to_string().into());
    }
    if let Some(n) = payload.get("huge_bytes").and_then(Value::as_u64) {
        return Ok(Value::String("x".repeat(n as usize)));
    }
    if let Some(lines) = payload.get("print").and_then(Value::as_array) {
        for line in lines {
            println!("{}", line.as_str().unwrap_or_default());
        }
        return Ok(json!({ "printed": lines.len() }));
    }
    if let Some(names) = payload.get("env").and_then(Value::as_array) {
        let mut out = Map::new();
        for name in names.iter().filter_map(Value::as_str) {
            out.insert(
                name.to_string(),
                std::env::var(name)
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            );
        }
        return Ok(Value::Object(out));
    }
    if payload.get("context").is_some() {
        let ctx = &event.context;
        return Ok(
            json!({ "requestId": ctx.request_id, "deadlineMs": ctx.deadline,
            "invokedFunctionArn": ctx.invoked_function_arn, "traceId": ctx.xray_trace_id }),
        );
    }
    if payload.get("pid").is_some() {
        return Ok(json!({ "pid": std::process::id() }));
    }
    Ok(payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    match std::env::var("LAB_TESTFN_INIT").as_deref() {
        Ok("exit") => {
            eprintln!("lab-testfn: exiting during init on purpose");
            std::process::exit(3);
        }
        Ok("hang") => loop {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        },
        _ => {}
    }
    lambda_runtime::run(service_fn(handle)).await
}
