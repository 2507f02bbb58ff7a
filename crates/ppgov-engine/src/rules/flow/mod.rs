//! Flow rules (seed 002): exfiltration paths, orphans, single owners, inactivity, failures,
//! hard-coded secrets, HTTP hosts, personal connections in prod.

pub mod flw_001;
pub mod flw_002;
pub mod flw_003;
pub mod flw_004;
pub mod flw_005;
pub mod flw_006;
pub mod flw_007;
pub mod flw_008;

use crate::rules::prelude::*;
use ppgov_core::{Finding, Flow};

/// Runs `check` on every flow of the environments where `kinds` were collected (and that pass
/// `env_filter`); errors name the environments that were not collected.
pub(crate) fn per_flow(
    ctx: &Context,
    kinds: &[CollectionKind],
    env_filter: impl Fn(&ppgov_core::Environment) -> bool,
    mut check: impl FnMut(usize, &Flow) -> Option<Finding>,
) -> RuleOutput {
    let mut kinds_all = vec![CollectionKind::Flows];
    kinds_all.extend_from_slice(kinds);
    let (ok, missing) = ctx.split_envs(&kinds_all, &env_filter);
    let findings = ctx
        .snapshot
        .flows
        .iter()
        .enumerate()
        .filter(|(_, f)| ok.contains(crate::context::lc(&f.environment_id).as_ref()))
        .filter_map(|(i, f)| check(i, f))
        .collect();
    RuleOutput::partial(findings, &missing)
}
