//! Tables of engine results other than a scan: a scan seen through one compliance framework, and
//! a DLP simulation. The CLI only picks the format.

use crate::views::Table;
use ppgov_engine::FrameworkView;
use ppgov_engine::dlp::{SimulatedChange, SimulationReport};

/// One row per framework requirement: its status, title and the rules that evidence it.
pub fn framework_table(view: &FrameworkView) -> Table {
    let mut t = Table {
        columns: vec!["requirement", "status", "title", "rules"],
        rows: vec![],
    };
    for r in &view.requirements {
        let rules = r
            .rules
            .iter()
            .map(|c| format!("{}:{}", c.rule_id, c.status))
            .collect::<Vec<_>>()
            .join(" ");
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        t.rows
            .push(vec![r.id.clone(), status, r.title.clone(), rules]);
    }
    t
}

/// The framework view as text: its name and version, then [`framework_table`].
pub fn framework_text(view: &FrameworkView, width: Option<u16>) -> String {
    format!(
        "{} {}\n\n{}",
        view.name,
        view.version,
        framework_table(view).to_text_fitted(width)
    )
}

/// One row per app or flow whose DLP verdict a draft policy changes (`breaks`, `already violating` or `fixed`), with
/// the environment's display name beside its id and why.
pub fn dlp_simulation_table(report: &SimulationReport) -> Table {
    let mut t = Table {
        columns: vec![
            "change",
            "environment",
            "environment_id",
            "kind",
            "id",
            "name",
            "owner",
            "why",
        ],
        rows: vec![],
    };
    let rows = report
        .would_break
        .iter()
        .map(|c| ("breaks", c))
        .chain(
            report
                .already_violating
                .iter()
                .map(|c| ("already violating", c)),
        )
        .chain(report.would_fix.iter().map(|c| ("fixed", c)));
    for (change, c) in rows {
        t.rows.push(change_row(change, c));
    }
    t
}

fn change_row(change: &str, c: &SimulatedChange) -> Vec<String> {
    vec![
        change.to_string(),
        c.environment_name.clone(),
        c.environment_id.clone(),
        c.kind.to_string(),
        c.id.clone(),
        c.name.clone(),
        c.owner.clone().unwrap_or_default(),
        c.violations
            .iter()
            .map(|v| v.explain())
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

/// The closing line of a DLP simulation in text form.
pub fn dlp_simulation_summary(report: &SimulationReport) -> String {
    format!(
        "{} apps and {} flows evaluated: {} would newly break, {} already violate and would violate more, {} would be fixed\n",
        report.apps_evaluated,
        report.flows_evaluated,
        report.would_break.len(),
        report.already_violating.len(),
        report.would_fix.len()
    )
}
