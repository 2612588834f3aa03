#![cfg(feature = "engine")]
//! `.env` import and export, on the seed's own files and on malformed input.
use stack::dotenv::{parse, render, secret_name_reason, EnvEntry};

const ENV_DEV: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seed/fixtures/env/.env.dev"
));
const ENV_TEST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seed/fixtures/env/.env.test"
));
const ENV_PROD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seed/fixtures/env/.env.prod"
));

fn get<'a>(entries: &'a [EnvEntry], name: &str) -> &'a EnvEntry {
    entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} not found"))
}

fn values(text: &str) -> Vec<(String, Option<String>)> {
    parse("t.env", text)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect()
}

fn one(text: &str) -> Option<String> {
    let v = values(text);
    assert_eq!(v.len(), 1, "{text:?} gave {v:?}");
    v.into_iter().next().unwrap().1
}

#[test]
fn seed_dev_parses() {
    let e = parse(".env.dev", ENV_DEV).unwrap();
    assert_eq!(e.len(), 17);
    assert_eq!(get(&e, "DJANGO_DEBUG").value.as_deref(), Some("true"));
    assert!(!get(&e, "DJANGO_DEBUG").suggested_secret);
    assert_eq!(get(&e, "DJANGO_DEBUG").line, 2);
    assert_eq!(
        get(&e, "DJANGO_DEBUG").comment.as_deref(),
        Some("# 基础配置")
    );
    let key = get(&e, "DJANGO_SECRET_KEY");
    assert_eq!(key.value.as_deref(), Some("dev-secret-key"));
    assert!(key.suggested_secret);
    assert!(key.reason.as_deref().unwrap().contains("SECRET"));
    assert!(get(&e, "POSTGRES_PASSWORD").suggested_secret);
    assert!(!get(&e, "POSTGRES_USER").suggested_secret);
    assert!(!get(&e, "POSTGRES_PORT").suggested_secret);
    assert_eq!(
        get(&e, "DJANGO_ALLOWED_HOSTS").value.as_deref(),
        Some("localhost,127.0.0.1,*.local")
    );
    // A URL with a literal password in it is proposed as a secret.
    let ch = get(&e, "CLICKHOUSE_URL");
    assert!(ch.suggested_secret);
    assert!(ch.reason.as_deref().unwrap().contains("URL"));
    assert!(!get(&e, "REDIS_URL").suggested_secret);
    assert!(e.iter().all(|x| x.value.is_some()));
}

#[test]
fn seed_test_parses() {
    let e = parse(".env.test", ENV_TEST).unwrap();
    assert_eq!(e.len(), 18);
    assert_eq!(
        get(&e, "OPENSEARCH_PASSWORD").value.as_deref(),
        Some("test_opensearch_password")
    );
    assert!(get(&e, "OPENSEARCH_PASSWORD").suggested_secret);
    assert!(!get(&e, "DJANGO_SECURE_HSTS_SECONDS").suggested_secret);
    assert_eq!(
        get(&e, "DJANGO_SECURE_HSTS_SECONDS").comment.as_deref(),
        None
    );
    assert_eq!(
        get(&e, "DJANGO_SECURE_SSL_REDIRECT").comment.as_deref(),
        Some("# SSL配置")
    );
}

#[test]
fn seed_prod_vault_placeholders_are_missing_secrets() {
    let e = parse(".env.prod", ENV_PROD).unwrap();
    assert_eq!(e.len(), 25);
    for name in [
        "DJANGO_SECRET_KEY",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "OPENSEARCH_USERNAME",
        "OPENSEARCH_PASSWORD",
        "SENTRY_DSN",
    ] {
        let x = get(&e, name);
        assert_eq!(x.value, None, "{name} should be required-missing");
        assert!(x.suggested_secret, "{name} should be a proposed secret");
        let reason = x.reason.as_deref().unwrap();
        assert!(reason.contains("vault"), "{name}: {reason}");
        assert!(reason.contains("set it in Berth"), "{name}: {reason}");
    }
    assert!(get(&e, "DJANGO_SECRET_KEY")
        .reason
        .as_deref()
        .unwrap()
        .contains("${SECRET_KEY_FROM_VAULT}"));
    let ch = get(&e, "CLICKHOUSE_URL");
    assert_eq!(
        ch.value.as_deref(),
        Some("clickhouse://${CH_USER}:${CH_PASSWORD}@clickhouse-cluster.internal:9000/production")
    );
    assert!(
        !ch.suggested_secret,
        "only references: the referenced vars are the secrets"
    );
    let debug = get(&e, "DJANGO_DEBUG");
    assert_eq!(debug.value.as_deref(), Some("false"));
    assert!(!debug.suggested_secret);
    assert_eq!(debug.reason, None);
    assert_eq!(
        get(&e, "POSTGRES_HOST").comment.as_deref(),
        Some("# 数据库配置 (使用密钥管理)")
    );
    assert_eq!(get(&e, "POSTGRES_HOST").line, 12);
    assert_eq!(get(&e, "PROMETHEUS_METRICS_ENABLED").line, 40);
    let missing: Vec<&str> = e
        .iter()
        .filter(|x| x.value.is_none())
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(missing.len(), 6, "{missing:?}");
    // Only DJANGO_SECURE_*, not secret.
    assert!(!get(&e, "DJANGO_SECURE_HSTS_PRELOAD").suggested_secret);
}

