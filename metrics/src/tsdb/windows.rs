//! The stretches of time an evaluation reads. A range query steps through windows
//! `[e - back, e]` (`back`: the range of a range selector, or the lookback of an instant one)
//! ending at `first_end`, `first_end + step`, ... up to the selection's end. When `back` is
//! shorter than the step (a dashboard's `rate(x[5m])` over 30 days at a 43-minute step) most
//! samples fall in no window: storage then skips them — chunks outside every window are not
//! decoded, a chunk's values are decoded only up to its last sample in a window, and only the
//! samples in windows are handed to the evaluator.
use crate::promql::SelectHints;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    first_end: i64,
    last_end: i64,
    step: i64,
    back: i64,
}

impl Windows {
    /// The windows of a selection of `[mint, maxt]` the evaluator made with these hints (see
    /// `promql::select`: `maxt = end - offset`, `mint = start - offset - back`); none when they
    /// leave no gap, or when the hints do not describe the selection.
    pub fn from_hints(mint: i64, maxt: i64, hints: &SelectHints) -> Option<Windows> {
        let span = hints.end_ms.checked_sub(hints.start_ms)?;
        let back = maxt.checked_sub(mint)?.checked_sub(span)?;
        if hints.range_ms > 0 && back != hints.range_ms {
            return None;
        }
        Windows::new(mint.checked_add(back)?, maxt, hints.step_ms, back)
    }

    /// Windows `[e - back, e]` for `e = first_end + k * step <= last_end`; none when they
    /// would cover everything between their ends anyway.
    pub fn new(first_end: i64, last_end: i64, step: i64, back: i64) -> Option<Windows> {
        if step <= 0 || back < 0 || back >= step || first_end > last_end {
            return None;
        }
        Some(Windows {
            first_end,
            last_end,
            step,
            back,
        })
    }

    /// The end of the first window that ends at or after `t`.
    fn end_at_or_after(&self, t: i64) -> Option<i64> {
        if t <= self.first_end {
            return Some(self.first_end);
        }
        // `t - first_end > 0`: rounding up as `(d - 1) / step + 1` does not overflow.
        let d = t.checked_sub(self.first_end)?;
        let k = (d - 1) / self.step + 1;
        let e = self.first_end.checked_add(k.checked_mul(self.step)?)?;
        (e <= self.last_end).then_some(e)
    }

    /// How many windows there are.
    pub fn count(&self) -> usize {
        (self.last_end.abs_diff(self.first_end) / self.step as u64 + 1) as usize
    }

    /// How many windows end at or before `t`.
    pub fn count_until(&self, t: i64) -> usize {
        if t < self.first_end {
            return 0;
        }
        (t.min(self.last_end).abs_diff(self.first_end) / self.step as u64 + 1) as usize
    }

    /// Whether some window holds `t`.
    pub fn contains(&self, t: i64) -> bool {
        self.end_at_or_after(t).is_some_and(|e| t >= e - self.back)
    }

    /// Whether some window meets `[a, b]`.
    pub fn overlaps(&self, a: i64, b: i64) -> bool {
        a <= b && self.end_at_or_after(a).is_some_and(|e| e - self.back <= b)
    }

    /// The index ranges `lo..hi` (ascending, disjoint, non-empty) of the sorted times `ts`
    /// that lie in some window, into `out` (cleared first).
    pub fn ranges(&self, ts: &[i64], out: &mut Vec<(usize, usize)>) {
        out.clear();
        let (Some(&a), Some(&b)) = (ts.first(), ts.last()) else {
            return;
        };
        let Some(mut e) = self.end_at_or_after(a) else {
            return;
        };
        let windows = (b.saturating_sub(a) / self.step + 2) as usize;
        if windows > ts.len() / 8 {
            // Many windows for few samples: one pass is cheaper than searching per window.
            let (mut lo, mut stop) = (None, ts.len());
            for (i, &t) in ts.iter().enumerate() {
                if t > e {
                    match self.end_at_or_after(t) {
                        Some(next) => e = next,
                        None => {
                            stop = i;
                            break;
                        }
                    }
                }
                match (t >= e - self.back, lo) {
                    (true, None) => lo = Some(i),
                    (false, Some(l)) => {
                        out.push((l, i));
                        lo = None;
                    }
                    _ => {}
                }
            }
            if let Some(l) = lo {
                out.push((l, stop));
            }
            return;
        }
        let mut from = 0;
        loop {
            let start = e - self.back;
            if start > b {
                break;
            }
            let lo = first_at_or_after(ts, from, start);
            let hi = first_at_or_after(ts, lo, e.saturating_add(1));
            if hi > lo {
                match out.last_mut() {
                    Some(last) if last.1 == lo => last.1 = hi,
                    _ => out.push((lo, hi)),
                }
            }
            from = hi;
            match e.checked_add(self.step) {
                Some(next) if next <= self.last_end => e = next,
                _ => break,
            }
        }
    }
}

