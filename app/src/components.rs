//! Building blocks shared by pages.
pub mod forms;
pub mod layout;
