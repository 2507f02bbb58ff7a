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
            .and_then(|u| u.user_principal_name.clone())
            .or_else(|| o.user_principal_name.clone()),
        mail: user.and_then(|u| u.mail.clone()),
        display_name: o
            .display_name
            .clone()
            .or_else(|| user.and_then(|u| u.display_name.clone())),
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
