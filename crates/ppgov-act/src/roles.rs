//! `ppgov roles remove` (seed 003, `Remove-RoleAssignmentFromUsers`): the users of a CSV lose a
//! security role in one environment or all, with one log per environment.

use crate::ActError;
use crate::actions::{Ctx, act_011};
use crate::apply::{ApplyReport, StepOutcome};
use crate::plan::{Step, Target, Undo};
use crate::planner::Planned;
use futures::TryStreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads user principal names from a CSV: one per line, first column, quotes and a header
/// without `@` ignored.
pub fn read_users(text: &str) -> Result<Vec<String>, ActError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let first = line
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .trim();
        if first.is_empty() {
            continue;
        }
        if !first.contains('@') {
            if i == 0 {
                continue;
            }
            return Err(ActError::Invalid(format!(
                "users file line {}: `{first}` is not a user principal name (name@domain)",
                i + 1
            )));
        }
        if !out.iter().any(|u: &String| u.eq_ignore_ascii_case(first)) {
            out.push(first.to_string());
        }
    }
    if out.is_empty() {
        return Err(ActError::Invalid(
            "the users file names no user principal name".into(),
        ));
    }
    Ok(out)
}

/// BAP `location` values of the geos `--geo` names.
pub fn geo_location(geo: &str) -> Option<&'static str> {
    Some(match geo.to_ascii_uppercase().as_str() {
        "NA" | "US" => "unitedstates",
        "EMEA" | "EUR" | "EU" => "europe",
        "APAC" | "ASIA" => "asia",
        "UK" | "GBR" => "unitedkingdom",
        "OCE" | "AUS" => "australia",
        "JPN" => "japan",
        "IND" => "india",
        "CAN" => "canada",
        "SAM" | "BRA" => "southamerica",
        "FRA" => "france",
        "GER" | "DEU" => "germany",
        "CHE" => "switzerland",
        "NOR" => "norway",
        "KOR" => "korea",
        "ZAF" => "southafrica",
        "UAE" => "unitedarabemirates",
        _ => return None,
    })
}

/// One environment to act in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvChoice {
    /// Its name (id).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Whether it has Dataverse (roles live there).
    pub has_dataverse: bool,
}

