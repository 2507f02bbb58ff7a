//! The Power Platform tenant emulator and its deterministic scenario generator.
//!
//! It speaks the real wire protocol of every Microsoft API ppgov uses, on one loopback port, at
//! the real paths. It never imports product logic: it is an independent stand-in for Microsoft.

pub mod doc;
pub mod scenario;
pub mod server;
pub mod tenant;
