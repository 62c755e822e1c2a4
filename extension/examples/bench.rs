//! Benchmarks of the extension with real processes (run by `bench/extension-*.sh`, release builds):
//!
//! - `latency`: client-visible latency of a no-op function (`lab-testfn` echo) in a lab execution
//!   environment, without the layer and with it (proxy + tagging + metrics), interleaved in
//!   blocks; prints percentiles of both and their differences.
//! - `rss`: 100,000 invocations through the layer, sampling the extension's `VmRSS`.
//! - `proxy`: the proxy's own cost per invocation cycle, in one process, on a current-thread
//!   runtime like the `rollcall` binary's.
//! - `startup`: time from spawning `rollcall` to its register call, against a minimal
//!   Extensions API on 127.0.0.1:0.
//! - `stream`: the proxy's added time to first byte of a streamed HTTP response (prelude,
//!   delimiter, body chunks), in one process, direct vs through the proxy (which tags the
//!   prelude); in `bench/stream.rs`.

#[path = "bench/stream.rs"]
mod bench_stream;

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use http_body_util::Full;
use lab::env::{Environment, FunctionConfig, LogSink};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Parser)]
struct Opts {
    /// The `rollcall` binary (release); needed by `latency`, `rss` and `startup`.
    #[arg(long)]
    rollcall: Option<PathBuf>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Added latency per invocation.
    Latency {
        /// The `lab-testfn` binary (release).
        #[arg(long)]
        function: PathBuf,
        /// Invocations per mode.
        #[arg(long, default_value_t = 20_000)]
        invocations: u64,
        /// Invocations per block; modes alternate by block (1: every other invocation, so that
        /// both modes see the same host load).
        #[arg(long, default_value_t = 1)]
        block: u64,
        /// `NAME=VALUE` set in the environment with the layer (e.g. `ROLLCALL_METRICS=off` to
        /// see what a feature costs); repeatable.
        #[arg(long = "with-env", value_parser = parse_env_pair)]
        with_env: Vec<(String, String)>,
    },
    /// Extension RSS over many invocations.
    Rss {
        /// The `lab-testfn` binary (release).
        #[arg(long)]
        function: PathBuf,
        /// Invocations.
        #[arg(long, default_value_t = 100_000)]
        invocations: u64,
        /// Samples of VmRSS.
        #[arg(long, default_value_t = 10)]
        samples: u64,
        /// `NAME=VALUE` set in the function's environment; repeatable.
        #[arg(long = "with-env", value_parser = parse_env_pair)]
        with_env: Vec<(String, String)>,
    },
    /// The proxy's own cost, in one process: a `/next` + `/response` cycle against a minimal
    /// Runtime API, directly and through the proxy (no process scheduling involved).
    Proxy {
        /// Cycles per mode.
        #[arg(long, default_value_t = 50_000)]
        cycles: u64,
    },
    /// Added time to first byte of streamed responses, in one process.
    Stream {
        /// Streamed responses per mode.
        #[arg(long, default_value_t = 20_000)]
        cycles: u64,
    },
    /// Spawn-to-register time.
    Startup {
        /// Starts measured.
        #[arg(long, default_value_t = 50)]
        runs: u32,
    },
}

/// A small HTTP API 2.0 event, so the tagging path runs (the echo has no `statusCode`: the
/// extension emits the explicit equivalent response).
const EVENT: &[u8] = br#"{"version":"2.0","routeKey":"$default","rawPath":"/bench","rawQueryString":"","headers":{"host":"lab","user-agent":"bench"},"requestContext":{"http":{"method":"GET","path":"/bench","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"bench"},"requestId":"r","routeKey":"$default","stage":"$default","timeEpoch":0},"isBase64Encoded":false}"#;

