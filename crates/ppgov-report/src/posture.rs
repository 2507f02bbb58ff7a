//! Posture scores per catalogue area: the share of rules passing, weighted by severity.

use ppgov_core::{RuleStatus, ScanReport, Severity};
use serde::Serialize;
use std::collections::BTreeSet;

/// The catalogue areas, in catalogue order.
pub const AREAS: [(&str, &str); 9] = [
    ("TEN", "Tenant"),
    ("DEF", "Default environment"),
    ("RTE", "Routing and developer environments"),
    ("ENV", "Environments"),
    ("DLP", "DLP"),
    ("FLW", "Flows"),
    ("APP", "Apps"),
    ("CON", "Connections"),
    ("ADM", "Admins"),
];

/// The weight of a rule of this severity in a posture score.
pub fn severity_weight(s: Severity) -> u32 {
    match s {
        Severity::Critical => 10,
        Severity::High => 6,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Info => 1,
    }
}

/// The area of a rule id: `PPG-FLW-001` -> `FLW`.
pub fn rule_area(rule_id: &str) -> Option<&str> {
    let mut parts = rule_id.split('-');
    match (parts.next(), parts.next()) {
        (Some(_), Some(area)) if !area.is_empty() => Some(area),
        _ => None,
    }
}

/// The posture of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaScore {
    /// Area code, e.g. `DLP`.
    pub area: String,
    /// Area title.
    pub title: String,
    /// 0..=100, `None` when no weighted rule was evaluated in the area.
    pub score: Option<u32>,
    /// Rules passing (evaluated, no unsuppressed finding).
    pub passing: usize,
    /// Rules failing (findings) or in error (an error is never a pass).
    pub failing: usize,
    /// Rules in error.
    pub errored: usize,
}

/// Scores for every catalogue area, in catalogue order. Not-applicable rules do not count; a rule
/// in error counts against the score.
pub fn posture_scores(report: &ScanReport) -> Vec<AreaScore> {
    let failing: BTreeSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| f.rule_id.as_str())
        .collect();
    AREAS
        .iter()
        .map(|(code, title)| {
            let mut s = AreaScore {
                area: code.to_string(),
                title: title.to_string(),
                score: None,
                passing: 0,
                failing: 0,
                errored: 0,
            };
            let (mut won, mut total) = (0u32, 0u32);
            for r in report
                .rules
                .iter()
                .filter(|r| rule_area(&r.rule_id) == Some(code))
            {
                let w = severity_weight(r.severity);
                let pass = match r.status {
                    RuleStatus::NotApplicable { .. } => continue,
                    RuleStatus::Error { .. } => {
                        s.errored += 1;
                        false
                    }
                    RuleStatus::Evaluated => !failing.contains(r.rule_id.as_str()),
                };
                if pass {
                    s.passing += 1;
                    won += w;
                } else {
                    s.failing += 1;
                }
                total += w;
            }
            // Rounded half up, in integers so the output never depends on float printing;
            // `None` when nothing weighted was evaluated.
            s.score = (won * 100 + total / 2).checked_div(total);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_of_rule_ids() {
        assert_eq!(rule_area("PPG-FLW-001"), Some("FLW"));
        assert_eq!(rule_area("custom"), None);
    }
}
