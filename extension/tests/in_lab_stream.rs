//! A streamed response in the lab with real processes: `lambda_runtime`'s `StreamResponse`
//! (`examples/stream_fn.rs`) behind the proxy through the layer's `/opt/bootstrap`, called
//! through the lab's Invoke API. The lab answers an Invoke with the whole stream at its end, so
//! this checks the bytes and the metrics end to end; when bytes go out is `tests/streaming.rs`'s
//! subject.

mod support;

use protocol::runtime::PRELUDE_DELIMITER;
use support::*;

const HTTP_V2_EVENT: &[u8] = br#"{"version":"2.0","routeKey":"$default","rawPath":"/s","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/s","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"t"},"requestId":"r","routeKey":"$default","stage":"$default","timeEpoch":0},"isBase64Encoded":false}"#;

#[tokio::test]
async fn a_lambda_runtime_stream_behind_the_layer_is_tagged_in_its_prelude() {
    let dir = tempfile::tempdir().unwrap();
    let function = tokio::task::spawn_blocking(|| example("stream_fn"))
        .await
        .unwrap();
    let layer = rollcall_layer(dir.path());
    let code = code_dir(dir.path(), "code", &function, "stream_fn");
    let version = format!("5={}", code.display());
    let layer_arg = layer.display().to_string();
    let lab = start_lab(&[
        "--function",
        "stream-fn",
        "--version",
        &version,
        "--handler",
        "stream_fn",
        "--layer",
        &layer_arg,
        "--env",
        "ROLLCALL_FLUSH_INTERVAL=1h",
    ])
    .await;
    // One cold tag per environment: a second call that finds the first environment still
    // finishing gets a new one, as in Lambda.
    let mut colds = 0;
    for _ in 0..2 {
        let reply = invoke(&lab, "stream-fn", "5", HTTP_V2_EVENT).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let cold = reply.body.windows(15).any(|w| w == b"x-rollcall-cold");
        colds += usize::from(cold);
        let prelude = format!(
            r#"{{"statusCode":201,"headers":{{"content-type":"text/plain","x-rollcall-version":"5"{}}},"cookies":["a=1"]}}"#,
            if cold {
                r#","x-rollcall-cold":"1""#
            } else {
                ""
            }
        );
        let expected = [
            prelude.as_bytes(),
            &PRELUDE_DELIMITER,
            b"part one, part two",
        ]
        .concat();
        assert_eq!(
            reply.body,
            expected,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let logs = lab.pools["5"].logs();
    lab.shutdown().await;
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "Invocations"), 2);
    assert_eq!(total(&docs, "Errors"), 0);
    assert!(colds >= 1);
    assert_eq!(colds, environments(&logs));
    assert_eq!(total(&docs, "ColdStarts"), colds as u64);
    let ttfb: usize = docs
        .iter()
        .filter_map(|d| d["TimeToFirstByte"].as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(ttfb, 2, "{docs:?}");
}
