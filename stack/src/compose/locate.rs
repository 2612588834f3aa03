//! Locating a key path in the source text (best effort: block-style YAML), for the line
//! numbers of errors and notes.

/// The 1-based line of `path` (`["services", "nginx", "ports", "[1]"]`) in `lines`, or the
/// line of the deepest ancestor found; 0 when not even the first key is found.
pub(super) fn locate(lines: &[&str], path: &[String]) -> usize {
    fn split(line: &str) -> (usize, &str) {
        let t = line.trim_start();
        (line.len() - t.len(), t)
    }
    /// Indentation and content with leading `- ` item markers stripped.
    fn effective(line: &str) -> (usize, &str) {
        let (mut indent, mut t) = split(line);
        while let Some(rest) = t.strip_prefix("- ") {
            let r = rest.trim_start();
            indent += t.len() - r.len();
            t = r;
        }
        (indent, t)
    }
    fn is_key(content: &str, key: &str) -> bool {
        for candidate in [key.to_string(), format!("\"{key}\""), format!("'{key}'")] {
            if let Some(rest) = content.strip_prefix(&candidate) {
                let rest = rest.trim_start();
                if rest == ":" || rest.starts_with(": ") || rest.starts_with(":\t") {
                    return true;
                }
            }
        }
        false
    }
    let mut start = 0usize;
    let mut parent: isize = -1;
    let mut inclusive = true;
    let mut found = 0usize;
    for seg in path {
        let index = seg
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<usize>().ok());
        let mut level: Option<usize> = None;
        let mut count = 0usize;
        let mut hit = None;
        let mut i = start;
        while i < lines.len() {
            let (raw_indent, raw) = split(lines[i]);
            if raw.is_empty() || raw.starts_with('#') {
                i += 1;
                continue;
            }
            let first = inclusive && i == start;
            let is_dash = raw == "-" || raw.starts_with("- ");
            if !first {
                let ends = (raw_indent as isize) < parent
                    || ((raw_indent as isize) == parent && !(index.is_some() && is_dash));
                if ends {
                    break;
                }
            }
            match index {
                Some(n) => {
                    // On the item line itself, the dash starts after the parent's text.
                    if is_dash {
                        let lvl = *level.get_or_insert(raw_indent);
                        if raw_indent == lvl {
                            if count == n {
                                hit = Some((i, raw_indent as isize, true));
                                break;
                            }
                            count += 1;
                        }
                    }
                }
                None => {
                    let (indent, content) = if first {
                        effective(lines[i])
                    } else {
                        split(lines[i])
                    };
                    let lvl = *level.get_or_insert(indent);
                    if indent == lvl && is_key(content, seg) {
                        hit = Some((i, indent as isize, false));
                        break;
                    }
                }
            }
            i += 1;
        }
        match hit {
            Some((line, indent, item)) => {
                found = line + 1;
                parent = indent;
                if item {
                    start = line;
                    inclusive = true;
                } else {
                    start = line + 1;
                    inclusive = false;
                }
            }
            None => return found,
        }
    }
    found
}
