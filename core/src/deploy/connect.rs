//! How a deploy reaches its environment: the Docker engine (TLS material from the
//! environment's secrets), the nginx Berth drives, and where the health gate probes.
use super::super::environments::DOCKER_TLS_SECRETS;
use super::super::AppState;
use super::plan::EnvInfo;
use super::store::Plan;
use engine::proxy::Proxy;
use engine::Engine;
use std::collections::BTreeMap;

/// Connects to the environment's Docker engine. A `tcp://` host is reached over TLS with
/// the material in the environment's secrets, or not at all: a missing secret refuses the
/// connection by name (never a fallback to plain HTTP), unless an instance admin marked the
/// host insecure.
pub async fn connect(state: &AppState, env: &EnvInfo) -> Result<Engine, String> {
    if !env.docker_host.starts_with("tcp://") {
        return Engine::connect(&env.docker_host, None).map_err(|e| e.to_string());
    }
    let mut found = BTreeMap::new();
    for name in DOCKER_TLS_SECRETS {
        let aad = stack::seal::aad(&env.project, Some(&env.slug), name);
        let sealed: Option<String> = sqlx::query_scalar(
            "SELECT sealed FROM variables WHERE environment_id = $1 AND name = $2 AND is_secret = 1",
        )
        .bind(env.id)
        .bind(name)
        .fetch_optional(&state.db.pool)
        .await
        .map_err(|e| e.to_string())?
        .flatten();
        if let Some(s) = sealed {
            let opened = state
                .secrets
                .open(&aad, &s)
                .map_err(|_| format!("the secret {name} cannot be opened"))?;
            found.insert(name, opened);
        }
    }
    if found.len() == DOCKER_TLS_SECRETS.len() {
        let mut take = |n| found.remove(n).unwrap_or_default();
        let tls = engine::TlsMaterial {
            ca_pem: take("DOCKER_TLS_CA_CERT"),
            cert_pem: take("DOCKER_TLS_CLIENT_CERT"),
            key_pem: take("DOCKER_TLS_CLIENT_KEY"),
        };
        return Engine::connect(&env.docker_host, Some(&tls)).map_err(|e| e.to_string());
    }
    let insecure: i64 =
        sqlx::query_scalar("SELECT docker_insecure FROM environments WHERE id = $1")
            .bind(env.id)
            .fetch_one(&state.db.pool)
            .await
            .map_err(|e| e.to_string())?;
    if insecure != 0 {
        return Engine::connect_insecure(&env.docker_host, None).map_err(|e| e.to_string());
    }
    let missing: Vec<&str> = DOCKER_TLS_SECRETS
        .into_iter()
        .filter(|n| !found.contains_key(n))
        .collect();
    Err(format!(
        "the Docker host {} is remote and Berth reaches it only over TLS: set the secret(s) {} \
         of this environment (the CA, client certificate and client key in PEM)",
        env.docker_host,
        missing.join(", ")
    ))
}

/// The proxy Berth drives for this plan, if any.
pub fn proxy_for(plan: &Plan, engine: &Engine) -> Option<Proxy> {
    let m = &plan.proxy.manager;
    let or = |v: &Vec<String>, d: &[&str]| {
        if v.is_empty() {
            d.iter().map(|s| s.to_string()).collect()
        } else {
            v.clone()
        }
    };
    match m.mode.as_str() {
        "host" => Some(Proxy::Host {
            config_path: m.config_path.clone().into(),
            test: or(&m.test_command, &["nginx", "-t"]),
            reload: or(&m.reload_command, &["nginx", "-s", "reload"]),
        }),
        "container" => Some(Proxy::Container {
            engine: engine.clone(),
            container: m.container.clone(),
            config_path: if m.config_path.is_empty() {
                "/etc/nginx/conf.d/berth.conf".into()
            } else {
                m.config_path.clone()
            },
        }),
        _ => None,
    }
}

/// Where the health gate sends its requests: the proxy Berth manages, if it does.
pub fn gate_base(plan: &Plan, env: &EnvInfo) -> Option<String> {
    if plan.proxy.manager.mode.is_empty() {
        return None;
    }
    proxy_base(plan, env)
}

/// Where the gate and the watchdog reach the environment's proxy: the loopback address it
/// listens on when it names one, else the Docker host's (the proxy runs beside the engine),
/// else this machine. A listen address is a maintainer's setting: only loopback ones are
/// probed, so the gate cannot be aimed at another machine.
pub fn proxy_base(plan: &Plan, env: &EnvInfo) -> Option<String> {
    let port = plan.proxy.http_port;
    if port == 0 {
        return None;
    }
    let listen = plan.proxy.listen_address.trim();
    let loopback = listen
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    let host = if loopback {
        listen.trim_matches(|c| c == '[' || c == ']').to_string()
    } else {
        engine_host(&env.docker_host).unwrap_or_else(|| "127.0.0.1".into())
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    Some(format!("http://{host}:{port}"))
}

/// The host of a `tcp://host:port` Docker engine (none for a local socket).
pub fn engine_host(docker_host: &str) -> Option<String> {
    let rest = docker_host.trim().strip_prefix("tcp://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(docker_host: &str) -> EnvInfo {
        EnvInfo {
            id: 1,
            project_id: 1,
            project: "p".into(),
            slug: "e".into(),
            protected: false,
            docker_host: docker_host.into(),
            branch: String::new(),
        }
    }

    #[test]
    fn the_proxy_is_reached_where_it_listens_or_beside_its_engine() {
        let mut plan = Plan::default();
        plan.proxy.http_port = 8080;
        assert_eq!(
            proxy_base(&plan, &env("")).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            proxy_base(&plan, &env("tcp://10.1.2.3:2376")).unwrap(),
            "http://10.1.2.3:8080"
        );
        assert_eq!(
            proxy_base(&plan, &env("tcp://[fd00::1]:2376")).unwrap(),
            "http://[fd00::1]:8080"
        );
        plan.proxy.listen_address = "127.0.0.2".into();
        assert_eq!(
            proxy_base(&plan, &env("tcp://10.1.2.3:2376")).unwrap(),
            "http://127.0.0.2:8080"
        );
        plan.proxy.listen_address = "::1".into();
        assert_eq!(proxy_base(&plan, &env("")).unwrap(), "http://[::1]:8080");
        // Not another machine a maintainer names.
        plan.proxy.listen_address = "10.9.9.9".into();
        assert_eq!(
            proxy_base(&plan, &env("")).unwrap(),
            "http://127.0.0.1:8080"
        );
        plan.proxy.http_port = 0;
        assert!(proxy_base(&plan, &env("")).is_none());
    }
}
