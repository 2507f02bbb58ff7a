//! `ppgov rules [ID]`: the rule catalogue, generated from each rule's metadata and doc comment.

use crate::cli::{RulesArgs, RulesFormat};
use crate::commands::Outcome;
use anyhow::{Context, bail};
use ppgov_report::rules_doc::{rule_text, rules_markdown, rules_table};

pub fn run(args: RulesArgs) -> anyhow::Result<Outcome> {
    let docs = ppgov_engine::docs::rule_docs().context("cannot build the rule documentation")?;
    let text = match &args.rule {
        Some(id) => {
            let Some(doc) = docs.iter().find(|d| d.id.eq_ignore_ascii_case(id.trim())) else {
                bail!("no rule `{id}`; hint: `ppgov rules` lists every rule id");
            };
            match args.format {
                RulesFormat::Table => rule_text(doc),
                RulesFormat::Json => format!("{}\n", serde_json::to_string_pretty(doc)?),
                RulesFormat::Md => rules_markdown(std::slice::from_ref(doc)),
            }
        }
        None => match args.format {
            RulesFormat::Table => {
                rules_table(&docs).to_text_fitted(crate::output::terminal_width())
            }
            RulesFormat::Json => format!("{}\n", serde_json::to_string_pretty(&docs)?),
            RulesFormat::Md => rules_markdown(&docs),
        },
    };
    super::scan::emit(text.as_bytes(), None)?;
    Ok(Outcome::Clean)
}
