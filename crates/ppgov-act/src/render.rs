//! `ppgov plan show`: a plan for review as a text table, Markdown (for a change ticket) or JSON.

use crate::plan::{Plan, Undo};
use serde_json::Value;

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn undo_text(u: &Undo) -> String {
    match u {
        Undo::Restore { state } => format!("restore {}", compact(state)),
        Undo::NotReversible { reason } => format!("not reversible: {reason}"),
    }
}

/// A plain text table.
pub fn table(plan: &Plan) -> String {
    let mut out = format!(
        "plan {} for tenant {}\nmade {} by {} ({})\ndigest {}\napprovals: {}\n\n",
        plan.id,
        plan.tenant_id,
        plan.created_at.format("%Y-%m-%d %H:%M UTC"),
        plan.author,
        plan.source,
        plan.digest,
        if plan.approvals.is_empty() {
            "none".to_string()
        } else {
            plan.approvals
                .iter()
                .map(|a| a.approver.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if plan.steps.is_empty() {
        out.push_str("no changes: the tenant is already in the desired state\n");
    }
    for s in &plan.steps {
        out.push_str(&format!("{:>3}. {} on {}\n", s.index, s.action, s.target));
        out.push_str(&format!(
            "     expects {}\n     sets    {}\n     why     {}\n     undo    {}\n",
            compact(&s.expected),
            compact(&s.change),
            s.why,
            undo_text(&s.undo)
        ));
        if let Some(n) = grace_text(s) {
            out.push_str(&format!("     notice  {n}\n"));
        }
        for w in &s.warnings {
            out.push_str(&format!("     WARNING {w}\n"));
        }
    }
    out
}

/// The notice-first line of a step with a grace period.
fn grace_text(s: &crate::plan::Step) -> Option<String> {
    let g = s.grace.as_ref()?;
    Some(match g.noticed_at {
        None => format!(
            "tells {} first; acts {} h later, by `ppgov apply --due`",
            g.recipients.join(", "),
            g.period_hours
        ),
        Some(at) => format!(
            "{} was told at {}; acts now",
            g.recipients.join(", "),
            at.format("%Y-%m-%d %H:%M UTC")
        ),
    })
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for a change ticket.
pub fn markdown(plan: &Plan) -> String {
    let mut out = format!(
        "# Change plan {}\n\n- Tenant: `{}`\n- Made: {} by {}\n- Source: {}\n- Digest: `{}`\n- Approvals: {}\n\n",
        plan.id,
        plan.tenant_id,
        plan.created_at.format("%Y-%m-%d %H:%M UTC"),
        md_cell(&plan.author.to_string()),
        md_cell(&plan.source),
        plan.digest,
        if plan.approvals.is_empty() {
            "none".to_string()
        } else {
            plan.approvals
                .iter()
                .map(|a| md_cell(&a.approver.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let warnings: Vec<&String> = plan.steps.iter().flat_map(|s| &s.warnings).collect();
    for w in warnings {
        out.push_str(&format!("> **Warning:** {}\n\n", md_cell(w)));
    }
    for s in &plan.steps {
        if let Some(n) = grace_text(s) {
            out.push_str(&format!(
                "> **Notice first (step {}):** {}\n\n",
                s.index,
                md_cell(&n)
            ));
        }
    }
    out.push_str(
        "| # | Action | Target | Expected | Change | Why | Undo |\n|---|---|---|---|---|---|---|\n",
    );
    for s in &plan.steps {
        out.push_str(&format!(
            "| {} | {} | {} | `{}` | `{}` | {} | {} |\n",
            s.index,
            s.action,
            md_cell(&s.target.to_string()),
            md_cell(&compact(&s.expected)),
            md_cell(&compact(&s.change)),
            md_cell(&s.why),
            md_cell(&undo_text(&s.undo))
        ));
    }
    if plan.steps.is_empty() {
        out.push_str("\nNo changes: the tenant is already in the desired state.\n");
    }
    out
}
