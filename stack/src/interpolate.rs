//! `${NAME}` references between variables and secrets, resolved at deploy time, and the
//! redaction layer that keeps secret values out of every output.
//!
//! # Syntax
//! - `${NAME}` is replaced by the value of the variable or secret `NAME`, where `NAME` matches
//!   `[A-Za-z_][A-Za-z0-9_]*`.
//! - `$${` is the one escape: it renders a literal `${`, so `$${NAME}` renders `${NAME}`.
//!   Nothing else is an escape: a `$` not followed by `{` (e.g. `pa$$word`, `$HOME`) is kept
//!   as it is, and a backslash is an ordinary character.
//! - `${` without a closing `}`, or with something that is not a name inside (`${}`,
//!   `${1A}`, `${A:-default}`) is an error: Berth never guesses.
//!
//! Secret values are taken verbatim: they are never scanned for references, so a password
//! may contain `${` or anything else.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The longest value a resolution may produce (guards against `A=${B}${B}`, `B=${C}${C}`...).
pub const MAX_RESOLVED_LEN: usize = 1024 * 1024;

/// What [`Redactor::redact`] puts in place of a secret value.
pub const MASK: &str = "••••";

/// Secret values shorter than this (in characters) are not redacted by substring: replacing
/// every `a` or `42` in a log would destroy it while protecting nothing. Such values are
/// never printed by Berth in the first place (read APIs return names only).
pub const MIN_REDACT_CHARS: usize = 4;

/// The value of one variable before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarValue {
    /// A plain variable; its `${NAME}` references are resolved.
    Plain(String),
    /// A secret; taken verbatim (never scanned for references).
    Secret(String),
    /// Required, but no value is set yet (e.g. a vault placeholder from a `.env` import).
    Missing,
}

/// One reason a set of variables cannot be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// `variable` references `${name}`, which is not defined.
    #[error("{variable}: references ${{{name}}}, which is not defined")]
    MissingReference { variable: String, name: String },
    /// `variable` is required but has no value yet.
    #[error("{variable}: required, but no value is set")]
    RequiredMissing { variable: String },
    /// The variables reference each other in a loop; `path` starts and ends with the same
    /// name (`["A", "B", "A"]`).
    #[error("reference cycle: {}", .path.join(" -> "))]
    Cycle { path: Vec<String> },
    /// `variable`'s value has an invalid reference.
    #[error("{variable}: {message}")]
    Syntax { variable: String, message: String },
    /// Resolving `variable` would produce more than [`MAX_RESOLVED_LEN`] bytes.
    #[error("{variable}: the resolved value is longer than {MAX_RESOLVED_LEN} bytes")]
    TooLong { variable: String },
}

impl ResolveError {
    /// The variable the problem is reported on (the first name of a cycle).
    pub fn variable(&self) -> &str {
        match self {
            ResolveError::MissingReference { variable, .. }
            | ResolveError::RequiredMissing { variable }
            | ResolveError::Syntax { variable, .. }
            | ResolveError::TooLong { variable } => variable,
            ResolveError::Cycle { path } => path.first().map(String::as_str).unwrap_or(""),
        }
    }
}