fn parse_env_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}`: expected NAME=VALUE"))
}

fn copy_exe(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// An environment running `function`, with the rollcall layer when `rollcall` is given.
async fn environment(
    dir: &Path,
    function: &Path,
    rollcall: Option<&Path>,
    env: &[(String, String)],
) -> Environment {
    let name = if rollcall.is_some() {
        "with"
    } else {
        "without"
    };
    let code = dir.join(name).join("code");
    let mut cfg = if let Some(rollcall) = rollcall {
        let layer = dir.join(name).join("layer");
        copy_exe(rollcall, &layer.join("extensions/rollcall"));
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("layer");
        for s in ["bootstrap", "rollcall-wrapper"] {
            copy_exe(&scripts.join(s), &layer.join(s));
        }
        copy_exe(function, &code.join("fn"));
        let mut cfg = FunctionConfig::new("bench", "1", &code, "fn");
        cfg.layer_dirs = vec![layer];
        cfg
    } else {
        copy_exe(function, &code.join("bootstrap"));
        FunctionConfig::new("bench", "1", &code, "bootstrap")
    };
    cfg.timeout = Duration::from_secs(30);
    cfg.env_vars.extend(env.iter().cloned());
    let resolved = Arc::new(cfg.validate().expect("valid function config"));
    let logs = Arc::new(LogSink::new("/aws/lambda/bench", 1_000, None));
    Environment::start(Arc::new(cfg), resolved, logs)
        .await
        .expect("environment starts")
}

/// One invocation; returns the time until the caller had the response.
async fn invoke_once(env: &mut Environment) -> Duration {
    let (tx, rx) = oneshot::channel();
    let request = InvokeRequest {
        payload: Bytes::from_static(EVENT),
        ..Default::default()
    };
    let start = Instant::now();
    let (end, answered) = tokio::join!(env.invoke(request, tx), async {
        let outcome = rx.await.expect("an outcome");
        (start.elapsed(), outcome)
    });
    assert!(end.reusable, "the environment stays usable");
    match answered.1 {
        InvokeOutcome::Success { .. } => answered.0,
        other => panic!("invocation failed: {other:?}"),
    }
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

pub(crate) fn line(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:>8}: n={} p50={}us p90={}us p99={}us p99.9={}us max={}us",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

async fn latency(
    rollcall: &Path,
    function: &Path,
    invocations: u64,
    block: u64,
    with_env: &[(String, String)],
) {
    let dir = tempfile::tempdir().unwrap();
    let mut without = environment(dir.path(), function, None, &[]).await;
    let mut with = environment(dir.path(), function, Some(rollcall), with_env).await;
    // Warm-up: first invocations (cold, connection set-up) are not measured.
    for _ in 0..200 {
        invoke_once(&mut without).await;
        invoke_once(&mut with).await;
    }
    let mut h_without = Histogram::<u64>::new(3).unwrap();
    let mut h_with = Histogram::<u64>::new(3).unwrap();
    let mut done = 0;
    while done < invocations {
        let n = block.min(invocations - done);
        for _ in 0..n {
            h_without
                .record(micros(invoke_once(&mut without).await))
                .unwrap();
        }
        for _ in 0..n {
            h_with.record(micros(invoke_once(&mut with).await)).unwrap();
        }
        done += n;
    }
    line("without", &h_without);
    line("with", &h_with);
    for q in [0.5, 0.9, 0.99] {
        let a = h_with.value_at_quantile(q) as i64;
        let b = h_without.value_at_quantile(q) as i64;
        println!("added p{}: {}us", q * 100.0, a - b);
    }
    without.shutdown().await;
    with.shutdown().await;
}

fn vm_rss_kb(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn rss(
    rollcall: &Path,
    function: &Path,
    invocations: u64,
    samples: u64,
    with_env: &[(String, String)],
) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = environment(dir.path(), function, Some(rollcall), with_env).await;
    let pid = env
        .pids()
        .into_iter()
        .find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "rollcall")
        })
        .expect("the rollcall process");
    println!("invocations,rss_kb");
    println!("0,{}", vm_rss_kb(pid));
    let every = (invocations / samples.max(1)).max(1);
    let start = Instant::now();
    for i in 1..=invocations {
        invoke_once(&mut env).await;
        if i % every == 0 {
            println!("{i},{}", vm_rss_kb(pid));
        }
    }
    eprintln!(
        "{invocations} invocations in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    env.shutdown().await;
}

/// A minimal Extensions API: register (reports the arrival time), telemetry subscribe, and
/// `next` answering SHUTDOWN so the extension exits.
async fn extensions_api(registered: mpsc::UnboundedSender<Instant>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let registered = registered.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: http::Request<hyper::body::Incoming>| {
                        let registered = registered.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let mut res = http::Response::new(Full::new(Bytes::new()));
                            if path == protocol::extension::REGISTER_PATH {
                                let _ = registered.send(Instant::now());
                                res = http::Response::builder()
                                .header(protocol::extension::HEADER_IDENTIFIER, "bench-ext")
                                .body(Full::new(Bytes::from_static(
                                    br#"{"functionName":"bench","functionVersion":"1","handler":"fn"}"#,
                                )))
                                .unwrap();
                            } else if path == protocol::extension::NEXT_PATH {
                                res = http::Response::new(Full::new(Bytes::from_static(
                                br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":0}"#,
                            )));
                            }
                            Ok::<_, Infallible>(res)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn startup(rollcall: &Path, runs: u32) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let api = extensions_api(tx).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut h = Histogram::<u64>::new(3).unwrap();
    for _ in 0..runs {
        let start = Instant::now();
        let mut child = tokio::process::Command::new(rollcall)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("ROLLCALL_PROXY_PORT", free_port().to_string())
            .env("ROLLCALL_TELEMETRY_PORT", free_port().to_string())
            .env("ROLLCALL_METRICS", "off")
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let at = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the extension registered within 10 s")
            .unwrap();
        h.record(micros(at - start)).unwrap();
        tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("the extension exits after SHUTDOWN")
            .unwrap();
    }
    line("startup", &h);
}

/// A minimal Runtime API: `/next` answers the event with a request id, `/response` 202.
async fn runtime_api() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        use http_body_util::BodyExt;
                        let next = req.uri().path() == protocol::runtime::NEXT_PATH;
                        let _ = req.into_body().collect().await;
                        let res = if next {
                            http::Response::builder()
                                .header(protocol::runtime::HEADER_REQUEST_ID, "req-1")
                                .header(protocol::runtime::HEADER_DEADLINE_MS, "4102444800000")
                                .body(Full::new(Bytes::from_static(EVENT)))
                        } else {
                            http::Response::builder()
                                .status(202)
                                .body(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)))
                        };
                        Ok::<_, Infallible>(res.unwrap())
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

async fn cycle(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    base: &str,
) -> Duration {
    use http_body_util::BodyExt;
    let start = Instant::now();
    let next = client
        .get(
            format!("{base}{}", protocol::runtime::NEXT_PATH)
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    let event = next.into_body().collect().await.unwrap().to_bytes();
    let req = http::Request::post(format!(
        "{base}{}",
        protocol::runtime::response_path("req-1")
    ))
    .body(Full::new(event))
    .unwrap();
    let res = client.request(req).await.unwrap();
    let _ = res.into_body().collect().await.unwrap();
    start.elapsed()
}

async fn proxy_cost(cycles: u64) {
    use rollcall_extension::metrics::Aggregate;
    use rollcall_extension::proxy::{Proxy, ProxySettings};
    use rollcall_extension::recorder::Recorder;
    let upstream = runtime_api().await;
    let version = Arc::new(std::sync::OnceLock::new());
    version.set("1".to_owned()).unwrap();
    let proxy = Proxy::new(
        ProxySettings {
            upstream: upstream.to_string(),
            version_header: Some("x-rollcall-version".into()),
        },
        version,
        Some(Recorder::new(Aggregate::new("bench", "Rollcall"))),
    );
    let listener = rollcall_extension::proxy::bind(0).await.unwrap();
    let proxied = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(proxy.serve(listener));
    let direct = format!("http://{upstream}");
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector);
    for _ in 0..1000 {
        cycle(&client, &direct).await;
        cycle(&client, &proxied).await;
    }
    let mut h_direct = Histogram::<u64>::new(3).unwrap();
    let mut h_proxied = Histogram::<u64>::new(3).unwrap();
    for _ in 0..cycles {
        h_direct
            .record(micros(cycle(&client, &direct).await))
            .unwrap();
        h_proxied
            .record(micros(cycle(&client, &proxied).await))
            .unwrap();
    }
    line("direct", &h_direct);
    line("proxied", &h_proxied);
    for q in [0.5, 0.9, 0.99] {
        let a = h_proxied.value_at_quantile(q) as i64;
        let b = h_direct.value_at_quantile(q) as i64;
        println!("added p{}: {}us", q * 100.0, a - b);
    }
}

fn main() {
    let opts = Opts::parse();
    // The proxy mode runs on a current-thread runtime, as the proxy does in `rollcall` (main.rs):
    // on a multi-thread runtime the client, the proxy's tasks and the minimal Runtime API land on
    // different workers, and the cross-thread wake-ups (tens of us each on a small VM) would be
    // measured as the proxy's cost.
    let runtime = match opts.mode {
        Mode::Proxy { .. } | Mode::Stream { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
    .expect("a tokio runtime");
    let rollcall = || -> &Path {
        opts.rollcall
            .as_deref()
            .expect("this mode runs the `rollcall` binary: pass --rollcall PATH")
    };
    runtime.block_on(async move {
        match opts.mode {
            Mode::Latency {
                function,
                invocations,
                block,
                with_env,
            } => latency(rollcall(), &function, invocations, block, &with_env).await,
            Mode::Rss {
                function,
                invocations,
                samples,
                with_env,
            } => rss(rollcall(), &function, invocations, samples, &with_env).await,
            Mode::Proxy { cycles } => proxy_cost(cycles).await,
            Mode::Startup { runs } => startup(rollcall(), runs).await,
            Mode::Stream { cycles } => bench_stream::run(cycles).await,
        }
    });
}
