//! Building blocks shared by pages.
pub mod environments;
pub mod forms;
pub mod layout;
pub mod live;
pub mod service_form;
pub mod site_form;
#[cfg(feature = "ssr")]
pub mod spec_parse;
pub mod spec_text;
pub mod variables;
pub mod versions;
