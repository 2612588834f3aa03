//! Berth's metrics subsystem, pure (no database, no web): reading what targets expose
//! ([`exposition`]); storage and PromQL evaluation follow in their own modules.
#![forbid(unsafe_code)]
pub mod exposition;
