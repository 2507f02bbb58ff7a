#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every sign-in method over real HTTP against the emulator's Entra endpoints.

use ppgov_auth::{
    AuthError, ClientCertificate, Credential, DeviceCodePrompt, EntraTokenSource, SourceOptions,
    TokenSource, describe, diagnose,
};
use ppgov_config::AssertionAlg;
use ppgov_core::Secret;
use ppgov_emulator::scenario::wellknown;
use ppgov_emulator::server::{Emulator, ServeOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

const PA: &str = "https://service.powerapps.com/.default";
const FLOW: &str = "https://service.flow.microsoft.com/.default";

async fn emulator() -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap()
}

fn source(emu: &Emulator, cred: Credential, opts: SourceOptions) -> EntraTokenSource {
    let r = emu.ready();
    EntraTokenSource::new(cred, &r.tenant_id, &Url::parse(&r.url).unwrap(), opts)
}

fn secret_cred(emu: &Emulator, secret: &str) -> Credential {
    Credential::ClientSecret {
        client_id: emu.ready().client_id.clone(),
        secret: Secret::new(secret.to_string()),
    }
}

fn refused_code(e: &AuthError) -> Option<u64> {
    match e {
        AuthError::Refused { aadsts, .. } => *aadsts,
        _ => None,
    }
}

#[tokio::test]
async fn client_secret_token_is_cached_per_scope() {
    let emu = emulator().await;
    let src = source(
        &emu,
        secret_cred(&emu, &emu.ready().client_secret),
        SourceOptions::default(),
    );
    let a = src.token(PA).await.unwrap();
    let b = src.token(PA).await.unwrap();
    assert_eq!(a.token.expose(), b.token.expose());
    assert_eq!(
        src.requests_made(),
        1,
        "second call must come from the cache"
    );
    let f = src.token(FLOW).await.unwrap();
    assert_ne!(a.token.expose(), f.token.expose());
    assert_eq!(src.requests_made(), 2);
    let info = describe(&a);
    assert_eq!(info.tenant.as_deref(), Some(emu.ready().tenant_id.as_str()));
    assert_eq!(info.app.as_deref(), Some(wellknown::ADMIN_CLIENT_ID));
    assert_eq!(
        info.audience.as_deref(),
        Some("https://service.powerapps.com")
    );
    assert!(info.user.is_none());
    assert!(!format!("{info:?}").contains(a.token.expose().as_str()));
    // invalidate (after a 401) forces a new request.
    src.invalidate(PA);
    src.token(PA).await.unwrap();
    assert_eq!(src.requests_made(), 3);
}

