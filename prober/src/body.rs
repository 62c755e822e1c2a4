//! Reading a response's body: to its end, at most `--max-body` bytes. Past the cap the body is
//! read no further (the HTTP/1.1 connection is closed, an HTTP/2 stream reset), so that an
//! endless stream neither holds a worker until `--timeout` nor fills memory; the response still
//! counts, as `body_truncated`. The instant of the body's first byte is kept (the time to first
//! byte), and the start of the body when `--version-json` needs it.

use std::time::Instant;

use bytes::BytesMut;
use http_body_util::BodyExt;

use crate::error::ProberError;

/// Default `--max-body`: 10 MiB. Above Lambda's 6 MB limit on a buffered response (every such
/// response is read whole) and well below a streamed one's (20 MB soft, up to 200 MB), so that
/// an endless stream is cut after at most 10 MiB per request in flight.
pub const DEFAULT_MAX_BODY: u64 = 10 << 20;

/// The most of a body kept for `--version-json` (the version of a larger body is unread).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// What reading a body found.
#[derive(Debug, Default)]
pub struct BodyRead {
    /// When the first non-empty data frame arrived; `None` for an empty body.
    pub first_byte: Option<Instant>,
    /// Body bytes read (at most the cap plus one frame).
    pub bytes: u64,
    /// The body held more than the cap: reading stopped there.
    pub truncated: bool,
    /// The start of the body, when asked to keep one.
    pub kept: BytesMut,
    /// The whole body is in `kept` (not truncated, not larger than the keep limit).
    pub kept_whole: bool,
}

/// Reads `body` to its end or until more than `max` bytes arrived, keeping its first `keep`
/// bytes. A body of exactly `max` bytes is whole.
pub async fn read_body<B>(body: &mut B, max: u64, keep: usize) -> Result<BodyRead, B::Error>
where
    B: hyper::body::Body + Unpin,
{
    let mut read = BodyRead {
        kept_whole: true,
        ..BodyRead::default()
    };
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        let Some(data) = frame.data_ref() else {
            continue;
        };
        let chunk = bytes::Buf::chunk(data);
        if chunk.is_empty() {
            continue;
        }
        read.first_byte.get_or_insert_with(Instant::now);
        read.bytes += chunk.len() as u64;
        if read.bytes > max {
            read.truncated = true;
            read.kept_whole = false;
            return Ok(read);
        }
        if read.kept_whole {
            if read.kept.len() + chunk.len() <= keep {
                read.kept.extend_from_slice(chunk);
            } else {
                read.kept_whole = false;
                read.kept.clear();
            }
        }
    }
    Ok(read)
}

/// Parses `--max-body`: bytes, optionally with a unit (`B`, `KB`, `MB`, `GB` in powers of
/// 1000; `KiB`, `MiB`, `GiB` in powers of 1024; any case), e.g. `10MiB`, `512KiB`, `1048576`.
pub fn parse_max_body(raw: &str) -> Result<u64, ProberError> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => 0,
    };
    let value = number.parse::<f64>().ok().filter(|_| factor > 0);
    let Some(value) = value else {
        return Err(ProberError::invalid(
            "--max-body",
            raw,
            "give a size in bytes with an optional unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. \
             --max-body 10MiB (the default), 512KiB or 1048576",
        ));
    };
    let bytes = (value * factor as f64).floor();
    if bytes < 1.0 {
        return Err(ProberError::invalid(
            "--max-body",
            raw,
            "a cap below one byte would cut every response; give at least 1 byte, e.g. \
             --max-body 10MiB (the default)",
        ));
    }
    if bytes >= u64::MAX as f64 {
        return Err(ProberError::invalid(
            "--max-body",
            raw,
            "too large; give at most a few GiB, e.g. --max-body 1GiB",
        ));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use hyper::body::Frame;

    /// A body of the given chunks, each a frame (an empty one included).
    struct Chunks(VecDeque<Bytes>);

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    fn chunks(sizes: &[usize]) -> Chunks {
        Chunks(sizes.iter().map(|n| Bytes::from(vec![b'x'; *n])).collect())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_body_is_read_to_its_end_up_to_the_cap() {
        let whole = read_body(&mut chunks(&[0, 3, 4, 3]), 10, 100)
            .await
            .unwrap();
        assert_eq!(
            (whole.bytes, whole.truncated),
            (10, false),
            "exactly the cap is whole"
        );
        assert!(whole.first_byte.is_some() && whole.kept_whole);
        assert_eq!(whole.kept.len(), 10);
        let cut = read_body(&mut chunks(&[4, 4, 4, 4, 4]), 10, 100)
            .await
            .unwrap();
        assert_eq!(
            (cut.bytes, cut.truncated),
            (12, true),
            "stopped one frame past the cap"
        );
        assert!(!cut.kept_whole);
        let empty = read_body(&mut chunks(&[0]), 10, 100).await.unwrap();
        assert_eq!((empty.bytes, empty.first_byte), (0, None));
        let large = read_body(&mut chunks(&[6, 6]), 100, 8).await.unwrap();
        assert!(!large.truncated && !large.kept_whole && large.kept.is_empty());
    }

    #[test]
    fn max_body_takes_sizes_with_units() {
        for (raw, bytes) in [
            ("10MiB", 10 << 20),
            ("512 KiB", 512 << 10),
            ("1048576", 1 << 20),
            ("2mb", 2_000_000),
            ("1.5KB", 1500),
            ("1b", 1),
            ("1GiB", 1 << 30),
        ] {
            assert_eq!(parse_max_body(raw).unwrap(), bytes, "{raw}");
        }
    }

    #[test]
    fn max_body_refuses_zero_and_garbage_naming_the_flag() {
        for raw in ["0", "0.1", "0MiB", "ten", "10 parsecs", "", "-1", "1e9"] {
            let e = parse_max_body(raw).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("--max-body"), "{raw}: {text}");
            assert!(text.contains("e.g. --max-body 10MiB"), "{raw}: {text}");
            assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{raw}");
        }
    }
}
