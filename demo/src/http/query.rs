//! `application/x-www-form-urlencoded` pairs, from a query string or a form body.

/// The first value of `name` in `query` (`a=1&b=2`), percent-decoded.
pub fn param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(v))
}

/// Percent-decodes `s` (and `+` as space); malformed escapes are kept as they are.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(|h| hex_pair(h[0], h[1])) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    Some(digit(hi)? << 4 | digit(lo)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_value_of_a_parameter() {
        assert_eq!(param("a=1&size=5&size=7", "size").as_deref(), Some("5"));
        assert_eq!(param("a=1", "size"), None);
        assert_eq!(param("flag", "flag").as_deref(), Some(""));
    }

    #[test]
    fn decodes_percent_escapes_and_plus() {
        assert_eq!(decode("a%20b+c%2F"), "a b c/");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
    }
}
