#![cfg(feature = "engine")]
//! `${NAME}` resolution and secret redaction.
use stack::interpolate::{
    escape, redactor, references, resolve, substitute, syntax_errors, ResolveError, VarValue, MASK,
};
use std::collections::BTreeMap;

const ENV_PROD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seed/fixtures/env/.env.prod"
));

fn plain(v: &str) -> VarValue {
    VarValue::Plain(v.to_string())
}
fn secret(v: &str) -> VarValue {
    VarValue::Secret(v.to_string())
}
fn vars(items: &[(&str, VarValue)]) -> BTreeMap<String, VarValue> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn references_in_order_without_duplicates() {
    assert_eq!(
        references("clickhouse://${CH_USER}:${CH_PASSWORD}@host/${CH_USER}"),
        vec!["CH_USER", "CH_PASSWORD"]
    );
    assert!(references("no refs, $HOME, $ {X}, pa$$word").is_empty());
    assert!(references("$${ESCAPED}").is_empty());
    assert_eq!(
        references("$$${A}"),
        Vec::<String>::new(),
        "`$` then the `$${{` escape"
    );
    assert_eq!(references("${A}${B}${_c9}"), vec!["A", "B", "_c9"]);
    assert!(references("${1A} ${} ${A-B} ${open").is_empty());
}

#[test]
fn syntax_errors_are_reported() {
    assert!(syntax_errors("fine ${A} $${B} $C").is_empty());
    assert_eq!(syntax_errors("${open").len(), 1);
    assert!(syntax_errors("${open")[0].contains("closing"));
    assert_eq!(syntax_errors("${}").len(), 1);
    assert_eq!(syntax_errors("${1A}").len(), 1);
    assert!(syntax_errors("${A:-default}")[0].contains("defaults"));
    assert_eq!(syntax_errors("${a b} ${c.d}").len(), 2);
}

#[test]
fn escape_and_substitute() {
    assert_eq!(
        substitute("$${NAME} is ${NAME}", |n| Some(format!("<{n}>"))).as_deref(),
        Some("${NAME} is <NAME>")
    );
    assert_eq!(substitute("${X}", |_| None), None);
    assert_eq!(substitute("${", |_| Some(String::new())), None);
    for literal in ["${A}", "a$${b}", "$", "$$", "${", "x${y}z${"] {
        assert_eq!(
            substitute(&escape(literal), |_| None).as_deref(),
            Some(literal),
            "{literal}"
        );
    }
}

#[test]
fn resolves_recursively_through_plain_and_secret() {
    let v = vars(&[
        ("CH_USER", plain("default")),
        ("CH_PASSWORD", secret("s3cr3t-${not-parsed}")),
        ("HOST", plain("clickhouse-cluster.internal")),
        ("PORT", plain("9000")),
        ("ADDR", plain("${HOST}:${PORT}")),
        (
            "CLICKHOUSE_URL",
            plain("clickhouse://${CH_USER}:${CH_PASSWORD}@${ADDR}/production"),
        ),
        ("LITERAL", plain("cost: $5, ref: $${CH_USER}")),
        ("EMPTY", plain("")),
        ("USES_EMPTY", plain("[${EMPTY}]")),
    ]);
    let r = resolve(&v).unwrap();
    assert_eq!(
        r["CLICKHOUSE_URL"],
        "clickhouse://default:s3cr3t-${not-parsed}@clickhouse-cluster.internal:9000/production"
    );
    assert_eq!(
        r["CH_PASSWORD"], "s3cr3t-${not-parsed}",
        "secrets are verbatim"
    );
    assert_eq!(r["LITERAL"], "cost: $5, ref: ${CH_USER}");
    assert_eq!(r["USES_EMPTY"], "[]");
    assert_eq!(r.len(), v.len());
}

