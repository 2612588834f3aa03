//! One module per page.
pub mod audit;
pub mod containers;
pub mod dashboard;
pub mod deploy;
pub mod deploys;
pub mod environment;
pub mod login;
pub mod not_found;
pub mod project;
pub mod projects;
pub mod settings;
pub mod setup;
pub mod sites;
pub mod stack;
pub mod team;
pub mod tokens;
pub mod upcoming;
