//! What a scrape target answers: the Prometheus text format (0.0.4) and OpenMetrics 1.0.
//!
//! [`parse`] turns a body into samples (name, sorted labels, value, optional timestamp) plus
//! each family's `# TYPE` and `# HELP`, the way Prometheus's own parsers read it: label values
//! unescaped (`\\`, `\"`, `\n`), `NaN` and `±Inf` values, Prometheus timestamps in
//! milliseconds and OpenMetrics timestamps in (fractional) seconds, OpenMetrics exemplars
//! skipped and its `# EOF` required. A body with more samples than allowed is refused rather
//! than cut, so a target never half-ingests.
use std::collections::BTreeMap;

/// Which grammar a body is in (from the answer's `Content-Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// `application/openmetrics-text` is OpenMetrics; anything else is read as Prometheus text,
    /// as Prometheus does.
    pub fn from_content_type(content_type: &str) -> Format {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

/// A family's `# TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Unknown,
}

impl MetricType {
    fn parse(s: &str) -> Option<MetricType> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "summary" => MetricType::Summary,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "untyped" | "unknown" => MetricType::Unknown,
            _ => return None,
        })
    }
}

/// One sample; `labels` are sorted by name and never include `__name__`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// A parsed body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, MetricType>,
    pub help: BTreeMap<String, String>,
}

const SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info",
];

impl Exposition {
    /// The type of the family a sample belongs to (`http_requests_total` → the `# TYPE` of
    /// `http_requests` or of `http_requests_total`); `Unknown` when none was declared.
    pub fn type_of(&self, sample_name: &str) -> MetricType {
        if let Some(t) = self.types.get(sample_name) {
            return *t;
        }
        SUFFIXES
            .iter()
            .filter_map(|s| sample_name.strip_suffix(s))
            .find_map(|family| self.types.get(family).copied())
            .unwrap_or(MetricType::Unknown)
    }
}

/// Why a body was refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("the target exposes more than {0} samples")]
    TooManySamples(usize),
    #[error("an OpenMetrics body must end with `# EOF`")]
    MissingEof,
}

/// Parses `body`, refusing it when it holds more than `max_samples` samples.
pub fn parse(body: &str, format: Format, max_samples: usize) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    let mut eof = false;
    for (i, raw) in body.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| ParseError::Syntax { line, message };
        if eof {
            return Err(err("text after `# EOF`".into()));
        }
        // Prometheus skips blanks before a line's first token.
        let text = raw.trim_end_matches('\r').trim_start_matches([' ', '\t']);
        if text.trim().is_empty() {
            if format == Format::OpenMetrics {
                return Err(err("empty line".into()));
            }
            continue;
        }
        if let Some(comment) = text.strip_prefix('#') {
            eof = comment_line(comment, format, &mut out).map_err(err)?;
            continue;
        }
        if out.samples.len() >= max_samples {
            return Err(ParseError::TooManySamples(max_samples));
        }
        out.samples.push(sample_line(text, format).map_err(err)?);
    }
    if format == Format::OpenMetrics && !eof {
        return Err(ParseError::MissingEof);
    }
    Ok(out)
}

/// A `#` line; true for OpenMetrics's `# EOF`.
fn comment_line(comment: &str, format: Format, out: &mut Exposition) -> Result<bool, String> {
    let rest = comment.trim_start_matches([' ', '\t']);
    if format == Format::OpenMetrics && rest == "EOF" {
        return Ok(true);
    }
    let mut words = rest.splitn(3, [' ', '\t']);
    let (keyword, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let tail = words.next().unwrap_or("");
    match keyword {
        "TYPE" => {
            check_name(name)?;
            let t = MetricType::parse(tail.trim())
                .ok_or_else(|| format!("unknown metric type {:?}", tail.trim()))?;
            if out.types.insert(name.to_string(), t).is_some() {
                return Err(format!("a second TYPE for {name}"));
            }
        }
        "HELP" => {
            check_name(name)?;
            out.help.insert(name.to_string(), unescape_help(tail));
        }
        // `# UNIT` and free comments carry nothing a query needs.
        _ => {}
    }
    Ok(false)
}

fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_name_start(c) && chars.all(is_name_char) => Ok(()),
        _ => Err(format!("invalid metric name {name:?}")),
    }
}

/// A cursor over one sample line.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.s[start..self.pos]
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.bump() {
            Some(c) if c == want => Ok(()),
            Some(c) => Err(format!("expected {want:?}, found {c:?}")),
            None => Err(format!("expected {want:?} at the end of the line")),
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some(c) => return Err(format!("invalid escape \\{c} in a label value")),
                    None => return Err("unterminated label value".into()),
                },
                Some(c) => out.push(c),
                None => return Err("unterminated label value".into()),
            }
        }
    }

    fn labels(&mut self) -> Result<Vec<(String, String)>, String> {
        let mut labels: Vec<(String, String)> = Vec::new();
        self.expect('{')?;
        loop {
            self.skip_blanks();
            if self.peek() == Some('}') {
                self.bump();
                break;
            }
            let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(format!("invalid label name {name:?}"));
            }
            if name == "__name__" {
                return Err("`__name__` is not allowed as a label".into());
            }
            self.skip_blanks();
            self.expect('=')?;
            self.skip_blanks();
            let value = self.quoted()?;
            if labels.iter().any(|(n, _)| n == name) {
                return Err(format!("label {name} appears twice"));
            }
            labels.push((name.to_string(), value));
            self.skip_blanks();
            match self.bump() {
                Some(',') => continue,
                Some('}') => break,
                Some(c) => return Err(format!("expected ',' or '}}', found {c:?}")),
                None => return Err("unterminated label set".into()),
            }
        }
        labels.sort();
        Ok(labels)
    }

    fn word(&mut self) -> &'a str {
        self.take_while(|c| c != ' ' && c != '\t')
    }
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if s
            .chars()
            .all(|c| c.is_ascii_digit() || "+-.eE_xXpPabcdefABCDEF".contains(c)) =>
        {
            s.parse::<f64>()
                .map_err(|_| format!("invalid sample value {s:?}"))
        }
        _ => Err(format!("invalid sample value {s:?}")),
    }
}

fn sample_line(line: &str, format: Format) -> Result<Sample, String> {
    let mut c = Cursor { s: line, pos: 0 };
    let name = c.take_while(is_name_char);
    check_name(name)?;
    let labels = if c.peek() == Some('{') {
        c.labels()?
    } else {
        Vec::new()
    };
    if !matches!(c.peek(), Some(' ' | '\t')) {
        return Err("expected a space before the value".into());
    }
    c.skip_blanks();
    let value = parse_value(c.word())?;
    c.skip_blanks();
    let mut timestamp_ms = None;
    if c.peek().is_some_and(|ch| ch != '#') {
        let ts = c.word();
        timestamp_ms = Some(match format {
            Format::Prometheus => ts
                .parse::<i64>()
                .map_err(|_| format!("invalid timestamp {ts:?} (milliseconds)"))?,
            Format::OpenMetrics => {
                let secs: f64 = ts
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite())
                    .ok_or_else(|| format!("invalid timestamp {ts:?} (seconds)"))?;
                (secs * 1000.0).round() as i64
            }
        });
        c.skip_blanks();
    }
    match c.peek() {
        None => {}
        // An OpenMetrics exemplar (` # {trace_id="…"} 1.0`): not stored.
        Some('#') if format == Format::OpenMetrics => {}
        Some(ch) => return Err(format!("unexpected {ch:?} after the sample")),
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
        timestamp_ms,
    })
}

#[cfg(test)]
mod tests;
