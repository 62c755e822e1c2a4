//! A minimal, fast HTTP/1.1 "hello" server: the local target of the benchmarks under `bench/`.
//!
//! ```text
//! cargo run --release -p prober --example bench_server -- [--addr 127.0.0.1:0] [--version 7]
//!     [--distinct-versions] [--first-byte-after MS]
//! ```
//! Prints `http://ADDR/` on its first stdout line, then serves until killed. With `--version`,
//! every response carries `x-rollcall-version: <version>`; with `--distinct-versions`, every
//! response carries a version never sent before (`<version>-<n>`: a hostile server). With
//! `--first-byte-after`, the head goes at once and the body (`hello`) that many milliseconds
//! later (fractions allowed), timed by a blocking thread's sleep (microseconds, not Tokio's
//! millisecond timer): the target of `bench/prober-ttfb.sh`. Binds loopback unless told
//! otherwise.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::Full;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Command-line options.
#[derive(Debug)]
struct Options {
    addr: SocketAddr,
    version: Option<String>,
    distinct: bool,
    first_byte_after: Option<Duration>,
}

/// A body whose one chunk arrives through a channel.
struct Delayed(tokio::sync::mpsc::Receiver<Bytes>);

impl Body for Delayed {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// `hello`, at once or `after` the head.
fn hello(after: Option<Duration>) -> BoxBody<Bytes, Infallible> {
    let Some(after) = after else {
        return BoxBody::new(Full::new(Bytes::from_static(b"hello")));
    };
    let due = Instant::now() + after;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let _ = tx.blocking_send(Bytes::from_static(b"hello"));
    });
    BoxBody::new(Delayed(rx))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
    let mut options = Options {
        addr: "127.0.0.1:0".parse()?,
        version: None,
        distinct: false,
        first_byte_after: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                options.addr = v
                    .parse()
                    .with_context(|| format!("--addr {v:?}: expected IP:PORT"))?;
            }
            "--version" => options.version = Some(value()?),
            "--distinct-versions" => options.distinct = true,
            "--first-byte-after" => {
                let v = value()?;
                let ms: f64 = v
                    .parse()
                    .ok()
                    .filter(|ms: &f64| ms.is_finite() && *ms >= 0.0)
                    .with_context(|| format!("--first-byte-after {v:?}: expected milliseconds"))?;
                options.first_byte_after = Some(Duration::from_secs_f64(ms / 1000.0));
            }
            other => bail!(
                "unknown argument {other:?}; usage: bench_server [--addr IP:PORT] [--version V] \
                 [--distinct-versions] [--first-byte-after MS]"
            ),
        }
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    let options = parse_args(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> anyhow::Result<()> {
    let listener = TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("bind {}", options.addr))?;
    let addr = listener.local_addr()?;
    // stdout is this tool's product: scripts read the address from the first line.
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{addr}/")?;
    out.flush()?;
    drop(out);
    let distinct = options.distinct;
    let first_byte_after = options.first_byte_after;
    let version: Option<&'static str> = match options.version {
        Some(v) => Some(&*Box::leak(v.into_boxed_str())),
        None if distinct => Some("v"),
        None => None,
    };
    static SERVED: AtomicU64 = AtomicU64::new(0);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<Incoming>| async move {
                let mut response = Response::builder().header("content-type", "text/plain");
                match version {
                    Some(v) if distinct => {
                        let n = SERVED.fetch_add(1, Ordering::Relaxed);
                        response = response.header("x-rollcall-version", format!("{v}-{n}"));
                    }
                    Some(v) => response = response.header("x-rollcall-version", v),
                    None => {}
                }
                Ok::<_, Infallible>(
                    response
                        .body(hello(first_byte_after))
                        .expect("valid response"),
                )
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