/// A piece of a scanned value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment<'a> {
    Text(&'a str),
    Ref(&'a str),
}

/// Whether `name` is a valid variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits `value` into text and references; collects syntax errors instead of stopping.
fn scan(value: &str) -> (Vec<Segment<'_>>, Vec<String>) {
    let mut segments = Vec::new();
    let mut errors = Vec::new();
    let bytes = value.as_bytes();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if value[i..].starts_with("$${") {
            // Escape: emit what came before plus the `$` that starts `${`, skip the rest.
            if text_start < i {
                segments.push(Segment::Text(&value[text_start..i]));
            }
            segments.push(Segment::Text("${"));
            i += 3;
            text_start = i;
            continue;
        }
        if !value[i..].starts_with("${") {
            i += 1;
            continue;
        }
        if text_start < i {
            segments.push(Segment::Text(&value[text_start..i]));
        }
        let open = i;
        match value[i + 2..].find('}') {
            None => {
                errors.push(format!(
                    "`${{` at byte {open} has no closing `}}` (write `$${{` for a literal `${{`)"
                ));
                // Keep the rest as text so nothing is lost.
                segments.push(Segment::Text(&value[open..]));
                i = bytes.len();
                text_start = i;
            }
            Some(rel) => {
                let name = &value[i + 2..i + 2 + rel];
                if is_valid_name(name) {
                    segments.push(Segment::Ref(name));
                } else if name.is_empty() {
                    errors.push("empty reference `${}`".to_string());
                } else if name.contains(":-") || name.contains(":?") || name.contains('-') {
                    errors.push(format!(
                        "invalid reference `${{{name}}}`: defaults and other shell forms are not \
                         supported; names match [A-Za-z_][A-Za-z0-9_]*"
                    ));
                } else {
                    errors.push(format!(
                        "invalid reference `${{{name}}}`: names match [A-Za-z_][A-Za-z0-9_]*"
                    ));
                }
                i = i + 2 + rel + 1;
                text_start = i;
            }
        }
    }
    if text_start < bytes.len() {
        segments.push(Segment::Text(&value[text_start..]));
    }
    (segments, errors)
}

