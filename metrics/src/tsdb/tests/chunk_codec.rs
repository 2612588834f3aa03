use super::{same_bits, Rng};
use crate::model::stale_nan;
use crate::tsdb::chunk::split::Layout;
use crate::tsdb::chunk::{self, split, ChunkAppender};

/// Encodes with both the head's appender and the block encoder; both must decode to
/// exactly the input.
fn round_trip(samples: &[(i64, f64)]) {
    let block = chunk::split_round_trip(samples).unwrap();
    assert!(same_bits(&block, samples), "block: {block:?}");
    let vs: Vec<f64> = samples.iter().map(|s| s.1).collect();
    for layout in [Layout::Plain, Layout::Restarts] {
        let data = split::encode_values(&vs, layout);
        let mut got = Vec::new();
        split::decode_values(&data, vs.len(), layout, |_, v| got.push(v)).unwrap();
        let want: Vec<u64> = vs.iter().map(|v| v.to_bits()).collect();
        let got: Vec<u64> = got.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want, "{layout:?}");
        ranges_decode_like_the_whole(&data, &vs, layout);
    }
    let mut c = ChunkAppender::new(samples[0].0, samples[0].1);
    for &(t, v) in &samples[1..] {
        c.append(t, v);
    }
    let head = chunk::decode(c.bytes()).unwrap();
    assert!(same_bits(&head, samples), "head: {head:?}");
}

#[test]
fn special_values_round_trip_bit_exactly() {
    let odd_nan = f64::from_bits(0x7ff8_dead_beef_0001);
    let values = [
        1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        stale_nan(),
        -0.0,
        0.0,
        odd_nan,
        f64::MIN_POSITIVE / 4.0,
        f64::MAX,
        f64::MIN,
        stale_nan(),
        42.5,
        -42.5,
        1e300,
        9_007_199_254_740_993.0,
        0.1,
        0.30000000000000004,
    ];
    let samples: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (1_000 + i as i64 * 15_000, *v))
        .collect();
    round_trip(&samples);
    // Every value as a chunk's first sample too.
    for v in values {
        round_trip(&[(5, v), (6, v), (7, 1.0), (8, v)]);
    }
}

#[test]
fn staleness_marker_keeps_its_exact_bits() {
    let samples = [
        (0, 3.0),
        (15_000, stale_nan()),
        (30_000, 4.0),
        (45_000, stale_nan()),
    ];
    let out = chunk::split_round_trip(&samples).unwrap();
    assert_eq!(out[1].1.to_bits(), crate::model::STALE_NAN_BITS);
    assert_eq!(out[3].1.to_bits(), crate::model::STALE_NAN_BITS);
}

#[test]
fn negative_and_huge_timestamp_deltas_round_trip() {
    round_trip(&[(-5_000_000_000_000, 1.0), (-1, 2.0), (0, 3.0), (1, 4.0)]);
    round_trip(&[(i64::MIN / 2, 1.0), (0, 1.0), (i64::MAX / 2, 1.0)]);
    round_trip(&[(i64::MIN + 1, 1.0), (i64::MAX, 2.0)]);
    // Irregular: bursts, gaps, a missed scrape, jitter both ways.
    round_trip(&[
        (0, 1.0),
        (15_000, 1.0),
        (15_001, 1.0),
        (45_003, 1.0),
        (59_990, 1.0),
        (3_600_000, 1.0),
        (3_600_001, 1.0),
    ]);
}

#[test]
fn realistic_series_round_trip() {
    let mut rng = Rng::new(7);
    let mut counter = 1_000_000.0;
    let mut cpu = 1234.56;
    let mut gauge = 0.5;
    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for i in 0..480 {
        let t = 1_700_000_000_000 + i * 15_000 + rng.below(7) as i64 - 3;
        counter += rng.below(50) as f64;
        cpu = ((cpu + rng.below(300) as f64 / 100.0) * 100.0_f64).round() / 100.0;
        gauge += (rng.below(1000) as f64 - 500.0) / 1e7;
        a.push((t, counter));
        b.push((t, cpu));
        c.push((t, gauge));
    }
    for s in [&a, &b, &c] {
        round_trip(s);
    }
}