#[test]
fn reports_every_problem_at_once() {
    let v = vars(&[
        ("A", plain("${B}")),
        ("B", plain("${A}")),
        ("C", plain("${NOPE} and ${ALSO_NOPE}")),
        ("D", VarValue::Missing),
        ("E", plain("${D}")),
        ("F", plain("${bad name} ${")),
        ("G", plain("${G}")),
        ("OK", plain("fine")),
        ("X", plain("${Y}")),
        ("Y", plain("${Z}")),
        ("Z", plain("${X}")),
        ("W", plain("${X}")),
    ]);
    let errors = resolve(&v).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(errors.contains(&ResolveError::Cycle {
        path: vec!["A".into(), "B".into(), "A".into()]
    }));
    assert!(
        text.contains(&"reference cycle: A -> B -> A".to_string()),
        "{text:?}"
    );
    assert!(errors.contains(&ResolveError::Cycle {
        path: vec!["G".into(), "G".into()]
    }));
    assert!(errors.contains(&ResolveError::Cycle {
        path: vec!["X".into(), "Y".into(), "Z".into(), "X".into()]
    }));
    assert!(errors.contains(&ResolveError::MissingReference {
        variable: "C".into(),
        name: "NOPE".into()
    }));
    assert!(errors.contains(&ResolveError::MissingReference {
        variable: "C".into(),
        name: "ALSO_NOPE".into()
    }));
    assert!(errors.contains(&ResolveError::RequiredMissing {
        variable: "D".into()
    }));
    let syntax: Vec<_> = errors
        .iter()
        .filter(|e| matches!(e, ResolveError::Syntax { variable, .. } if variable == "F"))
        .collect();
    assert_eq!(syntax.len(), 2, "{text:?}");
    // Each cycle once; E and W fail only because of others and are not reported again.
    assert_eq!(errors.len(), 3 + 2 + 1 + 2, "{text:?}");
    assert!(errors
        .iter()
        .all(|e| e.variable() != "E" && e.variable() != "W"));
    assert!(text
        .iter()
        .any(|t| t == "C: references ${NOPE}, which is not defined"));
}

#[test]
fn missing_is_reported_even_when_unreferenced() {
    let errors = resolve(&vars(&[("SENTRY_DSN", VarValue::Missing)])).unwrap_err();
    assert_eq!(
        errors,
        vec![ResolveError::RequiredMissing {
            variable: "SENTRY_DSN".into()
        }]
    );
    assert_eq!(
        errors[0].to_string(),
        "SENTRY_DSN: required, but no value is set"
    );
}

#[test]
fn seed_prod_blocks_until_vault_values_are_set() {
    let entries = stack::dotenv::parse(".env.prod", ENV_PROD).unwrap();
    let mut v: BTreeMap<String, VarValue> = entries
        .iter()
        .map(|e| {
            let value = match &e.value {
                None => VarValue::Missing,
                Some(x) if e.suggested_secret => secret(x),
                Some(x) => plain(x),
            };
            (e.name.clone(), value)
        })
        .collect();
    let errors = resolve(&v).unwrap_err();
    let required = errors
        .iter()
        .filter(|e| matches!(e, ResolveError::RequiredMissing { .. }))
        .count();
    assert_eq!(required, 6);
    assert!(errors.contains(&ResolveError::MissingReference {
        variable: "CLICKHOUSE_URL".into(),
        name: "CH_USER".into()
    }));
    // Set everything and it resolves.
    for e in entries.iter().filter(|e| e.value.is_none()) {
        v.insert(
            e.name.clone(),
            secret(&format!("{}-value", e.name.to_lowercase())),
        );
    }
    v.insert("CH_USER".into(), plain("analytics"));
    v.insert("CH_PASSWORD".into(), secret("ch-pass-123"));
    let r = resolve(&v).unwrap();
    assert_eq!(
        r["CLICKHOUSE_URL"],
        "clickhouse://analytics:ch-pass-123@clickhouse-cluster.internal:9000/production"
    );
    // The redactor built from secrets masks the password inside the resolved URL.
    let red = redactor(v.values().filter_map(|x| match x {
        VarValue::Secret(s) => Some(s.clone()),
        _ => None,
    }));
    let line = format!("connecting to {}", r["CLICKHOUSE_URL"]);
    assert_eq!(
        red.redact(&line),
        format!("connecting to clickhouse://analytics:{MASK}@clickhouse-cluster.internal:9000/production")
    );
}

