//! Principals resolved through Graph.

use ppgov_core::{Principal, PrincipalKind, PrincipalStatus};
use ppgov_model::graph;

/// Maps a directory object (user, group or service principal) found by Graph.
pub fn graph_principal(o: &graph::DirectoryObject, user: Option<&graph::User>) -> Principal {
    let kind = match o.kind().unwrap_or("user") {
        k if k.eq_ignore_ascii_case("group") => PrincipalKind::Group,
        k if k.eq_ignore_ascii_case("servicePrincipal")
            || k.eq_ignore_ascii_case("application") =>
        {
            PrincipalKind::ServicePrincipal
        }
        _ => PrincipalKind::User,
    };
    let enabled = user.and_then(|u| u.account_enabled).unwrap_or(true);
    Principal {
        id: o.id.to_ascii_lowercase(),
        kind,
        status: if enabled {
            PrincipalStatus::Active
        } else {
            PrincipalStatus::Disabled
        },
        guest: user.is_some_and(|u| u.is_guest()),
        upn: user
            .and_then(|u| super::present(&u.user_principal_name))
            .or_else(|| super::present(&o.user_principal_name)),
        mail: user.and_then(|u| super::present(&u.mail)),
        display_name: super::present(&o.display_name)
            .or_else(|| user.and_then(|u| super::present(&u.display_name))),
    }
}

/// A user Graph says exists whose state could not be read: its kind and names are known, its
/// status is unresolved (never active, never deleted).
pub fn unreadable_user(o: &graph::DirectoryObject) -> Principal {
    Principal {
        status: PrincipalStatus::Unresolved,
        ..graph_principal(o, None)
    }
}

/// A principal Graph could not tell about: `deleted` when it answered 404, else unresolved.
pub fn unresolved_principal(id: &str, deleted: bool) -> Principal {
    Principal {
        id: id.to_ascii_lowercase(),
        kind: PrincipalKind::Unknown,
        status: if deleted {
            PrincipalStatus::Deleted
        } else {
            PrincipalStatus::Unresolved
        },
        guest: false,
        upn: None,
        mail: None,
        display_name: None,
    }
}