#[test]
fn random_bit_patterns_round_trip() {
    let mut rng = Rng::new(99);
    for _ in 0..50 {
        let mut t = rng.next() as i64 >> 20;
        let samples: Vec<(i64, f64)> = (0..200)
            .map(|_| {
                t += 1 + rng.below(100_000) as i64;
                let v = match rng.below(4) {
                    0 => f64::from_bits(rng.next()),
                    1 => (rng.below(1000) as f64) / 8.0,
                    2 => rng.below(10) as f64,
                    _ => stale_nan(),
                };
                (t, v)
            })
            .collect();
        round_trip(&samples);
    }
}

fn head_chunk(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut c = ChunkAppender::new(samples[0].0, samples[0].1);
    for &(t, v) in &samples[1..] {
        c.append(t, v);
    }
    c.bytes().to_vec()
}

#[test]
fn decoding_filters_by_time() {
    let samples: Vec<(i64, f64)> = (0..100).map(|i| (i * 10, i as f64)).collect();
    let data = head_chunk(&samples);
    let mut out = Vec::new();
    chunk::decode_into(&data, 205, 400, None, &mut out).unwrap();
    assert_eq!(out.first().unwrap().0, 210);
    assert_eq!(out.last().unwrap().0, 400);
    assert_eq!(out.len(), 20);
}

#[test]
fn truncated_or_garbled_chunks_fail_without_panicking() {
    let samples: Vec<(i64, f64)> = (0..120)
        .map(|i| (i * 15_000, (i * i) as f64 * 0.7))
        .collect();
    let vs: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
    let (head, times, values) = (
        head_chunk(&samples),
        split::encode_times(&ts).to_vec(),
        split::encode_values(&vs, Layout::Restarts).to_vec(),
    );
    let try_all = |head: &[u8], times: &[u8], values: &[u8]| {
        let _ = chunk::decode(head);
        let _ = split::decode_times(times, &mut Vec::new());
        let _ = split::decode_values(values, 120, Layout::Restarts, |_, _| {});
        let _ = split::decode_values(values, 120, Layout::Plain, |_, _| {});
        let _ = split::decode_ranges(
            values,
            120,
            Layout::Restarts,
            &[(3, 9), (100, 119)],
            |_, _| {},
        );
    };
    for cut in 0..head.len() {
        try_all(
            &head[..cut],
            &times[..cut.min(times.len())],
            &values[..cut.min(values.len())],
        );
    }
    let mut rng = Rng::new(3);
    for _ in 0..200 {
        let (mut h, mut t, mut v) = (head.clone(), times.clone(), values.clone());
        for b in [&mut h, &mut t, &mut v] {
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= 1 << rng.below(8);
        }
        try_all(&h, &t, &v);
    }
}

#[test]
fn jittered_scrapes_cost_about_five_bits_per_timestamp() {
    // 480 samples every 15 s ± 2 ms.
    let mut rng = Rng::new(11);
    let ts: Vec<i64> = (0..480)
        .map(|i| i * 15_000 + rng.below(5) as i64 - 2)
        .collect();
    let len = split::encode_times(&ts).len();
    assert!(len <= 480 * 5 / 8 + 20, "{len} bytes for 480 timestamps");
    let aligned: Vec<i64> = (0..480).map(|i| i * 15_000).collect();
    assert!(split::encode_times(&aligned).len() <= 480 / 8 + 20);
}

#[test]
fn a_steady_counter_is_cheaper_as_changes_of_changes() {
    // About 300 requests per scrape: the change varies by a few dozen, not by 300.
    let mut rng = Rng::new(12);
    let mut v = 1e6;
    let vs: Vec<f64> = (0..480)
        .map(|_| {
            v += 280.0 + rng.below(40) as f64;
            v
        })
        .collect();
    let len = split::encode_values(&vs, Layout::Restarts).len();
    assert!(
        len <= 480 * 11 / 8,
        "{len} bytes for 480 values (plain changes: ~19 bits each)"
    );
}

