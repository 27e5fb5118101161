//! The login pages as an attacker uses them (issue 10): strangers spending a professional's
//! budget (item 5), a planted browser binding (item 9), flows and state-revealing answers
//! by the thousand from one address (items 16, 17), cookies over https (item 16).

use super::*;
use caducee_core::ids::Rpps;

/// A browser at `ip` (as the per-source limits see it), with its own cookie jar.
fn browser_at(ip: &str) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-test-source", ip.parse().unwrap());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .default_headers(headers)
        .redirect(Policy::none())
        .build()
        .unwrap();
    (client, jar)
}

/// A new login flow of `b` (a fresh login, whatever its session): the login page's URL.
async fn new_flow(env: &Env, b: &reqwest::Client) -> String {
    let r = b
        .get(env.auth_url("rp", "&prompt=login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r)
}

/// Types `identifier` on the login page at `login`.
async fn submit(b: &reqwest::Client, login: &str, identifier: &str) -> reqwest::Response {
    let page = page_at(b, login).await;
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    b.post(login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier_type", "rpps"),
            ("identifier", identifier),
        ])
        .send()
        .await
        .unwrap()
}

/// "Quitter l'authentification" on the waiting page of `login`.
async fn cancel(b: &reqwest::Client, login: &str) {
    let page = page_at(b, format!("{login}/ecps")).await;
    let csrf = html_value(&page, "name=\"csrf\" value=\"");
    let r = b
        .post(format!("{login}/cancel"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(location(&r).contains("error=access_denied"));
}

/// A full login of `b`, the phone approving: ends back at the client with a code.
async fn full_login(env: &Env, b: &reqwest::Client, device: &str) {
    let login = new_flow(env, b).await;
    let r = submit(b, &login, env.idnat.as_str()).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let code = code_on(&page_at(b, format!("{login}/ecps")).await);
    phone_answers(env, device, &code).await;
    let r = b.get(format!("{login}/continue")).send().await.unwrap();
    assert!(
        location(&r).starts_with(&format!("{REDIRECT}?code=")),
        "{}",
        location(&r)
    );
}

/// The value of the browser-binding cookie in `jar`.
fn binding_in(env: &Env, jar: &reqwest::cookie::Jar) -> Option<String> {
    use reqwest::cookie::CookieStore;
    let url = url::Url::parse(&format!("{}/login/x", env.issuer())).unwrap();
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .unwrap()
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == "caducee_navigateur")
        .map(|(_, v)| v.to_string())
}

async fn sec_05_strangers_cannot_spend_a_professionals_login_budget(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;
    // Julie logs in once from her own browser: it is known for her from then on.
    let (julie, _) = browser_at("192.0.2.1");
    full_login(&env, &julie, &device).await;

    // Nine strangers, each from an address of its own, ask for Julie and give up after
    // eleven seconds: with her own login, her push-bombing window (10 per 10 minutes) is
    // spent.
    for i in 0..9 {
        let (stranger, _) = browser_at(&format!("198.51.100.{i}"));
        let login = new_flow(&env, &stranger).await;
        let r = submit(&stranger, &login, env.idnat.as_str()).await;
        assert_eq!(r.status(), 303, "stranger {i}: {}", r.text().await.unwrap());
        env.clock.advance(Duration::seconds(11));
        cancel(&stranger, &login).await;
    }
    let (tenth, _) = browser_at("203.0.113.5");
    let login = new_flow(&env, &tenth).await;
    let r = submit(&tenth, &login, env.idnat.as_str()).await;
    assert_eq!(
        r.status(),
        429,
        "the push-bombing limit holds for strangers"
    );

    // Julie's own browser still logs her in.
    full_login(&env, &julie, &device).await;
    env.db.cleanup().await;
}

async fn sec_05_a_request_cancelled_at_once_weighs_half(dialect: Dialect) {
    let env = env(dialect).await;
    let _device = activate(&env).await;
    // A mistyped identifier fixed at once: asked and cancelled within seconds. Twenty of
    // them weigh ten full requests: the twenty-first is refused, so the phone still gets
    // a bounded number of pushes.
    let (b, _) = browser_at("192.0.2.9");
    for i in 0..20 {
        let login = new_flow(&env, &b).await;
        let r = submit(&b, &login, env.idnat.as_str()).await;
        assert_eq!(r.status(), 303, "request {i}: {}", r.text().await.unwrap());
        cancel(&b, &login).await;
        env.clock.advance(Duration::seconds(2));
    }
    let login = new_flow(&env, &b).await;
    let r = submit(&b, &login, env.idnat.as_str()).await;
    assert_eq!(r.status(), 429);
    env.db.cleanup().await;
}

async fn sec_17_login_answers_cost_what_guessing_costs(dialect: Dialect) {
    let env = env(dialect).await;
    // One address types thirty identifiers that exist nowhere: each is answered…
    let (scanner, _) = browser_at("198.51.100.77");
    let login = new_flow(&env, &scanner).await;
    for i in 0..30u64 {
        let rpps = Rpps::from_payload(&format!("{}", 2_000_000_000 + i)).unwrap();
        let r = submit(&scanner, &login, rpps.as_str()).await;
        assert_eq!(r.status(), 404, "identifier {i}");
        assert!(r.text().await.unwrap().contains("Aucun professionnel"));
    }
    // … and the thirty-first is not, whatever it names: the answer would tell whether
    // Julie has an e-CPS.
    let r = submit(&scanner, &login, env.idnat.as_str()).await;
    assert_eq!(r.status(), 429);
    let page = r.text().await.unwrap();
    assert!(page.contains("Trop de tentatives"), "{page}");
    assert!(!page.contains("pas encore activé"), "{page}");
    // Another address is answered as usual (Julie has no e-CPS yet).
    let (other, _) = browser_at("192.0.2.44");
    let login = new_flow(&env, &other).await;
    let r = submit(&other, &login, env.idnat.as_str()).await;
    assert_eq!(r.status(), 409);
    env.db.cleanup().await;
}

async fn sec_09_browser_binding_is_minted_by_the_server_and_renewed(dialect: Dialect) {
    let env = env(dialect).await;
    let device = activate(&env).await;
    let realm = url::Url::parse(&env.issuer()).unwrap();
    let planted = "AttackerChosenValue_0123456789abcdefghijkl";
    let plant = |jar: &reqwest::cookie::Jar| {
        jar.add_cookie_str(
            &format!("caducee_navigateur={planted}; Path=/auth/realms/esante-wallet"),
            &realm,
        )
    };
    // The victim's browser carries a value planted by the attacker.
    let (victim, victim_jar) = browser_at("192.0.2.10");
    plant(&victim_jar);
    let login = new_flow(&env, &victim).await;
    let minted = binding_in(&env, &victim_jar).unwrap();
    assert_ne!(
        minted, planted,
        "a value the server never minted is replaced"
    );
    // The attacker, holding the planted value, cannot open the victim's flow.
    let (attacker, attacker_jar) = browser_at("198.51.100.66");
    plant(&attacker_jar);
    let r = attacker.get(&login).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // A minted value is kept while unused, and renewed by each login.
    let again = new_flow(&env, &victim).await;
    assert_eq!(binding_in(&env, &victim_jar).unwrap(), minted);
    let r = submit(&victim, &again, env.idnat.as_str()).await;
    assert_eq!(r.status(), 303);
    let code = code_on(&page_at(&victim, format!("{again}/ecps")).await);
    phone_answers(&env, &device, &code).await;
    let r = victim
        .get(format!("{again}/continue"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&format!("{REDIRECT}?code=")));
    let renewed = binding_in(&env, &victim_jar).unwrap();
    assert_ne!(renewed, minted, "the binding is renewed at login");
    // The value used before the login is no longer honoured.
    let (late, late_jar) = browser_at("198.51.100.67");
    late_jar.add_cookie_str(
        &format!("caducee_navigateur={minted}; Path=/auth/realms/esante-wallet"),
        &realm,
    );
    let _ = new_flow(&env, &late).await;
    assert_ne!(binding_in(&env, &late_jar).unwrap(), minted);
    env.db.cleanup().await;
}

async fn sec_16_login_flows_per_source_are_bounded(dialect: Dialect) {
    let env = env(dialect).await;
    let (flooder, _) = browser_at("198.51.100.200");
    for _ in 0..300 {
        let r = flooder.get(env.auth_url("rp", "")).send().await.unwrap();
        assert_eq!(r.status(), 303);
    }
    let r = flooder.get(env.auth_url("rp", "")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Trop de demandes de connexion"));
    let flows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idp_login_flow")
        .fetch_one(env.db.store.pool())
        .await
        .unwrap();
    assert_eq!(flows, 300);
    // Another address opens its flow.
    let (other, _) = browser_at("192.0.2.200");
    let r = other.get(env.auth_url("rp", "")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    env.db.cleanup().await;
}

async fn sec_16_https_cookies_are_host_prefixed(dialect: Dialect) {
    let env = env(dialect).await;
    // The same provider published at an https URL (scheme in capitals: still https).
    let idp = Idp::start(
        env.db.store.clone(),
        env.clock.shared(),
        "HTTPS://idp.sante.example",
        IdpConfig::default(),
        env.ecps.clone(),
        b"secret d'instance des tests du navigateur",
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, caducee_idp::router(idp)).await });
    let path = env
        .auth_url("rp", "")
        .split_once("/auth/realms")
        .map(|(_, p)| format!("http://{addr}/auth/realms{p}"))
        .unwrap();
    let r = browser().get(path).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let binding = set
        .iter()
        .find(|c| c.starts_with("__Host-caducee_navigateur="))
        .unwrap_or_else(|| panic!("{set:?}"));
    assert!(binding.contains("Secure"), "{binding}");
    assert!(
        binding.contains("Path=/;") || binding.ends_with("Path=/"),
        "{binding}"
    );
    assert!(!binding.to_lowercase().contains("domain="), "{binding}");
    env.db.cleanup().await;
}

on_both_engines! {
    sec_05_strangers_cannot_spend_a_professionals_login_budget => sec_05_strangers_cannot_spend_a_professionals_login_budget;
    sec_05_a_request_cancelled_at_once_weighs_half => sec_05_a_request_cancelled_at_once_weighs_half;
    sec_17_login_answers_cost_what_guessing_costs => sec_17_login_answers_cost_what_guessing_costs;
    sec_09_browser_binding_is_minted_by_the_server_and_renewed => sec_09_browser_binding_is_minted_by_the_server_and_renewed;
    sec_16_login_flows_per_source_are_bounded => sec_16_login_flows_per_source_are_bounded;
    sec_16_https_cookies_are_host_prefixed => sec_16_https_cookies_are_host_prefixed;
}
