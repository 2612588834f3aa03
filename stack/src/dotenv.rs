//! `.env` files: import (with secret proposals) and export.
//!
//! # Syntax accepted
//! - Blank lines and comment lines (`# ...`) anywhere; the comment line(s) directly above an
//!   entry (no blank line between) become its [`EnvEntry::comment`].
//! - `NAME=value` and `export NAME=value`; `NAME` matches `[A-Za-z_][A-Za-z0-9_]*`.
//! - Unquoted values are trimmed; a `#` preceded by whitespace starts a comment
//!   (`A=b # note` is `b`; `A=b#c` is `b#c`).
//! - `'single quotes'`: literal, no escapes; may span lines.
//! - `"double quotes"`: escapes `\n`, `\r`, `\t`, `\"`, `\\` (and `\$`, giving `$`); any other
//!   backslash is kept as it is; may span lines until the closing quote.
//! - `NAME=` and `NAME=""` are the empty string.
//! - After a closing quote only whitespace or a `# comment` may follow.
//! - `${NAME}` references are kept as they are (resolved at deploy time, see
//!   [`crate::interpolate`]), except placeholders, which mark a value as required and missing:
//!   any `${X}` whose name ends with `_FROM_VAULT` (the seed's production file reads secrets
//!   from a vault), and a value that is exactly `${NAME}` with the entry's own name (what
//!   [`render`] writes for a value it does not have, e.g. a secret).
//!
//! Errors (invalid name, missing `=`, duplicate name, unterminated quote) name the line.
use crate::interpolate;
use crate::model::InputError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One variable read from a `.env` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvEntry {
    pub name: String,
    /// `None`: required but missing (a placeholder); it must be set in Berth before a deploy.
    pub value: Option<String>,
    /// 1-based line of the name.
    pub line: usize,
    /// The comment line(s) right above the entry, `#` included, joined with `\n`.
    pub comment: Option<String>,
    /// Berth proposes to store it as a secret.
    pub suggested_secret: bool,
    /// Why it is proposed as a secret, and/or why it is missing.
    pub reason: Option<String>,
}

/// Name fragments that make a variable look secret anywhere in its name.
const SECRET_SUBSTRINGS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "CREDENTIAL",
    "PRIVATE",
];
/// Name parts (between `_`) that make a variable look secret; `KEY` must be a whole part so
/// `MONKEY` or `KEYBOARD` do not match but `API_KEY`, `KEY_FILE` do.
const SECRET_WORDS: &[&str] = &[
    "KEY", "KEYS", "APIKEY", "TOKEN", "TOKENS", "DSN", "PWD", "PASS",
];

/// Why `name` looks like a secret, or `None`.
pub fn secret_name_reason(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    for s in SECRET_SUBSTRINGS {
        if upper.contains(s) {
            return Some(format!("the name contains {s}"));
        }
    }
    for part in upper.split('_') {
        if SECRET_WORDS.contains(&part) {
            return Some(format!("the name contains {part}"));
        }
    }
    None
}

/// Whether `value` is a URL with a literal password in it (`scheme://user:pass@host`).
fn url_with_password(value: &str) -> bool {
    let Some(scheme_end) = value.find("://") else {
        return false;
    };
    let rest = &value[scheme_end + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some(at) = authority.rfind('@') else {
        return false;
    };
    let userinfo = &authority[..at];
    match userinfo.split_once(':') {
        // A password that is only references is not itself a secret: the referenced
        // variables are.
        Some((_, password)) => interpolate::substitute(password, |_| Some(String::new()))
            .is_none_or(|literal| !literal.is_empty()),
        None => false,
    }
}

fn err(file: &str, line: usize, field: &str, message: impl Into<String>) -> InputError {
    InputError {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Parses one double- or single-quoted value starting right after the opening quote at
/// `lines[start].1[col..]`. Returns the value, the index of the line holding the closing
/// quote and the text after it.
fn quoted<'t>(
    file: &str,
    name: &str,
    lines: &[(usize, &'t str)],
    start: usize,
    first: &'t str,
    quote: char,
) -> Result<(String, usize, &'t str), InputError> {
    let mut value = String::new();
    let mut idx = start;
    let mut text = first;
    loop {
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                return Ok((value, idx, &text[i + 1..]));
            }
            if quote == '"' && c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '$')) => value.push('$'),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    // A backslash at the end of a line: keep it, then the newline.
                    None => value.push('\\'),
                }
                continue;
            }
            value.push(c);
        }
        idx += 1;
        if idx >= lines.len() {
            return Err(err(
                file,
                lines[start].0,
                name,
                format!("the {quote} quote opened here is never closed"),
            ));
        }
        value.push('\n');
        text = lines[idx].1;
    }
}

