//! Small text helpers shared by renderers.

use ppgov_core::{Finding, RuleStatus};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `kind/id`, the fully qualified name of a finding's resource.
pub(crate) fn resource_fqn(f: &Finding) -> String {
    format!("{}/{}", f.resource.kind.as_str(), f.resource.id)
}

/// Frameworks as `framework:control`, joined with `; `.
pub(crate) fn frameworks_text(f: &Finding) -> String {
    f.frameworks
        .iter()
        .map(|r| format!("{}:{}", r.framework, r.control))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Evidence as compact JSON (keys in their recorded order).
pub(crate) fn evidence_text(f: &Finding) -> String {
    if f.evidence.is_null() {
        String::new()
    } else {
        f.evidence.to_string()
    }
}

/// The status word of a rule result.
pub(crate) fn status_word(s: &RuleStatus) -> &'static str {
    match s {
        RuleStatus::Evaluated => "evaluated",
        RuleStatus::Error { .. } => "error",
        RuleStatus::NotApplicable { .. } => "not_applicable",
    }
}

/// The reason attached to an error or not-applicable result.
pub(crate) fn status_detail(s: &RuleStatus) -> Option<&str> {
    match s {
        RuleStatus::Evaluated => None,
        RuleStatus::Error { message } => Some(message),
        RuleStatus::NotApplicable { reason } => Some(reason),
    }
}

/// A time as printed everywhere: RFC 3339, `Z`, fractions only when present (lossless).
pub(crate) fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
