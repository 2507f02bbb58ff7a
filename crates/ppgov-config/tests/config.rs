#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Loading and validating `ppgov.toml` from every source.

use ppgov_config::{AssertionAlg, AuthMethod, Cloud, ConfigSources, Flags, Location, validate};
use std::collections::BTreeMap;
use std::path::PathBuf;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let p = dir.path().join("ppgov.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn base_env() -> BTreeMap<String, String> {
    env(&[("HOME", "/home/u")])
}

#[test]
fn minimal_file_loads_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        &format!(
            "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\nclient_secret = \"s3cr3t-value\"\n"
        ),
    );
    let c = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.auth.method, AuthMethod::ClientSecret);
    assert_eq!(c.auth.assertion_alg, AssertionAlg::Ps256);
    assert_eq!(c.cloud, Cloud::Public);
    assert_eq!(
        c.endpoints().login.as_str(),
        "https://login.microsoftonline.com/"
    );
    assert_eq!(
        c.store.path,
        PathBuf::from(format!("/home/u/.local/share/ppgov/{TENANT}"))
    );
    assert_eq!(c.posture, ppgov_config::PostureConfig::default());
    // Secrets never print.
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
    assert_eq!(
        c.auth.client_secret.as_ref().unwrap().expose(),
        "s3cr3t-value"
    );
}

#[test]
fn xdg_data_home_wins_over_home() {
    let e = env(&[
        ("HOME", "/home/u"),
        ("XDG_DATA_HOME", "/data"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", CLIENT),
    ]);
    let c = validate(&ConfigSources {
        env: e,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.store.path, PathBuf::from(format!("/data/ppgov/{TENANT}")));
    // Nothing but ids: interactive sign-in, with a token cache in the data directory.
    assert_eq!(c.auth.method, AuthMethod::DeviceCode);
    assert_eq!(
        c.auth.token_cache,
        Some(PathBuf::from(format!(
            "/data/ppgov/{TENANT}/token-cache.json"
        )))
    );
}

#[test]
fn layering_defaults_file_env_flags() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        &format!(
            "[tenant]\nid = \"file.onmicrosoft.com\"\nname = \"From file\"\n[auth]\nclient_id = \"{CLIENT}\"\nmethod = \"device_code\"\n[endpoints]\ncloud = \"gcc\"\n"
        ),
    );
    // PPGOV_CONFIG names the file; env beats file; flags beat env.
    let mut e = base_env();
    e.insert("PPGOV_CONFIG".into(), f.display().to_string());
    e.insert("AZURE_TENANT_ID".into(), "env.onmicrosoft.com".into());
    e.insert("PPGOV_CLOUD".into(), "gcchigh".into());
    let flags = Flags::default().set("endpoints.cloud", "dod");
    let c = validate(&ConfigSources {
        file: None,
        env: e.clone(),
        flags,
    })
    .unwrap();
    assert_eq!(c.tenant.id, "env.onmicrosoft.com");
    assert_eq!(c.tenant.name.as_deref(), Some("From file"));
    assert_eq!(c.cloud, Cloud::Dod);
    assert_eq!(c.auth.method, AuthMethod::DeviceCode);
    let c = validate(&ConfigSources {
        file: None,
        env: e,
        flags: Flags::default().set("tenant.id", TENANT),
    })
    .unwrap();
    assert_eq!(c.tenant.id, TENANT);
    assert_eq!(c.cloud, Cloud::Gcchigh);
    assert_eq!(
        c.endpoints().login.host_str(),
        Some("login.microsoftonline.us")
    );
}