#[tokio::test]
async fn concurrent_callers_share_one_request() {
    let emu = emulator().await;
    let src = source(
        &emu,
        secret_cred(&emu, &emu.ready().client_secret),
        SourceOptions::default(),
    );
    let calls = (0..8).map(|_| {
        let s = src.clone();
        tokio::spawn(async move { s.token(PA).await.map(|t| t.token.expose().clone()) })
    });
    let tokens: Vec<String> = futures_join(calls).await;
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(src.requests_made(), 1);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, AuthError>>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn bad_secret_is_refused_with_7000215_and_no_secret_in_errors() {
    let emu = emulator().await;
    let src = source(
        &emu,
        secret_cred(&emu, "wrong-secret-value-xyz"),
        SourceOptions::default(),
    );
    let err = src.token(PA).await.unwrap_err();
    assert_eq!(refused_code(&err), Some(7000215), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wrong-secret-value-xyz"), "{text}");
    assert!(
        !text.contains("Trace ID"),
        "only the first description line: {text}"
    );
    let dg = diagnose(&err);
    assert!(dg.fix.contains("not its Secret ID"), "{dg:?}");
}

#[tokio::test]
async fn refreshes_before_expiry() {
    let emu = emulator().await;
    // Tokens live 60 s; the default 5-minute margin makes every cached token due for renewal.
    emu.set_token_lifetime(60);
    let src = source(
        &emu,
        secret_cred(&emu, &emu.ready().client_secret),
        SourceOptions::default(),
    );
    src.token(PA).await.unwrap();
    src.token(PA).await.unwrap();
    assert_eq!(src.requests_made(), 2);
    // With a 10 s margin the 60 s token is reused.
    let src = source(
        &emu,
        secret_cred(&emu, &emu.ready().client_secret),
        SourceOptions {
            refresh_margin: Duration::from_secs(10),
            ..Default::default()
        },
    );
    src.token(PA).await.unwrap();
    src.token(PA).await.unwrap();
    assert_eq!(src.requests_made(), 1);
}

// ---- certificates ----

struct TestCert {
    der: Vec<u8>,
    cert_pem: String,
    key_pem: String,
    key_pkcs8: Vec<u8>,
}

fn rsa_cert(expired: bool) -> TestCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["ppgov-test".to_string()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    TestCert {
        der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        key_pkcs8: key.serialize_der(),
    }
}

fn write_pem(dir: &tempfile::TempDir, c: &TestCert) -> std::path::PathBuf {
    let p = dir.path().join("app.pem");
    std::fs::write(&p, format!("{}{}", c.cert_pem, c.key_pem)).unwrap();
    p
}

#[tokio::test]
async fn certificate_assertion_ps256_and_rs256() {
    let emu = emulator().await;
    let c = rsa_cert(false);
    emu.register_certificate(wellknown::ADMIN_CLIENT_ID, &c.der)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = Arc::new(ClientCertificate::load(&write_pem(&dir, &c), None).unwrap());
    assert_eq!(cert.der(), c.der.as_slice());
    assert!(!format!("{cert:?}").contains("PRIVATE"));
    for alg in [AssertionAlg::Ps256, AssertionAlg::Rs256] {
        let cred = Credential::Certificate {
            client_id: wellknown::ADMIN_CLIENT_ID.into(),
            certificate: cert.clone(),
            alg,
        };
        let t = source(&emu, cred, SourceOptions::default())
            .token(PA)
            .await
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(
            describe(&t).app.as_deref(),
            Some(wellknown::ADMIN_CLIENT_ID)
        );
    }
    // A certificate the app does not know is refused.
    let other = rsa_cert(false);
    let cert = Arc::new(
        ClientCertificate::from_pem(format!("{}{}", other.cert_pem, other.key_pem).as_bytes())
            .unwrap(),
    );
    let cred = Credential::Certificate {
        client_id: wellknown::ADMIN_CLIENT_ID.into(),
        certificate: cert,
        alg: AssertionAlg::Ps256,
    };
    let err = source(&emu, cred, SourceOptions::default())
        .token(PA)
        .await
        .unwrap_err();
    assert_eq!(refused_code(&err), Some(700027), "{err}");
}

#[tokio::test]
async fn expired_certificate_is_700027() {
    let emu = emulator().await;
    let c = rsa_cert(true);
    emu.register_certificate(wellknown::ADMIN_CLIENT_ID, &c.der)
        .unwrap();
    let cert = Arc::new(
        ClientCertificate::from_pem(format!("{}{}", c.cert_pem, c.key_pem).as_bytes()).unwrap(),
    );
    assert!(cert.not_after().unwrap() < chrono::Utc::now());
    let cred = Credential::Certificate {
        client_id: wellknown::ADMIN_CLIENT_ID.into(),
        certificate: cert,
        alg: AssertionAlg::Ps256,
    };
    let err = source(&emu, cred, SourceOptions::default())
        .token(PA)
        .await
        .unwrap_err();
    assert_eq!(refused_code(&err), Some(700027), "{err}");
    assert!(
        diagnose(&err)
            .fix
            .contains("upload the current certificate")
    );
}

#[tokio::test]
async fn pfx_certificate_loads_and_signs() {
    let emu = emulator().await;
    let c = rsa_cert(false);
    emu.register_certificate(wellknown::ADMIN_CLIENT_ID, &c.der)
        .unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(
        vec![1u8; 20],
        p12_keystore::PrivateKey::from_der(&c.key_pkcs8).unwrap(),
        [p12_keystore::Certificate::from_der(&c.der).unwrap()],
    );
    let mut ks = p12_keystore::KeyStore::new();
    ks.add_entry("app", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    let pfx = ks.writer("pfx-pass").write().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.pfx");
    std::fs::write(&path, pfx).unwrap();
    let wrong = ClientCertificate::load(&path, Some("nope")).unwrap_err();
    assert!(
        matches!(wrong, AuthError::Credential(ref m) if m.contains("certificate_password")),
        "{wrong}"
    );
    let cert = Arc::new(ClientCertificate::load(&path, Some("pfx-pass")).unwrap());
    assert_eq!(cert.der(), c.der.as_slice());
    let cred = Credential::Certificate {
        client_id: wellknown::ADMIN_CLIENT_ID.into(),
        certificate: cert,
        alg: AssertionAlg::Rs256,
    };
    source(&emu, cred, SourceOptions::default())
        .token(PA)
        .await
        .unwrap();
}

// ---- user sign-in ----

fn password_cred(user: &str, password: &str) -> Credential {
    Credential::Password {
        client_id: wellknown::PUBLIC_CLIENT_ID.into(),
        username: user.into(),
        password: Secret::new(password.into()),
    }
}

#[tokio::test]
async fn password_sign_in_and_refresh_token() {
    let emu = emulator().await;
    let r = emu.ready().clone();
    emu.set_token_lifetime(60);
    let src = source(
        &emu,
        password_cred(&r.username, &r.password),
        SourceOptions::default(),
    );
    let t = src.token(PA).await.unwrap();
    let info = describe(&t);
    assert_eq!(info.user.as_deref(), Some(r.username.as_str()));
    assert!(!info.scopes.is_empty());
    // Inside the margin: renewed with the refresh token, for this scope and another. Changing
    // the password proves it: a second ROPC would now fail.
    {
        let mut tenant = emu.state().tenant_mut();
        let user = tenant
            .directory
            .users
            .iter_mut()
            .find(|u| u.upn.eq_ignore_ascii_case(&r.username))
            .unwrap();
        user.password = Some("changed-after-sign-in".into());
    }
    src.token(PA).await.unwrap();
    src.token(FLOW).await.unwrap();
    assert_eq!(src.requests_made(), 3);
}

#[tokio::test]
async fn password_failures_are_diagnosed() {
    let emu = emulator().await;
    let r = emu.ready().clone();
    let domain = r.username.split('@').nth(1).unwrap().to_string();
    let err = source(
        &emu,
        password_cred(&r.username, "wrong-pass-123"),
        SourceOptions::default(),
    )
    .token(PA)
    .await
    .unwrap_err();
    assert_eq!(refused_code(&err), Some(50126));
    assert!(!format!("{err:?}").contains("wrong-pass-123"));
    let mfa = format!("{}@{domain}", wellknown::MFA_USER);
    let err = source(
        &emu,
        password_cred(&mfa, &r.password),
        SourceOptions::default(),
    )
    .token(PA)
    .await
    .unwrap_err();
    assert_eq!(refused_code(&err), Some(50076), "{err}");
    assert!(diagnose(&err).fix.contains("device_code"));
    let cred = Credential::Password {
        client_id: wellknown::NO_CONSENT_CLIENT_ID.into(),
        username: r.username.clone(),
        password: Secret::new(r.password.clone()),
    };
    let err = source(&emu, cred, SourceOptions::default())
        .token(PA)
        .await
        .unwrap_err();
    assert_eq!(refused_code(&err), Some(65001), "{err}");
    assert!(diagnose(&err).fix.contains(&format!(
        "az ad app permission admin-consent --id {}",
        wellknown::NO_CONSENT_CLIENT_ID
    )));
}

type Prompts = Arc<Mutex<Vec<DeviceCodePrompt>>>;
type Sleeps = Arc<Mutex<Vec<Duration>>>;

fn device_opts(prompts: &Prompts, sleeps: &Sleeps) -> SourceOptions {
    let p = prompts.clone();
    let s = sleeps.clone();
    SourceOptions {
        on_device_code: Arc::new(move |d: &DeviceCodePrompt| p.lock().unwrap().push(d.clone())),
        sleep: Arc::new(move |d| {
            s.lock().unwrap().push(d);
            Box::pin(tokio::time::sleep(d))
        }),
        slow_down_step: Duration::from_millis(500),
        ..Default::default()
    }
}

fn device_cred() -> Credential {
    Credential::DeviceCode {
        client_id: wellknown::PUBLIC_CLIENT_ID.into(),
    }
}

#[tokio::test]
async fn device_code_pending_then_success_and_disk_cache() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("sub").join("tokens.json");
    let (prompts, sleeps) = (Prompts::default(), Sleeps::default());
    let opts = SourceOptions {
        cache_file: Some(cache.clone()),
        ..device_opts(&prompts, &sleeps)
    };
    let src = source(&emu, device_cred(), opts.clone());
    let t = src.token(PA).await.unwrap();
    assert_eq!(
        describe(&t).user.as_deref(),
        Some(emu.ready().username.as_str())
    );
    let shown = prompts.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert!(shown[0].message.contains(&shown[0].user_code), "{shown:?}");
    // Pending twice, approved on the third poll, each after the announced 1 s interval.
    assert_eq!(*sleeps.lock().unwrap(), vec![Duration::from_secs(1); 3]);

    // The refresh token is on disk, owner-only, and a new process signs in without a prompt.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let text = std::fs::read_to_string(&cache).unwrap();
    assert!(text.contains(&emu.ready().tenant_id.to_ascii_lowercase()));
    assert!(
        !text.contains(t.token.expose().as_str()),
        "access tokens are not cached on disk"
    );
    let again = source(&emu, device_cred(), opts.clone());
    let t2 = again.token(FLOW).await.unwrap();
    assert_eq!(
        describe(&t2).audience.as_deref(),
        Some("https://service.flow.microsoft.com")
    );
    assert_eq!(prompts.lock().unwrap().len(), 1, "no second prompt");
    again.sign_out().await.unwrap();
    assert!(
        !std::fs::read_to_string(&cache)
            .unwrap()
            .contains("refresh_token")
    );
}

#[tokio::test]
async fn device_code_slow_down_widens_the_interval() {
    let emu = emulator().await;
    *emu.state().device_poll_min_gap.write().unwrap() = Duration::from_millis(1200);
    let (prompts, sleeps) = (Prompts::default(), Sleeps::default());
    let src = source(&emu, device_cred(), device_opts(&prompts, &sleeps));
    src.token(PA).await.unwrap();
    let s = sleeps.lock().unwrap().clone();
    assert_eq!(s[0], Duration::from_secs(1));
    assert!(
        s[1..].iter().all(|d| *d == Duration::from_millis(1500)),
        "{s:?}"
    );
    assert_eq!(
        s.len(),
        4,
        "slow_down, then pending twice, then success: {s:?}"
    );
}

#[tokio::test]
async fn device_code_expiry_and_decline() {
    let emu = emulator().await;
    emu.state()
        .device_code_lifetime_secs
        .store(2, std::sync::atomic::Ordering::Relaxed);
    let (prompts, sleeps) = (Prompts::default(), Sleeps::default());
    let err = source(&emu, device_cred(), device_opts(&prompts, &sleeps))
        .token(PA)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::DeviceCode(ref m) if m.contains("expired")),
        "{err}"
    );
    emu.state()
        .device_code_lifetime_secs
        .store(900, std::sync::atomic::Ordering::Relaxed);
    let opts = SourceOptions {
        login_hint: Some("decline@emulator".into()),
        ..device_opts(&prompts, &sleeps)
    };
    let err = source(&emu, device_cred(), opts)
        .token(PA)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthError::DeviceCode(ref m) if m.contains("declined")),
        "{err}"
    );
    assert!(diagnose(&err).fix.contains("run the command again"));
}

