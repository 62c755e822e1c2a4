//! Streamed responses (`Lambda-Runtime-Function-Response-Mode: streaming`) as they pass the
//! proxy (LAMBDA-FACTS §1, "Response streaming").
//!
//! For an HTTP event, a streamed body of type `application/vnd.awslambda.http-integration-response`
//! starts with a JSON prelude (`{"statusCode":..,"headers":{..},"cookies":[..]}`), then
//! [`PRELUDE_DELIMITER`], then the HTTP body. [`PreludeTagger`] holds the first bytes until the
//! delimiter (at most [`MAX_PRELUDE`] bytes of prelude), adds the version headers to the
//! prelude's `headers`, and from then on hands every chunk on as it comes. A stream it cannot be
//! sure about (no `{` first, a prelude that is not a JSON object with an integer `statusCode`,
//! no delimiter within the cap, an end or trailers before the delimiter) passes byte for byte.
//!
//! [`StreamedBody`] wraps the runtime's body: it forwards data and trailers frame by frame and
//! reports, once, what the stream showed ([`StreamEnd`]: first byte, end, error trailer, status)
//! together with whether the Runtime API accepted it ([`watch`]).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame};
use protocol::runtime::{HEADER_FUNCTION_ERROR_TYPE, PRELUDE_DELIMITER};
use serde::de::IgnoredAny;

use crate::rawjson::{self, RawObject};
use crate::tag::{self, Tags, Untagged};

/// Most prelude bytes held while looking for the delimiter; past them the stream passes
/// untouched (lambda_runtime's prelude is a status, a few headers and cookies: well under 1 KiB).
pub const MAX_PRELUDE: usize = 64 * 1024;

/// [`Tags`] owned by a body that outlives the request's borrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedTags {
    /// See [`Tags::version_header`].
    pub version_header: String,
    /// See [`Tags::version`].
    pub version: String,
    /// See [`Tags::cold`].
    pub cold: bool,
}

impl OwnedTags {
    /// The borrowed form [`crate::tag`] takes.
    pub fn as_tags(&self) -> Tags<'_> {
        Tags {
            version_header: &self.version_header,
            version: &self.version,
            cold: self.cold,
        }
    }
}

/// Tags an HTTP-integration prelude: the version headers go into `headers` (added when absent
/// or `null`; existing tag headers in any case replaced); every other member is copied byte for
/// byte. Returns the new prelude (`None` when `tags` is `None`: only the status is read) and its
/// `statusCode`; an error when the prelude is not clearly one.
///
/// ```
/// use rollcall_extension::stream::tag_prelude;
/// use rollcall_extension::tag::Tags;
/// let tags = Tags { version_header: "x-rollcall-version", version: "7", cold: true };
/// let (tagged, status) = tag_prelude(br#"{"statusCode":200,"headers":{},"cookies":[]}"#, Some(&tags)).unwrap();
/// assert_eq!(status, 200);
/// assert_eq!(
///     tagged.unwrap(),
///     br#"{"statusCode":200,"headers":{"x-rollcall-version":"7","x-rollcall-cold":"1"},"cookies":[]}"#
/// );
/// ```
pub fn tag_prelude(
    prelude: &[u8],
    tags: Option<&Tags<'_>>,
) -> Result<(Option<Vec<u8>>, u16), Untagged> {
    let members: RawObject<'_> = serde_json::from_slice(prelude).map_err(|_| {
        if serde_json::from_slice::<IgnoredAny>(prelude).is_ok() {
            Untagged::NotAnObject
        } else {
            Untagged::NotJson
        }
    })?;
    let find = |name: &str| -> Result<Option<usize>, Untagged> {
        let mut found = members.0.iter().enumerate().filter(|(_, (k, _))| k == name);
        match (found.next(), found.next()) {
            (_, Some(_)) => Err(Untagged::DuplicateMember),
            (first, None) => Ok(first.map(|(i, _)| i)),
        }
    };
    let status_at = find("statusCode")?.ok_or(Untagged::NoStatusCode)?;
    let status = members.0[status_at]
        .1
        .get()
        .parse::<u16>()
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or(Untagged::Malformed)?;
    let headers_at = find("headers")?;
    let existing = headers_at
        .map(|i| members.0[i].1)
        .filter(|raw| raw.get() != "null");
    if existing.is_some_and(|raw| !raw.get().starts_with('{')) {
        return Err(Untagged::HeadersNotObject);
    }
    let Some(tags) = tags else {
        return Ok((None, status));
    };
    let headers = tag::edit_headers(existing, tags, false)?;
    let mut out = Vec::with_capacity(prelude.len() + headers.len() + 12);
    let mut kept: Vec<(&str, &[u8])> = members
        .0
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let value = if Some(i) == headers_at {
                &headers[..]
            } else {
                v.get().as_bytes()
            };
            (k.as_str(), value)
        })
        .collect();
    if headers_at.is_none() {
        kept.push(("headers", &headers));
    }
    rawjson::write_object(&mut out, kept);
    Ok((Some(out), status))
}

