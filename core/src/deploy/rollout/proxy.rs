//! Switching the proxy: the upstream servers of each service, rendered into nginx's
//! configuration, checked and reloaded.
use super::super::plan::EnvInfo;
use super::super::store::Plan;
use super::labels::proxy_namespace;
use super::Rollout;
use engine::ContainerInfo;
use stack::model::ServiceSpec;
use stack::nginx::{AccessLogSink, Upstream};
use std::collections::BTreeMap;

/// One container serving a service through the proxy.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Member {
    pub(super) id: String,
    pub(super) server: String,
}

impl Rollout<'_> {
    pub(super) fn server_of(&self, c: &ContainerInfo, spec: &ServiceSpec) -> Option<String> {
        let port = spec.http_port.filter(|_| !spec.internal)?;
        if self.in_container_proxy() {
            Some(format!("{}:{port}", c.name.trim_start_matches('/')))
        } else {
            c.http_addr.map(|a| a.to_string())
        }
    }

    /// Renders the proxy configuration for these upstreams and applies it (checked, then
    /// reloaded). Without a managed proxy, does nothing.
    pub(super) async fn apply_proxy(
        &self,
        plan: &Plan,
        upstreams: &BTreeMap<String, Vec<Member>>,
    ) -> Result<(), String> {
        let Some(proxy) = self.proxy else {
            return Ok(());
        };
        let config = render_proxy(plan, self.env, upstreams, self.access_log_sink())?;
        proxy
            .apply(&config)
            .await
            .map_err(|e| format!("proxy: {e}"))?;
        let servers: usize = upstreams.values().map(Vec::len).sum();
        self.log.info(format!(
            "proxy: configuration checked and nginx reloaded ({servers} upstream server(s))"
        ));
        Ok(())
    }

    /// Where nginx sends the metrics access log. An nginx in a container cannot reach a
    /// loopback socket of this machine (its own loopback is the container's): it gets no
    /// access log then, unless `BERTH_ACCESS_LOG_LISTEN` names an address it reaches.
    fn access_log_sink(&self) -> Option<&AccessLogSink> {
        let sink = self.access_log.as_ref()?;
        if self.in_container_proxy() && sink.server.ip().is_loopback() {
            self.log.info(
                "proxy: no per-site request metrics: nginx runs in a container and Berth's \
                 access log socket listens on loopback (see BERTH_ACCESS_LOG_LISTEN)",
            );
            return None;
        }
        Some(sink)
    }
}

/// The nginx configuration for a plan with these upstream servers.
fn render_proxy(
    plan: &Plan,
    env: &EnvInfo,
    members: &BTreeMap<String, Vec<Member>>,
    access_log: Option<&AccessLogSink>,
) -> Result<String, String> {
    let upstreams: Vec<Upstream> = plan
        .services
        .iter()
        .map(|s| Upstream {
            service: s.name.clone(),
            servers: members
                .get(&s.name)
                .map(|m| m.iter().map(|m| m.server.clone()).collect())
                .unwrap_or_default(),
        })
        .collect();
    stack::nginx::render(&stack::nginx::RenderInput {
        environment: &env.slug,
        namespace: &proxy_namespace(env),
        sites: &plan.sites,
        upstreams: &upstreams,
        proxy: &plan.proxy,
        log_dir: None,
        access_log,
    })
    .map_err(|errors| {
        let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
        format!("proxy configuration: {first}")
    })
}
