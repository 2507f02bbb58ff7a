//! Turns a sign-in failure into what is wrong and how to fix it, for `ppgov auth test` and
//! `ppgov doctor`. Keyed by the AADSTS code Entra returns.

use crate::source::AuthError;
use serde::Serialize;

/// A failure explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

fn d(problem: impl Into<String>, fix: impl Into<String>) -> Diagnosis {
    Diagnosis {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// The first GUID in a text (Entra names the app in several descriptions).
fn first_guid(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(35)).find_map(|i| {
        let cand = s.get(i..i + 36)?;
        let ok = cand.char_indices().all(|(j, c)| {
            if [8, 13, 18, 23].contains(&j) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
        ok.then_some(cand)
    })
}

/// Explains a sign-in failure.
pub fn diagnose(err: &AuthError) -> Diagnosis {
    match err {
        AuthError::Refused {
            aadsts: Some(code),
            description,
            error,
            ..
        } => {
            let app = first_guid(description).unwrap_or("<app-id>");
            match code {
                7000215 => d(
                    "the client secret is wrong (AADSTS7000215)",
                    "copy the secret's Value (not its Secret ID) from Certificates & secrets, or create a new secret and update auth.client_secret / AZURE_CLIENT_SECRET",
                ),
                7000222 => d(
                    "the client secret has expired (AADSTS7000222)",
                    "create a new client secret and update auth.client_secret",
                ),
                700027 | 700024 => d(
                    format!(
                        "the certificate assertion was rejected (AADSTS{code}): the certificate is unknown to the app, expired, or the assertion's time is off"
                    ),
                    "upload the current certificate (.cer) to the app registration's Certificates & secrets, renew it if it expired, and check this machine's clock",
                ),
                700016 => d(
                    "the application was not found in the tenant (AADSTS700016)",
                    "check auth.client_id (Application (client) ID) and tenant.id: the app must be registered in, or consented to, this tenant",
                ),
                65001 => d(
                    "the application lacks admin consent (AADSTS65001)",
                    format!(
                        "grant admin consent in the app's API permissions, or run `az ad app permission admin-consent --id {app}`"
                    ),
                ),
                50076 | 50079 => d(
                    format!(
                        "multi-factor authentication is required (AADSTS{code}); password sign-in cannot do MFA"
                    ),
                    "use auth.method = \"device_code\" for interactive sign-in, or a service principal (client_secret or certificate)",
                ),
                50105 => d(
                    "the user is not assigned to the application (AADSTS50105)",
                    "assign the user (or a group they are in) to the enterprise application, or turn off 'Assignment required'",
                ),
                53003 => d(
                    "Conditional Access blocked the sign-in (AADSTS53003)",
                    "ask the Entra admin to allow this sign-in (location, device, app) or exclude the account; check the sign-in logs for the policy",
                ),
                50126 => d(
                    "the user name or password is wrong (AADSTS50126)",
                    "check auth.username / auth.password (AZURE_USERNAME / AZURE_PASSWORD)",
                ),
                70011 => d(
                    "the requested scope is invalid (AADSTS70011)",
                    "request one resource's `/.default` scope; check the cloud preset and endpoint overrides",
                ),
                90002 | 900023 => d(
                    format!("the tenant was not found (AADSTS{code})"),
                    "check tenant.id (Directory (tenant) ID or a verified domain) and the cloud preset",
                ),
                7000218 => d(
                    "the app requires a client secret or certificate (AADSTS7000218)",
                    "use a service-principal method, or enable 'Allow public client flows' for password / device code sign-in",
                ),
                _ => d(
                    format!("Entra refused the sign-in: {error} (AADSTS{code})"),
                    format!(
                        "look up AADSTS{code} at https://login.microsoftonline.com/error?code={code}"
                    ),
                ),
            }
        }
        AuthError::Refused { error, .. } => d(
            format!("Entra refused the sign-in: {error}"),
            "check the credential and tenant in ppgov.toml",
        ),
        // A redirect is never followed (it would re-send the credential): say so, and where to.
        AuthError::Transport { url, message } if message.contains(" redirect") => d(
            format!("the token endpoint {url} {message}"),
            "point endpoints.login at the real Entra authority (no proxy or gateway that redirects)",
        ),
        AuthError::Transport { url, .. } => d(
            format!(
                "the token endpoint {url} could not be reached or answered something unreadable"
            ),
            "check network access and proxy settings, and endpoints.login / the cloud preset",
        ),
        AuthError::Credential(m) => d(
            format!("the configured credential cannot be used: {m}"),
            "fix the [auth] section of ppgov.toml",
        ),
        AuthError::DeviceCode(m) => d(
            format!("device code sign-in {m}"),
            "run the command again and complete the sign-in in the browser within the time shown",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: u64, desc: &str) -> AuthError {
        AuthError::Refused {
            error: "invalid_grant".into(),
            aadsts: Some(code),
            description: desc.into(),
            status: 400,
        }
    }

    #[test]
    fn maps_codes() {
        assert!(
            diagnose(&refused(7000215, ""))
                .fix
                .contains("not its Secret ID")
        );
        let c = diagnose(&refused(
            65001,
            "AADSTS65001: ... application with ID '7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a12' named 'x'",
        ));
        assert!(
            c.fix.contains(
                "az ad app permission admin-consent --id 7e1c0b6a-2f4d-4c59-9a3e-0d1f5b8c6a12"
            ),
            "{}",
            c.fix
        );
        assert!(diagnose(&refused(65001, "")).fix.contains("--id <app-id>"));
        for (code, word) in [
            (700027, "certificate"),
            (700024, "clock"),
            (700016, "client_id"),
            (50076, "device_code"),
            (50105, "assign"),
            (53003, "Conditional Access"),
            (50126, "password"),
            (70011, "scope"),
        ] {
            let dg = diagnose(&refused(code, ""));
            assert!(
                format!("{} {}", dg.problem, dg.fix).contains(word),
                "{code}: {dg:?}"
            );
        }
    }
}