/// Finds and tags the prelude at the start of a streamed body, chunk by chunk (no I/O).
#[derive(Debug)]
pub struct PreludeTagger {
    /// Bytes held while looking for the delimiter; `None` once decided.
    held: Option<BytesMut>,
    tags: Option<OwnedTags>,
    status: Option<u16>,
}

impl PreludeTagger {
    /// A tagger adding `tags` (`None`: only read the prelude's status).
    pub fn new(tags: Option<OwnedTags>) -> Self {
        Self {
            held: Some(BytesMut::new()),
            tags,
            status: None,
        }
    }

    /// The bytes to forward now, given the next `chunk` of the body; `None` while the prelude
    /// is still incomplete (its bytes are held). Once the delimiter is seen, the (tagged)
    /// prelude, the delimiter and every body byte received so far are returned together, and
    /// every later chunk is returned as it is.
    pub fn push(&mut self, chunk: Bytes) -> Option<Bytes> {
        let Some(held) = &mut self.held else {
            return Some(chunk);
        };
        if held.is_empty() {
            match chunk.first() {
                None => return None,
                // Not a JSON object: not a prelude.
                Some(&b) if b != b'{' => {
                    self.held = None;
                    return Some(chunk);
                }
                Some(_) => {}
            }
        }
        let from = held.len().saturating_sub(PRELUDE_DELIMITER.len() - 1);
        held.extend_from_slice(&chunk);
        let window = &held[..held.len().min(MAX_PRELUDE + PRELUDE_DELIMITER.len())];
        let found = window[from..]
            .windows(PRELUDE_DELIMITER.len())
            .position(|w| w == PRELUDE_DELIMITER)
            .map(|i| from + i);
        let full = window.len() >= MAX_PRELUDE + PRELUDE_DELIMITER.len();
        match found {
            Some(at) => {
                let held = self.held.take().unwrap_or_default();
                Some(self.rewrite(held, at))
            }
            None if full => self.flush(),
            None => None,
        }
    }

    /// The bytes still held, unchanged (the body ended, or trailers or an error came, before
    /// the delimiter); nothing is held afterwards.
    pub fn flush(&mut self) -> Option<Bytes> {
        self.held
            .take()
            .filter(|h| !h.is_empty())
            .map(BytesMut::freeze)
    }

    /// The prelude's `statusCode`, once a prelude was read.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    fn rewrite(&mut self, held: BytesMut, at: usize) -> Bytes {
        let tags = self.tags.as_ref().map(OwnedTags::as_tags);
        match tag_prelude(&held[..at], tags.as_ref()) {
            Ok((tagged, status)) => {
                self.status = Some(status);
                match tagged {
                    Some(mut prelude) => {
                        prelude.extend_from_slice(&held[at..]);
                        Bytes::from(prelude)
                    }
                    None => held.freeze(),
                }
            }
            Err(reason) => {
                tracing::debug!(?reason, "streamed prelude forwarded untagged");
                held.freeze()
            }
        }
    }
}

/// What a streamed response showed once it was over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamEnd {
    /// When its first byte went on to the Runtime API; `None` for an empty body.
    pub first_byte: Option<Instant>,
    /// When it ended (last frame forwarded, or broken).
    pub end: Instant,
    /// It reached its end; false when the runtime's body broke or was dropped unfinished.
    pub complete: bool,
    /// Trailers carried `Lambda-Runtime-Function-Error-Type` (a mid-stream error).
    pub error_trailer: bool,
    /// The HTTP prelude's `statusCode`, when one was read.
    pub status: Option<u16>,
}

impl StreamEnd {
    /// The invocation failed: an error trailer, a broken body, a 5xx prelude, or the Runtime
    /// API refused the response (`delivered` false).
    pub fn is_error(&self, delivered: bool) -> bool {
        !delivered || !self.complete || self.error_trailer || self.status.is_some_and(|s| s >= 500)
    }
}

type Report = Box<dyn FnOnce(StreamEnd, bool) + Send>;

#[derive(Default)]
struct Join {
    end: Option<StreamEnd>,
    delivered: Option<bool>,
    report: Option<Report>,
}

impl std::fmt::Debug for Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Join")
            .field("end", &self.end)
            .field("delivered", &self.delivered)
            .field("reported", &self.report.is_none())
            .finish()
    }
}

impl Join {
    fn settle(&mut self) {
        if let (Some(end), Some(delivered)) = (self.end, self.delivered)
            && let Some(report) = self.report.take()
        {
            report(end, delivered);
        }
    }
}

/// The body's half of a [`watch`]: records the stream's end (at its drop if it never ended).
#[derive(Debug)]
pub struct Watch {
    join: Arc<Mutex<Join>>,
    first_byte: Option<Instant>,
    error_trailer: bool,
    ended: bool,
}

