//! A version's invocation logs for `X-Amz-Log-Type: Tail`, read from its pool's [`LogSink`].

use crate::env::LogSink;

use super::registry::LogTail;

impl LogTail for LogSink {
    /// The invocation's own lines: its environment's log stream from `START RequestId: <id>` up
    /// to its `REPORT` line or the next invocation's `START`, whichever comes first (the
    /// function's lines so far: `END`/`REPORT` are logged after the response, so they are
    /// usually not there yet). An invocation that never started (its environment's Init failed)
    /// gets the latest environment whose Init failed: the output that says why.
    fn tail(&self, request_id: &str) -> Option<String> {
        let lines = self.snapshot();
        let start = format!("START RequestId: {request_id} ");
        let first = match lines.iter().rposition(|l| l.text.starts_with(&start)) {
            Some(i) => i,
            None => {
                let failed = lines.iter().rposition(|l| {
                    l.text.starts_with("INIT_REPORT ") && !l.text.contains("Status: success")
                })?;
                let stream = &lines[failed].stream;
                lines.iter().position(|l| &l.stream == stream)?
            }
        };
        let stream = &lines[first].stream;
        let report = format!("REPORT RequestId: {request_id} ");
        let mut text = String::new();
        for (i, l) in lines[first..]
            .iter()
            .enumerate()
            .filter(|(_, l)| &l.stream == stream)
        {
            if i > 0 && l.text.starts_with("START RequestId: ") {
                break;
            }
            text.push_str(&l.text);
            text.push('\n');
            if l.text.starts_with(&report) {
                break;
            }
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{LogLine, LogSource};

    fn logs(lines: &[(&str, &str)]) -> LogSink {
        let sink = LogSink::new("/aws/lambda/f", 100, None);
        for (stream, text) in lines {
            sink.push(LogLine {
                stream: (*stream).to_owned(),
                source: LogSource::Platform,
                text: (*text).to_owned(),
            });
        }
        sink
    }

    #[test]
    fn the_tail_is_the_invocations_own_lines() {
        let pool = logs(&[
            ("a", "START RequestId: r1 Version: 1"),
            ("a", "one"),
            ("b", "START RequestId: r2 Version: 1"),
            ("a", "END RequestId: r1"),
            ("a", "REPORT RequestId: r1 Duration: 1.00 ms"),
            ("b", "two"),
            ("a", "START RequestId: r3 Version: 1"),
            ("a", "three"),
        ]);
        assert_eq!(
            pool.tail("r1").unwrap(),
            "START RequestId: r1 Version: 1\none\nEND RequestId: r1\nREPORT RequestId: r1 Duration: 1.00 ms\n"
        );
        assert_eq!(
            pool.tail("r2").unwrap(),
            "START RequestId: r2 Version: 1\ntwo\n",
            "only its environment's stream"
        );
        assert_eq!(
            pool.tail("r3").unwrap(),
            "START RequestId: r3 Version: 1\nthree\n"
        );
    }

    #[test]
    fn an_invocation_whose_init_failed_gets_that_environments_lines() {
        let pool = logs(&[
            ("bad", "boom: HELLO_FAIL_RATE is invalid"),
            (
                "bad",
                "INIT_REPORT Init Duration: 3.00 ms Phase: init Status: error Error Type: Runtime.ExitError",
            ),
            ("warm", "START RequestId: r9 Version: 1"),
            ("warm", "REPORT RequestId: r9 Duration: 1.00 ms"),
        ]);
        let tail = pool.tail("never-started").unwrap();
        assert!(
            tail.starts_with("boom: HELLO_FAIL_RATE is invalid\n"),
            "{tail}"
        );
        assert!(
            !tail.contains("r9"),
            "not the warm environment's lines: {tail}"
        );
    }
}
