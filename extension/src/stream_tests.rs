use std::collections::VecDeque;
use std::task::Waker;

use http::HeaderMap;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const DELIM: [u8; 8] = PRELUDE_DELIMITER;

fn tags(cold: bool) -> OwnedTags {
    OwnedTags {
        version_header: "x-rollcall-version".into(),
        version: "7".into(),
        cold,
    }
}

/// What lambda_runtime 1.5 writes (`serde_json::to_string(&MetadataPrelude)`), a multi-value
/// header included (http_serde writes it as an array).
const PRELUDE: &[u8] = br#"{"statusCode":200,"headers":{"content-type":"text/plain","x-multi":["a","b"],"X-Rollcall-Version":"spoof"},"cookies":["a=1; Secure"]}"#;
const TAGGED: &[u8] = br#"{"statusCode":200,"headers":{"content-type":"text/plain","x-multi":["a","b"],"x-rollcall-version":"7"},"cookies":["a=1; Secure"]}"#;
/// A body with its own run of NULs: only the first delimiter counts.
const BODY: &[u8] = b"hello, \0\0\0\0\0\0\0\0\0 streamed {world}";

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Pushes `input` cut at `cuts` through a tagger; after every chunk, the output so far.
fn steps(
    mut tagger: PreludeTagger,
    input: &[u8],
    cuts: &[usize],
) -> (Vec<(usize, Vec<u8>)>, Vec<u8>) {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        if let Some(b) = tagger.push(Bytes::copy_from_slice(&input[at..cut])) {
            out.extend_from_slice(&b);
        }
        at = cut;
        seen.push((at, out.clone()));
    }
    if let Some(b) = tagger.flush() {
        out.extend_from_slice(&b);
    }
    (seen, out)
}

/// How a stream is expected to come out.
enum Expect<'a> {
    /// Held until `delim_end` input bytes, then `output`, with every later byte at once.
    Rewritten { delim_end: usize, output: &'a [u8] },
    /// Every byte at once, unchanged.
    Passed,
    /// Held until `until` input bytes (or the end), then unchanged.
    HeldThenPassed { until: usize },
}

fn check(input: &[u8], cuts: &[usize], expect: &Expect<'_>) {
    let (seen, out) = steps(PreludeTagger::new(Some(tags(false))), input, cuts);
    let want_final: &[u8] = match expect {
        Expect::Rewritten { output, .. } => output,
        _ => input,
    };
    assert_eq!(out, want_final, "cuts {cuts:?}");
    for (so_far, got) in seen {
        let want: &[u8] = match *expect {
            Expect::Rewritten { delim_end, output } if so_far >= delim_end => {
                &output[..so_far + output.len() - input.len()]
            }
            Expect::Rewritten { .. } => b"",
            Expect::Passed => &input[..so_far],
            Expect::HeldThenPassed { until } if so_far >= until => &input[..so_far],
            Expect::HeldThenPassed { .. } => b"",
        };
        assert_eq!(got, want, "after {so_far} bytes, cuts {cuts:?}");
    }
}

/// Every single cut, every pair of cuts, and chunks of one byte.
fn every_split(input: &[u8], expect: &Expect<'_>) {
    for i in 0..=input.len() {
        check(input, &[i], expect);
        for j in i..=input.len() {
            check(input, &[i, j], expect);
        }
    }
    let ones: Vec<usize> = (1..input.len()).collect();
    check(input, &ones, expect);
}

#[test]
fn the_prelude_is_tagged_at_every_split_and_the_body_follows_at_once() {
    let input = cat(&[PRELUDE, &DELIM, BODY]);
    let output = cat(&[TAGGED, &DELIM, BODY]);
    every_split(
        &input,
        &Expect::Rewritten {
            delim_end: PRELUDE.len() + DELIM.len(),
            output: &output,
        },
    );
}

#[test]
fn a_body_without_a_prelude_passes_at_once() {
    for input in [
        &b"data: hi\n\n\0\0\0\0\0\0\0\0more"[..],
        b" {\"statusCode\":200}",
    ] {
        every_split(input, &Expect::Passed);
    }
}

#[test]
fn a_prelude_that_is_not_one_passes_unchanged_once_the_delimiter_is_seen() {
    for prelude in [
        &b"{not json}"[..],
        br#"{"statusCode":"200","headers":{}}"#,
        br#"{"headers":{}}"#,
        br#"{"statusCode":200,"headers":[]}"#,
        br#"{"statusCode":200,"headers":{},"headers":{}}"#,
        br#"{"statusCode":200,"headers":{"a":"b"}"#,
        // Seven NULs are not the delimiter: the prelude runs on to the next eight.
        b"{\"statusCode\":200}\0\0\0\0\0\0\0x",
    ] {
        let input = cat(&[prelude, &DELIM, b"body"]);
        every_split(
            &input,
            &Expect::HeldThenPassed {
                until: prelude.len() + DELIM.len(),
            },
        );
    }
}

