//! Environment rules: DLP coverage, prod security groups, managed prod, Dataverse audit.

pub mod env_001;
pub mod env_002;
pub mod env_003;
pub mod env_004;