#[tokio::test]
async fn from_config_end_to_end() {
    let emu = emulator().await;
    let r = emu.ready().clone();
    let flags = ppgov_config::Flags::default()
        .set("tenant.id", r.tenant_id.clone())
        .set("auth.client_id", r.client_id.clone())
        .set("auth.client_secret", r.client_secret.clone())
        .set("endpoints.login", r.url.clone());
    let env = [("HOME".to_string(), "/tmp".to_string())]
        .into_iter()
        .collect();
    let cfg = ppgov_config::validate(&ppgov_config::ConfigSources {
        file: None,
        env,
        flags,
    })
    .unwrap();
    let src = EntraTokenSource::from_config(&cfg, SourceOptions::default()).unwrap();
    assert_eq!(
        src.token_url(),
        format!("{}/{}/oauth2/v2.0/token", r.url, r.tenant_id)
    );
    let t = src.token(&cfg.endpoints().scopes.powerapps).await.unwrap();
    assert_eq!(describe(&t).tenant.as_deref(), Some(r.tenant_id.as_str()));
}

/// A token endpoint that answers every request `307` to `target`; counts what each side got.
struct Redirector {
    url: Url,
    redirected: Arc<std::sync::atomic::AtomicUsize>,
    followed: Arc<std::sync::atomic::AtomicUsize>,
}

