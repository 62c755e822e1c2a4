//! Where the Invoke API finds an invocation's log lines (`X-Amz-Log-Type: Tail`): the log
//! sinks of one function's pools.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::lambda::LogTail;
use crate::env::LogSink;

/// One function's log sinks, by version.
pub(crate) struct PoolLogs(pub(crate) BTreeMap<String, Arc<LogSink>>);

impl LogTail for PoolLogs {
    /// The invocation's own lines: its environment's log stream from `START RequestId: <id>` up
    /// to its `REPORT` line or the next invocation's `START`, whichever comes first (the
    /// function's lines so far: `END`/`REPORT` are logged after the response, so they are
    /// usually not there yet). An invocation that never started (its environment's Init failed)
    /// gets the latest environment whose Init failed: the output that says why.
    fn tail(&self, version: &str, request_id: &str) -> Option<String> {
        let lines = self.0.get(version)?.snapshot();
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

    fn logs(lines: &[(&str, &str)]) -> PoolLogs {
        let sink = Arc::new(LogSink::new("/aws/lambda/f", 100, None));
        for (stream, text) in lines {
            sink.push(LogLine {
                stream: (*stream).to_owned(),
                source: LogSource::Platform,
                text: (*text).to_owned(),
            });
        }
        PoolLogs(BTreeMap::from([("1".to_owned(), sink)]))
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
            pool.tail("1", "r1").unwrap(),
            "START RequestId: r1 Version: 1\none\nEND RequestId: r1\nREPORT RequestId: r1 Duration: 1.00 ms\n"
        );
        assert_eq!(
            pool.tail("1", "r2").unwrap(),
            "START RequestId: r2 Version: 1\ntwo\n",
            "only its environment's stream"
        );
        assert_eq!(
            pool.tail("1", "r3").unwrap(),
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
        let tail = pool.tail("1", "never-started").unwrap();
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