#[test]
fn syntax_forms() {
    assert_eq!(one("export A=1"), Some("1".into()));
    assert_eq!(one("export\tA=1"), Some("1".into()));
    assert_eq!(one("  A  =  spaced value  "), Some("spaced value".into()));
    assert_eq!(one("A=b # note"), Some("b".into()));
    assert_eq!(one("A=b\t# note"), Some("b".into()));
    assert_eq!(one("A=b#c"), Some("b#c".into()));
    assert_eq!(one("A= # only a comment"), Some("".into()));
    assert_eq!(one("A="), Some("".into()));
    assert_eq!(one("A=\"\""), Some("".into()));
    assert_eq!(one("A=''"), Some("".into()));
    assert_eq!(one("A='lit $X \\n # x'"), Some("lit $X \\n # x".into()));
    assert_eq!(
        one(r#"A="a\nb\tc \"q\" \\ \$ \d" # c"#),
        Some("a\nb\tc \"q\" \\ $ \\d".into())
    );
    assert_eq!(one("A=\"x # y\""), Some("x # y".into()));
    assert_eq!(one("A=x=y=z"), Some("x=y=z".into()));
    assert_eq!(one("A=\"é ü 中文\""), Some("é ü 中文".into()));
    assert_eq!(one("A=a\r\n"), Some("a".into()));
    assert_eq!(one("\u{feff}A=1"), Some("1".into()));
    // `export` as a name is still a name.
    assert_eq!(
        values("export=1"),
        vec![("export".into(), Some("1".into()))]
    );
    assert_eq!(
        values("exportA=1"),
        vec![("exportA".into(), Some("1".into()))]
    );
}

#[test]
fn multi_line_values() {
    let text = "# the key\nKEY=\"-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----\"\nNEXT=1\n";
    let e = parse("k.env", text).unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0].value.as_deref(),
        Some("-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----")
    );
    assert_eq!(e[0].line, 2);
    assert_eq!(e[0].comment.as_deref(), Some("# the key"));
    assert_eq!(e[1].line, 6);
    assert_eq!(e[1].comment, None);
    let single = parse("k.env", "A='x\n# not a comment\ny'\n").unwrap();
    assert_eq!(single[0].value.as_deref(), Some("x\n# not a comment\ny"));
}

#[test]
fn comments_attach_only_directly_above() {
    let e = parse("c.env", "# one\n# two\nA=1\nB=2\n\n# lost\n\nC=3\n").unwrap();
    assert_eq!(e[0].comment.as_deref(), Some("# one\n# two"));
    assert_eq!(e[1].comment, None);
    assert_eq!(e[2].comment, None);
}

#[test]
fn placeholders() {
    let e = parse(
        "p.env",
        "A=${A}\nB=${B_FROM_VAULT}\nC=x-${C_FROM_VAULT}\nD=${E}\nF=$${G_FROM_VAULT}\n",
    )
    .unwrap();
    assert_eq!(e[0].value, None);
    assert!(e[0].suggested_secret);
    assert!(e[0].reason.as_deref().unwrap().contains("placeholder"));
    assert_eq!(e[1].value, None);
    assert_eq!(e[2].value, None);
    assert_eq!(e[3].value.as_deref(), Some("${E}"));
    assert!(!e[3].suggested_secret);
    // Escaped: a literal, not a placeholder.
    assert_eq!(e[4].value.as_deref(), Some("$${G_FROM_VAULT}"));
}

#[test]
fn secret_names() {
    for name in [
        "DJANGO_SECRET_KEY",
        "API_KEY",
        "KEY_FILE",
        "STRIPE_KEY",
        "GITHUB_TOKEN",
        "SENTRY_DSN",
        "AWS_CREDENTIALS",
        "GCP_CREDENTIAL",
        "PRIVATE_PEM",
        "DBPASSWORD",
        "db_password",
        "SMTP_PASS",
        "MYSQL_PWD",
        "CLIENT_SECRET",
    ] {
        assert!(
            secret_name_reason(name).is_some(),
            "{name} should look secret"
        );
    }
    for name in [
        "MONKEY",
        "KEYBOARD_LAYOUT",
        "DJANGO_DEBUG",
        "POSTGRES_USER",
        "DJANGO_SECURE_SSL_REDIRECT",
        "TURKEY_MODE",
        "REDIS_URL",
        "PASSENGER_COUNT",
        "DSNOOP",
    ] {
        assert!(
            secret_name_reason(name).is_none(),
            "{name} should not look secret"
        );
    }
}

