//! Streamed responses: the time to first byte measured apart from the total latency and
//! compared between versions, bodies read to their end however they are chunked, and
//! `--max-body` cutting an endless stream without costing the run its end or its verdict.
//! Real hyper servers on 127.0.0.1:0 whose bodies are fed frame by frame through a channel;
//! the only timers are the server's known delays, the quantity under measurement.

mod common;

use base64::Engine as _;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use common::{base_args, run_prober};

/// A response body fed through a channel: each message one frame, the end when the sender is
/// dropped. With room for one message, an endless feeder waits for the client to read.
struct Fed(mpsc::Receiver<Bytes>);

impl Body for Fed {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// How the server answers.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Even requests version 1, odd ones version 2: the head at once, the first body chunk
    /// `first[version - 1]` after the head, the last one `end` after it.
    Delayed { first: [Duration; 2], end: Duration },
    /// Version 1 (in a header when `tagged`), 16 KiB chunks for ever.
    Endless { tagged: bool },
    /// No header; `{"version":"3","pad":"x…"}` in `CHUNKS` chunks of 1 KiB.
    Chunked,
}

const CHUNKS: usize = 200;

/// What the server did.
#[derive(Debug, Default)]
struct Seen {
    connections: AtomicU64,
    requests: AtomicU64,
    chunks: AtomicU64,
}

async fn serve(script: Script) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stream", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            state.connections.fetch_add(1, Ordering::SeqCst);
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
                    let n = state.requests.fetch_add(1, Ordering::SeqCst);
                    let (tx, rx) = mpsc::channel(1);
                    let version = feed(script, n, tx, state.clone());
                    let mut response = Response::new(Fed(rx));
                    if let Some(v) = version {
                        response
                            .headers_mut()
                            .insert("x-rollcall-version", v.parse().unwrap());
                    }
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, seen)
}

/// Starts feeding request `n`'s body; returns the version its header names.
fn feed(script: Script, n: u64, tx: mpsc::Sender<Bytes>, seen: Arc<Seen>) -> Option<&'static str> {
    let head = Instant::now();
    match script {
        Script::Delayed { first, end } => {
            let v = (n % 2) as usize;
            tokio::spawn(async move {
                tokio::time::sleep_until((head + first[v]).into()).await;
                let _ = tx.send(Bytes::from_static(b"first ")).await;
                tokio::time::sleep_until((head + end).into()).await;
                let _ = tx.send(Bytes::from_static(b"last")).await;
            });
            Some(["1", "2"][v])
        }
        Script::Endless { tagged } => {
            tokio::spawn(async move {
                let chunk = Bytes::from(vec![b'.'; 16 << 10]);
                while tx.send(chunk.clone()).await.is_ok() {}
            });
            tagged.then_some("1")
        }
        Script::Chunked => {
            tokio::spawn(async move {
                let body = format!(
                    r#"{{"version":"3","pad":"{}"}}"#,
                    "x".repeat(CHUNKS * 1024 - 24)
                );
                assert_eq!(body.len(), CHUNKS * 1024);
                for piece in body.as_bytes().chunks(1024) {
                    if tx.send(Bytes::copy_from_slice(piece)).await.is_err() {
                        return;
                    }
                    seen.chunks.fetch_add(1, Ordering::SeqCst);
                }
            });
            None
        }
    }
}

fn args(url: &str, rps: u32, duration: &str, more: &[&str]) -> Vec<String> {
    let mut a = base_args(url, rps, duration);
    a.extend(more.iter().map(|s| (*s).to_owned()));
    a
}

/// Version 1 sends its first byte at once and version 2 after 60 ms; both end 150 ms after
/// their head. The server cannot answer sooner than its delays: those are hard lower bounds.
/// On loopback a byte sent at once arrives within far less than the 60 ms apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_byte_is_timed_apart_from_the_end_and_compared() {
    let first2 = Duration::from_millis(60);
    let end = Duration::from_millis(150);
    let (url, _) = serve(Script::Delayed {
        first: [Duration::ZERO, first2],
        end,
    })
    .await;
    let run = run_prober(&args(
        &url,
        20,
        "3s",
        &["--from-version", "1", "--to-version", "2"],
    ))
    .await;
    let r = run.report();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // HdrHistogram's 3 significant figures: values within 0.1%.
    let (end_ms, first2_ms) = (ms(end) * 0.999, ms(first2) * 0.999);
    let (v1, v2) = (&r.versions["1"], &r.versions["2"]);
    assert!(v1.requests >= 20 && v2.requests >= 20, "{:?}", r.versions);
    for v in [v1, v2] {
        assert_eq!(
            v.ttfb_ms.count, v.requests,
            "a first byte for every response"
        );
        assert!(v.latency_ms.p50 >= end_ms, "ends after {end:?}: {v:?}");
        assert!(v.latency_ms.p50 < ms(end) + 100.0, "{v:?}");
        assert_eq!(v.body_truncated, 0);
    }
    assert!(
        v1.ttfb_ms.p50 < first2_ms / 2.0,
        "v1's first byte at once: {v1:?}"
    );
    assert!(
        v1.latency_ms.p50 - v1.ttfb_ms.p50 >= end_ms - first2_ms / 2.0,
        "v1: the body's end {end:?} after its first byte: {v1:?}"
    );
    assert!(
        v2.ttfb_ms.p50 >= first2_ms,
        "v2's first byte after {first2:?}: {v2:?}"
    );
    assert!(v2.ttfb_ms.p50 < ms(end), "and before its end: {v2:?}");
    let ttfb = r.ttfb_comparison.as_ref().expect("a TTFB comparison");
    assert!(
        ttfb.new_slower,
        "version 2 answers its first byte later: {ttfb:?}"
    );
    assert!(r.latency_comparison.is_some());
    for name in ["ttfb-1.hgrm", "ttfb-2.hgrm", "latency-1.hgrm"] {
        assert!(run.out().join(name).is_file(), "{name} written");
    }
    // The interval logs, per second and version: v2's first bytes, merged over its intervals,
    // come after its delay and before the end, which every response's latency reaches.
    let merged = |name: &str, version: &str| {
        use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
        let log = std::fs::read(run.out().join(name)).unwrap();
        let mut all = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        let mut intervals = 0;
        for entry in IntervalLogIterator::new(&log) {
            let Ok(LogEntry::Interval(i)) = entry else {
                continue;
            };
            if i.tag().map(|t| t.as_str()) != Some(version) {
                continue;
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(i.encoded_histogram())
                .unwrap();
            let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut bytes.as_slice())
                .unwrap();
            all.add(&h).unwrap();
            intervals += 1;
        }
        (intervals, all)
    };
    let (n_ttfb, ttfb2) = merged("ttfb.hlog", "2");
    let (n_latency, latency2) = merged("latency.hlog", "2");
    assert!(n_ttfb > 0 && n_ttfb == n_latency, "{n_ttfb} {n_latency}");
    assert_eq!(ttfb2.len(), v2.requests);
    let p50_ms = |h: &hdrhistogram::Histogram<u64>| h.value_at_quantile(0.5) as f64 / 1000.0;
    assert!(
        p50_ms(&ttfb2) >= first2_ms && p50_ms(&ttfb2) < ms(end),
        "{}",
        p50_ms(&ttfb2)
    );
    assert!(
        latency2.min() as f64 / 1000.0 >= end_ms,
        "{}",
        latency2.min()
    );
    run.assert_written_report_is_returned();
    common::checks::assert_valid_report(&run.out().join("report.json"));
    let summary = prober::summary::render(r, None);
    assert!(summary.contains("first byte: "), "{summary}");
}

