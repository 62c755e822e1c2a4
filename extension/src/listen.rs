//! What every listener of the extension (the Runtime API proxy, the telemetry listener) shares:
//! a header-read timeout, a cap on open connections, and an accept loop that backs off when the
//! process is out of file descriptors instead of spinning, with its warning rate-limited.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioTimer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

/// A client must send a request's headers within this time, or the connection is closed
/// (also an idle keep-alive connection: clients reconnect). The telemetry listener's.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The Runtime API proxy's header-read timeout: longer than any invocation (16 min > Lambda's
/// 900 s maximum). hyper runs the timer on idle keep-alive connections too, and the runtime's
/// connection sits idle while its handler runs: a 10 s timer closed it under a slower handler,
/// racing the runtime's `/response` (the real Runtime API never closes it). Only processes of
/// the sandbox reach the proxy on loopback.
pub const RUNTIME_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(16 * 60);

/// First pause after an accept failure for lack of resources; doubled up to
/// [`MAX_BACKOFF`] while failures continue.
pub const MIN_BACKOFF: Duration = Duration::from_millis(10);
/// Longest pause between two accept attempts when out of resources.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// At most one warning per listener in this interval (the next one says how many failed).
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// The HTTP/1 server settings of every listener: `header_read_timeout` on tokio's clock.
pub fn http1(header_read_timeout: Duration) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder
}

/// What to do after a failed accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterFailure {
    /// Pause before the next attempt.
    pub pause: Duration,
    /// The warning to log now, if it is time for one: failures since the last warning.
    pub warn: Option<u64>,
}

/// Backoff and warning state of one accept loop (pure: the caller sleeps and logs).
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    pause: Option<Duration>,
    failures: u64,
    last_warning: Option<Instant>,
}

impl AcceptBackoff {
    /// True for the errors that mean the process or system is out of a resource (descriptors,
    /// buffers, memory): retrying at once would fail again.
    pub fn is_exhaustion(e: &io::Error) -> bool {
        // EMFILE 24, ENFILE 23, ENOBUFS 105, ENOMEM 12 (Linux).
        matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
    }

    /// A failed accept at `now`: exhaustion pauses with exponential backoff; other errors
    /// (a connection reset before it was accepted) retry at once.
    pub fn failed(&mut self, exhaustion: bool, now: Instant) -> AfterFailure {
        self.failures += 1;
        let pause = if exhaustion {
            let next = self.pause.map_or(MIN_BACKOFF, |p| (p * 2).min(MAX_BACKOFF));
            self.pause = Some(next);
            next
        } else {
            Duration::ZERO
        };
        let due = self
            .last_warning
            .is_none_or(|t| now.saturating_duration_since(t) >= WARNING_INTERVAL);
        let warn = due.then(|| {
            self.last_warning = Some(now);
            std::mem::take(&mut self.failures)
        });
        AfterFailure { pause, warn }
    }

    /// An accept succeeded: the next failure starts from the shortest pause.
    pub fn succeeded(&mut self) {
        self.pause = None;
    }
}

/// Accepts connections for one listener, at most `max_connections` open at a time.
#[derive(Debug)]
pub struct Acceptor {
    listener: TcpListener,
    name: &'static str,
    permits: Arc<Semaphore>,
    backoff: AcceptBackoff,
}

impl Acceptor {
    /// An acceptor for `listener`, named `name` in its log lines.
    pub fn new(listener: TcpListener, name: &'static str, max_connections: usize) -> Self {
        Self {
            listener,
            name,
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            backoff: AcceptBackoff::default(),
        }
    }

    /// The next connection, with the permit that keeps its slot until dropped. At the cap it
    /// waits for a slot (new connections wait in the kernel's backlog).
    pub async fn accept(&mut self) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
        loop {
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                // The semaphore is never closed; be safe anyway.
                tokio::time::sleep(MAX_BACKOFF).await;
                continue;
            };
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    self.backoff.succeeded();
                    return (stream, peer, permit);
                }
                Err(e) => {
                    drop(permit);
                    let exhaustion = AcceptBackoff::is_exhaustion(&e);
                    let after = self.backoff.failed(exhaustion, Instant::now());
                    if let Some(failures) = after.warn {
                        warn!(listener = self.name, error = %e, failures,
                            pause_ms = after.pause.as_millis() as u64,
                            "accept failed (out of file descriptors? raise the limit or close connections); retrying with backoff");
                    } else {
                        debug!(listener = self.name, error = %e, "accept failed");
                    }
                    if !after.pause.is_zero() {
                        tokio::time::sleep(after.pause).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(24)
    }

    #[test]
    fn exhaustion_errors_are_told_apart() {
        assert!(AcceptBackoff::is_exhaustion(&emfile()));
        assert!(AcceptBackoff::is_exhaustion(&io::Error::from_raw_os_error(
            23
        )));
        assert!(!AcceptBackoff::is_exhaustion(
            &io::Error::from_raw_os_error(103)
        ));
        assert!(!AcceptBackoff::is_exhaustion(&io::Error::other("x")));
    }

    /// At the descriptor limit the loop pauses longer and longer (never spins) and warns once
    /// per interval with the number of failures since the last warning.
    #[test]
    fn exhaustion_backs_off_and_warns_once_per_interval() {
        let start = Instant::now();
        let mut b = AcceptBackoff::default();
        let first = b.failed(true, start);
        assert_eq!(
            first,
            AfterFailure {
                pause: MIN_BACKOFF,
                warn: Some(1)
            }
        );
        let mut now = start;
        let mut pauses = vec![first.pause];
        let mut warnings = 0;
        // 25 s of failures, time advancing by each pause.
        while now.duration_since(start) < Duration::from_secs(25) {
            let after = b.failed(true, now);
            now += after.pause;
            pauses.push(after.pause);
            warnings += usize::from(after.warn.is_some());
        }
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]), "{pauses:?}");
        assert_eq!(*pauses.last().unwrap(), MAX_BACKOFF);
        // 25 s / 10 s interval: at most 3 more warnings, and attempts bounded by the backoff.
        assert!(warnings <= 3, "{warnings}");
        assert!(pauses.len() < 40, "{} attempts in 25 s", pauses.len());
        b.succeeded();
        assert_eq!(b.failed(true, now).pause, MIN_BACKOFF);
    }

    #[test]
    fn other_errors_retry_at_once_but_still_warn_rarely() {
        let now = Instant::now();
        let mut b = AcceptBackoff::default();
        assert_eq!(b.failed(false, now).pause, Duration::ZERO);
        let warned = (0..1000)
            .filter(|_| b.failed(false, now).warn.is_some())
            .count();
        assert_eq!(warned, 0, "one warning per interval");
        assert_eq!(
            b.failed(false, now + WARNING_INTERVAL).warn,
            Some(1001),
            "the next warning counts the failures in between"
        );
    }
}
