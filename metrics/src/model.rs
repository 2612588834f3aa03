//! The vocabulary shared by storage ([`crate::tsdb`]) and the PromQL evaluator
//! ([`crate::promql`]): label sets, matchers, samples, and the [`Queryable`] trait the
//! evaluator reads through. Times are milliseconds since the Unix epoch, as Prometheus's.
use std::fmt;
use std::sync::Arc;

/// The label that holds a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// The bit pattern Prometheus writes as a staleness marker: a NaN no arithmetic produces.
/// A series whose latest sample in the lookback window is this marker has ended.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is a staleness marker (not any NaN: a target may export NaN on purpose).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: Arc<str>,
    pub value: Arc<str>,
}

/// A series' identity: labels sorted by name, names unique, no empty values (an empty value
/// means the label is absent, as in Prometheus). `__name__` is an ordinary label here.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set from any pairs: sorts, drops empty values, keeps the last of
    /// duplicate names.
    pub fn new<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> Labels {
        let mut v: Vec<Label> = pairs
            .into_iter()
            .map(|(n, val)| Label {
                name: Arc::from(n.as_ref()),
                value: Arc::from(val.as_ref()),
            })
            .collect();
        // Reversed, then a stable sort: of duplicate names the last given comes first and is
        // the one `dedup` keeps. O(n log n): a label set from outside (a remote store's
        // answer) may be long.
        v.reverse();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.dedup_by(|later, first| later.name == first.name);
        v.retain(|l| !l.value.is_empty());
        Labels(v)
    }

    /// Wraps labels already sorted by unique name with no empty values (checked in debug).
    pub fn from_sorted(v: Vec<Label>) -> Labels {
        debug_assert!(v.windows(2).all(|w| w[0].name < w[1].name));
        debug_assert!(v.iter().all(|l| !l.value.is_empty()));
        Labels(v)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| (*l.name).cmp(name))
            .ok()
            .map(|i| &*self.0[i].value)
    }

    /// The metric name, if any.
    pub fn name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// Sets (or with an empty value, removes) one label.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|l| (*l.name).cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].value = Arc::from(value),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(
                i,
                Label {
                    name: Arc::from(name),
                    value: Arc::from(value),
                },
            ),
        }
    }

    /// Without `__name__`.
    pub fn without_name(&self) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|l| &*l.name != METRIC_NAME)
                .cloned()
                .collect(),
        )
    }
}

impl fmt::Display for Labels {
    /// `name{a="b", c="d"}`, as Prometheus prints a series.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.name() {
            f.write_str(n)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| &*l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, &*l.value)?;
        }
        f.write_str("}")
    }
}

/// How a matcher compares.
#[derive(Clone, Debug)]
pub enum MatchOp {
    Equal,
    NotEqual,
    /// Fully anchored, as PromQL's `=~`.
    Re(regex::Regex),
    /// Fully anchored, as PromQL's `!~`.
    NotRe(regex::Regex),
}

/// A label matcher. A label that is absent matches as the empty string, as in Prometheus
/// (`{foo=""}` selects series without `foo`).
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    /// The text as written (for `=`/`!=` the value compared; for regexes the pattern).
    pub value: String,
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_string(),
            op: MatchOp::Equal,
            value: value.to_string(),
        }
    }

    pub fn not_equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_string(),
            op: MatchOp::NotEqual,
            value: value.to_string(),
        }
    }

    /// `=~`, anchored. Errors name the bad pattern.
    pub fn regex(name: &str, pattern: &str) -> Result<Matcher, regex::Error> {
        Ok(Matcher {
            name: name.to_string(),
            op: MatchOp::Re(anchored(pattern)?),
            value: pattern.to_string(),
        })
    }

    /// `!~`, anchored.
    pub fn not_regex(name: &str, pattern: &str) -> Result<Matcher, regex::Error> {
        Ok(Matcher {
            name: name.to_string(),
            op: MatchOp::NotRe(anchored(pattern)?),
            value: pattern.to_string(),
        })
    }

    /// Whether a label value (`""` when the label is absent) matches.
    pub fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Re(re) => re.is_match(value),
            MatchOp::NotRe(re) => !re.is_match(value),
        }
    }

    /// Whether this matcher selects series that lack the label (it matches `""`).
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// Whether a whole label set matches.
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?s:{pattern})$"))
}

/// A series and its samples `(t_ms, value)`, ascending by time, staleness markers included.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The selection would exceed a configured limit (series or samples); the message says
    /// which and how many.
    #[error("{0}")]
    TooMuchData(String),
    #[error("storage: {0}")]
    Storage(String),
}

/// What the PromQL evaluator reads from. Storage implements it; tests implement it over a
/// `Vec<Series>`.
pub trait Queryable: Send + Sync {
    /// Every series matching all `matchers` (at least one matcher does not match `""`), with
    /// its samples whose time is in `mint..=maxt`, series sorted by labels. A series without
    /// samples in the range may be left out.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64)
        -> Result<Vec<Series>, QueryError>;

    /// Label names of the series matching `matchers` (all series when empty) with samples in
    /// `mint..=maxt`, sorted and unique.
    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError>;

    /// Values of label `name` among the series matching `matchers` (all when empty) with
    /// samples in `mint..=maxt`, sorted and unique.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError>;
}

/// A [`Queryable`] over series held in memory, for tests and small evaluations.
#[derive(Clone, Debug, Default)]
pub struct MemSeries(pub Vec<Series>);

impl MemSeries {
    fn matching<'a>(
        &'a self,
        matchers: &'a [Matcher],
        mint: i64,
        maxt: i64,
    ) -> impl Iterator<Item = &'a Series> + 'a {
        self.0.iter().filter(move |s| {
            matchers.iter().all(|m| m.matches_labels(&s.labels))
                && s.samples.iter().any(|(t, _)| *t >= mint && *t <= maxt)
        })
    }
}

impl Queryable for MemSeries {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let mut out: Vec<Series> = self
            .matching(matchers, mint, maxt)
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .copied()
                    .filter(|(t, _)| *t >= mint && *t <= maxt)
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut names: Vec<String> = self
            .matching(matchers, mint, maxt)
            .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut values: Vec<String> = self
            .matching(matchers, mint, maxt)
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}
