//! [`export`]: services as a compose file, and the helpers that build its YAML values.
use super::ports::port_value;
use super::resources::limits;
use super::units::format_duration;
use super::volumes::volume_value;
use super::{networks, policy, runtime};
use crate::model::ServiceSpec;
use serde_norway::{Mapping, Value};

pub(super) fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

pub(super) fn strings(items: &[String]) -> Value {
    Value::Sequence(items.iter().map(|i| s(i)).collect())
}

/// Renders services as a compose file. `environment` is a map with the values as given:
/// pass secrets as `${NAME}` (compose reads `${NAME}` and `$${` as Berth does, but would
/// also expand a bare `$NAME`). Ports are written in long syntax, volumes in short syntax
/// where possible, durations like `1m30s`, memory like `4G`; `deploy.replicas` is always
/// written. What compose cannot say (`http_port`, the HTTP health path, pre-deploy jobs)
/// goes under the service's `x-berth` key. Named volumes are declared at the top level.
/// [`import`](super::import) of the result gives the services back.
pub fn export(services: &[ServiceSpec]) -> String {
    let mut svcs = Mapping::new();
    let any_internal = services.iter().any(|s| s.internal);
    for spec in services {
        let mut m = Mapping::new();
        m.insert(s("image"), s(&spec.image));
        if !spec.command.is_empty() {
            m.insert(s("command"), strings(&spec.command));
        }
        runtime::export(&spec.runtime, &mut m);
        if let Some(restart) = spec.restart {
            m.insert(s("restart"), s(&restart.render()));
        }
        if let Some(deps) = policy::export_depends_on(spec) {
            m.insert(s("depends_on"), deps);
        }
        if let Some(nets) = networks::export_service_networks(any_internal, spec) {
            m.insert(s("networks"), nets);
        }
        let mut env: Mapping = spec.env.iter().map(|(k, v)| (s(k), s(v))).collect();
        match &spec.inherit {
            // Every variable of the environment: the exported .env file.
            None => {
                m.insert(s("env_file"), s(".env"));
            }
            Some(names) => {
                for n in names.iter().filter(|n| !spec.env.contains_key(*n)) {
                    env.insert(s(n), Value::Null);
                }
            }
        }
        if !env.is_empty() {
            m.insert(s("environment"), Value::Mapping(env));
        }
        if !spec.ports.is_empty() {
            m.insert(
                s("ports"),
                Value::Sequence(spec.ports.iter().map(port_value).collect()),
            );
        }
        if !spec.volumes.is_empty() {
            m.insert(
                s("volumes"),
                Value::Sequence(spec.volumes.iter().map(volume_value).collect()),
            );
        }
        if let Some(h) = &spec.health {
            let mut hm = Mapping::new();
            if !h.command.is_empty() {
                let mut test = vec!["CMD".to_string()];
                test.extend(h.command.iter().cloned());
                hm.insert(s("test"), strings(&test));
            }
            hm.insert(s("interval"), s(&format_duration(h.interval_secs)));
            hm.insert(s("timeout"), s(&format_duration(h.timeout_secs)));
            hm.insert(s("retries"), Value::Number(h.retries.into()));
            hm.insert(s("start_period"), s(&format_duration(h.start_period_secs)));
            m.insert(s("healthcheck"), Value::Mapping(hm));
        }
        let mut deploy = Mapping::new();
        deploy.insert(s("replicas"), Value::Number(spec.replicas.into()));
        let mut res = Mapping::new();
        let r = &spec.resources;
        if let Some(l) = limits(r.cpu_limit, r.memory_limit) {
            res.insert(s("limits"), l);
        }
        if let Some(l) = limits(r.cpu_reservation, r.memory_reservation) {
            res.insert(s("reservations"), l);
        }
        if !res.is_empty() {
            deploy.insert(s("resources"), Value::Mapping(res));
        }
        if let Some(u) = policy::export_update_config(spec) {
            deploy.insert(s("update_config"), u);
        }
        m.insert(s("deploy"), Value::Mapping(deploy));
        let mut ext = Mapping::new();
        if let Some(p) = spec.http_port {
            ext.insert(s("http_port"), Value::Number(p.into()));
        }
        if let Some(h) = spec.health.as_ref().filter(|h| !h.http_path.is_empty()) {
            ext.insert(s("health_path"), s(&h.http_path));
        }
        if !spec.pre_deploy.is_empty() {
            let jobs = spec
                .pre_deploy
                .iter()
                .map(|j| {
                    let mut jm = Mapping::new();
                    jm.insert(s("name"), s(&j.name));
                    jm.insert(s("command"), strings(&j.command));
                    jm.insert(s("timeout_secs"), Value::Number(j.timeout_secs.into()));
                    Value::Mapping(jm)
                })
                .collect();
            ext.insert(s("pre_deploy"), Value::Sequence(jobs));
        }
        if spec.update == Some(crate::lifecycle::Update::Manual) {
            ext.insert(s("update"), s("manual"));
        }
        if !ext.is_empty() {
            m.insert(s("x-berth"), Value::Mapping(ext));
        }
        svcs.insert(s(&spec.name), Value::Mapping(m));
    }
    let mut root = Mapping::new();
    root.insert(s("services"), Value::Mapping(svcs));
    if let Some(vols) = networks::export_volumes(services) {
        root.insert(s("volumes"), vols);
    }
    if let Some(nets) = networks::export_networks(any_internal) {
        root.insert(s("networks"), nets);
    }
    let text = serde_norway::to_string(&Value::Mapping(root)).unwrap_or_default();
    // `no` unquoted is `false` to YAML 1.1 parsers (docker-compose v1 among them).
    text.lines()
        .map(|l| {
            if l == "    restart: no" {
                "    restart: 'no'"
            } else {
                l
            }
        })
        .fold(String::with_capacity(text.len() + 8), |mut out, l| {
            out.push_str(l);
            out.push('\n');
            out
        })
}
