//! The state of an import ([`Ctx`]) and the helpers every part of it uses: key paths, and
//! errors and notes that name the key (and line) they are about.
use super::locate::locate;
use super::Unsupported;
use crate::model::InputError;
use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) lines: Vec<&'a str>,
    pub(super) unsupported: Vec<Unsupported>,
    pub(super) named: BTreeSet<String>,
    /// The services of the file (for optional dependencies).
    pub(super) service_names: BTreeSet<String>,
    /// Where each `(service, dependency)` is written, for errors.
    pub(super) dependency_paths: BTreeMap<(String, String), Vec<String>>,
    /// Top-level networks: whether each is `internal`.
    pub(super) networks: BTreeMap<String, bool>,
    /// The networks each service names (absent: only `default`).
    pub(super) attached: BTreeMap<String, Vec<String>>,
    /// External top-level volumes: their key in the file → the volume's own name.
    pub(super) externals: BTreeMap<String, String>,
}

fn join(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

pub(super) fn child(path: &[String], seg: impl Into<String>) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(seg.into());
    p
}

pub(super) fn item(path: &[String], i: usize) -> Vec<String> {
    child(path, format!("[{i}]"))
}

impl Ctx<'_> {
    pub(super) fn err(&self, path: &[String], message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            line: locate(&self.lines, path),
            field: join(path),
            message: message.into(),
        }
    }

    pub(super) fn note(&mut self, path: &[String], message: impl Into<String>) {
        self.unsupported.push(Unsupported {
            path: join(path),
            line: locate(&self.lines, path),
            message: message.into(),
        });
    }

    pub(super) fn not_modeled(&mut self, path: &[String]) {
        let key = path.last().cloned().unwrap_or_default();
        if key.starts_with("x-") {
            self.note(path, "extension key ignored");
        } else {
            self.note(
                path,
                format!("`{key}` is not modeled by Berth; it will not be applied"),
            );
        }
    }

    pub(super) fn mapping<'v>(
        &self,
        path: &[String],
        v: &'v Value,
    ) -> Result<&'v Mapping, InputError> {
        match v {
            Value::Mapping(m) => Ok(m),
            other => Err(self.err(path, format!("expected a mapping, found {}", kind(other)))),
        }
    }

    /// The mapping's entries with string keys (an error for any other key).
    pub(super) fn entries<'v>(
        &self,
        path: &[String],
        m: &'v Mapping,
    ) -> Result<Vec<(&'v str, &'v Value)>, InputError> {
        m.iter()
            .map(|(k, v)| match k {
                Value::String(s) => Ok((s.as_str(), v)),
                other => {
                    Err(self.err(path, format!("keys must be strings, found {}", kind(other))))
                }
            })
            .collect()
    }

    pub(super) fn string(&self, path: &[String], v: &Value) -> Result<String, InputError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(path, format!("expected a string, found {}", kind(other)))),
        }
    }

    /// A string, number or boolean, as text.
    pub(super) fn scalar(&self, path: &[String], v: &Value) -> Result<String, InputError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.err(
                path,
                format!(
                    "expected a string, number or boolean, found {}",
                    kind(other)
                ),
            )),
        }
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

pub(super) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        other => kind(other).to_string(),
    }
}
