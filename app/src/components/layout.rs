//! The signed-in frame: navigation, the user menu, and the page outlet.
use crate::model::Me;
use crate::serverfns::auth::{get_me, Logout};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

/// The signed-in user, for pages to await.
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Result<Option<Me>, crate::error::AppError>>);

pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

#[component]
pub fn Layout() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    provide_context(MeResource(me));
    let logout = ServerAction::<Logout>::new();
    let location = use_location();
    let nav = [
        ("/", "Dashboard"),
        ("/projects", "Projects"),
        ("/deploys", "Deploys"),
        ("/charts", "Metrics"),
        ("/alerts", "Alerts"),
        ("/backups", "Backups"),
        ("/audit", "Audit"),
        ("/team", "Team"),
        ("/tokens", "Tokens"),
        ("/settings", "Settings"),
    ];
    view! {
        <div class="frame">
            <nav class="sidebar" aria-label="Main">
                <a class="brand" href="/">"⚓ Berth"</a>
                <ul>
                    {nav
                        .into_iter()
                        .map(|(href, label)| {
                            view! { <li><A href=href exact=true>{label}</A></li> }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <div class="main">
                <header class="topbar">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match me.await {
                                Ok(Some(me)) => {
                                    view! {
                                        <span class="who">
                                            {me.username.clone()}
                                            <span class="badge">{me.instance_role.to_string()}</span>
                                        </span>
                                        <ActionForm action=logout attr:class="inline">
                                            <button type="submit" class="link">"Sign out"</button>
                                        </ActionForm>
                                    }
                                        .into_any()
                                }
                                _ => {
                                    let here = location.pathname.get_untracked();
                                    let path = format!("/login?next={}", urlencode(&here));
                                    view! { <Redirect path=path/> }.into_any()
                                }
                            }
                        })}
                    </Suspense>
                </header>
                <main class="content">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

/// Percent-encodes everything but unreserved characters and '/'.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
