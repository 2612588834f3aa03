//! A YAML value together with its key path, read the way Prometheus's YAML decoder reads it.

use super::{parse_duration, ConfigError, Problem};
use serde_norway::Value;

pub(super) struct Node<'a> {
    pub value: &'a Value,
    /// `scrape_configs[0].static_configs[1].targets`; empty for the document.
    pub path: String,
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Self {
        Node {
            value,
            path: String::new(),
        }
    }

    pub fn child(&self, key: &str) -> String {
        match self.path.as_str() {
            "" => key.to_string(),
            path => format!("{path}.{key}"),
        }
    }

    pub fn err(&self, problem: Problem) -> ConfigError {
        ConfigError::at(self.path.clone(), problem)
    }

    /// A mapping's entries in file order; null (`key:` with nothing after it) is empty.
    pub fn entries(&self) -> Result<Vec<(String, Node<'a>)>, ConfigError> {
        let map = match self.value {
            Value::Null => return Ok(Vec::new()),
            Value::Mapping(map) => map,
            _ => return Err(self.err(Problem::WrongType("a mapping"))),
        };
        map.iter()
            .map(|(key, value)| {
                let key = scalar(key).ok_or_else(|| self.err(Problem::WrongType("text keys")))?;
                let path = self.child(&key);
                Ok((key, Node { value, path }))
            })
            .collect()
    }

    /// A sequence's items; null is empty.
    pub fn items(&self) -> Result<Vec<Node<'a>>, ConfigError> {
        let seq = match self.value {
            Value::Null => return Ok(Vec::new()),
            Value::Sequence(seq) => seq,
            _ => return Err(self.err(Problem::WrongType("a list"))),
        };
        let items = seq.iter().enumerate().map(|(i, value)| Node {
            value,
            path: format!("{}[{i}]", self.path),
        });
        Ok(items.collect())
    }

    /// Text, as Go's YAML decoder fills a string field: numbers and booleans are accepted as
    /// the YAML parser resolved them (so `1.10` reads as `1.1`; quote it to keep it verbatim).
    pub fn text(&self) -> Result<String, ConfigError> {
        scalar(self.value).ok_or_else(|| self.err(Problem::WrongType("text")))
    }

    /// A boolean, in YAML 1.1's spellings too (`yes`, `off`), which Prometheus's decoder takes.
    pub fn flag(&self) -> Result<bool, ConfigError> {
        let text = match self.value {
            Value::Bool(b) => return Ok(*b),
            Value::String(s) => s.as_str(),
            _ => "",
        };
        match text {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "True" | "TRUE" => Ok(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "False" | "FALSE" => Ok(false),
            _ => Err(self.err(Problem::WrongType("true or false"))),
        }
    }

    pub fn unsigned(&self) -> Result<u64, ConfigError> {
        match self.value {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| self.err(Problem::WrongType("a whole number, 0 or more")))
    }

    /// Milliseconds; an unset duration (null) is 0, as in Prometheus.
    pub fn duration(&self) -> Result<i64, ConfigError> {
        if self.value.is_null() {
            return Ok(0);
        }
        parse_duration(&self.text()?).map_err(|e| self.err(e.problem))
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
