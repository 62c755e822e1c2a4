//! The layer in the lab, with real processes: `hello` (lambda_http) behind the proxy through
//! `/opt/bootstrap`, and a Python awslambdaric function through `AWS_LAMBDA_EXEC_WRAPPER`.
//! Every response is compared with the same function run without the layer.

mod support;

use support::*;

/// Requests through the front door: every reply is tagged with the version, only the first of
/// the environment is cold, and status, headers and body equal those of the function without
/// the layer.
#[tokio::test]
async fn hello_behind_the_proxy_is_tagged_and_otherwise_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let hello = function_binary("hello");
    let layer = rollcall_layer(dir.path());
    let tagged_code = code_dir(dir.path(), "tagged", &hello, "hello");
    let plain_code = code_dir(dir.path(), "plain", &hello, "bootstrap");
    let routes = ["--route", "GET /hello", "--route", "ANY /v2/{proxy+}@2.0"];

    let version = format!("3={}", tagged_code.display());
    let layer_arg = layer.display().to_string();
    let mut args = vec![
        "--version",
        &version,
        "--handler",
        "hello",
        "--layer",
        &layer_arg,
    ];
    args.extend(routes);
    let with_layer = start_lab(&args).await;
    let version = format!("3={}", plain_code.display());
    let mut args = vec!["--version", version.as_str()];
    args.extend(routes);
    let without = start_lab(&args).await;

    let targets = ["/hello?name=x", "/v2/a/b", "/hello", "/v2/"];
    let mut colds = 0;
    for i in 0..20 {
        let (method, target) = if i % 3 == 0 {
            ("POST", "/v2/post")
        } else {
            ("GET", targets[i % 4])
        };
        let a = send(with_layer.api.local_addr(), method, target, b"{}").await;
        let b = send(without.api.local_addr(), method, target, b"{}").await;
        assert_eq!(a.status, 200, "{target}: {:?}", a.body);
        assert_eq!(a.header(VERSION_HEADER), Some("3"), "request {i} {target}");
        if i == 0 {
            assert_eq!(
                a.header(COLD_HEADER),
                Some("1"),
                "the first request starts an environment"
            );
        }
        colds += usize::from(a.header(COLD_HEADER) == Some("1"));
        assert_eq!(b.header(VERSION_HEADER), None);
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{target}");
        assert_eq!(stable_headers(&a), stable_headers(&b), "{target}");
    }
    // A request that arrives while the only environment is still finishing the previous
    // invocation gets a new environment, as in Lambda: one cold tag per environment.
    let logs = with_layer.pools["3"].logs();
    with_layer.shutdown().await;
    without.shutdown().await;
    assert_eq!(
        colds,
        environments(&logs),
        "cold tags vs environments started"
    );
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "ColdStarts"), colds as u64);
    assert_eq!(total(&docs, "Invocations"), 20);
}

