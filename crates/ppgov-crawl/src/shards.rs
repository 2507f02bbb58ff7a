//! Shard keys and ordering.

use ppgov_core::Environment;

/// The kinds of per-environment shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShardKind {
    /// Flows: list, then definition, permissions and runs per flow (the slowest kind).
    Flows,
    /// Apps and their permissions.
    Apps,
    /// Connections.
    Connections,
    /// BAP role assignments, or Dataverse System Administrators and organisation settings.
    Roles,
}

impl ShardKind {
    /// Every kind, slowest first.
    pub const ALL: [ShardKind; 4] = [
        ShardKind::Flows,
        ShardKind::Apps,
        ShardKind::Connections,
        ShardKind::Roles,
    ];

    fn name(self) -> &'static str {
        match self {
            ShardKind::Flows => "flows",
            ShardKind::Apps => "apps",
            ShardKind::Connections => "connections",
            ShardKind::Roles => "roles",
        }
    }

    /// Relative cost per resource, in requests.
    fn weight(self) -> u64 {
        match self {
            ShardKind::Flows => 3,
            ShardKind::Apps => 1,
            ShardKind::Connections => 0,
            ShardKind::Roles => 0,
        }
    }
}

/// The checkpoint key of a shard.
pub fn key(env: &str, kind: ShardKind) -> String {
    format!("env:{env}:{}", kind.name())
}

/// Key of the tenant-wide shard.
pub const TENANT: &str = "tenant";
/// Key of the principal resolution shard.
pub const PRINCIPALS: &str = "principals";

/// Orders shards so the slowest start first: environments by their expected number of requests
/// (from the previous snapshot's counts when known, else the default environment first and
/// Dataverse environments before the rest), and within an environment its kinds slowest first.
/// Keeping one environment's shards together lets the service (and any cache in front of it) serve
/// an environment while it is warm.
pub fn order(
    envs: &[Environment],
    expected: &dyn Fn(&str, ShardKind) -> Option<u64>,
) -> Vec<(usize, ShardKind)> {
    let cost = |e: &Environment, k: ShardKind| {
        expected(&e.id, k)
            .map(|n| n * k.weight() + 1)
            .unwrap_or_else(|| {
                let base = if e.is_default {
                    1_000
                } else if e.has_dataverse {
                    100
                } else {
                    10
                };
                base * (k.weight() + 1)
            })
    };
    let mut by_env: Vec<(u64, usize)> = envs
        .iter()
        .enumerate()
        .map(|(i, e)| (ShardKind::ALL.iter().map(|k| cost(e, *k)).sum(), i))
        .collect();
    by_env.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::with_capacity(envs.len() * ShardKind::ALL.len());
    for (_, i) in by_env {
        let e = &envs[i];
        let mut kinds = ShardKind::ALL.to_vec();
        kinds.sort_by(|a, b| cost(e, *b).cmp(&cost(e, *a)).then(a.cmp(b)));
        out.extend(kinds.into_iter().map(|k| (i, k)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_environment_flows_first_and_known_sizes_win() {
        let envs = vec![
            Environment {
                id: "a".into(),
                ..Default::default()
            },
            Environment {
                id: "d".into(),
                is_default: true,
                ..Default::default()
            },
        ];
        let o = order(&envs, &|_, _| None);
        assert_eq!(o[0], (1, ShardKind::Flows));
        let o = order(&envs, &|id, k| {
            (id == "a" && k == ShardKind::Flows).then_some(10_000)
        });
        assert_eq!(o[0], (0, ShardKind::Flows));
        assert_eq!(o.len(), 8);
    }
}
