//! Input rules shared by every adapter.
use super::error::{ServiceError, ServiceResult};

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 256;

pub fn username(raw: &str) -> ServiceResult<String> {
    let u = raw.trim().to_ascii_lowercase();
    if u.len() < 2 || u.len() > 64 {
        return Err(ServiceError::invalid(
            "username",
            "must be 2 to 64 characters",
        ));
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || !u.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(ServiceError::invalid(
            "username",
            "use letters, digits, '-', '_' or '.', starting with a letter or digit",
        ));
    }
    Ok(u)
}

pub fn password(raw: &str) -> ServiceResult<()> {
    let n = raw.chars().count();
    if n < MIN_PASSWORD {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if raw.len() > MAX_PASSWORD {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

pub fn slug(field: &str, raw: &str) -> ServiceResult<String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 63 {
        return Err(ServiceError::invalid(field, "must be 1 to 63 characters"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || s.starts_with('-')
        || s.ends_with('-')
    {
        return Err(ServiceError::invalid(
            field,
            "use lowercase letters, digits and '-', not at either end",
        ));
    }
    Ok(s.to_string())
}

pub fn name(field: &str, raw: &str, max: usize) -> ServiceResult<String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ServiceError::invalid(field, "is required"));
    }
    if s.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_string())
}

/// Parses `30d`, `12h`, `90m` or `never`/empty into milliseconds.
pub fn duration_ms(field: &str, raw: &str) -> ServiceResult<Option<i64>> {
    let s = raw.trim();
    if s.is_empty() || s == "never" {
        return Ok(None);
    }
    // Split before the last character, not the last byte: input may end in any character.
    let split = s.char_indices().last().map_or(0, |(i, _)| i);
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 3650)
        .ok_or_else(|| ServiceError::invalid(field, "use a number and d, h or m, like 30d"))?;
    let ms = match unit {
        "d" => n * 86_400_000,
        "h" => n * 3_600_000,
        "m" => n * 60_000,
        _ => {
            return Err(ServiceError::invalid(
                field,
                "use a number and d, h or m, like 30d",
            ))
        }
    };
    Ok(Some(ms))
}

/// Where to send the browser after signing in: `raw` when it is a path on this site, else `/`.
///
/// Browsers drop tabs and newlines from URLs, read `\\` as `/`, and some decode before they
/// resolve, so `/%09/evil`, `/\\evil` or `/%2f/evil` can all become `//evil` (another origin).
/// Only printable ASCII without backslashes is taken, and the same must hold, still starting
/// with a single `/`, after each round of percent-decoding.
pub fn next_path(raw: Option<&str>) -> String {
    raw.filter(|n| is_local_path(n)).unwrap_or("/").to_string()
}

const MAX_NEXT: usize = 2048;

fn is_local_path(raw: &str) -> bool {
    if raw.len() > MAX_NEXT || !raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return false;
    }
    let mut text = raw.as_bytes().to_vec();
    // A few rounds catch double encoding; anything still encoded after them is refused.
    for _ in 0..3 {
        let single_slash = text.first() == Some(&b'/') && !matches!(text.get(1), Some(b'/'));
        if !single_slash || text.iter().any(|&b| b.is_ascii_control() || b == b'\\') {
            return false;
        }
        match percent_decode(&text) {
            None => return false,
            Some(d) if d == text => return true,
            Some(d) => text = d,
        }
    }
    false
}

/// One round of `%XX` decoding; `None` when a `%` is not followed by two hex digits.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hi = hex(*s.get(i + 1)?)?;
            let lo = hex(*s.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(username(" Alice ").unwrap(), "alice");
        assert!(username("a").is_err());
        assert!(username("-bob").is_err());
        assert!(username("bob smith").is_err());
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(password("short-pass1").is_err());
        assert!(password("long-enough-pw").is_ok());
    }

    #[test]
    fn slugs_reject_uppercase_and_edges() {
        assert!(slug("slug", "idp-cms").is_ok());
        assert!(slug("slug", "IDP").is_err());
        assert!(slug("slug", "-x").is_err());
    }

    #[test]
    fn durations_parse_units() {
        assert_eq!(duration_ms("e", "30d").unwrap(), Some(30 * 86_400_000));
        assert_eq!(duration_ms("e", "").unwrap(), None);
        assert!(duration_ms("e", "5y").is_err());
        assert!(duration_ms("e", "-1d").is_err());
    }

    #[test]
    fn durations_ending_in_a_multibyte_character_are_refused_not_a_panic() {
        for raw in ["1é", "é", "30日", "1d\u{1F600}", "\u{1F600}"] {
            assert!(duration_ms("e", raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn next_keeps_paths_on_this_site() {
        for ok in [
            "/",
            "/projects/x?tab=1",
            "/projects/idp-cms/environments/prod#deploys",
        ] {
            assert_eq!(next_path(Some(ok)), ok);
        }
    }

    #[test]
    fn next_falls_back_to_the_root_for_anything_a_browser_reads_as_another_origin() {
        let bypasses = [
            "",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0d/evil.example",
            "/%00/evil.example",
            "/%2f/evil.example",
            "/%2F%2Fevil.example",
            "/%5cevil.example",
            "/%5C/evil.example",
            "/%252f/evil.example",
            "////evil.example",
            "https:evil.example",
            "https://evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "/\u{00a0}/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%zz",
        ];
        for raw in bypasses {
            assert_eq!(next_path(Some(raw)), "/", "{raw:?}");
        }
        assert_eq!(next_path(None), "/");
        assert_eq!(next_path(Some(&format!("/{}", "a".repeat(3000)))), "/");
    }
}
