//! The engine against a real Docker engine and a real nginx. Nothing is skipped: without
//! Docker or nginx these tests fail and say what is missing.

mod containers;
mod images;
mod jobs;
mod logs;
mod network;
mod proxy;
mod proxy_container;
mod ready;
mod support;