fn error(text: &str) -> stack::model::InputError {
    parse("bad.env", text).expect_err(text)
}

#[test]
fn malformed_inputs_name_the_line() {
    let e = error("A=1\n\n# c\nnot a pair\n");
    assert_eq!((e.line, e.file.as_str()), (4, "bad.env"));
    assert!(e.message.contains("="), "{e}");

    let e = error("A=1\n1BAD=2\n");
    assert_eq!(e.line, 2);
    assert_eq!(e.field, "1BAD");
    assert!(e.message.contains("invalid variable name"), "{e}");

    let e = error("A=1\nMY-VAR=2\n");
    assert_eq!(e.line, 2);
    let e = error("=value\n");
    assert_eq!(e.line, 1);
    let e = error("A B=1\n");
    assert_eq!(e.line, 1);

    let e = error("A=1\nB=2\n# x\nA=3\n");
    assert_eq!(e.line, 4);
    assert!(
        e.message.contains("line 1") && e.message.contains("line 4"),
        "{e}"
    );

    let e = error("A=1\nB=\"open\nstill\nnever closed\n");
    assert_eq!(e.line, 2, "the line of the opening quote");
    assert!(e.message.contains("never closed"), "{e}");
    let e = error("A='x");
    assert_eq!(e.line, 1);

    let e = error("A=\"x\" trailing\n");
    assert_eq!(e.line, 1);
    let e = error("A=\"x\ny\" junk\n");
    assert_eq!(e.line, 2);

    // Lines are counted through multi-line values.
    let e = error("A=\"1\n2\n3\"\nB\n");
    assert_eq!(e.line, 4);
    // Display names file, line and field.
    assert_eq!(
        error("A=1\nA=2")
            .to_string()
            .split(':')
            .take(3)
            .collect::<Vec<_>>(),
        ["bad.env", "2", " A"]
    );
}

#[test]
fn empty_and_comment_only_files() {
    assert!(parse("e.env", "").unwrap().is_empty());
    assert!(parse("e.env", "# only\n\n   \n").unwrap().is_empty());
}

#[test]
fn render_quotes_when_needed() {
    let out = render(&[
        ("A".into(), Some("plain".into())),
        ("B".into(), Some("has space".into())),
        ("C".into(), Some("".into())),
        ("D".into(), None),
        ("E".into(), Some("postgres://${U}:${P}@h/db?x=1".into())),
        ("F".into(), Some("line1\nline2".into())),
    ]);
    assert_eq!(
        out,
        "A=plain\nB=\"has space\"\nC=\nD=${D}\nE=postgres://${U}:${P}@h/db?x=1\nF=\"line1\\nline2\"\n"
    );
}

#[test]
fn render_round_trips() {
    let tricky = [
        "",
        "plain",
        " leading",
        "trailing ",
        "a # b",
        "a#b",
        "#start",
        "'single'",
        "\"double\"",
        "it's",
        "say \"hi\"",
        "back\\slash",
        "\\n literal",
        "multi\nline\nvalue",
        "crlf\r\nx",
        "tab\there",
        "$dollar and ${REF} and $${ESCAPED}",
        "=starts with equals",
        "ends with backslash\\",
        "unicode 中文 ✓",
        "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n",
        "x = y",
        "  ",
        "\"",
        "'",
        "\\\"",
    ];
    let entries: Vec<(String, Option<String>)> = tricky
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("V_{i}"), Some(v.to_string())))
        .chain([
            ("MISSING".to_string(), None),
            ("SECRET_KEY".to_string(), None),
        ])
        .collect();
    let text = render(&entries);
    let back = values(&text);
    assert_eq!(back, entries, "rendered:\n{text}");
    // Every entry on its own line.
    assert_eq!(text.lines().count(), entries.len());
}

#[test]
fn round_trip_generated_values() {
    // A deterministic pseudo-random sweep over awkward characters.
    let alphabet: Vec<char> = "ab $#'\"\\\n\t\r=${}_:/é中".chars().collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut entries = Vec::new();
    for i in 0..500 {
        let mut v = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 12) as usize;
        for j in 0..len {
            let k = ((seed >> (j * 4)) as usize + j * 7) % alphabet.len();
            v.push(alphabet[k]);
        }
        let name = format!("N{i}");
        // A value with a vault or own-name placeholder is not a value: skip those.
        if v.contains("_FROM_VAULT") || v == format!("${{{name}}}") {
            continue;
        }
        entries.push((name, Some(v)));
    }
    let text = render(&entries);
    assert_eq!(values(&text), entries);
}

#[test]
fn seed_files_round_trip_through_render() {
    for text in [ENV_DEV, ENV_TEST, ENV_PROD] {
        let parsed = values(text);
        assert_eq!(values(&render(&parsed)), parsed);
    }
}
