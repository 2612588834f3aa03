//! Building blocks shared by pages.
pub mod environments;
pub mod forms;
pub mod layout;
pub mod variables;
pub mod versions;
