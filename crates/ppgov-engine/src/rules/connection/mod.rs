//! Connection rules (seed 002): orphaned, broken, external in prod.

pub mod con_001;
pub mod con_002;
pub mod con_003;

use crate::rules::prelude::*;
use ppgov_core::{Connection, Finding};

/// Runs `check` on every connection of the environments whose connections were collected.
pub(crate) fn per_connection(
    ctx: &Context,
    env_filter: impl Fn(&ppgov_core::Environment) -> bool,
    mut check: impl FnMut(&Connection) -> Option<Finding>,
) -> RuleOutput {
    let (ok, missing) = ctx.split_envs(&[CollectionKind::Connections], env_filter);
    let findings = ctx
        .snapshot
        .connections
        .iter()
        .filter(|c| ok.contains(crate::context::lc(&c.environment_id).as_ref()))
        .filter_map(&mut check)
        .collect();
    RuleOutput::partial(findings, &missing)
}
