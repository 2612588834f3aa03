//! The stack Berth manages, as data: services, sites and variables of an environment, and
//! the file formats they come from and go to. Pure functions, no I/O but `nginx -t`.
#![forbid(unsafe_code)]

pub mod lifecycle;
pub mod model;
pub mod reserved;
pub mod scrape;

#[cfg(feature = "engine")]
pub mod compose;
#[cfg(feature = "engine")]
pub mod dotenv;
#[cfg(feature = "engine")]
pub mod interpolate;
#[cfg(feature = "engine")]
pub mod nginx;
#[cfg(feature = "engine")]
pub mod seal;