#[test]
fn method_inference() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let cases: Vec<(Vec<(&str, &str)>, AuthMethod)> = vec![
        (vec![("AZURE_CLIENT_SECRET", "x")], AuthMethod::ClientSecret),
        (
            vec![("AZURE_CLIENT_CERTIFICATE_PATH", cert.to_str().unwrap())],
            AuthMethod::Certificate,
        ),
        (
            vec![("AZURE_USERNAME", "u@contoso.com"), ("AZURE_PASSWORD", "p")],
            AuthMethod::Password,
        ),
        (
            vec![("AZURE_USERNAME", "u@contoso.com")],
            AuthMethod::DeviceCode,
        ),
        (vec![], AuthMethod::DeviceCode),
    ];
    for (extra, want) in cases {
        let mut e = env(&[
            ("HOME", "/h"),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
        ]);
        e.extend(env(&extra));
        let c = validate(&ConfigSources {
            env: e,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.auth.method, want, "{extra:?}");
    }
}

#[test]
fn every_problem_is_reported_at_once_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"[tenant]
id = "not a tenant"
colour = "blue"

[auth]
method = "client_secret"
client_id = 42
clientsecret = "oops"
assertion_alg = "HS256"

[endpoints]
bap = "http://example.com"
graph = "not a url"
flow = "http://127.0.0.5:8080"

[posture.thresholds]
app_share_max_users = "twenty"

[[posture.suppressions]]
rule_id = "APP-1"
resource = "*"
justification = ""
expires = "31/12/2026"

[[posture.suppressions]]
rule_id = "PPG-APP-001"
resource = "x"
expires = 2026-12-31
"#;
    let f = write(&dir, text);
    let errs = validate(&ConfigSources {
        file: Some(f.clone()),
        env: base_env(),
        ..Default::default()
    })
    .unwrap_err();
    let out = errs.to_string();
    let at = |key: &str| {
        errs.errors()
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("no error for {key} in\n{out}"))
            .clone()
    };
    let pos = |key: &str| match at(key).location {
        Location::File { line, column, .. } => (line, column),
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(pos("tenant.colour"), (3, 1));
    assert_eq!(pos("tenant.id"), (2, 6));
    assert_eq!(pos("auth.client_id"), (7, 13));
    assert!(
        at("auth.client_id")
            .message
            .contains("expected a string, found integer"),
        "{out}"
    );
    assert_eq!(pos("auth.clientsecret"), (8, 1));
    assert!(
        at("auth.clientsecret")
            .fix
            .unwrap()
            .contains("client_secret")
    );
    assert_eq!(pos("auth.assertion_alg"), (9, 17));
    assert_eq!(pos("endpoints.bap"), (12, 7));
    assert!(at("endpoints.bap").message.contains("loopback"), "{out}");
    assert_eq!(
        at("endpoints.bap").fix.as_deref(),
        Some("use https://example.com")
    );
    assert_eq!(pos("endpoints.graph"), (13, 9));
    assert!(
        !errs.has_key("endpoints.flow"),
        "loopback http is fine:\n{out}"
    );
    assert_eq!(pos("posture.thresholds.app_share_max_users"), (17, 23));
    assert_eq!(pos("posture.suppressions[0].rule_id"), (20, 11));
    assert!(
        at("posture.suppressions[0].rule_id")
            .fix
            .unwrap()
            .contains("PPG-XXX-NNN")
    );
    assert_eq!(pos("posture.suppressions[0].justification"), (22, 17));
    assert_eq!(pos("posture.suppressions[0].expires"), (23, 11));
    assert!(
        errs.has_key("posture.suppressions[1].justification"),
        "{out}"
    );
    assert!(
        !errs.has_key("posture.suppressions[1].expires"),
        "a TOML date is fine:\n{out}"
    );
    // Missing secret for the chosen method: reported with where to set it.
    let secret = at("auth.client_secret");
    assert_eq!(secret.location, Location::Unset);
    assert!(secret.fix.unwrap().contains("AZURE_CLIENT_SECRET"));
    // One line per problem, `file:line:col: key: message`.
    let first = out.lines().find(|l| l.contains("tenant.colour")).unwrap();
    assert_eq!(
        first,
        format!(
            "{}:3:1: tenant.colour: unknown key (fix: remove it; known keys here: id, name)",
            f.display()
        )
    );
    assert_eq!(out.lines().count(), errs.errors().len());
    // In reading order.
    let lines: Vec<usize> = errs
        .errors()
        .iter()
        .filter_map(|e| match e.location {
            Location::File { line, .. } => Some(line),
            _ => None,
        })
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert_eq!(
        out.lines().next().unwrap(),
        format!(
            "{}:2:6: tenant.id: `not a tenant` is neither a tenant GUID nor a domain (fix: use the Directory (tenant) ID from the Entra overview page, or a domain like contoso.onmicrosoft.com)",
            f.display()
        )
    );
}

