//! OpenID Connect sign-in as Entra serves it: discovery, keys, the sign-in form, the code grant
//! with PKCE, and an RS256 ID token that verifies against the published key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ppgov_emulator::scenario::wellknown as wk;
use ppgov_emulator::server::{Emulator, ServeOptions};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn start() -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(listener, ServeOptions::default())
        .await
        .unwrap()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier-for-tests";
const REDIRECT: &str = "http://127.0.0.1:48123/auth/callback";

fn challenge() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER))
}

fn authorize_form(login: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", wk::CONSOLE_CLIENT_ID.to_string()),
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid profile".into()),
        ("state", "st-123".into()),
        ("nonce", "n-456".into()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".into()),
        ("login", login.into()),
        ("passwd", password.into()),
    ]
}

/// Signs in through the form and returns the redirect's query pairs.
async fn sign_in(
    emu: &Emulator,
    login: &str,
    password: &str,
) -> (StatusCode, Vec<(String, String)>) {
    let r = emu.ready();
    let resp = client()
        .post(format!("{}/{}/oauth2/v2.0/authorize", r.url, r.tenant_id))
        .form(&authorize_form(login, password))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let pairs = resp
        .headers()
        .get("location")
        .map(|l| {
            let u = url::Url::parse(l.to_str().unwrap()).unwrap();
            assert!(u.as_str().starts_with(REDIRECT), "{u}");
            u.query_pairs().into_owned().collect()
        })
        .unwrap_or_default();
    (status, pairs)
}

async fn redeem(emu: &Emulator, code: &str, verifier: &str) -> (StatusCode, Value) {
    let r = emu.ready();
    let resp = client()
        .post(format!("{}/{}/oauth2/v2.0/token", r.url, r.tenant_id))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", wk::CONSOLE_CLIENT_ID),
            ("client_secret", wk::CONSOLE_CLIENT_SECRET),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn authorization_code_with_pkce_gives_an_id_token_that_verifies_against_the_published_keys() {
    let emu = start().await;
    let r = emu.ready().clone();
    let c = client();
    let conf: Value = c
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            r.url, r.tenant_id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = conf["issuer"].as_str().unwrap().to_string();
    assert_eq!(issuer, format!("{}/{}/v2.0", r.url, r.tenant_id));
    let jwks: Value = c
        .get(conf["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["kid"], key["x5t"]);

    // The sign-in page is a form; the redirect URI's port is free (loopback).
    let page = c
        .get(conf["authorization_endpoint"].as_str().unwrap())
        .query(&authorize_form("", "")[..8])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("name=\"passwd\""));

    let maker = format!("console.maker@{}", r.username.split('@').nth(1).unwrap());
    let (s, pairs) = sign_in(&emu, &maker, "wrong").await;
    assert_eq!(s, StatusCode::OK, "a wrong password shows the form again");
    assert!(pairs.is_empty());
    let (s, pairs) = sign_in(&emu, &maker, wk::ADMIN_PASSWORD).await;
    assert_eq!(s, StatusCode::FOUND);
    assert_eq!(get(&pairs, "state"), Some("st-123"));
    let code = get(&pairs, "code").unwrap().to_string();

    // A wrong verifier fails and burns the code, as a code is single-use.
    let (s, body) = redeem(&emu, &code, "not-the-verifier").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body["error_codes"].to_string().contains("501481"), "{body}");
    let (_, body) = redeem(&emu, &code, VERIFIER).await;
    assert!(body["error_codes"].to_string().contains("54005"), "{body}");

    let (_, pairs) = sign_in(&emu, &maker, wk::ADMIN_PASSWORD).await;
    let code = get(&pairs, "code").unwrap().to_string();
    let (s, body) = redeem(&emu, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let dk =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[wk::CONSOLE_CLIENT_ID]);
    v.set_issuer(&[issuer.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &dk, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["preferred_username"], maker.as_str());
    assert_eq!(claims["roles"], serde_json::json!(["ppgov.Maker"]));
    assert_eq!(claims["tid"], r.tenant_id.as_str());
    // A second redemption of a good code is refused too.
    let (s, body) = redeem(&emu, &code, VERIFIER).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body["error_codes"].to_string().contains("54005"), "{body}");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_shown_on_a_page_never_redirected() {
    let emu = start().await;
    let r = emu.ready().clone();
    let mut form = authorize_form("", "");
    form[2].1 = "https://evil.example/auth/callback".into();
    let resp = client()
        .get(format!("{}/{}/oauth2/v2.0/authorize", r.url, r.tenant_id))
        .query(&form[..8])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().await.unwrap().contains("AADSTS50011"));
}
