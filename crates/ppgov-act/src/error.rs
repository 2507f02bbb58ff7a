//! The remediation error type.

use std::path::PathBuf;

/// Everything that can go wrong planning or applying.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// The plan file could not be read.
    #[error("cannot read plan {path}: {source}; check the path")]
    ReadPlan {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plan file could not be written.
    #[error("cannot write plan {path}: {source}; check the directory exists and is writable")]
    WritePlan {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plan file is not a ppgov plan, or was changed after it was written.
    #[error("plan refused: {0}; hint: make a new plan with `ppgov plan`")]
    CorruptPlan(String),
    /// The plan is for another tenant.
    #[error(
        "plan refused: it is for tenant {plan}, but ppgov.toml signs in to tenant {configured}; hint: use the configuration of the plan's tenant"
    )]
    OtherTenant {
        /// Tenant in the plan.
        plan: String,
        /// Tenant configured.
        configured: String,
    },
    /// The plan is older than allowed.
    #[error(
        "plan refused: it was made {age_hours} h ago, more than the {max_hours} h `[remediation] max_plan_age_hours` allows; hint: make a new plan, the tenant has moved on"
    )]
    TooOld {
        /// Its age.
        age_hours: i64,
        /// The limit.
        max_hours: i64,
    },
    /// Approval is required and missing.
    #[error(
        "plan refused: `[remediation] require_approval` is on and nobody approved digest {digest}; hint: a second person runs `ppgov plan approve PLAN`"
    )]
    Unapproved {
        /// The plan's digest.
        digest: String,
    },
    /// The only approval is the author's own.
    #[error(
        "plan refused: it was approved only by its author {author}; four eyes need a second person; hint: someone else runs `ppgov plan approve PLAN`"
    )]
    SelfApproved {
        /// The author.
        author: String,
    },
    /// The planned action or target cannot be planned.
    #[error("cannot plan {action}: {reason}")]
    Unplannable {
        /// The action id.
        action: String,
        /// Why.
        reason: String,
    },
    /// A configuration or argument problem.
    #[error("{0}")]
    Invalid(String),
    /// A call to Microsoft failed.
    #[error("{context}: {source}")]
    Client {
        /// What was being done.
        context: String,
        /// The client error (boxed: it is large).
        source: Box<ppgov_client::ClientError>,
    },
    /// Signing in failed.
    #[error("cannot sign in: {0}")]
    Auth(Box<ppgov_auth::AuthError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] ppgov_store::StoreError),
    /// A document could not be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What.
        what: String,
        /// The JSON error.
        source: serde_json::Error,
    },
}

impl ActError {
    pub(crate) fn client(
        context: impl Into<String>,
    ) -> impl FnOnce(ppgov_client::ClientError) -> ActError {
        let context = context.into();
        move |source| ActError::Client {
            context,
            source: Box::new(source),
        }
    }
}

impl From<ppgov_auth::AuthError> for ActError {
    fn from(e: ppgov_auth::AuthError) -> Self {
        ActError::Auth(Box::new(e))
    }
}
