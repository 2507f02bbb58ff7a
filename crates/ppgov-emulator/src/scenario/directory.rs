//! The Entra directory: users (skewed maker activity, guests, deleted and disabled users, the
//! well-known identities), groups and app registrations.

use chrono::{DateTime, Utc};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::plan::Roster;
use super::util::{days_ago, guid, person};
use super::wellknown as wk;
use crate::tenant::{AppRegistration, Directory, Group, SignInBehaviour, User};

fn user(id: String, upn: String, name: String) -> User {
    User {
        id,
        mail: Some(upn.clone()),
        upn,
        display_name: name,
        enabled: true,
        deleted: false,
        guest: false,
        invited: None,
        password: None,
        sign_in: SignInBehaviour::Normal,
        admin_roles: Vec::new(),
        manager: None,
    }
}

/// Users per manager in the generated organisation.
const TEAM: usize = 8;

/// Every generated member user (not a guest, not deleted) reports to the first member of their
/// team of [`TEAM`]; team leads and the well-known identities have no manager, so Graph answers
/// 404 for them as it does for a user without one. Uses no randomness, so scenarios stay the same.
fn assign_managers(users: &mut [User]) {
    let members: Vec<usize> = (4..users.len())
        .filter(|&i| !users[i].guest && !users[i].deleted)
        .collect();
    for team in members.chunks(TEAM) {
        let lead = users[team[0]].id.clone();
        for &i in &team[1..] {
            users[i].manager = Some(lead.clone());
        }
    }
}

