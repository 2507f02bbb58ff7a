//! Errors of the engine: bad policy documents, bad Rego, bad compliance data.

/// Everything that can go wrong in the engine. Rules never error this way: a rule that cannot
/// evaluate reports [`ppgov_core::RuleStatus::Error`] in its result instead.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A DLP policy document could not be understood.
    #[error(
        "invalid dlp policy document: {0}; hint: pass a GOV v2 policy (with `policyDefinition`) or a v1 flat policy"
    )]
    InvalidPolicy(String),
    /// A Rego policy failed to parse, compile or evaluate.
    #[error(
        "rego policy `{path}` failed: {message}; hint: run `ppgov policy test` on its directory"
    )]
    Rego {
        /// The policy file or package.
        path: String,
        /// What regorus said.
        message: String,
    },
    /// A Rego policy broke the output contract (metadata or findings shape).
    #[error(
        "rego policy `{package}` breaks the output contract: {message}; hint: see policies/README.md"
    )]
    Contract {
        /// The package.
        package: String,
        /// What is wrong.
        message: String,
    },
    /// A compliance data file is malformed.
    #[error("compliance data `{file}` is invalid: {message}; hint: fix the file's TOML")]
    Compliance {
        /// File name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A file or directory could not be read (only the explicit loaders read files).
    #[error("cannot read `{path}`: {message}; hint: check the path exists and is readable")]
    Read {
        /// Path.
        path: String,
        /// OS error text.
        message: String,
    },
}