#[test]
fn environment_values_are_located_by_variable() {
    let e = env(&[
        ("HOME", "/h"),
        ("AZURE_TENANT_ID", "bad tenant"),
        ("AZURE_CLIENT_ID", "my-app"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", "/nonexistent/cert.pem"),
    ]);
    let errs = validate(&ConfigSources {
        env: e,
        ..Default::default()
    })
    .unwrap_err();
    let loc = |k: &str| {
        errs.errors()
            .iter()
            .find(|e| e.key == k)
            .unwrap()
            .location
            .clone()
    };
    assert_eq!(loc("tenant.id"), Location::Env("AZURE_TENANT_ID".into()));
    assert_eq!(
        loc("auth.client_id"),
        Location::Env("AZURE_CLIENT_ID".into())
    );
    assert_eq!(
        loc("auth.certificate_path"),
        Location::Env("AZURE_CLIENT_CERTIFICATE_PATH".into())
    );
    let s = errs.to_string();
    assert!(s.contains("environment variable AZURE_CLIENT_CERTIFICATE_PATH: auth.certificate_path: cannot read certificate file"), "{s}");
}

#[test]
fn missing_values_per_method() {
    let mut e = env(&[
        ("HOME", "/h"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", CLIENT),
    ]);
    let flags = Flags::default().set("auth.method", "password");
    let errs = validate(&ConfigSources {
        env: e.clone(),
        flags,
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        errs.has_key("auth.username") && errs.has_key("auth.password"),
        "{errs}"
    );
    let errs = validate(&ConfigSources {
        env: e.clone(),
        flags: Flags::default().set("auth.method", "certificate"),
        ..Default::default()
    })
    .unwrap_err();
    assert!(errs.has_key("auth.certificate_path"), "{errs}");
    let errs = validate(&ConfigSources {
        env: e.clone(),
        flags: Flags::default().set("auth.method", "magic"),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        errs.to_string()
            .contains("client_secret, certificate, password, device_code"),
        "{errs}"
    );
    e.remove("AZURE_TENANT_ID");
    e.remove("AZURE_CLIENT_ID");
    let errs = validate(&ConfigSources {
        env: e,
        flags: Flags::default().set("auth.clientid", "x"),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        errs.has_key("tenant.id")
            && errs.has_key("auth.client_id")
            && errs.has_key("auth.clientid"),
        "{errs}"
    );
    assert_eq!(
        errs.errors()
            .iter()
            .find(|e| e.key == "auth.clientid")
            .unwrap()
            .location,
        Location::Flag("auth.clientid".into())
    );
}

#[test]
fn endpoint_overrides_and_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.pem"), "x").unwrap();
    let f = write(
        &dir,
        &format!(
            "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\ncertificate_path = \"app.pem\"\nassertion_alg = \"RS256\"\n[endpoints]\nlogin = \"http://localhost:9000\"\nbap = \"http://[::1]:9\"\npowerplatform = \"http://127.0.0.5:8080\"\n[store]\npath = \"data\"\n"
        ),
    );
    let c = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.auth.method, AuthMethod::Certificate);
    assert_eq!(c.auth.assertion_alg, AssertionAlg::Rs256);
    assert_eq!(c.auth.certificate_path, Some(dir.path().join("app.pem")));
    assert_eq!(c.store.path, dir.path().join("data"));
    let ep = c.endpoints();
    assert_eq!(ep.login.as_str(), "http://localhost:9000/");
    assert_eq!(ep.bap.as_str(), "http://[::1]:9/");
    assert_eq!(ep.powerplatform.as_str(), "http://127.0.0.5:8080/");
    assert_eq!(ep.graph.as_str(), "https://graph.microsoft.com/");
}

#[test]
fn unreadable_file_and_syntax_errors() {
    let errs = validate(&ConfigSources {
        file: Some("/nonexistent/ppgov.toml".into()),
        env: base_env(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        errs.to_string()
            .starts_with("/nonexistent/ppgov.toml: file: cannot read the configuration file"),
        "{errs}"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "[tenant]\nid = \n");
    let errs = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        errs.errors()
            .iter()
            .any(|e| e.key == "syntax" && matches!(e.location, Location::File { line: 2, .. })),
        "{errs}"
    );
}

#[test]
fn posture_section_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        &format!(
            "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\n[posture]\nbreak_glass_admins = [\"bg@contoso.com\"]\n[posture.thresholds]\napp_share_max_users = 5\n[[posture.suppressions]]\nrule_id = \"PPG-APP-001\"\nresource = \"*\"\njustification = \"accepted by CISO\"\nexpires = 2026-12-31\n"
        ),
    );
    let c = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.posture.thresholds.app_share_max_users, 5);
    assert_eq!(c.posture.thresholds.app_inactive_days, 180);
    assert_eq!(
        c.posture.break_glass_admins,
        vec!["bg@contoso.com".to_string()]
    );
    assert_eq!(
        c.posture.suppressions[0].expires,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 31)
    );
}

