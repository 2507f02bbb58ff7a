//! serde wire types for every Microsoft API ppgov speaks.
//!
//! One module per API family. The types are tolerant the way Microsoft's payloads require:
//! missing fields default, `null` is accepted, unknown fields are ignored (and kept in an
//! `extra` map where a read-modify-write needs them). Enums that callers match on carry an
//! `Other(String)` variant so a new value from the service never fails a whole page.
//! This crate does no I/O.
#![deny(missing_docs)]

pub mod bap;
pub mod common;
pub mod dataverse;
pub mod dlp;
pub mod entra;
pub mod error;
pub mod flow;
pub mod graph;
pub mod management;
pub mod powerapps;
pub mod ppapi;

pub use error::ModelError;

#[cfg(test)]
mod fuzz_tests;
