use super::super::*;

#[test]
fn durations_parse_as_prometheus_model_parse_duration() {
    let day = 24 * 3_600_000;
    for (text, ms) in [
        ("0", 0),
        ("0s", 0),
        ("500ms", 500),
        ("15s", 15_000),
        ("1m30s", 90_000),
        ("1h", 3_600_000),
        ("1d", day),
        ("1w", 7 * day),
        ("1y", 365 * day),
        (
            "1y2w3d4h5m6s7ms",
            365 * day + 17 * day + 4 * 3_600_000 + 306_007,
        ),
        ("90m", 5_400_000),
        ("0010s", 10_000),
    ] {
        assert_eq!(parse_duration(text), Ok(ms), "{text}");
    }
}

#[test]
fn malformed_durations_are_refused_naming_the_value() {
    for text in [
        "", "1", "s", "1.5s", "-1s", "+1s", "1S", "1sec", "1µs", "1s1m", "1s1s", "1m 30s", " 1m",
        "1ms1s", "1h-1m",
    ] {
        let err = parse_duration(text).expect_err(text);
        assert!(
            matches!(&err.problem, Problem::BadDuration { value, .. } if value == text),
            "{text}: {err:?}"
        );
    }
}

#[test]
fn durations_past_the_go_limit_are_out_of_range() {
    // 292 years of nanoseconds fit an int64; 293 do not.
    assert!(parse_duration("292y").is_ok());
    assert!(parse_duration("293y").is_err());
    assert!(parse_duration("99999999999999999999s").is_err());
    assert!(parse_duration("9223372036854ms").is_ok());
    assert!(parse_duration("9223372036855ms").is_err());
}

#[test]
fn durations_format_as_prometheus_spells_them() {
    let day = 24 * 3_600_000;
    for (ms, text) in [
        (0, "0s"),
        (500, "500ms"),
        (15_000, "15s"),
        (90_000, "1m30s"),
        (3_600_000, "1h"),
        (90 * day, "90d"),
        (14 * day, "2w"),
        (15 * day, "15d"),
        (365 * day, "1y"),
        (366 * day + 1, "366d1ms"),
        (day + 3_661_001, "1d1h1m1s1ms"),
        (-15_000, "-15s"),
    ] {
        assert_eq!(format_duration(ms), text, "{ms}");
    }
}

#[test]
fn formatting_then_parsing_gives_the_same_duration() {
    for ms in [1, 999, 1_000, 61_001, 86_400_000 * 400 + 7, 7 * 86_400_000] {
        assert_eq!(parse_duration(&format_duration(ms)), Ok(ms));
    }
}