async fn redirector(status: u16) -> Redirector {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn serve(l: tokio::net::TcpListener, n: Arc<AtomicUsize>, answer: String) {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            n.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    }
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://{}/steal", target.local_addr().unwrap());
    let followed = Arc::new(AtomicUsize::new(0));
    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_string();
    tokio::spawn(serve(target, followed.clone(), ok));
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", front.local_addr().unwrap())).unwrap();
    let redirected = Arc::new(AtomicUsize::new(0));
    let answer = format!(
        "HTTP/1.1 {status} Redirect\r\nlocation: {target_url}?x=1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    tokio::spawn(serve(front, redirected.clone(), answer));
    Redirector {
        url,
        redirected,
        followed,
    }
}

#[tokio::test]
async fn token_requests_never_follow_a_redirect() {
    use std::sync::atomic::Ordering;
    for status in [307, 308, 302] {
        let r = redirector(status).await;
        let creds = [
            Credential::ClientSecret {
                client_id: "c".into(),
                secret: Secret::new("the-secret".into()),
            },
            Credential::Password {
                client_id: "c".into(),
                username: "u@x".into(),
                password: Secret::new("the-password".into()),
            },
            device_cred(),
        ];
        for (i, cred) in creds.into_iter().enumerate() {
            let src = EntraTokenSource::new(cred, "t", &r.url, SourceOptions::default());
            let err = src.token(PA).await.unwrap_err().to_string();
            assert!(
                err.contains(&format!("HTTP {status} redirect")) && err.contains("/steal"),
                "{err}"
            );
            assert!(
                !err.contains("x=1"),
                "the redirect's query is not echoed: {err}"
            );
            assert!(!err.contains("the-secret") && !err.contains("the-password"));
            assert_eq!(
                r.redirected.load(Ordering::SeqCst),
                i + 1,
                "one request each"
            );
        }
        assert_eq!(
            r.followed.load(Ordering::SeqCst),
            0,
            "the redirect target never got a request"
        );
    }
}