#[test]
fn dataverse_domains_extend_the_clouds_and_bad_ones_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let head = format!(
        "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\nclient_secret = \"s\"\n[endpoints]\ncloud = \"gcchigh\"\n"
    );
    let f = write(
        &dir,
        &format!("{head}dataverse_domains = \"crm.contoso.example, .crm2.contoso.example\"\n"),
    );
    let c = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    let e = c.endpoints();
    assert_eq!(
        e.dataverse_domains,
        [
            "crm.microsoftdynamics.us",
            "crm.contoso.example",
            "crm2.contoso.example"
        ]
    );
    let ok = |u: &str| e.check_dataverse_url(&url::Url::parse(u).unwrap()).is_ok();
    assert!(ok("https://org.crm.microsoftdynamics.us/"));
    assert!(ok("https://org.crm2.contoso.example/"));
    assert!(!ok("https://org.crm.dynamics.com/"));

    let f = write(
        &dir,
        &format!("{head}dataverse_domains = \"crm.contoso.example, evil/x, com\"\n"),
    );
    let errs = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap_err();
    let text = errs.to_string();
    assert!(text.contains("`evil/x` is not a DNS suffix"), "{text}");
    assert!(text.contains("`com` is not a DNS suffix"), "{text}");
    assert!(text.contains(":8:"), "located at its line: {text}");
}

