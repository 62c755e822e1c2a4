//! A minimal, fast HTTP/1.1 "hello" server: the local target of the benchmarks under `bench/`.
//!
//! ```text
//! cargo run --release -p prober --example bench_server -- [--addr 127.0.0.1:0] [--version 7]
//! ```
//! Prints `http://ADDR/` on its first stdout line, then serves until killed. With `--version`,
//! every response carries `x-rollcall-version: <version>`. Binds loopback unless told otherwise.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;

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
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Options> {
    let mut options = Options {
        addr: "127.0.0.1:0".parse()?,
        version: None,
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
            other => bail!(
                "unknown argument {other:?}; usage: bench_server [--addr IP:PORT] [--version V]"
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
    let version: Option<&'static str> = options.version.map(|v| &*Box::leak(v.into_boxed_str()));
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
                if let Some(v) = version {
                    response = response.header("x-rollcall-version", v);
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
