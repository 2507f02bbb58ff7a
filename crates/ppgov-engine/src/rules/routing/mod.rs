//! Environment routing and developer environment rules (seed 001).

pub mod rte_001;
pub mod rte_002;
pub mod rte_003;
pub mod rte_004;

use crate::rules::prelude::*;
use ppgov_core::Environment;

/// True for a developer environment.
pub(crate) fn is_developer(e: &Environment) -> bool {
    e.sku.eq_ignore_ascii_case("Developer")
}

/// True for a Managed Environment (`governanceConfiguration.protectionLevel == "Standard"`).
pub(crate) fn is_managed(e: &Environment) -> bool {
    e.managed
        || e.protection_level
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("Standard"))
}

/// Error unless the environment list was collected.
pub(crate) fn needs_environments(ctx: &Context) -> Option<RuleOutput> {
    let missing = ctx.missing_tenant(&[CollectionKind::Environments]);
    (!missing.is_empty()).then(|| RuleOutput::partial(vec![], &missing))
}
