//! Well-known identities, fixed across seeds (like Azurite's well-known account), so docs,
//! tests and `ppgov doctor` demos can name them. UPNs are `<local>@<tenant domain>`.

/// Client id of the admin service principal (registered as management app, admin consent,
/// app roles `ActivityFeed.Read`, `User.Read.All`, `Group.Read.All`).
pub const ADMIN_CLIENT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a01";
/// Object id of the admin service principal.
pub const ADMIN_SP_OBJECT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a02";
/// Client secret of the admin service principal.
pub const ADMIN_CLIENT_SECRET: &str = "ppgov-emulator-admin-secret~0123456789";
/// Local part of the admin user (`admin@<domain>`, Power Platform Administrator, signs in normally).
pub const ADMIN_USER: &str = "admin";
/// Object id of the admin user.
pub const ADMIN_USER_OBJECT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a03";
/// Password of the admin user and of every well-known user below.
pub const ADMIN_PASSWORD: &str = "Emulator-Passw0rd!";
/// Confidential app with a valid secret and consent, but NOT registered as management app: BAP answers 403.
pub const UNREGISTERED_CLIENT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a11";
/// Its client secret.
pub const UNREGISTERED_CLIENT_SECRET: &str = "ppgov-emulator-unregistered-secret~42";
/// Public client WITHOUT admin consent: delegated flows fail with AADSTS65001.
pub const NO_CONSENT_CLIENT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a12";
/// Public client with admin consent: ROPC and device code work for users that can sign in.
pub const PUBLIC_CLIENT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a13";
/// Application id of the service principal whose application users hold System Administrator
/// in every Dataverse environment (the background's only System Administrators).
pub const AUTOMATION_CLIENT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a21";
/// Object id of that service principal (the application users' `azureactivedirectoryobjectid`).
pub const AUTOMATION_SP_OBJECT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a22";
/// User whose ROPC sign-in needs MFA (AADSTS50076).
pub const MFA_USER: &str = "mfa.required";
/// User blocked by conditional access (AADSTS53003).
pub const CA_BLOCKED_USER: &str = "ca.blocked";
/// User not assigned to the app (AADSTS50105).
pub const NOT_ASSIGNED_USER: &str = "not.assigned";
/// Role name carried by the admin user.
pub const POWER_PLATFORM_ADMIN_ROLE: &str = "Power Platform Administrator";
/// Dataverse System Administrator role template id.
pub const SYSTEM_ADMIN_TEMPLATE_ID: &str = "627090ff-40a3-4053-8790-584edc5be201";
/// Dataverse Basic User role template id.
pub const BASIC_USER_TEMPLATE_ID: &str = "d58407f2-48d5-e711-a82c-000d3a37c848";

/// Confidential app for the ppgov console's sign-in (authorization code with PKCE). Its
/// redirect URI is `http://127.0.0.1/auth/callback` (any port, as Entra treats loopback).
pub const CONSOLE_CLIENT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a31";
/// Object id of the console's service principal.
pub const CONSOLE_SP_OBJECT_ID: &str = "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a32";
/// Client secret of the console app.
pub const CONSOLE_CLIENT_SECRET: &str = "ppgov-emulator-console-secret~314159";
/// Redirect URI registered on the console app.
pub const CONSOLE_REDIRECT_URI: &str = "http://127.0.0.1/auth/callback";
/// Console personas: (local part, object id, display name, app role on the console app).
/// They sign in with [`ADMIN_PASSWORD`]; the admin user holds `ppgov.Admin`.
pub const CONSOLE_PERSONAS: [(&str, &str, &str, &str); 5] = [
    (
        "console.viewer",
        "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a41",
        "Vera Viewer",
        "ppgov.Viewer",
    ),
    (
        "console.auditor",
        "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a42",
        "Aude Auditor",
        "ppgov.Auditor",
    ),
    (
        "console.maker",
        "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a43",
        "Max Maker",
        "ppgov.Maker",
    ),
    (
        "console.reviewer",
        "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a44",
        "Sam Security",
        "ppgov.SecurityReviewer",
    ),
    (
        "console.approver",
        "7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a45",
        "Carla Compliance",
        "ppgov.ComplianceApprover",
    ),
];
