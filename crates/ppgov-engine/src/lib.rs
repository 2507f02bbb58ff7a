//! Built-in posture rules, the DLP engine, Rego policies and compliance mapping; pure, no I/O
//! (the only file reads are the explicit Rego and compliance loaders, which take paths).
//!
//! Entry points: [`scan`] (every rule on a snapshot, suppressions, frameworks, sorted report),
//! [`rule_catalog`], [`dlp`] (effective policies, verdicts, [`dlp::simulate`]), [`rego`] (custom policies and their tests) and
//! [`compliance::framework_view`].

pub mod compliance;
pub mod context;
pub mod dlp;
pub mod docs;
pub mod error;
pub mod flowdef;
pub mod observed;
pub mod registry;
pub mod rego;
pub mod rule;
pub mod rules;
pub mod scan;
pub mod secrets;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use compliance::{Framework, FrameworkView, framework_view};
pub use context::Context;
pub use error::EngineError;
pub use rule::{Rule, RuleMeta, RuleOutput};
pub use scan::{ScanOptions, rule_catalog, scan, with_stored_suppressions};