/// An endless stream: every response is cut at `--max-body` and counted, none is an error,
/// and the run ends on time with its verdict. HTTP/1.1 closes a cut body's connection (the
/// worker opens another), HTTP/2 resets only the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_stream_is_cut_at_max_body_and_the_run_ends_on_time() {
    for http2 in [false, true] {
        let (url, seen) = serve(Script::Endless { tagged: true }).await;
        let mut more = vec!["--max-body", "64KiB", "--timeout", "5s"];
        if http2 {
            more.push("--http2");
        }
        let run = run_prober(&args(&url, 20, "2s", &more)).await;
        let r = run.report();
        let t = &r.totals;
        assert!(
            run.wall < Duration::from_secs(4),
            "http2={http2}: ends on time, not at --timeout: {:?}",
            run.wall
        );
        run.assert_verdict(rollout::Verdict::Completed, 0);
        assert!(
            t.sent >= 38 && t.planned - t.sent <= 1,
            "http2={http2}: {t:?}"
        );
        assert_eq!(t.responses, t.sent, "http2={http2}: every request answered");
        assert_eq!(
            t.body_truncated, t.responses,
            "http2={http2}: every body cut"
        );
        assert_eq!(
            t.error_rate, 0.0,
            "http2={http2}: cut bodies are not errors"
        );
        assert!(t.errors_by_kind.values().all(|n| *n == 0), "{t:?}");
        let v = &r.versions["1"];
        assert_eq!((v.requests, v.body_truncated), (t.responses, t.responses));
        assert_eq!(r.config.max_body, Some(64 << 10));
        let connections = seen.connections.load(Ordering::SeqCst);
        if http2 {
            assert_eq!(connections, 1, "one HTTP/2 connection, its streams reset");
        } else {
            assert!(
                connections >= t.responses,
                "a cut body closes its connection"
            );
        }
        let summary = prober::summary::render(r, None);
        assert!(
            summary.contains(&format!(
                "{} bodies longer than --max-body 64 KiB",
                t.responses
            )),
            "{summary}"
        );
    }
}

/// `--version-json` cannot read a version from a cut body: the responses count as untagged,
/// and the report and the summary say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_body_s_json_version_is_reported_unread() {
    let (url, _) = serve(Script::Endless { tagged: false }).await;
    let run = run_prober(&args(
        &url,
        10,
        "1s",
        &["--max-body", "32KiB", "--version-json", "/version"],
    ))
    .await;
    let r = run.report();
    assert!(r.totals.responses >= 8, "{:?}", r.totals);
    assert_eq!(r.untagged, r.totals.responses);
    assert_eq!(r.totals.version_unread_truncated, r.totals.responses);
    assert_eq!(r.totals.error_rate, 0.0);
    let summary = prober::summary::render(r, None);
    assert!(summary.contains("version could not be read"), "{summary}");
    assert!(
        summary.contains("--version-json needs the whole body"),
        "{summary}"
    );
}

/// A body in 200 frames is read to its end: the version at its start is read from the whole
/// JSON document, and the server saw every chunk taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_in_many_chunks_is_read_whole() {
    let (url, seen) = serve(Script::Chunked).await;
    let run = run_prober(&args(&url, 10, "1s", &["--version-json", "/version"])).await;
    let r = run.report();
    let t = &r.totals;
    assert!(t.responses >= 8, "{t:?}");
    assert_eq!(r.versions["3"].requests, t.responses, "{:?}", r.versions);
    assert_eq!((t.body_truncated, t.version_unread_truncated), (0, 0));
    assert_eq!(
        seen.chunks.load(Ordering::SeqCst),
        CHUNKS as u64 * t.responses,
        "every chunk of every body sent, hence read"
    );
}