/// The names `value` references with `${NAME}`, in order of first appearance, without
/// duplicates. Escaped `$${NAME}` and invalid references are not included.
pub fn references(value: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for segment in scan(value).0 {
        if let Segment::Ref(name) = segment {
            if seen.insert(name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// The syntax problems of `value` (empty when it is well formed).
pub fn syntax_errors(value: &str) -> Vec<String> {
    scan(value).1
}

/// Renders `value` with the references it has replaced by `lookup(name)`; `None` when a
/// reference has no value or the syntax is invalid. Escapes are unescaped.
pub fn substitute(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    let (segments, errors) = scan(value);
    if !errors.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(value.len());
    for segment in segments {
        match segment {
            Segment::Text(t) => out.push_str(t),
            Segment::Ref(name) => out.push_str(&lookup(name)?),
        }
    }
    Some(out)
}

/// Escapes a literal value so that resolving it gives it back unchanged (`${` → `$${`).
pub fn escape(literal: &str) -> String {
    literal.replace("${", "$${")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Visiting,
    Done,
    Failed,
}

struct Frame<'a> {
    name: &'a str,
    segments: Vec<Segment<'a>>,
    next: usize,
    ok: bool,
}

struct Resolver<'a> {
    vars: &'a BTreeMap<String, VarValue>,
    state: BTreeMap<&'a str, State>,
    resolved: BTreeMap<String, String>,
    errors: Vec<ResolveError>,
    cycles: BTreeSet<Vec<String>>,
    /// The depth-first path being resolved (iterative: chains of any length are fine).
    frames: Vec<Frame<'a>>,
}

impl<'a> Resolver<'a> {
    /// Starts on `name`: settles secrets and missing values at once, pushes a frame for a
    /// plain value. `false` when it already failed.
    fn enter(&mut self, name: &'a str, value: &'a VarValue) -> bool {
        match value {
            VarValue::Secret(s) => {
                self.state.insert(name, State::Done);
                self.resolved.insert(name.to_string(), s.clone());
                true
            }
            VarValue::Missing => {
                self.state.insert(name, State::Failed);
                self.errors.push(ResolveError::RequiredMissing {
                    variable: name.to_string(),
                });
                false
            }
            VarValue::Plain(text) => {
                let (segments, syntax) = scan(text);
                let ok = syntax.is_empty();
                for message in syntax {
                    self.errors.push(ResolveError::Syntax {
                        variable: name.to_string(),
                        message,
                    });
                }
                self.state.insert(name, State::Visiting);
                self.frames.push(Frame {
                    name,
                    segments,
                    next: 0,
                    ok,
                });
                true
            }
        }
    }

    fn cycle(&mut self, name: &str) {
        let from = self.frames.iter().position(|f| f.name == name).unwrap_or(0);
        let ring: Vec<String> = self.frames[from..]
            .iter()
            .map(|f| f.name.to_string())
            .collect();
        // The same loop found from another member is the same cycle: normalise by rotating
        // so the smallest name comes first.
        let min = ring
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let mut normal: Vec<String> = ring[min..].iter().chain(&ring[..min]).cloned().collect();
        normal.push(normal[0].clone());
        if self.cycles.insert(normal.clone()) {
            self.errors.push(ResolveError::Cycle { path: normal });
        }
    }

    /// Resolves `name` and everything it references.
    fn visit(&mut self, name: &'a str, value: &'a VarValue) {
        if self.state.contains_key(name) {
            return;
        }
        self.enter(name, value);
        while let Some(top) = self.frames.last_mut() {
            if top.next < top.segments.len() {
                let segment = top.segments[top.next].clone();
                top.next += 1;
                let Segment::Ref(reference) = segment else {
                    continue;
                };
                let current = top.name;
                let dep_ok = match self.vars.get_key_value(reference) {
                    None => {
                        self.errors.push(ResolveError::MissingReference {
                            variable: current.to_string(),
                            name: reference.to_string(),
                        });
                        false
                    }
                    Some((key, dep)) => match self.state.get(key.as_str()) {
                        Some(State::Done) => true,
                        Some(State::Failed) => false,
                        Some(State::Visiting) => {
                            self.cycle(key);
                            false
                        }
                        None => self.enter(key.as_str(), dep),
                    },
                };
                if !dep_ok {
                    if let Some(top) = self.frames.last_mut().filter(|f| f.name == current) {
                        top.ok = false;
                    }
                }
                continue;
            }
            let Some(frame) = self.frames.pop() else {
                break;
            };
            let mut ok = frame.ok;
            if ok {
                let mut out = String::new();
                for segment in &frame.segments {
                    match segment {
                        Segment::Text(t) => out.push_str(t),
                        Segment::Ref(r) => out.push_str(&self.resolved[*r]),
                    }
                    if out.len() > MAX_RESOLVED_LEN {
                        self.errors.push(ResolveError::TooLong {
                            variable: frame.name.to_string(),
                        });
                        ok = false;
                        break;
                    }
                }
                if ok {
                    self.resolved.insert(frame.name.to_string(), out);
                }
            }
            self.state
                .insert(frame.name, if ok { State::Done } else { State::Failed });
            if !ok {
                if let Some(parent) = self.frames.last_mut() {
                    parent.ok = false;
                }
            }
        }
    }
}

/// Resolves every variable's `${NAME}` references (recursively, through plain variables and
/// secrets). Reports every problem at once: missing names (on the variable that references
/// them), required values not set, cycles (each once, as `A -> B -> A`, starting at its
/// smallest name), invalid references and oversized results. A variable that only fails
/// because something it references failed is not reported again.
pub fn resolve(
    vars: &BTreeMap<String, VarValue>,
) -> Result<BTreeMap<String, String>, Vec<ResolveError>> {
    let mut r = Resolver {
        vars,
        state: BTreeMap::new(),
        resolved: BTreeMap::new(),
        errors: Vec::new(),
        cycles: BTreeSet::new(),
        frames: Vec::new(),
    };
    for (name, value) in vars {
        r.visit(name.as_str(), value);
    }
    if r.errors.is_empty() {
        Ok(r.resolved)
    } else {
        Err(r.errors)
    }
}

/// Replaces secret values in any text with [`MASK`]. Build it from the resolved values of
/// every secret in scope; it also catches the JSON-escaped and percent-encoded forms of a
/// secret (as they appear in JSON logs and URLs), and so secrets that were interpolated into
/// plain values (a `DATABASE_URL` holding a password) are masked wherever they appear.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Needles, longest first.
    needles: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the needles themselves.
        f.debug_struct("Redactor")
            .field("needles", &self.needles.len())
            .finish()
    }
}

fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

fn percent_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Secrets of at least this many bytes are also masked in their base64 forms (shorter ones
/// would leave needles of a few characters that match ordinary base64 text).
pub const MIN_BASE64_BYTES: usize = 8;

const BASE64_STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL_SAFE: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64 characters that depend only on `secret`, when it sits `offset` (0, 1 or 2)
/// bytes into a 3-byte group of some longer encoded blob. The first 0/2/3 characters mix in
/// the unknown bytes before it, and the last one (unless the secret ends a group) the bytes
/// after it; both are dropped, as is padding.
fn base64_core(secret: &[u8], offset: usize, alphabet: &[u8; 64]) -> String {
    let mut bytes = vec![0u8; offset];
    bytes.extend_from_slice(secret);
    let mut encoded = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let group = u32::from(chunk[0]) << 16
            | u32::from(*chunk.get(1).unwrap_or(&0)) << 8
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            encoded.push(alphabet[(group >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    let skip = [0, 2, 3][offset];
    let end = if bytes.len().is_multiple_of(3) {
        encoded.len()
    } else {
        encoded.len() - 1
    };
    encoded.get(skip..end).unwrap_or_default().to_string()
}

/// Every form of one secret that [`Redactor::redact`] looks for.
fn forms(secret: String) -> Vec<String> {
    let mut forms = vec![json_escaped(&secret), percent_encoded(&secret)];
    // A log split into lines before redaction must still lose every line of a PEM key.
    if secret.contains('\n') {
        forms.extend(secret.lines().map(str::to_string));
    }
    if secret.len() >= MIN_BASE64_BYTES {
        for offset in 0..3 {
            for alphabet in [BASE64_STANDARD, BASE64_URL_SAFE] {
                forms.push(base64_core(secret.as_bytes(), offset, alphabet));
            }
        }
    }
    forms.push(secret);
    forms
}

/// Builds a [`Redactor`] for these secret values: each value whole, JSON-escaped,
/// percent-encoded, in base64 (both alphabets, any alignment; values of at least
/// [`MIN_BASE64_BYTES`]) and, for a multi-line value, each of its lines. Forms shorter than
/// [`MIN_REDACT_CHARS`] characters are ignored (see there).
pub fn redactor(secrets: impl IntoIterator<Item = String>) -> Redactor {
    let mut red = Redactor::default();
    red.insert(secrets.into_iter().flat_map(forms));
    red
}

impl Redactor {
    /// Adds every needle of `other`: a redactor only ever grows.
    pub fn extend(&mut self, other: &Redactor) {
        self.insert(other.needles.iter().cloned());
    }

    fn insert(&mut self, needles: impl IntoIterator<Item = String>) {
        let mut set: BTreeSet<String> = self.needles.drain(..).collect();
        set.extend(
            needles
                .into_iter()
                .filter(|n| n.chars().count() >= MIN_REDACT_CHARS),
        );
        self.needles = set.into_iter().collect();
        self.needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every occurrence of a secret replaced by [`MASK`], longest secrets first
    /// (so a secret that contains another is masked whole).
    pub fn redact(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let mut plain_from = 0;
        let bytes = text.as_bytes();
        'outer: while i < bytes.len() {
            let rest = &text[i..];
            for needle in &self.needles {
                if needle.as_bytes()[0] == bytes[i] && rest.starts_with(needle.as_str()) {
                    out.push_str(&text[plain_from..i]);
                    out.push_str(MASK);
                    i += needle.len();
                    plain_from = i;
                    continue 'outer;
                }
            }
            // Advance one character (stay on char boundaries).
            i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
        }
        out.push_str(&text[plain_from..]);
        out
    }
}