/// The first index at or after `from` whose time is at least `t` (`ts.len()` if none):
/// guessed by interpolation (scrapes are evenly spaced, so the guess is within a step or
/// two), then walked to.
fn first_at_or_after(ts: &[i64], from: usize, t: i64) -> usize {
    let n = ts.len();
    if from >= n || ts[from] >= t {
        return from.min(n);
    }
    let (a, b) = (ts[from], ts[n - 1]);
    if b < t {
        return n;
    }
    // a < t <= b, so the span is positive and the guess within from..n.
    let (x, span, slots) = (t.abs_diff(a), b.abs_diff(a), (n - 1 - from) as u64);
    let guess = from
        + match x.checked_mul(slots) {
            Some(p) => p / span,
            None => (x as u128 * slots as u128 / span as u128) as u64,
        } as usize;
    let mut i = guess.clamp(from + 1, n - 1);
    if ts[i] >= t {
        while ts[i - 1] >= t {
            i -= 1;
        }
    } else {
        while ts[i] < t {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::Windows;

    fn brute(w: &Windows, ts: &[i64]) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (i, &t) in ts.iter().enumerate() {
            if w.contains(t) {
                match out.last_mut() {
                    Some(last) if last.1 == i => last.1 = i + 1,
                    _ => out.push((i, i + 1)),
                }
            }
        }
        out
    }

    #[test]
    fn contains_is_the_union_of_closed_windows() {
        let w = Windows::new(100, 1_000, 300, 60).unwrap();
        // Windows: [40, 100], [340, 400], [640, 700], [940, 1000].
        for (t, inside) in [
            (39, false),
            (40, true),
            (100, true),
            (101, false),
            (339, false),
            (340, true),
            (700, true),
            (939, false),
            (1_000, true),
            (1_001, false),
            (i64::MIN, false),
            (i64::MAX, false),
        ] {
            assert_eq!(w.contains(t), inside, "{t}");
        }
        assert!(w.overlaps(101, 340));
        assert!(!w.overlaps(101, 339));
        assert!(w.overlaps(0, 40));
        assert!(!w.overlaps(1_001, 2_000));
    }

    #[test]
    fn no_windows_when_they_cover_everything_or_the_hints_do_not_fit() {
        assert_eq!(Windows::new(0, 100, 60, 60), None);
        assert_eq!(Windows::new(0, 100, 60, 61), None);
        assert_eq!(Windows::new(0, 100, 0, 10), None);
        assert_eq!(Windows::new(200, 100, 60, 10), None);
        let hints = |start_ms, end_ms, step_ms| crate::promql::SelectHints {
            start_ms,
            end_ms,
            step_ms,
            range_ms: 60,
            func: None,
        };
        // `rate(x[60] offset 5)` from 1000 to 2000 every 300: mint 935, maxt 1995.
        let w = Windows::from_hints(935, 1_995, &hints(1_000, 2_000, 300)).unwrap();
        assert_eq!(w, Windows::new(995, 1_995, 300, 60).unwrap());
        // An instant query (step 1), a selection wider or narrower than the range: none.
        assert_eq!(
            Windows::from_hints(940, 1_000, &hints(1_000, 1_000, 1)),
            None
        );
        assert_eq!(
            Windows::from_hints(1_000, 1_995, &hints(1_000, 2_000, 300)),
            None
        );
        assert_eq!(
            Windows::from_hints(900, 1_995, &hints(1_000, 2_000, 300)),
            None
        );
        assert_eq!(
            Windows::from_hints(2_000, 1_000, &hints(1_000, 2_000, 300)),
            None
        );
    }

    #[test]
    fn the_interpolated_search_finds_what_a_binary_search_finds() {
        let mut x = 5u64;
        let mut t = 0;
        let ts: Vec<i64> = (0..700)
            .map(|i| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                t += if i % 50 == 0 {
                    (x >> 40) as i64 % 100_000
                } else {
                    15_000
                } + 1;
                t
            })
            .collect();
        for from in [0, 1, 17, 350, 699, 700] {
            for q in (-1_000..t + 20_000).step_by(997) {
                let want = from + ts[from.min(700)..].partition_point(|&s| s < q);
                assert_eq!(super::first_at_or_after(&ts, from, q), want, "{from} {q}");
            }
        }
    }

    #[test]
    fn ranges_match_contains_for_every_shape() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as i64
        };
        let mut out = Vec::new();
        for _ in 0..3_000 {
            let step = 1 + next(400);
            let back = next(step as u64);
            let first_end = next(2_000) - 500;
            let last_end = first_end + next(3_000);
            let w = Windows::new(first_end, last_end, step, back).unwrap();
            let mut t = next(3_000) - 1_000;
            let ts: Vec<i64> = (0..next(600))
                .map(|_| {
                    let gap = if next(4) == 0 { 200 } else { 15 };
                    t += 1 + next(gap);
                    t
                })
                .collect();
            w.ranges(&ts, &mut out);
            assert_eq!(out, brute(&w, &ts), "{w:?} {ts:?}");
        }
    }
}
