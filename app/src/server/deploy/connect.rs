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

/// Where the health gate sends its requests: the proxy's HTTP port on this machine.
pub fn gate_base(plan: &Plan) -> Option<String> {
    (!plan.proxy.manager.mode.is_empty() && plan.proxy.http_port != 0)
        .then(|| format!("http://127.0.0.1:{}", plan.proxy.http_port))
}
