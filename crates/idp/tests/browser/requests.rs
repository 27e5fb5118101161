//! What relying parties send that the provider must read carefully (issue 10): scopes it
//! does not know (item 12) and an `id_token_hint` that names someone else's session at the
//! end-session endpoint (item 8).

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

/// An ID token of `client` for `idnat` in the session `sid`, as another login gave it.
async fn id_token_of(env: &Env, idnat: &str, sid: &str) -> String {
    let code = env
        .idp
        .issue_code(
            &caducee_idp::CodeRequest {
                client_id: "rp".into(),
                redirect_uri: REDIRECT.into(),
                scope: "openid scope_all".into(),
                nonce: None,
                code_challenge: Some(CHALLENGE.into()),
            },
            &caducee_idp::Authentication {
                idnat: idnat.into(),
                auth_time: {
                    use caducee_core::clock::Clock;
                    env.clock.unix()
                },
                acr: "eidas1".into(),
                amr: vec!["mfa".into()],
                auth_mode: "MOBILE".into(),
                session_id: Some(sid.into()),
            },
        )
        .await
        .unwrap();
    redeem(env, &code).await["id_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether the browser still has its SSO session (a silent authorization gets a code).
async fn still_logged_in(env: &Env, b: &reqwest::Client) -> bool {
    let r = b
        .get(env.auth_url("rp", "&prompt=none"))
        .send()
        .await
        .unwrap();
    let to = location(&r);
    assert!(to.starts_with(REDIRECT), "{to}");
    !to.contains("error=login_required")
}

/// Issue 10 item 8: any valid ID token (another professional's, another session's) used to
/// end the browser's session at once. Now only a hint naming this browser's own session
/// does; any other asks the professional (the CSRF-protected form), and the session it
/// names is not ended by this browser.
async fn sec_08_foreign_id_token_hint_asks_confirmation(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;
    let b = browser();
    let back = login_at(&env, &b, &device, &env.auth_url("rp", "")).await;
    let own = redeem(&env, &code_of(&back)).await;
    let own_hint = own["id_token"].as_str().unwrap().to_string();

    let other_person = id_token_of(&env, "819999900020", "sid-d-un-autre").await;
    let other_session = id_token_of(&env, env.idnat.as_str(), "sid-d-un-autre-poste").await;
    let logout = |hint: &str| {
        format!(
            "{}/protocol/openid-connect/logout?id_token_hint={}&post_logout_redirect_uri={}&state=s8",
            env.issuer(),
            urlencode(hint),
            urlencode(LOGOUT_TARGET)
        )
    };
    for (what, hint) in [
        ("another professional's", &other_person),
        ("another session's", &other_session),
    ] {
        let r = b.get(logout(hint)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{what} ID token: no redirect");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Voulez-vous vous déconnecter"),
            "{what}: {page}"
        );
        assert!(still_logged_in(&env, &b).await, "{what}: session kept");
    }

    // Confirmed, the form ends this browser's session and goes back to the client (whose
    // hint named it); the session of the foreign hint is not this browser's to end.
    let page = page_at(&b, logout(&other_person)).await;
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf)];
    for name in ["confirm", "client_id", "post_logout_redirect_uri", "state"] {
        form.push((
            name.into(),
            html_value(&page, &format!("name=\"{name}\" value=\"")),
        ));
    }
    let r = b
        .post(format!("{}/protocol/openid-connect/logout", env.issuer()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("{LOGOUT_TARGET}?state=s8"));
    assert!(!still_logged_in(&env, &b).await);
    let refresh_of_other = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM idp_refresh WHERE session_id = 'sid-d-un-autre' AND revoked_at IS NULL",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(
        refresh_of_other, 1,
        "the other professional's session goes on"
    );

    // The hint of this browser's own session ends it at once, as before.
    let back = login_at(&env, &b, &device, &env.auth_url("rp", "&prompt=login")).await;
    let own = redeem(&env, &code_of(&back)).await;
    assert_ne!(own["id_token"].as_str().unwrap(), own_hint);
    let r = b
        .get(logout(own["id_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("{LOGOUT_TARGET}?state=s8"));
    assert!(!still_logged_in(&env, &b).await);

    // … and so does it when the session went idle (its cookie still proves it is this
    // browser's): the session ends, its refresh tokens with it.
    let back = login_at(&env, &b, &device, &env.auth_url("rp", "&prompt=login")).await;
    let own = redeem(&env, &code_of(&back)).await;
    env.clock
        .advance(Duration::seconds(env.idp.config().session_idle_secs + 1));
    let r = b
        .get(logout(own["id_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("{LOGOUT_TARGET}?state=s8"));
    let live_refresh = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM idp_refresh WHERE revoked_at IS NULL AND session_id IN
           (SELECT id FROM idp_session WHERE ended_at IS NULL)",
    )
    .fetch_one(env.db.store.pool())
    .await
    .unwrap();
    assert_eq!(
        live_refresh, 0,
        "the idle session's refresh tokens are revoked"
    );
    env.db.cleanup().await;
}

on_both_engines! {
    psc_01_unknown_scope_is_dropped_before_the_login => psc_01_unknown_scope_is_dropped_before_the_login;
    sec_08_foreign_id_token_hint_asks_confirmation => sec_08_foreign_id_token_hint_asks_confirmation;
}
