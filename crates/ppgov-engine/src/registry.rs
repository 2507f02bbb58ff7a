//! Every built-in rule, one line each.

use crate::rule::Rule;
use crate::rules::*;

/// `rule!(area::file)`: the rule's metadata, its evaluation, and its source file (whose module
/// doc comment is its documentation, see [`crate::docs`]).
macro_rules! rule {
    ($area:ident :: $file:ident) => {
        Rule {
            meta: $area::$file::META,
            evaluate: $area::$file::evaluate,
            source: include_str!(concat!(
                "rules/",
                stringify!($area),
                "/",
                stringify!($file),
                ".rs"
            )),
        }
    };
}

/// All built-in rules, in catalogue order.
pub static RULES: &[Rule] = &[
    rule!(tenant::ten_001),
    rule!(tenant::ten_002),
    rule!(tenant::ten_003),
    rule!(tenant::ten_004),
    rule!(tenant::ten_005),
    rule!(tenant::ten_006),
    rule!(tenant::ten_007),
    rule!(default_env::def_001),
    rule!(default_env::def_002),
    rule!(default_env::def_003),
    rule!(default_env::def_004),
    rule!(default_env::def_005),
    rule!(default_env::def_006),
    rule!(routing::rte_001),
    rule!(routing::rte_002),
    rule!(routing::rte_003),
    rule!(routing::rte_004),
    rule!(environment::env_001),
    rule!(environment::env_002),
    rule!(environment::env_003),
    rule!(environment::env_004),
    rule!(dlp::dlp_001),
    rule!(dlp::dlp_002),
    rule!(dlp::dlp_003),
    rule!(flow::flw_001),
    rule!(flow::flw_002),
    rule!(flow::flw_003),
    rule!(flow::flw_004),
    rule!(flow::flw_005),
    rule!(flow::flw_006),
    rule!(flow::flw_007),
    rule!(flow::flw_008),
    rule!(app::app_001),
    rule!(app::app_002),
    rule!(app::app_003),
    rule!(app::app_004),
    rule!(connection::con_001),
    rule!(connection::con_002),
    rule!(connection::con_003),
    rule!(admin::adm_001),
    rule!(admin::adm_002),
    rule!(admin::adm_003),
    rule!(admin::adm_004),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_and_sorted_by_area() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.meta.id).collect();
        assert_eq!(ids.len(), 43);
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 43);
        for r in RULES {
            assert!(r.meta.id.starts_with("PPG-"));
            assert!(!r.meta.remediation.is_empty() && !r.meta.title.is_empty());
        }
    }
}
