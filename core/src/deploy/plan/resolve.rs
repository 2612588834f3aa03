//! Resolving the plan's variables: secrets and plain values interpolated, Berth's own
//! names and what is made of them withheld, the commit's variables added.
use super::super::store::Plan;
use stack::interpolate::{self, Redactor, VarValue};
use stack::reserved;
use std::collections::{BTreeMap, BTreeSet};

/// Masks every secret value (and every plain value that a secret was interpolated into is
/// covered too, since the secret itself is a needle).
pub fn redactor(secrets: &BTreeMap<String, String>) -> Redactor {
    interpolate::redactor(secrets.values().cloned())
}

/// What a deploy knows about its commit, for image tags and variables: `GIT_SHA`,
/// `GIT_SHORT_SHA` (7 characters) and `GIT_BRANCH` (the pushed branch, else the environment's).
pub fn git_variables(sha: &str, branch: &str) -> BTreeMap<String, String> {
    let mut extra = BTreeMap::new();
    if !sha.is_empty() {
        extra.insert("GIT_SHA".to_string(), sha.to_string());
        extra.insert(
            "GIT_SHORT_SHA".to_string(),
            sha.chars().take(7).collect::<String>(),
        );
    }
    if !branch.is_empty() {
        extra.insert("GIT_BRANCH".to_string(), branch.to_string());
    }
    extra
}

/// An environment's variables resolved for a deploy.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Every variable (Berth's own included): for image references and registry login.
    pub all: BTreeMap<String, String>,
    /// Names whose value comes from a name Berth keeps for itself (`X=${REGISTRY_PASSWORD}`):
    /// withheld from containers like the reserved names themselves.
    pub withheld: BTreeSet<String>,
    /// Names that change with every deploy (`GIT_SHA`, `GIT_BRANCH`…): a service gets them
    /// only by naming them (its `inherit` list or a `${GIT_SHA}` in its env), so that a
    /// push does not change, and restart, every service that inherits all variables.
    pub per_deploy: BTreeSet<String>,
}

impl Resolved {
    /// Why `name` may not go into a container, if it may not.
    pub(super) fn refusal(&self, name: &str) -> Option<String> {
        if reserved::is_reserved(name) {
            Some(format!("`{name}` is {}", reserved::RESERVED_NOTE))
        } else if self.withheld.contains(name) {
            Some(format!(
                "`{name}` takes its value from a variable {}",
                reserved::RESERVED_NOTE
            ))
        } else {
            None
        }
    }

    /// The value of an application variable (never a reserved or withheld one).
    pub(super) fn app_value(&self, name: &str) -> Option<&String> {
        self.refusal(name).is_none().then(|| self.all.get(name))?
    }
}

/// The variables of the whole environment resolved, with `extra` (e.g. `GIT_SHA`) as plain
/// values that win. Errors name variables, never values.
pub fn resolve_all(
    plan: &Plan,
    secrets: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
) -> Result<Resolved, Vec<String>> {
    let mut vars = BTreeMap::new();
    for (name, v) in &plan.variables {
        let value = if v.secret {
            match secrets.get(name) {
                Some(s) => VarValue::Secret(s.clone()),
                None => VarValue::Missing,
            }
        } else {
            match &v.value {
                Some(s) => VarValue::Plain(s.clone()),
                None => VarValue::Missing,
            }
        };
        vars.insert(name.clone(), value);
    }
    for (k, v) in extra {
        vars.insert(k.clone(), VarValue::Plain(interpolate::escape(v)));
    }
    let all = interpolate::resolve(&vars)
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    Ok(Resolved {
        withheld: withheld(&vars),
        per_deploy: extra.keys().cloned().collect(),
        all,
    })
}

/// The plain variables that reference, directly or through others, a reserved name.
fn withheld(vars: &BTreeMap<String, VarValue>) -> BTreeSet<String> {
    let refs: BTreeMap<&str, Vec<String>> = vars
        .iter()
        .filter_map(|(n, v)| match v {
            VarValue::Plain(t) => Some((n.as_str(), interpolate::references(t))),
            _ => None,
        })
        .collect();
    let mut out = BTreeSet::new();
    loop {
        let before = out.len();
        for (name, r) in &refs {
            if !reserved::is_reserved(name)
                && r.iter()
                    .any(|x| reserved::is_reserved(x) || out.contains(x.as_str()))
            {
                out.insert(name.to_string());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}
