//! What relying parties send that the provider must read carefully (issue 10): scopes it
//! does not know (item 12).

use super::*;

const RP_SECRET: &str = "un secret de client de test assez long, 48 octets";
/// The PKCE verifier of [`CHALLENGE`] (RFC 7636, appendix B).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The authorization URL of `client` asking for `scope` (space-separated).
fn auth_url_with_scope(env: &Env, client: &str, scope: &str) -> String {
    env.auth_url(client, "").replace(
        "scope=openid%20scope_all",
        &format!("scope={}", urlencode(scope)),
    )
}

/// A whole e-CPS login from `url` (the phone approves): the redirect back to the client.
async fn login_at(env: &Env, b: &reqwest::Client, device: &str, url: &str) -> String {
    let r = b.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login = location(&r);
    assert!(
        login.starts_with(&format!("{}/login/", env.issuer())),
        "{login}"
    );
    let page = page_at(b, &login).await;
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let r = b
        .post(&login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier_type", "rpps"),
            ("identifier", env.idnat.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let page = page_at(b, location(&r)).await;
    phone_answers(env, device, &code_on(&page)).await;
    let r = b.get(format!("{login}/continue")).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r)
}

/// The `code` of a redirect back to the client.
fn code_of(back: &str) -> String {
    let url = url::Url::parse(back).unwrap();
    assert!(url.as_str().starts_with(REDIRECT), "{back}");
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("a code in {back}"))
}

/// The token response for a code of the confidential client "rp".
async fn redeem(env: &Env, code: &str) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("{}/protocol/openid-connect/token", env.issuer()))
        .basic_auth("rp", Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Issue 10 item 12: PSC is Keycloak, which ignores the scopes it does not know; relying
/// parties written for it may send some. They are dropped before the professional is asked
/// (never a 500 after the approval); `openid` is still required.
async fn psc_01_unknown_scope_is_dropped_before_the_login(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;
    let b = browser();
    let back = login_at(
        &env,
        &b,
        &device,
        &auth_url_with_scope(&env, "rp", "openid scope_all inconnu"),
    )
    .await;
    let tokens = redeem(&env, &code_of(&back)).await;
    assert_eq!(tokens["scope"], "openid scope_all");

    // The SSO answer too (the code is issued at the authorization endpoint).
    let r = b
        .get(auth_url_with_scope(&env, "rp", "openid admin rpps"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let tokens = redeem(&env, &code_of(&location(&r))).await;
    assert_eq!(tokens["scope"], "openid rpps");

    // Without openid, unknown scopes or not: invalid_scope, back to the client.
    for scope in ["inconnu", "profile inconnu"] {
        let r = b
            .get(auth_url_with_scope(&env, "rp", scope))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let to = location(&r);
        assert!(
            to.starts_with(&format!("{REDIRECT}?error=invalid_scope")),
            "{scope}: {to}"
        );
    }
    env.db.cleanup().await;
}

on_both_engines! {
    psc_01_unknown_scope_is_dropped_before_the_login => psc_01_unknown_scope_is_dropped_before_the_login;
}
