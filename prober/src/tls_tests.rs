//! TLS end to end: a rustls server with a self-signed certificate on 127.0.0.1 port 0.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::{Cli, run_with_shutdown};

#[derive(Debug, Default)]
struct Seen {
    http1: AtomicU64,
    http2: AtomicU64,
    /// `sni=NAME` of each TLS handshake and `host=HOST` of each request (its Host header, or
    /// its URI's authority over HTTP/2), distinct.
    names: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Seen {
    fn names(&self) -> Vec<String> {
        self.names.lock().unwrap().iter().cloned().collect()
    }
}

async fn serve_tls() -> (SocketAddr, Arc<Seen>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, state) = (acceptor.clone(), state.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Some(sni) = tls.get_ref().1.server_name() {
                    state.names.lock().unwrap().insert(format!("sni={sni}"));
                }
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let counter = if req.version() == http::Version::HTTP_2 {
                            &state.http2
                        } else {
                            &state.http1
                        };
                        counter.fetch_add(1, Ordering::SeqCst);
                        let host = req
                            .headers()
                            .get(http::header::HOST)
                            .and_then(|h| h.to_str().ok())
                            .or(req.uri().authority().map(|a| a.as_str()))
                            .unwrap_or_default();
                        state.names.lock().unwrap().insert(format!("host={host}"));
                        let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
                        r.headers_mut()
                            .insert("x-rollcall-version", "3".parse().unwrap());
                        async move { Ok::<_, Infallible>(r) }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

async fn probe(args: &[&str]) -> rollout::Report {
    let mut all = vec![
        "prober",
        "--quiet",
        "--rps",
        "50",
        "--duration",
        "1s",
        "--timeout",
        "2s",
    ];
    all.extend_from_slice(args);
    run_with_shutdown(Cli::try_parse_from(all).unwrap(), std::future::pending())
        .await
        .unwrap()
        .report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_accepts_a_self_signed_certificate_over_http1() {
    let (addr, seen) = serve_tls().await;
    let url = format!("https://localhost:{}/", addr.port());
    let r = probe(&["--url", &url, "--insecure"]).await;
    assert_eq!(
        r.versions["3"].requests, 50,
        "{:?}",
        r.totals.errors_by_kind
    );
    assert_eq!(seen.http1.load(Ordering::SeqCst), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_through_alpn() {
    let (addr, seen) = serve_tls().await;
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let r = probe(&["--url", &url, "--insecure", "--http2"]).await;
    assert_eq!(r.totals.responses, 50, "{:?}", r.totals.errors_by_kind);
    assert_eq!(seen.http2.load(Ordering::SeqCst), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_tls_error() {
    let (addr, seen) = serve_tls().await;
    let url = format!("https://localhost:{}/", addr.port());
    let r = probe(&["--url", &url]).await;
    assert_eq!(
        r.totals.errors_by_kind["tls"], 50,
        "{:?}",
        r.totals.errors_by_kind
    );
    assert_eq!(r.totals.responses, 0);
    assert_eq!(
        seen.http1.load(Ordering::SeqCst) + seen.http2.load(Ordering::SeqCst),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plain_http_server_is_a_tls_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"plain"))))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let r = probe(&["--url", &format!("https://{addr}/"), "--insecure"]).await;
    assert_eq!(
        r.totals.errors_by_kind["tls"], 50,
        "{:?}",
        r.totals.errors_by_kind
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_an_https_address_keeps_the_server_name_and_the_host() {
    let (addr, seen) = serve_tls().await;
    let to = format!("api.example.test=https://127.0.0.1:{}", addr.port());
    for http2 in [false, true] {
        let mut args = vec![
            "--url",
            "https://api.example.test/x",
            "--connect-to",
            &to,
            "--insecure",
        ];
        if http2 {
            args.push("--http2");
        }
        let r = probe(&args).await;
        assert_eq!(r.totals.responses, 50, "{:?}", r.totals.errors_by_kind);
        assert_eq!(r.config.url, "https://api.example.test/x");
    }
    assert_eq!(seen.http1.load(Ordering::SeqCst), 50);
    assert_eq!(seen.http2.load(Ordering::SeqCst), 50);
    assert_eq!(
        seen.names(),
        ["host=api.example.test", "sni=api.example.test"]
    );
}
