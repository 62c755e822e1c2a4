//! A minimal, fast HTTP/1.1 "hello" server: the local target of the benchmarks under `bench/`.
//!
//! ```text
//! cargo run --release -p prober --example bench_server -- [--addr 127.0.0.1:0] [--version 7]
//!     [--distinct-versions]
//! ```
//! Prints `http://ADDR/` on its first stdout line, then serves until killed. With `--version`,
//! every response carries `x-rollcall-version: <version>`; with `--distinct-versions`, every
//! response carries a version never sent before (`<version>-<n>`: a hostile server). Binds
//! loopback unless told otherwise.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
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
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
    let mut options = Options {
        addr: "127.0.0.1:0".parse()?,
        version: None,
        distinct: false,
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
            other => bail!(
                "unknown argument {other:?}; usage: bench_server [--addr IP:PORT] [--version V] \
                 [--distinct-versions]"
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
                        .body(Full::new(Bytes::from_static(b"hello")))
                        .expect("valid response"),
                )
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
