//! The demo stand-in of FranceConnect, served by caducee itself under `/dev/franceconnect`
//! when `serve --demo` runs without `[franceconnect]` (demo mode only, like `/dev/outbox`).
//! **It is not FranceConnect**: a minimal OpenID provider whose page lists the demo
//! identities to pick, so that a newcomer can try a first registration (REG-07) and the
//! coordinates through FranceConnect (REG-12) without node or an account at FranceConnect.
//! eRPPS talks to it over HTTP exactly as to the real one (discovery, code flow with PKCE,
//! client_secret_post, ID token RS256 signed through the `openidconnect` crate's signing
//! types, userinfo as JSON — the real one signs it, which the client also accepts).
//!
//! Its codes and access tokens are `portal_flow` rows (a minute, ten minutes), so any node
//! answers; its signing key is made at start (a restart invalidates only the logins in
//! flight).

use super::FranceConnectSettings;
use crate::state::{html, PortalState};
use crate::PortalError;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use caducee_pages::{Layout, PageCtx, Template};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, AuthenticationContextClass, EmptyAdditionalClaims, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Where the stand-in is served.
pub const PATH: &str = "/dev/franceconnect";
/// The stand-in's client of eRPPS.
pub const CLIENT_ID: &str = "caducee-erpps-demo";
const CODE_KIND: &str = "fc-standin-code";
const TOKEN_KIND: &str = "fc-standin-token";
/// The portal whose flows the stand-in's rows are.
const ROWS: &str = "franceconnect-standin";

/// One identity of the demo.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Identity {
    sub: &'static str,
    given_name: &'static str,
    family_name: &'static str,
    birthdate: &'static str,
    gender: &'static str,
    birthplace: &'static str,
    birthcountry: &'static str,
    email: &'static str,
    /// What it lets one try (shown on the page).
    purpose: &'static str,
}

/// The demo identities: one person without an RPPS number (REG-07), and the demo persona
/// Hélène Dubois, spelt as FranceConnect gives it (capitals, no accent, a second first name),
/// whose civil status matches the registry's (REG-12, RPPS 19999900038), and the demo persona
/// Nathalie Girard, registered without contact coordinates (REG-12's "Mes coordonnées ne sont
/// pas renseignées", RPPS 19999900087: `caducee_registry::generate::persona_without_contact`).
const IDENTITIES: [Identity; 3] = [
    Identity {
        sub: "demo-fc-amelie-lefevre",
        given_name: "Amélie Jeanne",
        family_name: "Lefèvre-Dubois",
        birthdate: "1990-04-12",
        gender: "female",
        birthplace: "69123",
        birthcountry: "99100",
        email: "amelie.lefevre@example.test",
        purpose: "sans numéro RPPS : première inscription",
    },
    Identity {
        sub: "demo-fc-helene-dubois",
        given_name: "HELENE Marie",
        family_name: "DUBOIS",
        birthdate: "1975-01-27",
        gender: "female",
        birthplace: "",
        birthcountry: "99100",
        email: "helene.dubois@example.test",
        purpose: "RPPS 19999900038 : coordonnées via FranceConnect",
    },
    Identity {
        sub: "demo-fc-nathalie-girard",
        given_name: "NATHALIE Claire",
        family_name: "GIRARD",
        birthdate: "1968-09-03",
        gender: "female",
        birthplace: "",
        birthcountry: "99100",
        email: "nathalie.girard@example.test",
        purpose:
            "RPPS 19999900087 : coordonnées non renseignées, à mettre à jour via FranceConnect",
    },
];

/// The stand-in of one node: its signing key and the client secret eRPPS uses.
pub struct StandIn {
    key: CoreRsaPrivateSigningKey,
    client_secret: String,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandIn")
    }
}

impl StandIn {
    /// A fresh RSA-2048 key; the client secret derived from the instance secret (the same
    /// on every node).
    pub fn new(instance_secret: &[u8]) -> Result<StandIn, PortalError> {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        use rsa::pkcs8::DecodePrivateKey as _;
        let internal = |e: &dyn std::fmt::Display| PortalError::Internal(format!("clé : {e}"));
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| internal(&e))?;
        let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
            .map_err(|e| internal(&e))?;
        let pem = rsa::RsaPrivateKey::from_pkcs8_der(der.as_ref())
            .map_err(|e| internal(&e))?
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .map_err(|e| internal(&e))?;
        let key = CoreRsaPrivateSigningKey::from_pem(
            &pem,
            Some(JsonWebKeyId::new("demo-franceconnect-1".into())),
        )
        .map_err(|e| internal(&e))?;
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, instance_secret),
            b"caducee/portals/franceconnect-standin/client-secret/v1",
        );
        Ok(StandIn {
            key,
            client_secret: hex::encode(tag.as_ref()),
        })
    }

    /// What eRPPS is configured with to use the stand-in at `public_url`.
    pub fn settings(&self, public_url: &str) -> FranceConnectSettings {
        FranceConnectSettings {
            issuer: format!("{}{PATH}", public_url.trim_end_matches('/')),
            client_id: CLIENT_ID.into(),
            client_secret: self.client_secret.clone(),
        }
    }
}

