//! GitHub webhook deliveries and a project's webhook set-up, as the UI and the API show them.
use serde::{Deserialize, Serialize};

/// A deploy a delivery queued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryDeploy {
    pub environment: String,
    pub deploy: i64,
}

/// One delivery: what GitHub sent and what Berth did with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub id: i64,
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// `X-GitHub-Event`: `ping`, `push`, `workflow_run`, …
    pub event: String,
    /// `repository.full_name` of the payload.
    pub repository: String,
    /// The pushed ref (`refs/heads/main`) or the workflow run's branch.
    pub git_ref: String,
    /// `valid`, `missing`, `invalid`, `no_secret`, `unchecked` (refused before) or `replay`.
    pub signature: String,
    /// `connected` (ping), `deployed`, `skipped`, `duplicate`, `refused` or `failed`.
    pub outcome: String,
    /// Why: what was deployed, or why nothing was.
    pub reason: String,
    /// The HTTP status Berth answered with.
    pub status: i64,
    pub deploys: Vec<DeliveryDeploy>,
    /// A replay: the delivery it replayed.
    pub replay_of: Option<i64>,
    /// Who replayed it (empty for GitHub's own deliveries).
    pub actor: String,
    pub received_at: i64,
    /// How long Berth took to answer, in microseconds.
    pub duration_us: i64,
}

/// A delivery with its headers and payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryDetail {
    pub delivery: DeliveryView,
    /// The headers that explain a delivery (`X-GitHub-*`, signature, content type, agent).
    pub headers: Vec<DeliveryHeader>,
    /// The body, pretty-printed when it is JSON.
    pub payload: String,
    /// Only the beginning of a refused body is kept.
    pub payload_truncated: bool,
    /// Whether it may be replayed (a signed push, workflow_run or ping).
    pub replayable: bool,
    /// Its replays, newest first.
    pub replays: Vec<DeliveryView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryHeader {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` to get the next (older) page.
    pub next_before: Option<i64>,
    /// Refusals without a valid signature in the last 24 hours, counted per hour and reason
    /// (only the first of each hour are listed as deliveries), newest first.
    #[serde(default)]
    pub refusals: Vec<RefusalCount>,
}

/// How many deliveries were refused for one reason in one hour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusalCount {
    /// The start of the hour (Unix milliseconds).
    pub window_start: i64,
    /// `no_secret`, `signature_missing`, `signature_invalid` or `payload_too_large`.
    pub reason: String,
    pub refusals: i64,
    /// The last one (Unix milliseconds).
    pub last_at: i64,
}

/// An environment as a webhook sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookTarget {
    pub environment: String,
    /// The branch whose pushes (or workflow runs) deploy it; empty: none.
    pub branch: String,
    /// `push`, `workflow_run` or `manual`.
    pub trigger: String,
    /// With `workflow_run`: only this workflow (empty: any).
    pub workflow: String,
    pub protected: bool,
}

/// What to paste into GitHub's webhook settings, and how deliveries are matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    /// The payload URL (absolute when `BERTH_PUBLIC_URL` is set, else the path).
    pub url: String,
    pub content_type: String,
    /// The events to tick in GitHub.
    pub events: Vec<String>,
    /// `owner/name`; deliveries from other repositories are skipped. Empty: any repository
    /// that signs with the project's secret.
    pub repository: String,
    /// Whether the project secret `GITHUB_WEBHOOK_SECRET` has a value.
    pub secret_set: bool,
    pub secret_updated_at: Option<i64>,
    pub targets: Vec<WebhookTarget>,
}

/// The webhook page: the set-up, a page of deliveries, and what the caller may do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookPageData {
    pub webhook: WebhookView,
    pub deliveries: DeliveryPage,
    /// Maintainers set the secret and the repository, and replay deliveries.
    pub can_manage: bool,
}

/// One delivery's page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPageData {
    pub detail: DeliveryDetail,
    pub can_replay: bool,
}
