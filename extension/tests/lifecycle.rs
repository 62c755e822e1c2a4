//! The `rollcall` binary as a real process against a scripted Extensions/Runtime/Telemetry API
//! (a real HTTP server on 127.0.0.1:0): the forms of `AWS_LAMBDA_RUNTIME_API` emulators use,
//! a 2xx subscription answer carrying an error, registration that is never answered, and no
//! `/event/next` after SHUTDOWN.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rollcall_extension::ready::ready_file;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc};

const SHUTDOWN: &str =
    r#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":4102444800000}"#;
const INVOKE: &str = r#"{"eventType":"INVOKE","requestId":"r1","deadlineMs":4102444800000,"invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f"}"#;

/// What the scripted API does and saw.
struct Api {
    /// Path prefix the API serves under (`/.rt` like `cargo lambda watch`); other paths: 404.
    base: String,
    /// Answer to the telemetry subscription.
    telemetry: (StatusCode, &'static str),
    /// Never answer the register call.
    silent_register: bool,
    /// Events handed out by `/event/next`, in order.
    events: Mutex<mpsc::UnboundedReceiver<&'static str>>,
    /// Every call, `METHOD path` (after the prefix), in order.
    calls: Mutex<Vec<String>>,
    /// The register call's body.
    register_body: Mutex<Option<String>>,
    /// Woken at each call.
    called: Notify,
    /// `/event/next` calls after the SHUTDOWN event was handed out.
    late_nexts: Mutex<u32>,
    shutdown_sent: Mutex<bool>,
}

async fn handle(
    api: Arc<Api>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let full_path = req.uri().path().to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = |status: StatusCode, body: &str| {
        let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
        *r.status_mut() = status;
        r
    };
    let Some(path) = full_path.strip_prefix(api.base.as_str()) else {
        return Ok(reply(StatusCode::NOT_FOUND, "not under the base path"));
    };
    api.calls.lock().unwrap().push(format!("{method} {path}"));
    api.called.notify_waiters();
    match path {
        "/2020-01-01/extension/register" => {
            *api.register_body.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
            if api.silent_register {
                std::future::pending::<()>().await;
            }
            let mut r = reply(
                StatusCode::OK,
                r#"{"functionName":"f","functionVersion":"3","handler":"h"}"#,
            );
            r.headers_mut()
                .insert("lambda-extension-identifier", "ext-1".parse().unwrap());
            Ok(r)
        }
        "/2020-01-01/extension/event/next" => {
            if *api.shutdown_sent.lock().unwrap() {
                *api.late_nexts.lock().unwrap() += 1;
                return Ok(reply(
                    StatusCode::FORBIDDEN,
                    r#"{"errorType":"Extension.InvalidExtensionState","errorMessage":"next after SHUTDOWN"}"#,
                ));
            }
            let next = {
                let mut rx = api.events.lock().unwrap();
                rx.try_recv().ok()
            };
            let event = match next {
                Some(e) => e,
                None => {
                    // Wait for the test to queue one.
                    loop {
                        let notified = api.called.notified();
                        if let Ok(e) = api.events.lock().unwrap().try_recv() {
                            break e;
                        }
                        notified.await;
                    }
                }
            };
            if event.contains("SHUTDOWN") {
                *api.shutdown_sent.lock().unwrap() = true;
            }
            Ok(reply(StatusCode::OK, event))
        }
        "/2022-07-01/telemetry" => Ok(reply(api.telemetry.0, api.telemetry.1)),
        "/2018-06-01/runtime/invocation/next" => {
            let mut r = reply(StatusCode::OK, r#"{"hello":"event"}"#);
            r.headers_mut()
                .insert("lambda-runtime-aws-request-id", "inv-1".parse().unwrap());
            Ok(r)
        }
        _ => Ok(reply(StatusCode::NOT_FOUND, "unknown path")),
    }
}

struct Scripted {
    api: Arc<Api>,
    events: mpsc::UnboundedSender<&'static str>,
    port: u16,
}

impl Scripted {
    async fn start(
        base: &str,
        telemetry: (StatusCode, &'static str),
        silent_register: bool,
    ) -> Self {
        let (events, rx) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            base: base.to_owned(),
            telemetry,
            silent_register,
            events: Mutex::new(rx),
            calls: Mutex::new(Vec::new()),
            register_body: Mutex::new(None),
            called: Notify::new(),
            late_nexts: Mutex::new(0),
            shutdown_sent: Mutex::new(false),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = api.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let api = served.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(api.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self { api, events, port }
    }

    fn send(&self, event: &'static str) {
        self.events.send(event).unwrap();
        self.api.called.notify_waiters();
    }

    /// Waits until a call matching `what` arrived.
    async fn wait_for(&self, what: &str) {
        let wait = async {
            loop {
                let notified = self.api.called.notified();
                if self.api.calls.lock().unwrap().iter().any(|c| c == what) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .unwrap_or_else(|_| panic!("no {what:?}; calls: {:?}", self.api.calls.lock().unwrap()));
    }

    fn calls(&self) -> Vec<String> {
        self.api.calls.lock().unwrap().clone()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Extension {
    child: Child,
    tmp: tempfile::TempDir,
    proxy_port: u16,
    stderr: PathBuf,
}

impl Extension {
    fn start(runtime_api: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let proxy_port = free_port();
        let telemetry_port = free_port();
        let stderr = tmp.path().join("stderr.log");
        let child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "f")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "3")
            .env("TMPDIR", tmp.path())
            .env("ROLLCALL_PROXY_PORT", proxy_port.to_string())
            .env("ROLLCALL_TELEMETRY_PORT", telemetry_port.to_string())
            .env("ROLLCALL_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Self {
            child,
            tmp,
            proxy_port,
            stderr,
        }
    }

    fn ready_file(&self) -> PathBuf {
        ready_file(self.tmp.path().to_str(), self.proxy_port)
    }

    async fn exits(&mut self, within: Duration) -> std::process::ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!(
                "the extension still runs after {within:?}; stderr:\n{}",
                self.log()
            ),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

fn exists(path: &Path) -> bool {
    path.exists()
}

/// Lambda's form with an INVOKE and a SHUTDOWN, ten times: the extension flushes and exits
/// after SHUTDOWN and never calls `/event/next` again (AWS's emulator logs a failed
/// transition when it does). The late call raced the exit, so one run alone proves little.
#[tokio::test]
async fn after_shutdown_the_extension_exits_without_calling_next_again() {
    for run in 0..10 {
        let api = Scripted::start("", (StatusCode::OK, "OK"), false).await;
        let mut ext = Extension::start(&format!("127.0.0.1:{}", api.port));
        api.send(INVOKE);
        api.send(SHUTDOWN);
        let status = ext.exits(Duration::from_secs(20)).await;
        assert!(status.success(), "run {run}: {status}; {}", ext.log());
        assert_eq!(
            *api.api.late_nexts.lock().unwrap(),
            0,
            "run {run}: /event/next after SHUTDOWN; calls {:?}",
            api.calls()
        );
        assert!(!exists(&ext.ready_file()), "the ready file is removed");
    }
}

/// `cargo lambda watch` sets `AWS_LAMBDA_RUNTIME_API=127.0.0.1:9000/.rt`: the extension
/// registers under that path and its proxy forwards the runtime's calls under it.
#[tokio::test]
async fn a_runtime_api_with_a_path_is_used_under_that_path() {
    let api = Scripted::start("/.rt", (StatusCode::OK, "OK"), false).await;
    let mut ext = Extension::start(&format!("127.0.0.1:{}/.rt", api.port));
    api.wait_for("POST /2020-01-01/extension/register").await;
    assert!(exists(&ext.ready_file()), "the proxy announced itself");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let res = client
        .get(
            format!(
                "http://127.0.0.1:{}/2018-06-01/runtime/invocation/next",
                ext.proxy_port
            )
            .parse()
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", ext.log());
    assert_eq!(res.headers()["lambda-runtime-aws-request-id"], "inv-1");
    api.wait_for("PUT /2022-07-01/telemetry").await;
    api.send(SHUTDOWN);
    assert!(
        ext.exits(Duration::from_secs(20)).await.success(),
        "{}",
        ext.log()
    );
}

/// With `http://` in the variable, every call (the subscription included) is `http://` once.
#[tokio::test]
async fn a_runtime_api_with_a_scheme_is_used_with_one_scheme() {
    let api = Scripted::start("", (StatusCode::OK, "OK"), false).await;
    let mut ext = Extension::start(&format!("http://127.0.0.1:{}", api.port));
    api.wait_for("PUT /2022-07-01/telemetry").await;
    api.send(SHUTDOWN);
    assert!(
        ext.exits(Duration::from_secs(20)).await.success(),
        "{}",
        ext.log()
    );
    let log = ext.log();
    assert!(!log.contains("subscription failed"), "{log}");
}

/// A bare port is no endpoint any runtime client can reach: the proxy does not announce
/// itself (no ready file, the runtime stays on the real API) and the extension ends with a
/// line naming the variable, instead of waiting forever.
#[tokio::test]
async fn a_bare_port_is_not_announced_and_nothing_waits_forever() {
    let api = Scripted::start("", (StatusCode::OK, "OK"), false).await;
    let mut ext = Extension::start(&api.port.to_string());
    ext.exits(Duration::from_secs(20)).await;
    assert!(!exists(&ext.ready_file()));
    assert!(api.calls().is_empty(), "{:?}", api.calls());
    let log = ext.log();
    assert!(log.contains("AWS_LAMBDA_RUNTIME_API"), "{log}");
}

/// A register call that is never answered ends within the registration timeout, and the
/// ready file is taken back: a runtime started later is not drawn into a proxy without an
/// extension behind it.
#[tokio::test]
async fn an_unanswered_registration_gives_up_and_takes_the_ready_file_back() {
    let api = Scripted::start("", (StatusCode::OK, "OK"), true).await;
    let mut ext = Extension::start(&format!("127.0.0.1:{}", api.port));
    api.wait_for("POST /2020-01-01/extension/register").await;
    assert!(exists(&ext.ready_file()));
    ext.exits(rollcall_extension::extensions_api::REGISTER_TIMEOUT + Duration::from_secs(10))
        .await;
    assert!(!exists(&ext.ready_file()), "{}", ext.log());
}

/// AWS's runtime interface emulator answers the subscription `202` with
/// `{"errorType":"Telemetry.NotSupported"}`: a failure, logged as one.
#[tokio::test]
async fn a_2xx_subscription_answer_with_an_error_body_is_a_failure() {
    let api = Scripted::start(
        "",
        (
            StatusCode::ACCEPTED,
            r#"{"errorType":"Telemetry.NotSupported","errorMessage":"Telemetry API is not supported"}"#,
        ),
        false,
    )
    .await;
    let mut ext = Extension::start(&format!("127.0.0.1:{}", api.port));
    api.wait_for("PUT /2022-07-01/telemetry").await;
    api.send(SHUTDOWN);
    assert!(ext.exits(Duration::from_secs(20)).await.success());
    let log = ext.log();
    assert!(
        log.contains("telemetry subscription failed") && log.contains("Telemetry.NotSupported"),
        "{log}"
    );
}