#[test]
fn a_stream_that_ends_before_the_delimiter_passes_unchanged() {
    let input = cat(&[PRELUDE, &DELIM[..5]]);
    every_split(&input, &Expect::HeldThenPassed { until: usize::MAX });
}

#[test]
fn the_prelude_may_fill_the_cap_and_not_a_byte_more() {
    let pad = |n: usize| {
        let head = br#"{"statusCode":201,"headers":{},"cookies":[]"#;
        let mut p = head.to_vec();
        p.resize(n - 1, b' ');
        p.push(b'}');
        p
    };
    let fits = pad(MAX_PRELUDE);
    let input = cat(&[&fits, &DELIM, BODY]);
    let (_, out) = steps(
        PreludeTagger::new(Some(tags(false))),
        &input,
        &[100, MAX_PRELUDE + 3],
    );
    let tagged = tag_prelude(&fits, Some(&tags(false).as_tags()))
        .unwrap()
        .0
        .unwrap();
    assert_eq!(out, cat(&[&tagged, &DELIM, BODY]));

    let over = pad(MAX_PRELUDE + 1);
    let input = cat(&[&over, &DELIM, BODY]);
    let until = MAX_PRELUDE + DELIM.len();
    for cuts in [
        &[1000, until - 1][..],
        &[until],
        &[until + 1],
        &[MAX_PRELUDE],
    ] {
        check(&input, cuts, &Expect::HeldThenPassed { until });
    }
}

#[test]
fn without_tags_the_prelude_is_only_read() {
    let input = cat(&[PRELUDE, &DELIM, BODY]);
    let mut tagger = PreludeTagger::new(None);
    let out = tagger.push(Bytes::from(input.clone())).unwrap();
    assert_eq!(out, input);
    assert_eq!(tagger.status(), Some(200));
}

#[test]
fn prelude_headers_absent_or_null_are_added_and_cold_is_marked() {
    for prelude in [
        &br#"{"statusCode":500}"#[..],
        br#"{"statusCode":500,"headers":null}"#,
    ] {
        let (tagged, status) = tag_prelude(prelude, Some(&tags(true).as_tags())).unwrap();
        let v: Value = serde_json::from_slice(&tagged.unwrap()).unwrap();
        assert_eq!(status, 500);
        assert_eq!(
            v["headers"],
            json!({"x-rollcall-version": "7", "x-rollcall-cold": "1"})
        );
    }
}

/// A body of scripted frames.
struct Frames(VecDeque<Result<Frame<Bytes>, &'static str>>);

impl Body for Frames {
    type Data = Bytes;
    type Error = &'static str;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
        Poll::Ready(self.0.pop_front())
    }
}

#[derive(Debug, PartialEq)]
enum Out {
    Data(Vec<u8>),
    Trailers(HeaderMap),
    Error(&'static str),
}

type Seen = Arc<Mutex<Vec<(StreamEnd, bool)>>>;

/// Runs frames through a [`StreamedBody`]; returns what came out, data frames merged, and what
/// was reported.
fn through(
    frames: Vec<Result<Frame<Bytes>, &'static str>>,
    tagger: Option<PreludeTagger>,
    delivered: bool,
) -> (Vec<Out>, Vec<(StreamEnd, bool)>) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let (watch, answer) = watch(move |end, delivered| sink.lock().unwrap().push((end, delivered)));
    let mut body = StreamedBody::new(Frames(frames.into()), tagger, watch);
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    while let Poll::Ready(Some(item)) = Pin::new(&mut body).poll_frame(&mut cx) {
        match item.map(|f| f.into_data()) {
            Ok(Ok(d)) => match out.last_mut() {
                Some(Out::Data(prev)) => prev.extend_from_slice(&d),
                _ => out.push(Out::Data(d.to_vec())),
            },
            Ok(Err(f)) => out.push(Out::Trailers(f.into_trailers().unwrap())),
            Err(e) => out.push(Out::Error(e)),
        }
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "reported before the answer"
    );
    answer.delivered(delivered);
    drop(body);
    let seen = seen.lock().unwrap().clone();
    (out, seen)
}

fn data(b: &[u8]) -> Result<Frame<Bytes>, &'static str> {
    Ok(Frame::data(Bytes::copy_from_slice(b)))
}

fn error_trailers() -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert(
        HEADER_FUNCTION_ERROR_TYPE,
        "Runtime.StreamError".parse().unwrap(),
    );
    t.insert(
        protocol::runtime::TRAILER_FUNCTION_ERROR_BODY,
        "YmFk".parse().unwrap(),
    );
    t
}

