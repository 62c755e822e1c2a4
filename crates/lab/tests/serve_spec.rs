//! A lab started from the spec file of the README (two functions, a layer, versions from a dir
//! and a zip, a weighted alias, three routes): real pools running `hello` and a Python runtime,
//! both front doors on 127.0.0.1:0.

mod spec_support;

use std::collections::BTreeSet;

use lab::api::gateway::PayloadFormat;
use lab::cli::ServeOptions;
use lab::lab::Lab;
use lab::ready::ReadyFile;
use lab::spec::LabSpec;
use serde_json::Value;
use spec_support::{event, runnable_fixture};
use test_support::http::send;

fn options() -> ServeOptions {
    ServeOptions {
        default_format: PayloadFormat::V1,
        ..ServeOptions::loopback()
    }
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// The `body` of a hello response (a JSON string inside the proxy response).
fn hello_body(reply: &Value) -> Value {
    serde_json::from_str(reply["body"].as_str().unwrap_or("null")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_spec_serves_every_function_and_qualifier() {
    let dir = tempfile::tempdir().unwrap();
    let spec = LabSpec::load(&runnable_fixture(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    let lab = Lab::start_spec(&spec, &options())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = lab.api.local_addr();

    // GET /hello -> hello:live (version 1, 10 % to version 2), payload 2.0.
    let mut seen = BTreeSet::new();
    for _ in 0..10 {
        let r = send(api, "GET", "/hello", &[], "").await;
        let version = r.header("x-amz-executed-version").map(str::to_owned);
        if r.status == 200 {
            assert_eq!(r.json()["path"], "/hello", "{}", text(&r.body));
            seen.insert(r.json()["version"].as_str().unwrap().to_owned());
        }
        assert!(
            r.header("apigw-requestid").is_some(),
            "payload 2.0: {version:?}"
        );
    }
    assert!(seen.contains("1"), "the alias's primary answers: {seen:?}");
    assert!(
        seen.is_subset(&BTreeSet::from(["1".into(), "2".into()])),
        "{seen:?}"
    );

    // ANY /v1/{proxy+} -> hello:1, from the zip, payload 1.0.
    let v1 = send(api, "POST", "/v1/a/b", &[], "{}").await;
    assert_eq!(v1.status, 200, "{}", text(&v1.body));
    assert_eq!(v1.json()["version"], "1");
    assert_eq!(v1.json()["path"], "/v1/a/b");
    assert!(v1.header("apigw-requestid").is_none(), "payload 1.0 (REST)");

    // $default -> echo ($LATEST), the Python runtime command.
    let echo = send(api, "GET", "/elsewhere", &[], "").await;
    assert_eq!(echo.status, 200, "{}", text(&echo.body));
    assert_eq!(echo.json()["handler"], "echo.handler");
    assert_eq!(echo.json()["argv"], serde_json::json!(["runtime.py"]));
    assert_eq!(echo.json()["echo"]["rawPath"], "/elsewhere");

    // The Lambda API: each function at each qualifier.
    let lambda = lab.lambda.local_addr();
    let invoke = |function: &'static str, qualifier: Option<&'static str>| {
        let path = match qualifier {
            Some(q) => format!("/2015-03-31/functions/{function}/invocations?Qualifier={q}"),
            None => format!("/2015-03-31/functions/{function}/invocations"),
        };
        async move { send(lambda, "POST", &path, &[], event("/direct")).await }
    };
    for (qualifier, executed) in [("$LATEST", "$LATEST"), ("1", "1"), ("2", "2")] {
        let r = invoke("hello", Some(qualifier)).await;
        assert_eq!(r.status, 200, "hello:{qualifier}: {}", text(&r.body));
        assert_eq!(r.header("x-amz-executed-version"), Some(executed));
        if r.header("x-amz-function-error").is_none() {
            assert_eq!(hello_body(&r.json())["version"], executed);
        }
    }
    let live = invoke("hello", Some("live")).await;
    assert_eq!(live.status, 200, "{}", text(&live.body));
    let executed = live.header("x-amz-executed-version").unwrap();
    assert!(executed == "1" || executed == "2", "{executed}");
    let echo = invoke("echo", None).await;
    assert_eq!(echo.status, 200, "{}", text(&echo.body));
    assert_eq!(echo.header("x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(echo.json()["echo"]["rawPath"], "/direct");
    let missing = invoke("echo", Some("1")).await;
    assert_eq!(missing.status, 404, "echo publishes no version");

    // Both functions are known to the Lambda API, with the spec's configuration.
    for (function, memory, runtime_handler) in
        [("hello", 256, "hello"), ("echo", 128, "echo.handler")]
    {
        let path = format!("/2015-03-31/functions/{function}/configuration");
        let r = send(lambda, "GET", &path, &[], "").await;
        assert_eq!(r.status, 200, "{function}: {}", text(&r.body));
        assert_eq!(r.json()["FunctionName"], function);
        assert_eq!(r.json()["MemorySize"], memory);
        assert_eq!(r.json()["Handler"], runtime_handler);
        assert!(
            r.json()["FunctionArn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:lambda:eu-west-1:210987654321:function:"),
            "the spec's Region and account: {}",
            text(&r.body)
        );
    }

    // The spec's layer is version 1 of its layer: hello's configuration names it.
    let layer = "arn:aws:lambda:eu-west-1:210987654321:layer:rollcall:1";
    for qualifier in ["", "?Qualifier=1"] {
        let path = format!("/2015-03-31/functions/hello/configuration{qualifier}");
        let r = send(lambda, "GET", &path, &[], "").await;
        let size = "rollcall layer\n".len();
        assert_eq!(
            r.json()["Layers"],
            serde_json::json!([{ "Arn": layer, "CodeSize": size }]),
            "{path}: {}",
            text(&r.body)
        );
    }
    let r = send(
        lambda,
        "GET",
        "/2018-10-31/layers/rollcall/versions/1",
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.json()["LayerVersionArn"], layer);

    let list = send(lambda, "GET", "/2015-03-31/functions/", &[], "").await;
    assert_eq!(list.status, 200, "{}", text(&list.body));
    let mut listed: Vec<String> = list.json()["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["echo", "hello"], "ListFunctions lists both");

    // The readiness document names all of it.
    let ready = ReadyFile::of(&lab, 42);
    assert_eq!(ready.api_url, lab.api_url());
    assert_eq!(ready.lambda_url, lab.lambda_url());
    assert_eq!(ready.functions["hello"].versions, ["$LATEST", "1", "2"]);
    let live = &ready.functions["hello"].aliases["live"];
    assert_eq!(live.primary, "1");
    assert_eq!(live.additional.get("2"), Some(&0.1));
    assert_eq!(ready.functions["echo"].versions, ["$LATEST"]);
    assert!(ready.functions["echo"].aliases.is_empty());
    let routes: Vec<(&str, &str, &str)> = ready
        .routes
        .iter()
        .map(|r| {
            (
                r.route.as_str(),
                r.target.as_str(),
                r.payload_format.as_str(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("GET /hello", "hello:live", "2.0"),
            ("ANY /v1/{proxy+}", "hello:1", "1.0"),
            ("$default", "echo", "2.0"),
        ]
    );
    // hello reserves 20; echo shares what the account keeps unreserved: 1000 - 20.
    let snapshot = lab.registry.snapshot();
    assert_eq!(snapshot.functions["hello"].limit.limit(), 20);
    assert_eq!(snapshot.functions["echo"].limit.limit(), 980);
    // hello's $LATEST (its own code and variables) and versions 1 and 2 each have a pool.
    let pools: Vec<&String> = lab.functions["hello"].keys().collect();
    assert_eq!(pools, ["$LATEST", "1", "2"]);
    // Version 1's zip is unpacked into the lab's state dir, which goes with the lab.
    let hello = &snapshot.functions["hello"];
    let state = lab.state_dir.path().to_owned();
    assert!(hello.versions[&1].config.code_dir.starts_with(&state));
    assert!(
        hello.versions[&1]
            .config
            .code_dir
            .join("bootstrap")
            .is_file()
    );
    assert!(
        !hello.latest.config.code_dir.starts_with(&state),
        "a dir is used in place"
    );
    drop(snapshot);
    lab.shutdown().await;
    assert!(
        !state.exists(),
        "the state dir is removed when the lab ends"
    );
}

#[test]
fn the_ready_file_round_trips_through_json_with_every_field() {
    let text = r#"{"api_url": "http://127.0.0.1:1", "lambda_url": "http://127.0.0.1:2", "pid": 7,
        "functions": {"hello": {"versions": ["$LATEST", "1", "2"],
            "aliases": {"live": {"primary": "1", "additional": {"2": 0.25}}}}},
        "routes": [{"route": "GET /hello", "target": "hello:live", "payload_format": "2.0"}]}"#;
    let ready: ReadyFile = serde_json::from_str(text).unwrap();
    assert_eq!(ready.pid, 7);
    assert_eq!(
        ready.functions["hello"].aliases["live"].additional["2"],
        0.25
    );
    let again: ReadyFile = serde_json::from_str(&serde_json::to_string(&ready).unwrap()).unwrap();
    assert_eq!(again, ready);
    let written: Value = serde_json::to_value(&ready).unwrap();
    let keys: Vec<&String> = written.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["api_url", "functions", "lambda_url", "pid", "routes"]
    );
    assert!(
        serde_json::from_str::<ReadyFile>(&text.replace("\"pid\"", "\"pod\"")).is_err(),
        "an unknown field is refused (the document is closed)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_files_latest_reports_latest_even_when_a_version_snapshots_it() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(
        test_support::executable(&["hello"], "hello"),
        code.join("bootstrap"),
    )
    .unwrap();
    let yaml = "functions:\n  hello:\n    code: code\n    versions: [{}]\n";
    let spec = LabSpec::from_yaml(yaml, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let lab = Lab::start_spec(&spec, &options())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pools: Vec<&String> = lab.functions["hello"].keys().collect();
    assert_eq!(
        pools,
        ["$LATEST", "1"],
        "$LATEST has environments of its own"
    );
    for (qualifier, executed) in [("$LATEST", "$LATEST"), ("1", "1")] {
        let path = format!("/2015-03-31/functions/hello/invocations?Qualifier={qualifier}");
        let r = send(lab.lambda.local_addr(), "POST", &path, &[], event("/x")).await;
        assert_eq!(r.status, 200, "{}", text(&r.body));
        assert_eq!(r.header("x-amz-executed-version"), Some(executed));
        assert_eq!(hello_body(&r.json())["version"], executed);
    }
    lab.shutdown().await;
}