#[test]
fn long_chains_and_diamonds() {
    let mut v = BTreeMap::new();
    for i in 0..2000 {
        v.insert(format!("V{i}"), plain(&format!("${{V{}}}.", i + 1)));
    }
    v.insert("V2000".into(), plain("end"));
    let r = resolve(&v).unwrap();
    assert_eq!(r["V0"], format!("end{}", ".".repeat(2000)));
    // A diamond is not a cycle.
    let d = vars(&[
        ("TOP", plain("${L}${R}")),
        ("L", plain("${BASE}l")),
        ("R", plain("${BASE}r")),
        ("BASE", plain("b")),
    ]);
    assert_eq!(resolve(&d).unwrap()["TOP"], "blbr");
}

#[test]
fn exponential_expansion_is_refused() {
    let mut v = BTreeMap::new();
    for i in 0..40 {
        v.insert(
            format!("L{i}"),
            plain(&format!("${{L{n}}}${{L{n}}}", n = i + 1)),
        );
    }
    v.insert("L40".into(), plain("xxxxxxxx"));
    let errors = resolve(&v).unwrap_err();
    assert!(errors
        .iter()
        .any(|e| matches!(e, ResolveError::TooLong { .. })));
}

#[test]
fn generated_cycles_are_each_reported_once() {
    // Rings of every size from 1 to 12, plus one tail into each ring.
    let mut v = BTreeMap::new();
    for size in 1..=12usize {
        for i in 0..size {
            v.insert(
                format!("R{size}_{i}"),
                plain(&format!("x${{R{size}_{}}}", (i + 1) % size)),
            );
        }
        v.insert(format!("TAIL{size}"), plain(&format!("${{R{size}_0}}")));
    }
    let errors = resolve(&v).unwrap_err();
    assert_eq!(errors.len(), 12, "{errors:?}");
    for e in &errors {
        let ResolveError::Cycle { path } = e else {
            panic!("{e:?}")
        };
        assert_eq!(path.first(), path.last());
        let ring = &path[..path.len() - 1];
        let size = ring.len();
        assert!(ring.iter().all(|n| n.starts_with(&format!("R{size}_"))));
        // Starts at the smallest name.
        assert_eq!(ring.iter().min(), ring.first());
    }
}

#[test]
fn redactor_masks_longest_first_and_skips_short() {
    let red = redactor(vec![
        "hunter2-longer".to_string(),
        "hunter2".to_string(),
        "abc".to_string(),
        "".to_string(),
    ]);
    assert_eq!(
        red.redact("p=hunter2-longer q=hunter2 r=abc"),
        format!("p={MASK} q={MASK} r=abc")
    );
    assert_eq!(red.redact(""), "");
    assert_eq!(red.redact("no secrets here"), "no secrets here");
    assert_eq!(red.redact("hunter2hunter2"), format!("{MASK}{MASK}"));
    assert!(
        !format!("{red:?}").contains("hunter2"),
        "Debug never shows values"
    );
    let empty = redactor(Vec::<String>::new());
    assert!(empty.is_empty());
    assert_eq!(empty.redact("hunter2"), "hunter2");
}

#[test]
fn redactor_catches_encoded_forms_and_unicode() {
    let red = redactor(vec!["p@ss \"word\"/é".to_string(), "中文密码".to_string()]);
    let json = serde_json::json!({ "password": "p@ss \"word\"/é" }).to_string();
    assert_eq!(red.redact(&json), format!("{{\"password\":\"{MASK}\"}}"));
    let url = "https://u:p%40ss%20%22word%22%2F%C3%A9@host/";
    assert_eq!(red.redact(url), format!("https://u:{MASK}@host/"));
    assert_eq!(red.redact("密码:中文密码!"), format!("密码:{MASK}!"));
}

#[test]
fn redaction_property_no_secret_survives() {
    // Deterministic pseudo-random secrets and texts: after redaction no secret of 4+ chars
    // occurs in the output.
    let alphabet: Vec<char> = "abcXYZ019-_/@:é ".chars().collect();
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for _ in 0..200 {
        let secrets: Vec<String> = (0..1 + next() % 4)
            .map(|_| {
                (0..4 + next() % 8)
                    .map(|_| alphabet[next() % alphabet.len()])
                    .collect()
            })
            .collect();
        let mut text = String::new();
        for _ in 0..10 {
            if next() % 3 == 0 {
                text.push_str(&secrets[next() % secrets.len()]);
            } else {
                let n = next() % 6;
                for _ in 0..n {
                    text.push(alphabet[next() % alphabet.len()]);
                }
            }
        }
        let out = redactor(secrets.clone()).redact(&text);
        for s in &secrets {
            // The mask itself cannot create a secret; any survivor must span a mask boundary,
            // which cannot happen because the mask shares no characters with the alphabet.
            assert!(
                !out.contains(s.as_str()),
                "{s:?} survived in {out:?} (from {text:?})"
            );
        }
    }
}