/// Builds the directory and the roster for `n_users` users.
pub fn build(
    rng: &mut ChaCha8Rng,
    domain: &str,
    now: DateTime<Utc>,
    n_users: usize,
) -> (Directory, Roster) {
    let mut users = Vec::with_capacity(n_users + 4);
    let mut admin = user(
        wk::ADMIN_USER_OBJECT_ID.to_string(),
        format!("{}@{domain}", wk::ADMIN_USER),
        "Tenant Admin".into(),
    );
    admin.password = Some(wk::ADMIN_PASSWORD.to_string());
    admin.admin_roles = vec![wk::POWER_PLATFORM_ADMIN_ROLE.to_string()];
    users.push(admin);
    for (local, behaviour, name) in [
        (wk::MFA_USER, SignInBehaviour::MfaRequired, "MFA Required"),
        (
            wk::CA_BLOCKED_USER,
            SignInBehaviour::ConditionalAccessBlocked,
            "CA Blocked",
        ),
        (
            wk::NOT_ASSIGNED_USER,
            SignInBehaviour::NotAssigned,
            "Not Assigned",
        ),
    ] {
        let mut u = user(guid(rng), format!("{local}@{domain}"), name.into());
        u.password = Some(wk::ADMIN_PASSWORD.to_string());
        u.sign_in = behaviour;
        u.admin_roles = vec![wk::POWER_PLATFORM_ADMIN_ROLE.to_string()];
        users.push(u);
    }
    let n = n_users.max(40);
    let n_guests = (n * 3 / 100).max(10);
    let n_deleted = (n / 50).max(4);
    let n_disabled = (n / 50).max(4);
    let mut roster = Roster::default();
    let mut gone = Vec::new();
    for i in 0..n {
        let (f, l) = person(i);
        let idx = users.len();
        let id = guid(rng);
        if i < n_guests {
            let ext = ["fabrikam.example", "northwind.example", "adatum.example"][i % 3];
            let local = format!("{}.{}{}", f.to_lowercase(), l.to_lowercase(), i);
            let mut u = user(
                id,
                format!("{local}_{}#EXT#@{domain}", ext.replace('.', "_")),
                format!("{f} {l} (Guest)"),
            );
            u.mail = Some(format!("{local}@{ext}"));
            u.guest = true;
            // The first six were invited recently, for the bulk-sharing-to-new-guests scenario.
            let recent = i < 6;
            u.invited = Some(if recent {
                days_ago(rng, now, 3, 10)
            } else {
                days_ago(rng, now, 30, 600)
            });
            if recent {
                roster.new_guests.push(idx);
            }
            roster.guests.push(idx);
            users.push(u);
            continue;
        }
        let upn = format!("{}.{}{}@{domain}", f.to_lowercase(), l.to_lowercase(), i);
        let mut u = user(id, upn, format!("{f} {l}"));
        let j = i - n_guests;
        if j < n_deleted {
            u.deleted = true;
            gone.push(idx);
        } else if j < n_deleted + n_disabled {
            u.enabled = false;
            gone.push(idx);
        }
        users.push(u);
    }
    // Split gone users so plants that hinge on ownership and plants that hinge on admin roles
    // never share a principal (keeps every plant pure).
    for (k, idx) in gone.into_iter().enumerate() {
        if k % 2 == 0 {
            roster.gone_owners.push(idx);
        } else {
            roster.gone_admins.push(idx);
        }
    }
    assign_managers(&mut users);
    let active: Vec<usize> = (4..users.len())
        .filter(|&i| !users[i].guest && users[i].enabled && !users[i].deleted)
        .collect();
    let n_makers = (active.len() / 5).max(10).min(active.len());
    roster.makers = active[..n_makers].to_vec();
    roster.members = active[n_makers..].to_vec();

    let mut groups = Vec::new();
    let n_groups = (n / 50).max(6);
    for g in 0..n_groups {
        let security = g % 3 != 2;
        let members: Vec<String> = if roster.members.is_empty() {
            Vec::new()
        } else {
            (0..rng.random_range(2..8usize))
                .map(|_| {
                    users[roster.members[rng.random_range(0..roster.members.len())]]
                        .id
                        .clone()
                })
                .collect()
        };
        if security {
            roster.security_groups.push(groups.len());
        }
        groups.push(Group {
            id: guid(rng),
            display_name: if security {
                format!("SG-PowerPlatform-{g:03}")
            } else {
                format!("Team {g:03}")
            },
            security_enabled: security,
            members,
        });
    }
    let app = |client: &str, object: &str, name: &str| AppRegistration {
        client_id: client.to_string(),
        object_id: object.to_string(),
        display_name: name.to_string(),
        secrets: Vec::new(),
        certificates: Vec::new(),
        public_client: false,
        admin_consent: true,
        management_app: false,
        app_roles: Vec::new(),
        redirect_uris: Vec::new(),
        role_assignments: Default::default(),
        group_claims: false,
    };
    let mut apps = Vec::new();
    let mut a = app(wk::ADMIN_CLIENT_ID, wk::ADMIN_SP_OBJECT_ID, "ppgov admin");
    a.secrets = vec![wk::ADMIN_CLIENT_SECRET.to_string()];
    a.management_app = true;
    a.app_roles = [
        "ActivityFeed.Read",
        "AuditLogsQuery.Read.All",
        "User.Read.All",
        "Group.Read.All",
        "GroupMember.Read.All",
        "Directory.Read.All",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    apps.push(a);
    let mut a = app(wk::UNREGISTERED_CLIENT_ID, &guid(rng), "ppgov unregistered");
    a.secrets = vec![wk::UNREGISTERED_CLIENT_SECRET.to_string()];
    a.app_roles = vec!["User.Read.All".into()];
    apps.push(a);
    let mut a = app(
        wk::NO_CONSENT_CLIENT_ID,
        &guid(rng),
        "ppgov public client (no consent)",
    );
    a.public_client = true;
    a.admin_consent = false;
    apps.push(a);
    let mut a = app(wk::PUBLIC_CLIENT_ID, &guid(rng), "ppgov public client");
    a.public_client = true;
    apps.push(a);
    let mut a = app(
        wk::AUTOMATION_CLIENT_ID,
        wk::AUTOMATION_SP_OBJECT_ID,
        "Contoso automation",
    );
    a.secrets = vec![format!("automation-{}", guid(rng))];
    apps.push(a);
    for k in 0..(n / 100).max(3) {
        let cid = guid(rng);
        let oid = guid(rng);
        let mut a = app(&cid, &oid, &format!("Line-of-business app {k}"));
        a.secrets = vec![format!("lob-{}", guid(rng))];
        apps.push(a);
    }
    // The console's app and personas come last and draw nothing from `rng`, so every seed's
    // other identities stay as they were.
    let mut a = app(
        wk::CONSOLE_CLIENT_ID,
        wk::CONSOLE_SP_OBJECT_ID,
        "ppgov console",
    );
    a.secrets = vec![wk::CONSOLE_CLIENT_SECRET.to_string()];
    a.redirect_uris = vec![wk::CONSOLE_REDIRECT_URI.to_string()];
    a.group_claims = true;
    a.role_assignments.insert(
        wk::ADMIN_USER_OBJECT_ID.to_string(),
        vec!["ppgov.Admin".to_string()],
    );
    for (local, id, name, role) in wk::CONSOLE_PERSONAS {
        let mut u = user(id.to_string(), format!("{local}@{domain}"), name.into());
        u.password = Some(wk::ADMIN_PASSWORD.to_string());
        users.push(u);
        a.role_assignments
            .insert(id.to_string(), vec![role.to_string()]);
    }
    apps.push(a);
    (
        Directory {
            users,
            groups,
            apps,
        },
        roster,
    )
}
