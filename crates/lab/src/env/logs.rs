//! Captured stdout/stderr of execution environments: the lab's CloudWatch Logs.
//!
//! One [`LogSink`] per function version is a "log group"; each environment writes to its own "log
//! stream" (named like Lambda's, `YYYY/MM/DD/[<version>]<32 hex>`). Lines are kept in a bounded
//! in-memory ring and, when a directory is given, appended to `<dir>/<stream, '/' -> '_'>.log`.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Which process wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// The runtime (the function): a telemetry `function` record.
    Function,
    /// An external extension: a telemetry `extension` record.
    Extension,
    /// The platform's own `START`/`END`/`REPORT` lines.
    Platform,
}

/// One captured line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// The environment's log stream.
    pub stream: String,
    /// Who wrote it.
    pub source: LogSource,
    /// The line, without its newline.
    pub text: String,
}

/// A version's log group: a ring of recent lines plus optional files.
#[derive(Debug)]
pub struct LogSink {
    group: String,
    capacity: usize,
    dir: Option<PathBuf>,
    lines: Mutex<VecDeque<LogLine>>,
}

impl LogSink {
    /// A sink keeping the last `capacity` lines in memory and, if `dir` is given, writing files.
    pub fn new(group: impl Into<String>, capacity: usize, dir: Option<PathBuf>) -> Self {
        Self {
            group: group.into(),
            capacity: capacity.max(1),
            dir,
            lines: Mutex::new(VecDeque::new()),
        }
    }

    /// The log group name (`/aws/lambda/<function>`, plus the version when the pool sets it).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Appends one line.
    pub fn push(&self, line: LogLine) {
        if let Some(dir) = &self.dir {
            let file = dir.join(format!("{}.log", line.stream.replace('/', "_")));
            let written = std::fs::create_dir_all(dir).and_then(|_| {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)?;
                writeln!(f, "{}", line.text)
            });
            if let Err(e) = written {
                tracing::warn!(file = %file.display(), error = %e, "cannot write log file");
            }
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == self.capacity {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// A copy of the lines in memory, oldest first.
    pub fn snapshot(&self) -> Vec<LogLine> {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(stream: &str, text: &str) -> LogLine {
        LogLine {
            stream: stream.into(),
            source: LogSource::Function,
            text: text.into(),
        }
    }

    #[test]
    fn ring_keeps_the_newest_lines() {
        let sink = LogSink::new("/aws/lambda/f", 2, None);
        for t in ["a", "b", "c"] {
            sink.push(line("s", t));
        }
        let texts: Vec<_> = sink.snapshot().into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["b", "c"]);
    }

    #[test]
    fn lines_go_to_one_file_per_stream() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogSink::new("/aws/lambda/f", 10, Some(dir.path().to_path_buf()));
        sink.push(line("2026/01/01/[1]aa", "one"));
        sink.push(line("2026/01/01/[1]bb", "two"));
        sink.push(line("2026/01/01/[1]aa", "three"));
        let a = std::fs::read_to_string(dir.path().join("2026_01_01_[1]aa.log")).unwrap();
        assert_eq!(a, "one\nthree\n");
        let b = std::fs::read_to_string(dir.path().join("2026_01_01_[1]bb.log")).unwrap();
        assert_eq!(b, "two\n");
    }
}
