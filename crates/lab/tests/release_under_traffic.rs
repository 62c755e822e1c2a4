//! The release flow — `UpdateFunctionCode` → `PublishVersion` → `UpdateAlias` — three times
//! while both front doors (API Gateway and the Invoke API, through the alias `live`) take a
//! steady stream of requests: no request fails or goes unanswered, and after each
//! `UpdateAlias` returns, the alias answers with the new version. Real processes (`lab-testfn`)
//! on 127.0.0.1.

use std::io::{Cursor, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use lab::api::lambda::FunctionControl;
use lab::api::{ApiConfig, ApiGateway, InvokeApi, PayloadFormat, Route, RouteTable};
use lab::control::alias::{Alias, Routing};
use lab::control::code::CodeStore;
use lab::control::{Provisioner, Registry, Snapshot};
use lab::invoke::Invoker;
use serde_json::{Value, json};
use test_support::http::send;
use tokio::sync::mpsc;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

const LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A package: `lab-testfn` as `bootstrap` and a `release` file naming the release, so that
/// each release has its own `CodeSha256`.
fn package(release: u32) -> String {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(&std::fs::read(testfn).unwrap()).unwrap();
    writer.start_file("release", options).unwrap();
    writer.write_all(release.to_string().as_bytes()).unwrap();
    let zip = writer.finish().unwrap().into_inner();
    base64::engine::general_purpose::STANDARD.encode(zip)
}

/// One answered request: which door, its status, and the version that ran it (Invoke only).
#[derive(Debug)]
struct Answer {
    door: &'static str,
    status: u16,
    version: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_under_traffic_drop_no_request() {
    let state = tempfile::tempdir().unwrap();
    let registry = Registry::new(Snapshot::default());
    let control = FunctionControl {
        store: CodeStore::open(state.path().join("code")).unwrap(),
        provisioner: Provisioner::default(),
    };
    let lambda = InvokeApi::new(Arc::clone(&registry))
        .with_control(control)
        .bind(LOCAL)
        .await
        .unwrap();
    let api = lambda.local_addr();
    let call = |method: &'static str, path: String, body: Value| async move {
        let reply = send(api, method, &path, &[], body.to_string()).await;
        let json: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        assert!(
            reply.status < 300,
            "{method} {path}: {} {json}",
            reply.status
        );
        json
    };
    let created = call(
        "POST",
        "/2015-03-31/functions".into(),
        json!({"FunctionName": "f", "Role": "arn:aws:iam::123456789012:role/r",
               "Runtime": "provided.al2023", "Handler": "bootstrap", "Publish": true,
               "Code": {"ZipFile": package(1)}}),
    )
    .await;
    assert_eq!(created["Version"], "1");
    registry
        .mutate(|s| {
            let f = s.functions.get_mut("f").unwrap();
            let known = [("1".to_owned(), Arc::clone(&f.versions[&1].pool))].into();
            let live = Alias::new("live", known, Routing::single("1"), 1).unwrap();
            f.aliases.insert("live".into(), Arc::new(live));
            Ok::<_, ()>(())
        })
        .unwrap();
    let front: Arc<dyn Invoker> = Arc::new(registry.invoker("f", Some("live")));
    // An HTTP API (payload 2.0): the echoed event is a valid, inferred response.
    let routes = RouteTable::new(vec![Route::parse("GET /hello", PayloadFormat::V2).unwrap()]);
    let gateway = ApiGateway::new(ApiConfig::new(routes, PayloadFormat::V2), front)
        .with_registry(Arc::clone(&registry))
        .bind(LOCAL)
        .await
        .unwrap();
    let door = gateway.local_addr();

    // Steady traffic: one request every 5 ms, alternately through each door.
    let running = Arc::new(AtomicBool::new(true));
    let (answers, mut answered) = mpsc::unbounded_channel::<Answer>();
    let traffic = tokio::spawn({
        let running = Arc::clone(&running);
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            let mut sent = 0u64;
            let mut requests = tokio::task::JoinSet::new();
            while running.load(Ordering::Relaxed) {
                tick.tick().await;
                let answers = answers.clone();
                let through_gateway = sent % 2 == 0;
                sent += 1;
                requests.spawn(async move {
                    let answer = if through_gateway {
                        let r = send(door, "GET", "/hello", &[], "").await;
                        Answer {
                            door: "gateway",
                            status: r.status,
                            version: None,
                        }
                    } else {
                        let path = "/2015-03-31/functions/f/invocations?Qualifier=live";
                        let r = send(api, "POST", path, &[], "{}").await;
                        let version = r.header("x-amz-executed-version").map(str::to_owned);
                        Answer {
                            door: "invoke",
                            status: r.status,
                            version,
                        }
                    };
                    let _ = answers.send(answer);
                });
            }
            while requests.join_next().await.is_some() {}
            sent
        }
    });

    let mut seen = Vec::new();
    for release in 2..=4u32 {
        let updated = call(
            "PUT",
            "/2015-03-31/functions/f/code".into(),
            json!({"ZipFile": package(release)}),
        )
        .await;
        assert_eq!(updated["Version"], "$LATEST");
        let published = call(
            "POST",
            "/2015-03-31/functions/f/versions".into(),
            json!({"CodeSha256": updated["CodeSha256"]}),
        )
        .await;
        let version = release.to_string();
        assert_eq!(published["Version"], version.as_str());
        call(
            "PUT",
            "/2015-03-31/functions/f/aliases/live".into(),
            json!({"FunctionVersion": version}),
        )
        .await;
        // Every invocation after UpdateAlias returned runs the new version...
        let reply = send(
            api,
            "POST",
            "/2015-03-31/functions/f/invocations?Qualifier=live",
            &[],
            "{}",
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.header("x-amz-executed-version"),
            Some(version.as_str())
        );
        // ... and the traffic sees it, within a bound.
        let observed = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let answer = answered.recv().await.expect("traffic runs");
                let new = answer.version.as_deref() == Some(version.as_str());
                seen.push(answer);
                if new {
                    return;
                }
            }
        })
        .await;
        assert!(observed.is_ok(), "the traffic never saw version {version}");
    }
    running.store(false, Ordering::Relaxed);
    let sent = traffic.await.unwrap();
    while let Ok(answer) = answered.try_recv() {
        seen.push(answer);
    }
    assert_eq!(seen.len() as u64, sent, "every request was answered");
    let failed: Vec<&Answer> = seen.iter().filter(|a| a.status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, the first: {:?}",
        failed.len(),
        seen.len(),
        failed.first()
    );
    assert!(seen.iter().any(|a| a.door == "gateway"));
    // The versions the alias served, in the order of their releases.
    let mut versions: Vec<&str> = seen.iter().filter_map(|a| a.version.as_deref()).collect();
    versions.dedup();
    assert!(versions.ends_with(&["4"]), "{versions:?}");
    gateway.shutdown().await;
    lambda.shutdown().await;
    registry.shutdown_pools().await;
}