/// The stand-in's routes, on eRPPS's state (its rows go through the portals' flows).
pub(crate) fn routes(standin: Arc<StandIn>) -> Router<PortalState> {
    let s1 = standin.clone();
    let s2 = standin.clone();
    let s3 = standin;
    Router::new()
        .route(
            &format!("{PATH}/.well-known/openid-configuration"),
            get(discovery),
        )
        .route(
            &format!("{PATH}/jwks"),
            get(move || {
                let s = s1.clone();
                async move { jwks(&s) }
            }),
        )
        .route(&format!("{PATH}/authorize"), get(authorize).post(choose))
        .route(
            &format!("{PATH}/token"),
            axum::routing::post(move |st: State<PortalState>, body: axum::body::Bytes| {
                let s = s2.clone();
                async move { token(st, &s, body).await }
            }),
        )
        .route(&format!("{PATH}/userinfo"), get(userinfo))
        .route(
            &format!("{PATH}/logout"),
            get(move |st: State<PortalState>, q: RawQuery| {
                let _ = &s3;
                async move { logout(st, q).await }
            }),
        )
}

fn issuer(st: &PortalState) -> String {
    format!("{}{PATH}", st.portals.public_url())
}

async fn discovery(State(st): State<PortalState>) -> Response {
    let iss = issuer(&st);
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "end_session_endpoint": format!("{iss}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "scopes_supported": ["openid", "given_name", "family_name", "birthdate", "gender",
            "birthplace", "birthcountry", "email"],
        "acr_values_supported": ["eidas1"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true
    }))
    .into_response()
}

fn jwks(standin: &StandIn) -> Response {
    Json(json!({ "keys": [standin.key.as_verification_key()] })).into_response()
}

fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn bad(text: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "error_description": text})),
    )
        .into_response()
}

/// The authorization request's parameters, checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Request {
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
}

fn request_of(st: &PortalState, q: &HashMap<String, String>) -> Result<Request, &'static str> {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("response_type") != "code" {
        return Err("client_id ou response_type inattendu");
    }
    // Only eRPPS's own callback: the stand-in never sends a code elsewhere.
    let expected = format!("{}{}", st.portals.public_url(), super::CALLBACK_PATH);
    if get("redirect_uri") != expected {
        return Err("redirect_uri inattendue");
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return Err("scope sans openid");
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return Err("PKCE S256 requis");
    }
    Ok(Request {
        redirect_uri: expected,
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge"),
    })
}

#[derive(Template)]
#[template(path = "erpps/fc_standin.html")]
struct ChoosePage {
    layout: Layout,
    action: String,
    identities: Vec<(String, String, String)>,
}

async fn authorize(
    State(st): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = query_map(query.as_deref());
    if let Err(e) = request_of(&st, &q) {
        return bad(e);
    }
    let ctx = PageCtx::from_headers(&headers, format!("{PATH}/authorize"));
    let page = ChoosePage {
        layout: Layout::new(&ctx, ctx.t("fc-standin-title")),
        action: format!("{PATH}/authorize?{}", query.unwrap_or_default()),
        identities: IDENTITIES
            .iter()
            .map(|i| {
                (
                    i.sub.to_string(),
                    format!("{} {} ({})", i.given_name, i.family_name, i.birthdate),
                    i.purpose.to_string(),
                )
            })
            .collect(),
    };
    html(
        StatusCode::OK,
        crate::local::pages::render(&page),
        Vec::new(),
    )
}

/// What a code and an access token carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Grant {
    sub: String,
    request: Request,
}