#[test]
fn an_error_trailer_after_a_partial_body_is_forwarded_and_reported_once() {
    let frames = vec![
        data(PRELUDE),
        data(&DELIM[..3]),
        data(&DELIM[3..]),
        data(b"part one"),
        Ok(Frame::trailers(error_trailers())),
    ];
    let (out, seen) = through(frames, Some(PreludeTagger::new(Some(tags(true)))), true);
    let mut tagged = tag_prelude(PRELUDE, Some(&tags(true).as_tags()))
        .unwrap()
        .0
        .unwrap();
    tagged.extend_from_slice(&DELIM);
    tagged.extend_from_slice(b"part one");
    assert_eq!(out, [Out::Data(tagged), Out::Trailers(error_trailers())]);
    assert_eq!(seen.len(), 1);
    let (end, delivered) = seen[0];
    assert!(delivered && end.complete && end.error_trailer);
    assert_eq!(end.status, Some(200));
    assert!(end.first_byte.is_some_and(|t| t <= end.end));
    assert!(end.is_error(true), "the error trailer fails the invocation");
}

#[test]
fn trailers_or_an_error_before_the_delimiter_release_the_held_bytes_unchanged() {
    let (out, seen) = through(
        vec![
            data(b"{\"statusCode\":2"),
            Ok(Frame::trailers(error_trailers())),
        ],
        Some(PreludeTagger::new(Some(tags(false)))),
        true,
    );
    assert_eq!(
        out,
        [
            Out::Data(b"{\"statusCode\":2".to_vec()),
            Out::Trailers(error_trailers())
        ]
    );
    assert!(seen[0].0.error_trailer);

    let (out, seen) = through(
        vec![data(b"{\"statusCode\":2"), Err("reset")],
        Some(PreludeTagger::new(Some(tags(false)))),
        false,
    );
    assert_eq!(
        out,
        [
            Out::Data(b"{\"statusCode\":2".to_vec()),
            Out::Error("reset")
        ]
    );
    assert!(!seen[0].0.complete);
    assert!(seen[0].0.is_error(false));
}

#[test]
fn a_plain_stream_passes_frame_for_frame_and_a_clean_end_is_no_error() {
    let (out, seen) = through(vec![data(b"a"), data(b""), data(b"b")], None, true);
    assert_eq!(out, [Out::Data(b"ab".to_vec())]);
    let (end, delivered) = seen[0];
    assert!(end.complete && !end.error_trailer && end.status.is_none());
    assert!(!end.is_error(delivered));

    let (_, seen) = through(vec![], None, true);
    assert!(seen[0].0.first_byte.is_none(), "no byte, no first byte");
}

#[test]
fn a_5xx_prelude_or_a_refused_response_is_an_error() {
    let input = cat(&[br#"{"statusCode":503}"#, &DELIM, b"down"]);
    let (_, seen) = through(
        vec![data(&input)],
        Some(PreludeTagger::new(Some(tags(false)))),
        true,
    );
    assert_eq!(seen[0].0.status, Some(503));
    assert!(seen[0].0.is_error(true));
    let (_, seen) = through(vec![data(b"x")], None, false);
    assert!(seen[0].0.is_error(seen[0].1));
}

#[test]
fn a_body_dropped_unfinished_and_an_answer_never_given_still_report_once() {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let (watch, answer) = watch(move |end, delivered| sink.lock().unwrap().push((end, delivered)));
    let body = StreamedBody::new(Frames(VecDeque::from([data(b"x")])), None, watch);
    drop(body);
    drop(answer);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].0.complete && !seen[0].1);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x57_2EA4),
        ..ProptestConfig::default()
    })]

    /// Any prelude lambda_runtime could write and any body, cut anywhere: the output is the
    /// tagged prelude, the delimiter and the body, byte for byte, and the prelude says what it
    /// said before plus the tag.
    #[test]
    fn any_prelude_and_body_cut_anywhere(
        status in 100u16..600,
        headers in proptest::collection::btree_map("[a-z][a-z0-9-]{0,12}", "[ -~]{0,20}", 0..5),
        cookies in proptest::collection::vec("[ -~]{0,20}", 0..3),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        mut cuts in proptest::collection::vec(0usize..400, 0..6),
        cold in any::<bool>(),
    ) {
        let prelude = serde_json::to_vec(&json!({
            "statusCode": status, "headers": headers, "cookies": cookies,
        })).unwrap();
        let input = cat(&[&prelude, &DELIM, &body]);
        cuts.iter_mut().for_each(|c| *c = (*c).min(input.len()));
        cuts.sort_unstable();
        let mut tagger = PreludeTagger::new(Some(tags(cold)));
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts.iter().chain([input.len()].iter()) {
            if let Some(b) = tagger.push(Bytes::copy_from_slice(&input[at..cut])) {
                out.extend_from_slice(&b);
            }
            at = cut;
        }
        if let Some(b) = tagger.flush() {
            out.extend_from_slice(&b);
        }
        let at = out.windows(8).position(|w| w == DELIM).unwrap();
        prop_assert_eq!(&out[at + 8..], &body[..]);
        prop_assert_eq!(tagger.status(), Some(status));
        let mut got: Value = serde_json::from_slice(&out[..at]).unwrap();
        let mut want: Value = serde_json::from_slice(&prelude).unwrap();
        want["headers"]["x-rollcall-version"] = json!("7");
        if cold {
            want["headers"]["x-rollcall-cold"] = json!("1");
        }
        prop_assert_eq!(got.take(), want);
    }
}