/// The proxy's half of a [`watch`]: whether the Runtime API accepted the response (a drop
/// without an answer counts as refused).
#[derive(Debug)]
pub struct Answer {
    join: Arc<Mutex<Join>>,
    given: bool,
}

/// Calls `report` once with the stream's end and whether the Runtime API accepted it, when both
/// are known, whichever comes last.
pub fn watch(report: impl FnOnce(StreamEnd, bool) + Send + 'static) -> (Watch, Answer) {
    let join = Arc::new(Mutex::new(Join {
        report: Some(Box::new(report)),
        ..Join::default()
    }));
    (
        Watch {
            join: join.clone(),
            first_byte: None,
            error_trailer: false,
            ended: false,
        },
        Answer { join, given: false },
    )
}

fn lock(join: &Mutex<Join>) -> std::sync::MutexGuard<'_, Join> {
    join.lock().unwrap_or_else(|e| e.into_inner())
}

impl Watch {
    fn end(&mut self, complete: bool, status: Option<u16>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let mut join = lock(&self.join);
        join.end = Some(StreamEnd {
            first_byte: self.first_byte,
            end: Instant::now(),
            complete,
            error_trailer: self.error_trailer,
            status,
        });
        join.settle();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.end(false, None);
    }
}

impl Answer {
    /// The Runtime API's answer: `delivered` when it accepted the response.
    pub fn delivered(mut self, delivered: bool) {
        self.given = true;
        let mut join = lock(&self.join);
        join.delivered = Some(delivered);
        join.settle();
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if !self.given {
            let mut join = lock(&self.join);
            join.delivered = Some(false);
            join.settle();
        }
    }
}

/// A streamed `/response` body on its way to the Runtime API: frames pass as they come, the
/// prelude tagged by a [`PreludeTagger`] when one is given.
pub struct StreamedBody<B: Body> {
    inner: B,
    tagger: Option<PreludeTagger>,
    queued: VecDeque<Result<Frame<Bytes>, B::Error>>,
    watch: Watch,
    inner_done: bool,
}

impl<B: Body<Data = Bytes> + Unpin> StreamedBody<B> {
    /// Wraps `inner`; `tagger` looks for an HTTP prelude (`None`: bytes pass as they are).
    pub fn new(inner: B, tagger: Option<PreludeTagger>, watch: Watch) -> Self {
        Self {
            inner,
            tagger,
            queued: VecDeque::new(),
            watch,
            inner_done: false,
        }
    }

    fn status(&self) -> Option<u16> {
        self.tagger.as_ref().and_then(PreludeTagger::status)
    }

    /// Queues what the tagger still holds (the stream ends, or trailers or an error come, before
    /// the delimiter).
    fn flush(&mut self) {
        if let Some(held) = self.tagger.as_mut().and_then(PreludeTagger::flush) {
            self.queued.push_back(Ok(Frame::data(held)));
        }
    }

    /// Notes what `item` tells about the stream before it goes on.
    fn observe(&mut self, item: &Result<Frame<Bytes>, B::Error>) {
        match item {
            Ok(frame) => {
                if frame.data_ref().is_some_and(|d| !d.is_empty()) {
                    self.watch.first_byte.get_or_insert_with(Instant::now);
                }
                if let Some(trailers) = frame.trailers_ref() {
                    self.watch.error_trailer |= trailers.contains_key(HEADER_FUNCTION_ERROR_TYPE);
                    let status = self.status();
                    self.watch.end(true, status);
                }
            }
            Err(_) => {
                let status = self.status();
                self.watch.end(false, status);
            }
        }
    }
}

impl<B: Body> std::fmt::Debug for StreamedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedBody")
            .field("tagger", &self.tagger)
            .field("queued", &self.queued.len())
            .field("watch", &self.watch)
            .field("inner_done", &self.inner_done)
            .finish_non_exhaustive()
    }
}

// The wrapper never pins its fields (`inner` is `Unpin` itself).
impl<B: Body + Unpin> Unpin for StreamedBody<B> {}

impl<B: Body<Data = Bytes> + Unpin> Body for StreamedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.queued.pop_front() {
                this.observe(&item);
                return Poll::Ready(Some(item));
            }
            if this.inner_done {
                let status = this.status();
                this.watch.end(true, status);
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.flush();
                    this.inner_done = true;
                }
                Poll::Ready(Some(Err(e))) => {
                    this.flush();
                    this.queued.push_back(Err(e));
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let out = match &mut this.tagger {
                            Some(t) => t.push(data),
                            None => Some(data),
                        };
                        if let Some(out) = out {
                            this.queued.push_back(Ok(Frame::data(out)));
                        }
                    }
                    Err(trailers) => {
                        this.flush();
                        this.queued.push_back(Ok(trailers));
                    }
                },
            }
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
