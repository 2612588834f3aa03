//! Container output as whole lines, from Docker's stdout/stderr frames.

use std::collections::VecDeque;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;

use crate::error::is_not_found;
use crate::{Engine, EngineError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line a container wrote, without its line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStream,
    pub text: String,
}

impl Engine {
    /// The last `tail` lines of the container's output (`usize::MAX`: all of it), then, with
    /// `follow`, new lines as they come until the container stops.
    pub fn logs(
        &self,
        id: &str,
        tail: usize,
        follow: bool,
    ) -> BoxStream<'static, Result<LogLine, EngineError>> {
        let engine = self.clone();
        let id = id.to_owned();
        let frames = stream::once(async move {
            let docker = match engine.docker().await {
                Ok(docker) => docker.clone(),
                Err(err) => return stream::iter([Err(err)]).boxed(),
            };
            let options = LogsOptions {
                follow,
                stdout: true,
                stderr: true,
                tail: if tail == usize::MAX {
                    "all".to_owned()
                } else {
                    tail.to_string()
                },
                ..Default::default()
            };
            docker
                .logs(&id, Some(options))
                .map(move |frame| {
                    frame.map_err(|err| {
                        if is_not_found(&err) {
                            EngineError::NotFound(format!("no container {id}"))
                        } else {
                            engine.fail(err)
                        }
                    })
                })
                .boxed()
        })
        .flatten()
        .boxed();
        into_lines(frames).boxed()
    }

    /// The last `n` lines of output, oldest first, both streams; empty when unavailable.
    pub(crate) async fn last_lines(&self, id: &str, n: usize) -> Vec<String> {
        let lines: Vec<_> = self.logs(id, n, false).collect().await;
        lines
            .into_iter()
            .filter_map(Result::ok)
            .map(|l| l.text)
            .collect()
    }
}

/// Cuts frames into lines. Docker sends a frame per write (or per 16 KiB piece of a long log
/// line), so a line may span frames and a frame may hold several lines.
fn into_lines<S>(frames: S) -> impl futures_util::Stream<Item = Result<LogLine, EngineError>>
where
    S: futures_util::Stream<Item = Result<LogOutput, EngineError>> + Send + Unpin,
{
    let state = (frames, Splitter::default(), VecDeque::new(), false);
    stream::unfold(
        state,
        |(mut frames, mut splitter, mut ready, mut done)| async move {
            loop {
                if let Some(item) = ready.pop_front() {
                    return Some((item, (frames, splitter, ready, done)));
                }
                if done {
                    return None;
                }
                match frames.next().await {
                    Some(Ok(frame)) => {
                        let (stream, bytes) = match frame {
                            LogOutput::StdErr { message } => (LogStream::Stderr, message),
                            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                                (LogStream::Stdout, message)
                            }
                            LogOutput::StdIn { .. } => continue,
                        };
                        ready.extend(splitter.push(stream, &bytes).into_iter().map(Ok));
                    }
                    Some(Err(err)) => {
                        ready.extend(splitter.finish().into_iter().map(Ok));
                        ready.push_back(Err(err));
                        done = true;
                    }
                    None => {
                        ready.extend(splitter.finish().into_iter().map(Ok));
                        done = true;
                    }
                }
            }
        },
    )
}

/// The longest line kept whole; longer ones (or output without newlines) are cut here.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

#[derive(Default)]
pub(crate) struct Splitter {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Splitter {
    pub(crate) fn push(&mut self, stream: LogStream, bytes: &[u8]) -> Vec<LogLine> {
        let buffer = match stream {
            LogStream::Stdout => &mut self.stdout,
            LogStream::Stderr => &mut self.stderr,
        };
        buffer.extend_from_slice(bytes);
        let mut lines = Vec::new();
        loop {
            let end = match buffer.iter().position(|b| *b == b'\n') {
                Some(end) if end < MAX_LINE_BYTES => end + 1,
                // A stream that never sends a newline must not grow the buffer without end:
                // a full buffer is a line of its own.
                _ if buffer.len() >= MAX_LINE_BYTES => MAX_LINE_BYTES,
                Some(end) => end + 1,
                None => break,
            };
            let rest = buffer.split_off(end);
            let line = std::mem::replace(buffer, rest);
            lines.push(line_of(stream, &line));
        }
        lines
    }

    /// What is left without a final newline.
    pub(crate) fn finish(&mut self) -> Vec<LogLine> {
        let mut lines = Vec::new();
        for (stream, buffer) in [
            (LogStream::Stdout, &mut self.stdout),
            (LogStream::Stderr, &mut self.stderr),
        ] {
            if !buffer.is_empty() {
                lines.push(line_of(stream, buffer));
                buffer.clear();
            }
        }
        lines
    }
}

fn line_of(stream: LogStream, bytes: &[u8]) -> LogLine {
    let text = String::from_utf8_lossy(bytes);
    LogLine {
        stream,
        text: text.trim_end_matches(['\n', '\r']).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_pieces_and_splits_frames_into_lines() {
        let mut s = Splitter::default();
        assert!(s.push(LogStream::Stdout, b"hel").is_empty());
        let lines = s.push(LogStream::Stdout, b"lo\r\nworld\npart");
        let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["hello", "world"]);
        let err = s.push(LogStream::Stderr, b"oops\n");
        assert_eq!(err[0].stream, LogStream::Stderr);
        assert_eq!(s.finish()[0].text, "part");
        assert!(s.finish().is_empty());
    }

    #[test]
    fn output_without_newlines_is_cut_into_bounded_lines() {
        let mut s = Splitter::default();
        let mut total = 0;
        for _ in 0..100 {
            for l in s.push(LogStream::Stdout, &[b'x'; 4096]) {
                assert_eq!(l.text.len(), MAX_LINE_BYTES);
                total += l.text.len();
            }
            assert!(s.stdout.len() < MAX_LINE_BYTES);
        }
        total += s.finish().iter().map(|l| l.text.len()).sum::<usize>();
        assert_eq!(total, 100 * 4096, "nothing lost");
    }
}