/// The environments to act in: the one given (name, id or instance URL), or all (of a geo).
pub async fn environments(
    ctx: &Ctx,
    one: Option<&str>,
    geo: Option<&str>,
) -> Result<Vec<EnvChoice>, ActError> {
    let location = match geo {
        Some(g) => Some(geo_location(g).ok_or_else(|| ActError::Invalid(format!("unknown geo `{g}`; hint: NA, EMEA, APAC, UK, OCE, JPN, IND, CAN, SAM, FRA, GER, CHE, NOR, KOR, ZAF, UAE")))?),
        None => None,
    };
    let envs: Vec<Value> = ctx
        .clients
        .bap
        .list_environments(&[])
        .try_collect()
        .await
        .map_err(ActError::client("listing environments"))?;
    let host = |u: &str| {
        u.trim()
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_ascii_lowercase()
    };
    let mut out = Vec::new();
    for e in &envs {
        let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
        let url = e
            .pointer("/properties/linkedEnvironmentMetadata/instanceUrl")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(one) = one {
            let hit = name.eq_ignore_ascii_case(one) || (!url.is_empty() && host(url) == host(one));
            if !hit {
                continue;
            }
        }
        if let Some(loc) = location
            && !e
                .get("location")
                .and_then(Value::as_str)
                .is_some_and(|l| l.eq_ignore_ascii_case(loc))
        {
            {
                continue;
            }
        }
        out.push(EnvChoice {
            name: name.to_string(),
            display_name: e
                .pointer("/properties/displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            has_dataverse: !url.is_empty(),
        });
    }
    if let (Some(one), true) = (one, out.is_empty()) {
        return Err(ActError::Invalid(format!(
            "no environment is named `{one}` or has that instance URL{}",
            geo.map(|g| format!(" in geo {g}")).unwrap_or_default()
        )));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Log lines per environment, written after the apply.
pub type EnvLogs = BTreeMap<String, Vec<String>>;

/// The removals planned, the logs so far, and what a removal cannot reach.
#[derive(Debug, Default)]
pub struct Removal {
    /// A step per (environment, listed user holding the role directly).
    pub planned: Planned,
    /// Log lines per environment.
    pub logs: EnvLogs,
    /// Listed users who hold the role through a Microsoft Entra group team (`UPN in ENV via
    /// TEAM`): removing their direct role leaves them administrators, and ppgov does not change
    /// group membership, so the command does not report success for them.
    pub still_held: Vec<String>,
}

/// Plans the removals: a step per (environment, listed user holding the role directly), and
/// every listed user who holds it through a group team named.
pub async fn plan_removal(
    ctx: &Ctx,
    role: &str,
    users: &[String],
    envs: &[EnvChoice],
    break_glass: &[String],
    force: bool,
) -> Result<Removal, ActError> {
    if !role.eq_ignore_ascii_case(act_011::SYSTEM_ADMINISTRATOR) {
        return Err(ActError::Invalid(format!(
            "this build removes only the `{}` role (by its template id), not `{role}`",
            act_011::SYSTEM_ADMINISTRATOR
        )));
    }
    let mut planned = Planned::default();
    let mut logs = EnvLogs::new();
    let mut still_held = Vec::new();
    for env in envs {
        let log = logs.entry(env.name.clone()).or_default();
        if !env.has_dataverse {
            log.push(format!(
                "environment {} ({}) has no Dataverse: no security roles to remove",
                env.name, env.display_name
            ));
            continue;
        }
        let via_groups = act_011::group_holdings(ctx, &env.name).await?;
        for upn in users {
            if let Some(teams) = via_groups.get(&upn.to_ascii_lowercase()) {
                log.push(format!(
                    "{upn}: STILL HOLDS {role} through the Microsoft Entra group team(s) {}: ppgov does not change group membership; remove the user from the group, or the role from the team",
                    teams.join(", ")
                ));
                still_held.push(format!("{upn} in {} via {}", env.name, teams.join(", ")));
            }
            let glass = break_glass.iter().any(|b| b.eq_ignore_ascii_case(upn));
            if glass && !force {
                log.push(format!("{upn}: REFUSED: on the break-glass list ([posture] break_glass_admins); pass --force to remove anyway"));
                continue;
            }
            let (held, _) = act_011::holdings(ctx, &env.name, upn).await?;
            if held.is_empty() {
                log.push(format!(
                    "{upn}: does not hold {role} directly; nothing to do"
                ));
                continue;
            }
            log.push(format!(
                "{upn}: holds {role} ({} business unit copies); planned for removal",
                held.len()
            ));
            planned.steps.push(Step {
                index: 0,
                action: act_011::META.id.into(),
                target: Target {
                    kind: "role_assignment".into(),
                    id: upn.clone(),
                    environment: Some(env.name.clone()),
                    name: role.into(),
                },
                expected: json!({ "roles": held }),
                change: act_011::desired(),
                why: format!(
                    "seed 003: remove standing {role} from the listed users{}",
                    if glass {
                        " (break-glass user, forced)"
                    } else {
                        ""
                    }
                ),
                undo: Undo::Restore {
                    state: json!({ "roles": held }),
                },
                warnings: vec![],
                grace: None,
            });
        }
    }
    Ok(Removal {
        planned,
        logs,
        still_held,
    })
}

/// Adds the apply's outcome per step to the logs and writes `DIR/<environment>.log` (0600).
pub fn write_logs(
    dir: &Path,
    mut logs: EnvLogs,
    steps: &[Step],
    report: Option<&ApplyReport>,
) -> Result<Vec<std::path::PathBuf>, ActError> {
    if let Some(report) = report {
        for r in &report.steps {
            let Some(step) = steps.iter().find(|s| s.index == r.index) else {
                continue;
            };
            let env = step.target.environment.clone().unwrap_or_default();
            let word = match r.outcome {
                StepOutcome::Applied => "REMOVED",
                StepOutcome::AlreadyInDesiredState | StepOutcome::AlreadyDone => "ALREADY REMOVED",
                StepOutcome::Drifted => "SKIPPED (changed since planned)",
                StepOutcome::Capped => "SKIPPED (--max-changes)",
                StepOutcome::Noticed => "NOTICE SENT",
                StepOutcome::Failed => "FAILED",
            };
            logs.entry(env)
                .or_default()
                .push(format!("{}: {word}: {}", step.target.id, r.detail));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| ActError::WritePlan {
        path: dir.into(),
        source,
    })?;
    let mut written = Vec::new();
    for (env, lines) in logs {
        let safe: String = env
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.log"));
        let mut text = format!(
            "ppgov roles remove, environment {env}, {}\n",
            chrono::Utc::now().to_rfc3339()
        );
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        write_private(&path, text.as_bytes()).map_err(|source| ActError::WritePlan {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Writes a file only its owner can read (0600 on Unix), created with that mode.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)
}
