//! The built-in posture rules, one file per rule, grouped by catalogue area.

pub mod admin;
pub mod app;
pub mod connection;
pub mod default_env;
pub mod dlp;
pub mod environment;
pub mod flow;
pub mod prelude;
pub mod routing;
pub mod tenant;
