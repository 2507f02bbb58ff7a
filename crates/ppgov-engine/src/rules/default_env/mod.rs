//! Default environment rules (seed 000): security group, solutions by default, DLP coverage and
//! strictness, production-like flows, unapproved makers.

pub mod def_001;
pub mod def_002;
pub mod def_003;
pub mod def_004;
pub mod def_005;
pub mod def_006;

use crate::rules::prelude::*;
use ppgov_core::Environment;

/// The default environment, or the error result to return when it cannot be known.
pub(crate) fn default_env<'a>(
    ctx: &Context<'a>,
    extra: &[CollectionKind],
) -> Result<&'a Environment, RuleOutput> {
    let mut kinds = vec![CollectionKind::Environments];
    kinds.extend_from_slice(extra);
    let missing = ctx.missing_tenant(&kinds);
    if !missing.is_empty() {
        return Err(RuleOutput::partial(vec![], &missing));
    }
    ctx.snapshot
        .default_environment()
        .ok_or_else(|| RuleOutput::error("the default environment is not in the snapshot"))
}