/// A plain base64 encoder for the tests (independent of the one under test).
fn b64(bytes: &[u8], url_safe: bool, pad: bool) -> String {
    let alphabet: &[u8] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n\
q8x0Zt3vYb1oXbPz9Vw0ab\n\
ok\n\
-----END PRIVATE KEY-----";

#[test]
fn redactor_masks_a_multi_line_secret_whole_and_line_by_line() {
    let red = redactor(vec![PEM.to_string()]);
    // Whole, inside a longer text.
    assert_eq!(
        red.redact(&format!("key={PEM}\nnext")),
        format!("key={MASK}\nnext")
    );
    // A log split into lines before redaction still masks every line of the key...
    for line in PEM.lines().filter(|l| l.chars().count() >= 4) {
        assert_eq!(
            red.redact(&format!("[web] {line}")),
            format!("[web] {MASK}")
        );
    }
    // ...also with Windows line ends, but lines shorter than MIN_REDACT_CHARS are left alone.
    let crlf = PEM.replace('\n', "\r\n");
    let out = red.redact(&crlf);
    assert!(
        !out.contains("MIIEvQ") && !out.contains("BEGIN PRIVATE"),
        "{out}"
    );
    assert_eq!(red.redact("ok"), "ok");
    // The JSON-escaped whole (a JSON log line) and the percent-encoded whole.
    let json = serde_json::json!({ "key": PEM }).to_string();
    assert_eq!(red.redact(&json), format!("{{\"key\":\"{MASK}\"}}"));
    assert!(red
        .redact(
            &PEM.replace('\n', "%0A")
                .replace(' ', "%20")
                .replace('+', "%2B")
        )
        .starts_with(MASK));
}

#[test]
fn redactor_masks_base64_of_a_secret_at_every_offset_in_both_alphabets() {
    // Bytes chosen so that the standard and URL-safe encodings differ (`+`/`/` vs `-`/`_`).
    let secret = "s3cr3t-ÿ>?~ÿþvalue";
    let red = redactor(vec![secret.to_string()]);
    let secret_chars = secret.len() * 4 / 3;
    for prefix_len in 0..7 {
        for suffix_len in [0, 1, 2, 5] {
            let blob = format!(
                "{}{secret}{}",
                "p".repeat(prefix_len),
                "s".repeat(suffix_len)
            );
            for url_safe in [false, true] {
                for pad in [false, true] {
                    let encoded = b64(blob.as_bytes(), url_safe, pad);
                    let out = red.redact(&format!("data: {encoded} end"));
                    assert!(out.contains(MASK), "{prefix_len}/{suffix_len}: {out}");
                    // At most the prefix, suffix and two boundary characters are left.
                    let left = out.len() - MASK.len() - "data:  end".len();
                    assert!(
                        left + secret_chars - 3 <= encoded.len(),
                        "{prefix_len}/{suffix_len} url_safe={url_safe}: {out} from {encoded}"
                    );
                }
            }
        }
    }
    // Secrets under 8 bytes have no base64 needles (they would match too much).
    let short = redactor(vec!["abcdefg".to_string()]);
    assert_eq!(
        short.redact(&b64(b"abcdefg", false, true)),
        b64(b"abcdefg", false, true)
    );
}

#[test]
fn redactor_extend_only_grows_and_keeps_the_longest_secret_first() {
    let mut red = redactor(vec!["hunter2".to_string()]);
    red.extend(&redactor(vec!["hunter2-longer".to_string()]));
    red.extend(&redactor(Vec::<String>::new()));
    assert_eq!(
        red.redact("a=hunter2-longer b=hunter2"),
        format!("a={MASK} b={MASK}")
    );
    // Extending with the same values again changes nothing.
    let before = format!("{red:?}");
    red.extend(&red.clone());
    assert_eq!(format!("{red:?}"), before);
}
