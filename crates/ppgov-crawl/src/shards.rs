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

/// Orders shards so the slowest start first: by the expected number of requests, estimated from
/// the previous snapshot's per-environment counts when there is one, else the default environment
/// first and Dataverse environments before the rest.
pub fn order(
    envs: &[Environment],
    expected: &dyn Fn(&str, ShardKind) -> Option<u64>,
) -> Vec<(usize, ShardKind)> {
    let mut shards: Vec<(u64, usize, ShardKind)> = Vec::new();
    for (i, e) in envs.iter().enumerate() {
        for k in ShardKind::ALL {
            let guess = expected(&e.id, k)
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
                });
            shards.push((guess, i, k));
        }
    }
    shards.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    shards.into_iter().map(|(_, i, k)| (i, k)).collect()
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