async fn choose(
    State(st): State<PortalState>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let q = query_map(query.as_deref());
    let request = match request_of(&st, &q) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let form = query_map(std::str::from_utf8(&body).ok());
    let sub = form.get("identite").cloned().unwrap_or_default();
    if !IDENTITIES.iter().any(|i| i.sub == sub) {
        return bad("identité inconnue");
    }
    let secret = crate::sessions::random_token(24);
    let code = match new_row(
        &st,
        CODE_KIND,
        &secret,
        &Grant {
            sub,
            request: request.clone(),
        },
        60,
    )
    .await
    {
        Ok(id) => format!("{id}.{secret}"),
        Err(_) => return bad("base de données"),
    };
    let mut location = url::Url::parse(&request.redirect_uri).ok();
    if let Some(u) = location.as_mut() {
        u.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &request.state)
            .append_pair("iss", &issuer(&st));
    }
    let location = location.map(|u| u.to_string()).unwrap_or_default();
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn new_row(
    st: &PortalState,
    kind: &str,
    secret: &str,
    grant: &Grant,
    ttl: i64,
) -> Result<String, PortalError> {
    let mut conn = st.portals.store().pool().acquire().await?;
    let flow = crate::flows::create(
        &mut conn,
        &crate::flows::NewFlow {
            portal: ROWS,
            kind,
            step: "issued",
            browser_secret: secret,
            data: grant,
            ttl_secs: ttl,
        },
        st.portals.now(),
    )
    .await?;
    Ok(flow.id)
}

/// The row named by `id.secret`, taken (deleted) when `take`.
async fn row(st: &PortalState, kind: &str, token: &str, take: bool) -> Option<Grant> {
    let (id, secret) = token.split_once('.')?;
    let mut conn = st.portals.store().pool().acquire().await.ok()?;
    let flow = crate::flows::load::<Grant>(&mut conn, ROWS, kind, id, secret, st.portals.now())
        .await
        .ok()??;
    if take {
        crate::flows::delete(&mut conn, &flow.id).await.ok()?;
    }
    Some(flow.data)
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

async fn token(
    State(st): State<PortalState>,
    standin: &StandIn,
    body: axum::body::Bytes,
) -> Response {
    use base64::Engine as _;
    use sha2::Digest as _;
    let form = query_map(std::str::from_utf8(&body).ok());
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || !crate::sessions::same_hash(&get("client_secret"), &standin.client_secret)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if get("grant_type") != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    let Some(grant) = row(&st, CODE_KIND, &get("code"), true).await else {
        return token_error("invalid_grant");
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
    if challenge != grant.request.code_challenge
        || get("redirect_uri") != grant.request.redirect_uri
    {
        return token_error("invalid_grant");
    }
    let now = st.portals.now();
    let Some(iss) = IssuerUrl::new(issuer(&st)).ok() else {
        return token_error("server_error");
    };
    let time = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    let claims = CoreIdTokenClaims::new(
        iss,
        vec![Audience::new(CLIENT_ID.into())],
        time(now + 600),
        time(now),
        StandardClaims::new(SubjectIdentifier::new(grant.sub.clone())),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(grant.request.nonce.clone())))
    .set_auth_context_ref(Some(AuthenticationContextClass::new("eidas1".into())));
    let id_token = match CoreIdToken::new(
        claims,
        &standin.key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    ) {
        Ok(t) => t,
        Err(_) => return token_error("server_error"),
    };
    let secret = crate::sessions::random_token(24);
    let access = match new_row(&st, TOKEN_KIND, &secret, &grant, 600).await {
        Ok(id) => format!("{id}.{secret}"),
        Err(_) => return token_error("server_error"),
    };
    let mut r = Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 600,
        "id_token": id_token.to_string(),
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn userinfo(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(grant) = row(&st, TOKEN_KIND, token, false).await else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    };
    let Some(i) = IDENTITIES.iter().find(|i| i.sub == grant.sub) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    };
    Json(json!({
        "sub": i.sub,
        "given_name": i.given_name,
        "family_name": i.family_name,
        "birthdate": i.birthdate,
        "gender": i.gender,
        "birthplace": i.birthplace,
        "birthcountry": i.birthcountry,
        "email": i.email,
    }))
    .into_response()
}

/// End of session: nothing is kept by the stand-in beyond its rows; back to eRPPS.
async fn logout(State(st): State<PortalState>, RawQuery(query): RawQuery) -> Response {
    let q = query_map(query.as_deref());
    let back = format!("{}/erpps", st.portals.public_url());
    let target = match q.get("post_logout_redirect_uri") {
        Some(u) if *u == back => u.clone(),
        _ => back,
    };
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