#[test]
fn schedules_are_cron_expressions_checked_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let head = format!(
        "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\nclient_secret = \"s\"\n"
    );
    let f = write(
        &dir,
        &format!("{head}[schedule]\ncrawl = \"15 */2 * * *\"\naudit = \"every hour\"\n"),
    );
    let errs = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap_err();
    let e = errs
        .0
        .iter()
        .find(|e| e.key == "schedule.audit")
        .expect("the bad expression is named");
    assert!(
        matches!(e.location, Location::File { line: 8, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("fields"), "{e}");
    let f = write(
        &dir,
        &format!("{head}[schedule]\ncrawl = \"15 */2 * * *\"\n"),
    );
    let c = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    let crawl = c.schedule.jobs.iter().find(|j| j.name == "crawl").unwrap();
    assert_eq!(crawl.expression, "15 */2 * * *");
    let audit = c.schedule.jobs.iter().find(|j| j.name == "audit").unwrap();
    assert_eq!(audit.expression, "*/15 * * * *", "defaults fill the rest");
}

#[test]
fn serve_settings_are_checked_with_their_line_and_default_sensibly() {
    let dir = tempfile::tempdir().unwrap();
    let head = format!(
        "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\nclient_secret = \"s\"\n"
    );
    let f = write(
        &dir,
        &format!(
            "{head}[serve]\nlisten = \"localhost\"\nworkers = 0\nlease_seconds = \"5\"\napi_tokens_env = \"MY TOKENS\"\n"
        ),
    );
    let errs = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    for key in [
        "serve.listen",
        "serve.workers",
        "serve.lease_seconds",
        "serve.api_tokens_env",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    let workers = errs.0.iter().find(|e| e.key == "serve.workers").unwrap();
    assert!(
        matches!(workers.location, Location::File { line: 8, .. }),
        "{workers:?}"
    );

    let f = write(&dir, &format!("{head}[serve]\nworkers = 4\n"));
    let c = validate(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(c.serve.workers, 4);
    assert_eq!(c.serve.listen, "127.0.0.1:8080", "loopback by default");
    assert_eq!(c.serve.lease_seconds, 300);
    assert_eq!(c.serve.api_tokens_env, "PPGOV_API_TOKENS");
}

#[test]
fn tenants_lay_each_entry_over_the_shared_file_and_name_the_entry_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[auth]\nmethod = \"client_secret\"\nclient_secret = \"shared\"\n\n[schedule]\ncrawl = \"0 */6 * * *\"\n\n[[tenants]]\nid = \"contoso.onmicrosoft.com\"\nname = \"Contoso\"\nstore = \"stores/contoso\"\nauth = { client_id = \"11111111-2222-3333-4444-555555555555\" }\n\n[[tenants]]\nid = \"fabrikam.onmicrosoft.com\"\nauth = { client_id = \"66666666-7777-8888-9999-000000000000\", client_secret = \"own\" }\nendpoints = { bap = \"https://bap.example.test\" }\n";
    let f = write(&dir, text);
    let home = BTreeMap::from([("HOME".to_string(), dir.path().display().to_string())]);
    let sources = ConfigSources {
        file: Some(f.clone()),
        env: home.clone(),
        ..Default::default()
    };
    let list = ppgov_config::tenants(&sources).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].tenant.id, "contoso.onmicrosoft.com");
    assert_eq!(list[0].tenant.name.as_deref(), Some("Contoso"));
    assert_eq!(
        list[0].store.path,
        f.parent().unwrap().join("stores/contoso"),
        "relative to the file"
    );
    assert_eq!(
        list[1].auth.client_id,
        "66666666-7777-8888-9999-000000000000"
    );
    assert_ne!(list[0].store.path, list[1].store.path, "a store per tenant");
    assert_eq!(
        list[1].endpoints().bap.as_str(),
        "https://bap.example.test/"
    );
    assert_ne!(
        list[0].endpoints().bap.as_str(),
        "https://bap.example.test/"
    );
    for c in &list {
        let crawl = c.schedule.jobs.iter().find(|j| j.name == "crawl").unwrap();
        assert_eq!(
            crawl.expression, "0 */6 * * *",
            "shared sections apply to all"
        );
    }

    // The second entry without a client id, and a tenant listed twice.
    let bad = text
        .replace(
            "auth = { client_id = \"66666666-7777-8888-9999-000000000000\", client_secret = \"own\" }\n",
            "",
        )
        + "\n[[tenants]]\nid = \"CONTOSO.onmicrosoft.com\"\nauth = { client_id = \"11111111-2222-3333-4444-555555555555\" }\n";
    let f = write(&dir, &bad);
    let errs = ppgov_config::tenants(&ConfigSources {
        file: Some(f),
        env: home,
        ..Default::default()
    })
    .unwrap_err();
    let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
    assert!(keys.contains(&"tenants[1].auth.client_id"), "{keys:?}");
    assert!(keys.contains(&"tenants[2].id"), "{keys:?}");

    // Without [[tenants]], the one [tenant].
    let f = write(
        &dir,
        &format!(
            "[tenant]\nid = \"{TENANT}\"\n[auth]\nclient_id = \"{CLIENT}\"\nclient_secret = \"s\"\n"
        ),
    );
    let one = ppgov_config::tenants(&ConfigSources {
        file: Some(f),
        env: base_env(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(one.len(), 1);
}
