//! Captured stdout/stderr of execution environments: the lab's CloudWatch Logs.
//!
//! One [`LogSink`] per function version is a "log group"; each environment writes to its own "log
//! stream" (named like Lambda's, `YYYY/MM/DD/[<version>]<32 hex>`). Lines are kept in a bounded
//! in-memory ring and, when a directory is given, appended to `<dir>/<stream, '/' -> '_'>.log`.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
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

/// Something that reads every captured line as it is written (the lab's CloudWatch reads the
/// EMF documents environments print).
pub trait LineTap: Send + Sync + std::fmt::Debug {
    /// Called once per line, before the line is stored.
    fn line(&self, line: &LogLine);
}

/// Open log files kept by a sink; beyond this many (environments gone without
/// [`LogSink::close_stream`]) all are closed and reopened on demand.
const MAX_OPEN_FILES: usize = 256;

/// A version's log group: a ring of recent lines plus optional files.
#[derive(Debug)]
pub struct LogSink {
    group: String,
    capacity: usize,
    dir: Option<PathBuf>,
    lines: Mutex<VecDeque<LogLine>>,
    /// One open (append) file per live log stream, so a line costs one `write`, not
    /// `mkdir` + `open` + `write` + `close`.
    files: Mutex<HashMap<String, File>>,
    /// Reads every line, when set.
    tap: Option<std::sync::Arc<dyn LineTap>>,
}

impl LogSink {
    /// A sink keeping the last `capacity` lines in memory and, if `dir` is given, writing files.
    pub fn new(group: impl Into<String>, capacity: usize, dir: Option<PathBuf>) -> Self {
        Self {
            group: group.into(),
            capacity: capacity.max(1),
            dir,
            lines: Mutex::new(VecDeque::new()),
            files: Mutex::new(HashMap::new()),
            tap: None,
        }
    }

    /// The sink with `tap` reading every line.
    pub fn with_tap(mut self, tap: std::sync::Arc<dyn LineTap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// The log group name (`/aws/lambda/<function>`, plus the version when the pool sets it).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Appends one line.
    pub fn push(&self, line: LogLine) {
        if let Some(tap) = &self.tap {
            tap.line(&line);
        }
        if let Some(dir) = &self.dir {
            let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
            if files.len() >= MAX_OPEN_FILES && !files.contains_key(&line.stream) {
                files.clear();
            }
            let written = match files.get_mut(&line.stream) {
                Some(f) => writeln!(f, "{}", line.text),
                None => open_stream(dir, &line.stream).and_then(|mut f| {
                    writeln!(f, "{}", line.text)?;
                    files.insert(line.stream.clone(), f);
                    Ok(())
                }),
            };
            if let Err(e) = written {
                files.remove(&line.stream);
                let file = stream_file(dir, &line.stream);
                tracing::warn!(file = %file.display(), error = %e, "cannot write log file");
            }
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == self.capacity {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// Closes the file of a log stream whose environment is gone (a later line reopens it).
    pub fn close_stream(&self, stream: &str) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(stream);
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

/// `<dir>/<stream, '/' -> '_'>.log`.
fn stream_file(dir: &std::path::Path, stream: &str) -> PathBuf {
    dir.join(format!("{}.log", stream.replace('/', "_")))
}

fn open_stream(dir: &std::path::Path, stream: &str) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stream_file(dir, stream))
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

    #[test]
    fn a_closed_stream_reopens_in_append_mode_and_a_removed_file_is_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogSink::new("/aws/lambda/f", 10, Some(dir.path().to_path_buf()));
        sink.push(line("s/1", "one"));
        sink.close_stream("s/1");
        sink.push(line("s/1", "two"));
        let path = dir.path().join("s_1.log");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        // a file closed by the sink and deleted meanwhile comes back with the next line
        sink.close_stream("s/1");
        std::fs::remove_file(&path).unwrap();
        sink.push(line("s/1", "three"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
    }

    #[test]
    fn many_streams_stay_under_the_open_file_bound() {
        let dir = tempfile::tempdir().unwrap();
        let sink = LogSink::new("/aws/lambda/f", 10, Some(dir.path().to_path_buf()));
        for i in 0..(MAX_OPEN_FILES + 10) {
            sink.push(line(&format!("s{i}"), "x"));
        }
        assert!(sink.files.lock().unwrap().len() <= MAX_OPEN_FILES);
        sink.push(line("s0", "y"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("s0.log")).unwrap(),
            "x\ny\n"
        );
    }
}