/// Parses a `.env` file. `file_name` only appears in errors.
pub fn parse(file_name: &str, text: &str) -> Result<Vec<EnvEntry>, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    let mut entries: Vec<EnvEntry> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut comment: Vec<&str> = Vec::new();
    let mut idx = 0;
    while idx < lines.len() {
        let (line_no, raw) = lines[idx];
        let line = raw.trim();
        if line.is_empty() {
            comment.clear();
            idx += 1;
            continue;
        }
        if line.starts_with('#') {
            comment.push(line);
            idx += 1;
            continue;
        }
        let body = match line.strip_prefix("export") {
            Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
            _ => line,
        };
        let Some(eq) = body.find('=') else {
            return Err(err(
                file_name,
                line_no,
                body.split_whitespace().next().unwrap_or(""),
                "expected NAME=value (no `=` on this line)",
            ));
        };
        let name = body[..eq].trim();
        if !interpolate::is_valid_name(name) {
            return Err(err(
                file_name,
                line_no,
                name,
                format!("invalid variable name `{name}`: names match [A-Za-z_][A-Za-z0-9_]*"),
            ));
        }
        if let Some(first) = seen.get(name) {
            return Err(err(
                file_name,
                line_no,
                name,
                format!("{name} is defined twice: on line {first} and on line {line_no}"),
            ));
        }
        let rest = body[eq + 1..].trim_start_matches([' ', '\t']);
        let value = if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let (value, end_idx, after) = quoted(file_name, name, &lines, idx, &rest[1..], q)?;
            let after = after.trim();
            if !after.is_empty() && !after.starts_with('#') {
                return Err(err(
                    file_name,
                    lines[end_idx].0,
                    name,
                    format!("unexpected `{after}` after the closing quote"),
                ));
            }
            idx = end_idx;
            value
        } else {
            let mut end = rest.len();
            let bytes = rest.as_bytes();
            for i in 1..bytes.len() {
                if bytes[i] == b'#' && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
                    end = i;
                    break;
                }
            }
            if rest.starts_with('#') {
                end = 0;
            }
            rest[..end].trim().to_string()
        };
        seen.insert(name.to_string(), line_no);
        entries.push(classify(
            name,
            value,
            line_no,
            (!comment.is_empty()).then(|| comment.join("\n")),
        ));
        comment.clear();
        idx += 1;
    }
    Ok(entries)
}

fn classify(name: &str, value: String, line: usize, comment: Option<String>) -> EnvEntry {
    let refs = interpolate::references(&value);
    let vault = refs.iter().find(|r| r.ends_with("_FROM_VAULT"));
    let own_placeholder = value == format!("${{{name}}}");
    let name_reason = secret_name_reason(name);
    let mut reasons = Vec::new();
    if let Some(r) = &name_reason {
        reasons.push(r.clone());
    }
    let (value, suggested_secret) = if let Some(v) = vault {
        reasons.push(format!(
            "required, missing: set it in Berth; it was read from a vault (${{{v}}})"
        ));
        (None, true)
    } else if own_placeholder {
        reasons.push(format!(
            "required, missing: set it in Berth; the file only has the placeholder ${{{name}}}"
        ));
        (None, true)
    } else if url_with_password(&value) {
        reasons.push("the value is a URL with a password in it".to_string());
        (Some(value), true)
    } else {
        (Some(value), name_reason.is_some())
    };
    EnvEntry {
        name: name.to_string(),
        value,
        line,
        comment,
        suggested_secret,
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

/// Whether an unquoted value would read back differently.
fn needs_quotes(value: &str) -> bool {
    value.starts_with(['\'', '"', ' ', '\t', '#'])
        || value.ends_with([' ', '\t'])
        || value
            .chars()
            .any(|c| matches!(c, ' ' | '\t' | '#' | '"' | '\'' | '\\' | '\n' | '\r'))
}

/// Renders a `.env` file, one `NAME=value` per line, in the order given.
///
/// Values are double-quoted when reading them unquoted would change them (whitespace, `#`,
/// quotes, backslashes, newlines); inside quotes `\`, `"`, newline, CR and tab are
/// escaped, so every entry stays on one line. `$` is written as it is: Berth's reference
/// syntax is `${NAME}`, and a value is kept verbatim by [`parse`].
///
/// A missing value (`None`, e.g. a secret whose value is not exported) is written as the
/// placeholder `NAME=${NAME}`, which [`parse`] reads back as required-and-missing — so
/// `parse(render(x))` gives `x` back — and which `docker compose` fills in from the shell
/// environment of whoever runs it.
///
/// The one value that does not survive the round trip as a value is a literal `${NAME}` of
/// the entry's own name, or one containing `${..._FROM_VAULT}`: those read back as
/// placeholders (`None`).
pub fn render(entries: &[(String, Option<String>)]) -> String {
    let mut out = String::new();
    for (name, value) in entries {
        out.push_str(name);
        out.push('=');
        match value {
            None => {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            }
            Some(v) if needs_quotes(v) => {
                out.push('"');
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Some(v) => out.push_str(v),
        }
        out.push('\n');
    }
    out
}
