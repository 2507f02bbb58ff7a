//! App rules: oversharing, orphans, inactivity, consent bypass.

pub mod app_001;
pub mod app_002;
pub mod app_003;
pub mod app_004;

use crate::rules::prelude::*;
use ppgov_core::{App, Finding};

/// Runs `check` on every app of the environments where `kinds` were collected.
pub(crate) fn per_app(
    ctx: &Context,
    kinds: &[CollectionKind],
    mut check: impl FnMut(&App) -> Option<Finding>,
) -> RuleOutput {
    let mut all = vec![CollectionKind::Apps];
    all.extend_from_slice(kinds);
    let (ok, missing) = ctx.split_envs(&all, |_| true);
    let findings = ctx
        .snapshot
        .apps
        .iter()
        .filter(|a| ok.contains(crate::context::lc(&a.environment_id).as_ref()))
        .filter_map(&mut check)
        .collect();
    RuleOutput::partial(findings, &missing)
}