#[test]
fn page_sized_gauge_changes_use_xor_when_shorter() {
    let mut rng = Rng::new(13);
    let mut v = 4096.0 * 100_000.0;
    let vs: Vec<f64> = (0..480)
        .map(|_| {
            v += 4096.0 * (rng.below(17) as f64 - 8.0);
            v
        })
        .collect();
    let len = split::encode_values(&vs, Layout::Restarts).len();
    assert!(len <= 480 * 16 / 8, "{len} bytes for 480 values");
}

/// Decoding index ranges (jumping to restart points) gives exactly those values of a whole
/// decode, for many random range sets.
fn ranges_decode_like_the_whole(data: &[u8], vs: &[f64], layout: Layout) {
    let n = vs.len();
    let mut rng = Rng::new(n as u64);
    for _ in 0..50 {
        let mut ranges = Vec::new();
        let mut at = 0;
        while at < n {
            let lo = at + rng.below((n / 4).max(1) as u64) as usize;
            let hi = (lo + 1 + rng.below(30) as usize).min(n);
            if lo >= n {
                break;
            }
            ranges.push((lo, hi));
            at = hi + rng.below(3) as usize;
        }
        let mut got = Vec::new();
        split::decode_ranges(data, n, layout, &ranges, |i, v| got.push((i, v.to_bits()))).unwrap();
        let want: Vec<(usize, u64)> = ranges
            .iter()
            .flat_map(|&(lo, hi)| lo..hi)
            .map(|i| (i, vs[i].to_bits()))
            .collect();
        assert_eq!(got, want, "{layout:?} {ranges:?}");
    }
}

#[test]
fn restart_points_let_ranges_decode_in_every_kind_of_chunk() {
    let mut rng = Rng::new(21);
    let mut counter = 0.0;
    let shapes: Vec<Vec<f64>> = vec![
        // A counter, a decimal gauge, full-precision floats, and a mix with NaNs, staleness
        // markers and -0.0 at and around restart points.
        (0..480)
            .map(|_| {
                counter += rng.below(40) as f64;
                counter
            })
            .collect(),
        (0..480).map(|i| (i % 37) as f64 * 0.25).collect(),
        (0..480).map(|i| (i as f64 * 0.37).sin() * 1e3).collect(),
        (0..480)
            .map(|i| match i % 97 {
                0 => stale_nan(),
                1 => f64::NAN,
                2 => -0.0,
                3 => f64::INFINITY,
                _ => (i / 3) as f64,
            })
            .collect(),
        (0..95).map(|i| i as f64).collect(),
        (0..97).map(|i| i as f64).collect(),
        vec![5.0],
    ];
    for vs in shapes {
        for layout in [Layout::Plain, Layout::Restarts] {
            let data = split::encode_values(&vs, layout);
            ranges_decode_like_the_whole(&data, &vs, layout);
            // Empty ranges (anywhere, even at the end) decode nothing.
            let n = vs.len();
            let mut calls = 0;
            split::decode_ranges(
                &data,
                n,
                layout,
                &[(0, 0), (n / 2, n / 2), (n, n)],
                |_, _| calls += 1,
            )
            .unwrap();
            assert_eq!(calls, 0);
        }
    }
}

#[test]
fn restart_points_cost_little() {
    // A busy counter: the restart points add well under a bit per sample.
    let mut rng = Rng::new(22);
    let mut v = 1e6;
    let vs: Vec<f64> = (0..480)
        .map(|_| {
            v += 280.0 + rng.below(40) as f64;
            v
        })
        .collect();
    let plain = split::encode_values(&vs, Layout::Plain).len();
    let restarts = split::encode_values(&vs, Layout::Restarts).len();
    assert!(restarts > plain);
    assert!(restarts - plain <= 480 / 16, "{plain} -> {restarts} bytes");
}
