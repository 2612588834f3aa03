//! Command lines: `command` and `entrypoint` as a string (split like a shell would) or a list.
use super::ctx::{item, kind, Ctx};
use crate::model::InputError;
use serde_norway::Value;

/// Splits a command line like a POSIX shell would (quotes and backslashes; no expansion).
pub fn shell_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => word.push('\\'),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

pub(super) fn command(
    ctx: &mut Ctx,
    path: &[String],
    v: &Value,
) -> Result<Vec<String>, InputError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => {
            shell_split(s).map_err(|m| ctx.err(path, format!("invalid command: {m}")))
        }
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, w)| ctx.scalar(&item(path, i), w))
            .collect(),
        other => Err(ctx.err(
            path,
            format!("expected a string or a list, found {}", kind(other)),
        )),
    }
}
