//! The lab's one accept loop, shared by every HTTP server it runs (the API front door, the Lambda
//! API, each environment's Runtime/Extensions/Telemetry API server), with the limits a server
//! facing hostile or broken clients needs:
//!
//! - a **connection cap**: a slot is taken before `accept`, so at the cap new connections wait in
//!   the kernel's backlog (and are refused once it is full) instead of costing a descriptor;
//! - a **header-read timeout**: a connection that has not sent a whole request head within
//!   [`ServeLimits::header_read_timeout`] is closed (hyper's `header_read_timeout`, plus the same
//!   deadline on the bytes read before hyper sees the connection);
//! - **backoff on `EMFILE`/`ENFILE`** (and the other resource errors): the loop sleeps, doubling
//!   from 5 ms up to 500 ms, instead of spinning on a listener that stays readable, and logs at
//!   most one warning a second, with the count of failures since the last one.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The limits of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// A connection must deliver a whole request head within this long (from its acceptance,
    /// and again for each request on a kept-alive connection), or it is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
}

impl ServeLimits {
    /// The front door and the Lambda API: 10 s to send a request head, 4,096 connections.
    pub const PUBLIC: Self = Self {
        header_read_timeout: Duration::from_secs(10),
        max_connections: 4096,
    };

    /// An environment's Runtime/Extensions/Telemetry API: 64 connections (the runtime, at most 10
    /// extensions and their proxies use a handful), and a header-read timeout longer than any
    /// invocation (16 min > Lambda's 900 s maximum). hyper runs that timer on an idle keep-alive
    /// connection too: the runtime's connection sits idle while its handler runs, and a 10 s
    /// timer closed it under a handler slower than that, racing its `/response` (RAPID never
    /// closes them). Only the sandbox's own processes reach this loopback server.
    pub const ENVIRONMENT: Self = Self {
        header_read_timeout: Duration::from_secs(16 * 60),
        max_connections: 64,
    };
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self::PUBLIC
    }
}

/// The first pause after a resource error; it doubles up to [`MAX_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between two `accept` attempts after resource errors.
pub const MAX_PAUSE: Duration = Duration::from_millis(500);
/// At most one "accept failed" warning per this period.
pub const WARN_EVERY: Duration = Duration::from_secs(1);

/// What to do after an `accept` error: `None` retries at once (the error concerned one
/// connection, e.g. it was reset before being accepted); `Some(pause)` waits first (the process
/// or system is out of descriptors or memory, which only time can fix). `previous` is the
/// pause after the error before (zero when the last `accept` succeeded).
pub fn pause_after(error: &io::Error, previous: Duration) -> Option<Duration> {
    use io::ErrorKind::*;
    match error.kind() {
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock => None,
        // EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unknown: back off.
        _ => Some((previous * 2).clamp(FIRST_PAUSE, MAX_PAUSE)),
    }
}

/// Lets one warning through per period and counts the ones held back.
#[derive(Debug)]
pub struct WarnThrottle {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl WarnThrottle {
    /// At most one warning per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// Records one occurrence at `now`: `Some(n)` when it should be logged, `n` being the
    /// occurrences held back since the last logged one; `None` when it is held back.
    pub fn note(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.every => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// Accepts connections on `listener` for ever (stop it by dropping or aborting the future), at
/// most `limits.max_connections` at once, and runs `serve(stream, peer)` for each in a task of
/// its own. `server` names the server in warnings.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    limits: ServeLimits,
    server: &'static str,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut warnings = WarnThrottle::new(WARN_EVERY);
    let mut pause = Duration::ZERO;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return; // the semaphore is never closed
        };
        let (stream, peer) = loop {
            match listener.accept().await {
                Ok(accepted) => {
                    pause = Duration::ZERO;
                    break accepted;
                }
                Err(e) => {
                    let next = pause_after(&e, pause);
                    if let Some(held_back) = warnings.note(Instant::now()) {
                        tracing::warn!(
                            server,
                            error = %e,
                            failures_since_last_warning = held_back,
                            retry_in_ms = next.unwrap_or_default().as_millis() as u64,
                            "accept failed"
                        );
                    }
                    if let Some(p) = next {
                        pause = p;
                        tokio::time::sleep(p).await;
                    }
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = serve(stream, peer);
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
}

/// The HTTP/2 connection preface; a connection starting with anything else is HTTP/1.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads the first bytes of a connection, up to the length of the HTTP/2 preface or until they
/// cannot be the preface, within `deadline`. `None`: the client closed the connection or sent
/// too little in time. The bytes read are handed back to be replayed with [`Prefixed`].
pub async fn read_preface(stream: &mut TcpStream, deadline: Duration) -> Option<Bytes> {
    let read = async {
        let mut buf = vec![0u8; H2_PREFACE.len()];
        let mut filled = 0;
        while filled < buf.len() {
            let n = stream.read(&mut buf[filled..]).await.ok()?;
            if n == 0 {
                return None;
            }
            filled += n;
            if buf[..filled] != H2_PREFACE[..filled] {
                break;
            }
        }
        buf.truncate(filled);
        Some(Bytes::from(buf))
    };
    tokio::time::timeout(deadline, read).await.ok().flatten()
}

/// A stream whose first reads return `prefix` (bytes already read from it).
#[derive(Debug)]
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    /// `inner`, with `prefix` read back first.
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Self { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.has_remaining() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os_error(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn out_of_descriptors_backs_off_doubling_up_to_the_maximum() {
        let emfile = os_error(nix::libc::EMFILE);
        let mut pause = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..10 {
            pause = pause_after(&emfile, pause).expect("EMFILE waits");
            seen.push(pause.as_millis());
        }
        assert_eq!(seen, [5, 10, 20, 40, 80, 160, 320, 500, 500, 500]);
        for code in [nix::libc::ENFILE, nix::libc::ENOBUFS, nix::libc::ENOMEM] {
            assert_eq!(
                pause_after(&os_error(code), Duration::ZERO),
                Some(FIRST_PAUSE)
            );
        }
    }

    #[test]
    fn a_connection_that_failed_alone_is_retried_at_once() {
        for code in [nix::libc::ECONNABORTED, nix::libc::EINTR] {
            assert_eq!(
                pause_after(&os_error(code), Duration::from_millis(80)),
                None
            );
        }
    }

    #[test]
    fn one_warning_per_period_with_the_count_held_back() {
        let t0 = Instant::now();
        let mut w = WarnThrottle::new(Duration::from_secs(1));
        let ms = |m| t0 + Duration::from_millis(m);
        let logged: Vec<(u64, u64)> = (0..2500)
            .step_by(10)
            .filter_map(|m| w.note(ms(m)).map(|held| (m, held)))
            .collect();
        // 250 occurrences over 2.5 s: logged at 0, 1000 and 2000 ms, each with the 99 between.
        assert_eq!(logged, [(0, 0), (1000, 99), (2000, 99)]);
    }

    #[tokio::test]
    async fn prefixed_replays_its_prefix_before_the_stream() {
        let (mut a, b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, b" world")
            .await
            .unwrap();
        drop(a);
        let mut p = Prefixed::new(Bytes::from_static(b"hello"), b);
        let mut out = String::new();
        p.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello world");
    }
}
