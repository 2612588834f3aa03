//! Berth's UI: the HTML shell, the router, pages and server functions. Server functions
//! are thin adapters over the service layer in `berth-core` (linked only with the `ssr`
//! feature); the types that cross the wire are `berth-model`'s.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod components;
pub mod pages;
pub mod serverfns;

pub use berth_model as model;
pub use berth_model::error;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Beside the wasm, under the build's content-addressed directory.
                <link rel="stylesheet" id="berth" href=format!("/{}/berth.css", options.site_pkg_dir)/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Berth"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") ssr=SsrMode::Async view=pages::login::LoginPage/>
                <Route path=path!("/setup") ssr=SsrMode::Async view=pages::setup::SetupPage/>
                <ParentRoute path=path!("") ssr=SsrMode::Async view=components::layout::Layout>
                    <Route path=path!("/") ssr=SsrMode::Async view=pages::dashboard::DashboardPage/>
                    <Route path=path!("/projects") ssr=SsrMode::Async view=pages::projects::ProjectsPage/>
                    <Route path=path!("/projects/:slug") ssr=SsrMode::Async view=pages::project::ProjectPage/>
                    <Route path=path!("/projects/:slug/sites") ssr=SsrMode::Async view=pages::sites::SitesPage/>
                    <Route path=path!("/projects/:slug/webhook") ssr=SsrMode::Async view=pages::webhook::WebhookPage/>
                    <Route path=path!("/projects/:slug/webhook/deliveries/:id") ssr=SsrMode::Async view=pages::webhook::DeliveryPage/>
                    <Route path=path!("/projects/:slug/environments/:env") ssr=SsrMode::Async view=pages::environment::EnvironmentPage/>
                    <Route path=path!("/projects/:slug/environments/:env/stack") ssr=SsrMode::Async view=pages::stack::StackPage/>
                    <Route path=path!("/projects/:slug/environments/:env/deploys") ssr=SsrMode::Async view=pages::deploys::EnvDeploysPage/>
                    <Route path=path!("/projects/:slug/environments/:env/containers") ssr=SsrMode::Async view=pages::containers::ContainersPage/>
                    <Route path=path!("/projects/:slug/environments/:env/metrics") ssr=SsrMode::Async view=pages::metrics::MetricsPage/>
                    <Route path=path!("/deploys") ssr=SsrMode::Async view=pages::deploys::RecentDeploysPage/>
                    <Route path=path!("/deploys/:id") ssr=SsrMode::Async view=pages::deploy::DeployPage/>
                    <Route path=path!("/charts") ssr=SsrMode::Async view=pages::upcoming::MetricsPage/>
                    <Route path=path!("/alerts") ssr=SsrMode::Async view=pages::upcoming::AlertsPage/>
                    <Route path=path!("/backups") ssr=SsrMode::Async view=pages::upcoming::BackupsPage/>
                    <Route path=path!("/audit") ssr=SsrMode::Async view=pages::audit::AuditPage/>
                    <Route path=path!("/team") ssr=SsrMode::Async view=pages::team::TeamPage/>
                    <Route path=path!("/tokens") ssr=SsrMode::Async view=pages::tokens::TokensPage/>
                    <Route path=path!("/settings") ssr=SsrMode::Async view=pages::settings::SettingsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
