//! The remediation journal, newest first, with its chain verified on every view (intact, or
//! where it breaks and how); and how entries and states show on the pages.

use super::plans::SUBMIT_ACTION;
use crate::Console;
use crate::pages::{blocking, frame, problem, render};
use crate::roles::Permission;
use crate::web;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use ppgov_store::{ChainBreak, ChainReport, JournalEntry, Records};
use std::sync::Arc;

/// The most entries one page shows.
const SHOWN: usize = 500;

pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Runs `f` on the tenant's governance records off the async threads.
pub(crate) async fn with_store<T: Send + 'static>(
    c: &Console,
    tenant: &str,
    f: impl FnOnce(&mut dyn Records) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let t = c
        .serve
        .tenant(tenant)
        .cloned()
        .ok_or_else(|| format!("tenant `{tenant}` is not served here"))?;
    blocking(move || {
        let mut records = t.records()?;
        f(records.as_mut())
    })
    .await
}

/// A state as compact JSON, cut after 300 characters.
fn compact(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| {
        let t = serde_json::to_string(v).unwrap_or_default();
        if t.chars().count() > 300 {
            format!("{}…", t.chars().take(300).collect::<String>())
        } else {
            t
        }
    })
}

/// Journal entries as the pages show them (a submitted plan's JSON left out); `broken` are
/// the entries where the chain breaks.
pub(crate) fn rows<'a>(
    entries: impl Iterator<Item = &'a JournalEntry>,
    broken: &[ChainBreak],
) -> Vec<Value> {
    entries
        .map(|e| {
            let submit = e.entry.action == SUBMIT_ACTION;
            context! {
                seq => e.seq,
                at => time_text(e.at),
                actor => e.entry.actor.clone(),
                apply_id => e.entry.apply_id.clone(),
                digest => e.entry.plan_digest.clone(),
                short => e.entry.plan_digest.chars().take(12).collect::<String>(),
                step => e.entry.step,
                action => e.entry.action.clone(),
                target => e.entry.target.clone(),
                phase => e.entry.phase.as_str(),
                request_id => e.entry.request_id.clone(),
                before => if submit { None } else { compact(&e.entry.before) },
                after => if submit { None } else { compact(&e.entry.after) },
                result => e.entry.result.clone(),
                broken => broken.iter().any(|b| b.seq == e.seq),
            }
        })
        .collect()
}

fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// For two lists: what is added and what removed (`+ x, − y`).
fn delta(old: &serde_json::Value, new: &serde_json::Value) -> Option<String> {
    let (old, new) = (old.as_array()?, new.as_array()?);
    let added = new
        .iter()
        .filter(|x| !old.contains(x))
        .map(|x| format!("+ {}", json_text(x)));
    let removed = old
        .iter()
        .filter(|x| !new.contains(x))
        .map(|x| format!("− {}", json_text(x)));
    Some(added.chain(removed).collect::<Vec<_>>().join(", "))
}

/// What a plan step changes, key by key when both states are objects.
pub(crate) fn changes(expected: &serde_json::Value, change: &serde_json::Value) -> Vec<Value> {
    match (expected.as_object(), change.as_object()) {
        (Some(a), Some(b)) => b
            .iter()
            .filter(|(k, v)| a.get(*k) != Some(*v))
            .map(|(k, v)| {
                context! {
                    key => k,
                    before => a.get(k).map(json_text).unwrap_or_else(|| "(not set)".into()),
                    after => json_text(v),
                    delta => a.get(k).and_then(|old| delta(old, v)),
                }
            })
            .collect(),
        _ => {
            vec![
                context! { key => "state", before => json_text(expected), after => json_text(change) },
            ]
        }
    }
}

/// The chain's verification as the page shows it: intact, or the first entry where it breaks
/// and every break found.
fn chain_view(chain: &ChainReport) -> minijinja::Value {
    context! {
        intact => chain.breaks.is_empty(),
        first_break => chain.breaks.iter().map(|b| b.seq).min(),
        breaks => chain.breaks.iter().map(|b| context! { seq => b.seq, problem => b.problem.clone() }).collect::<Vec<_>>(),
        checked => chain.entries,
        head => chain.head.clone(),
    }
}

/// `GET /t/{tenant}/journal`.
pub(crate) async fn page(
    State(c): State<Arc<Console>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = match web::signed_for(
        &c,
        &headers,
        &tenant,
        &format!("/t/{tenant}/journal"),
        true,
        Permission::ReadJournal,
    ) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let read = with_store(&c, &tenant, |store| {
        let chain = store.verify_journal().map_err(|e| e.to_string())?;
        let entries = store.journal(None).map_err(|e| e.to_string())?;
        Ok((chain, entries))
    })
    .await;
    let (chain, entries) = match read {
        Ok(x) => x,
        Err(e) => {
            return problem(
                &c,
                Some(&s),
                StatusCode::SERVICE_UNAVAILABLE,
                "The journal cannot be read",
                &e,
            );
        }
    };
    let total = entries.len();
    let rows = rows(entries.iter().rev().take(SHOWN), &chain.breaks);
    let ctx = context! {
        title => "Remediation journal",
        entries => rows,
        total => total,
        shown => total.min(SHOWN),
        may_see_plans => s.session.grants.allows(&tenant, Permission::ReadJournal),
        chain => chain_view(&chain),
        ..frame(&c, Some(&s), Some(&tenant))
    };
    render(&c, StatusCode::OK, "journal.html", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(chain: &ChainReport) -> String {
        let pages = crate::pages::Pages::new().unwrap();
        let ctx = context! {
            title => "Remediation journal",
            entries => Vec::<Value>::new(),
            total => 0,
            shown => 0,
            tenant_id => "t1",
            chain => chain_view(chain),
        };
        pages.render("journal.html", ctx).unwrap()
    }

    #[test]
    fn the_page_says_whether_the_chain_holds_and_where_it_breaks() {
        let intact = ChainReport {
            entries: 4,
            head: "ab12".into(),
            breaks: vec![],
        };
        let html = page(&intact);
        assert!(html.contains("data-chain=\"intact\""), "{html}");
        assert!(html.contains("all 4 entries"), "{html}");
        let broken = ChainReport {
            entries: 4,
            head: "ab12".into(),
            breaks: vec![
                ChainBreak {
                    seq: 4,
                    problem: "does not link to the entry before it".into(),
                },
                ChainBreak {
                    seq: 3,
                    problem: "its content does not match its hash (the entry was modified)".into(),
                },
            ],
        };
        let html = page(&broken);
        assert!(html.contains("data-chain=\"broken\""), "{html}");
        assert!(html.contains("broken at entry 3"), "{html}");
        assert!(
            html.contains("Entry 3: its content does not match its hash"),
            "{html}"
        );
        assert!(!html.contains("intact"), "{html}");
    }
}