/// Response shapes (multi-value headers, cookies, base64, payload 2.0 without statusCode,
/// unicode, a function's own tag headers, 5xx, a raised error) through the exec wrapper.
#[tokio::test]
async fn python_shapes_through_the_exec_wrapper_are_unchanged_but_tagged() {
    if !awslambdaric_available() {
        eprintln!("SKIPPED: python3 cannot import awslambdaric (pip install awslambdaric)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layer = rollcall_layer(dir.path());
    let code = shapes_code(dir.path());
    let version = format!("5={}", code.display());
    let layer_arg = layer.display().to_string();
    let common = [
        "--function",
        "shapes",
        "--version",
        &version,
        "--handler",
        "handler.fn",
        "--timeout",
        "10",
        "--route",
        "ANY /v1/{proxy+}",
        "--route",
        "ANY /v2/{proxy+}@2.0",
    ];
    let mut args = common.to_vec();
    args.extend([
        "--layer",
        &layer_arg,
        "--env",
        "AWS_LAMBDA_EXEC_WRAPPER=/opt/rollcall-wrapper",
    ]);
    let with_layer = start_lab(&args).await;
    let without = start_lab(&common).await;

    let mut first = true;
    let mut colds = 0;
    for format in ["v1", "v2"] {
        for shape in [
            "multi",
            "b64",
            "cookies",
            "plain",
            "dup",
            "unicode",
            "unavailable",
            "other",
            "raise",
        ] {
            let target = format!("/{format}/{shape}");
            let a = send(with_layer.api.local_addr(), "GET", &target, b"").await;
            let b = send(without.api.local_addr(), "GET", &target, b"").await;
            assert_eq!((a.status, &a.body), (b.status, &b.body), "{target}");
            assert_eq!(stable_headers(&a), stable_headers(&b), "{target}");
            // A raised error has no response to tag; payload 1.0 without statusCode is a
            // malformed response (502), passed through untouched.
            if shape == "raise" || (format, shape) == ("v1", "plain") {
                assert!(a.status >= 500, "{target}: {}", a.status);
                assert_eq!(a.header(VERSION_HEADER), None, "{target}");
                continue;
            }
            let versions: Vec<_> = a.headers.get_all(VERSION_HEADER).iter().collect();
            assert_eq!(versions, ["5"], "{target}: exactly one version header");
            let cold: Vec<_> = a.headers.get_all(COLD_HEADER).iter().collect();
            assert!(
                cold.len() <= 1 && (!first || cold == ["1"]),
                "{target}: {cold:?}"
            );
            colds += cold.len();
            first = false;
        }
    }
    // At most one cold tag per environment the requests above started, and the first request's.
    // Not exactly one: a request that arrives while the environment is still finishing the
    // previous invocation starts a new one (as in Lambda), and when that request is one of the
    // untagged shapes (`raise`, v1 `plain`) the new environment's cold start carries no tag.
    let logs = with_layer.pools["5"].logs();
    let started = environments(&logs);
    assert!(
        (1..=started).contains(&colds),
        "{colds} cold tags for {started} environments"
    );

    // Spot checks that the comparison covered what it should.
    let multi = send(with_layer.api.local_addr(), "GET", "/v1/multi", b"").await;
    let cookies: Vec<_> = multi.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let b64 = send(with_layer.api.local_addr(), "GET", "/v2/b64", b"").await;
    assert_eq!(&b64.body[..], &(0..=255u8).collect::<Vec<_>>()[..]);
    let plain = send(with_layer.api.local_addr(), "GET", "/v2/plain", b"").await;
    assert_eq!(plain.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&plain.body).unwrap();
    assert_eq!(v["message"], "no status code");

    // Direct invokes with non-HTTP events: the function's output, byte for byte.
    for payload in [
        &br#"{"arbitrary":[1,{"x":null}],"statusCode":"not http"}"#[..],
        br#""a plain string""#,
        b"[1,2,3]",
    ] {
        let a = invoke(&with_layer, "shapes", "5", payload).await;
        let b = invoke(&without, "shapes", "5", payload).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("x-amz-executed-version"), Some("5"));
        assert_eq!(a.body, b.body, "{}", String::from_utf8_lossy(payload));
    }
    with_layer.shutdown().await;
    without.shutdown().await;
}

/// Outputs found by use to differ through the layer (a bare JSON string, a lone-surrogate key,
/// whitespace around an object), posted byte for byte by a custom runtime, reach the client
/// the same with and without the layer; the tag is added only where the interpretation is
/// agreed.
#[tokio::test]
async fn raw_outputs_reach_the_client_the_same_with_and_without_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/raw/raw");
    let layer = rollcall_layer(dir.path());
    let tagged_code = code_dir(dir.path(), "tagged", &script, "raw");
    let plain_code = code_dir(dir.path(), "plain", &script, "bootstrap");
    let routes = [
        "--route",
        "ANY /v1/{proxy+}",
        "--route",
        "ANY /v2/{proxy+}@2.0",
    ];
    let version = format!("4={}", tagged_code.display());
    let layer_arg = layer.display().to_string();
    let mut args = vec![
        "--version",
        &version,
        "--handler",
        "raw",
        "--layer",
        &layer_arg,
    ];
    args.extend(routes);
    let with_layer = start_lab(&args).await;
    let version = format!("4={}", plain_code.display());
    let mut args = vec!["--version", version.as_str()];
    args.extend(routes);
    let without = start_lab(&args).await;

    // (output, tagged under payload 1.0, tagged under payload 2.0)
    let cases = [
        ("string", false, false),
        ("escaped", false, false),
        ("surrogate", false, false),
        ("surrogate-body", false, false),
        ("padded", false, false),
        ("array", false, false),
        ("object", false, true),
        ("padded-explicit", true, true),
        ("multi-v2", true, true),
    ];
    for (name, v1_tagged, v2_tagged) in cases {
        for (format, tagged) in [("v1", v1_tagged), ("v2", v2_tagged)] {
            let target = format!("/{format}/{name}");
            let a = send(with_layer.api.local_addr(), "GET", &target, b"").await;
            let b = send(without.api.local_addr(), "GET", &target, b"").await;
            assert_eq!((a.status, &a.body), (b.status, &b.body), "{target}");
            assert_eq!(stable_headers(&a), stable_headers(&b), "{target}");
            let want = tagged.then_some("4");
            assert_eq!(a.header(VERSION_HEADER), want, "{target}: {}", a.status);
        }
    }
    // What the found cases look like without the layer, so the comparison above means it.
    let hello = send(without.api.local_addr(), "GET", "/v2/string", b"").await;
    assert_eq!((hello.status, &hello.body[..]), (200, &b"hello"[..]));
    let surrogate = send(without.api.local_addr(), "GET", "/v2/surrogate", b"").await;
    assert_eq!(surrogate.status, 500);
    let padded = send(without.api.local_addr(), "GET", "/v2/padded", b"").await;
    assert_eq!(&padded.body[..], br#"{"message":"hi"}"#);
    with_layer.shutdown().await;
    without.shutdown().await;
}
