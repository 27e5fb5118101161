//! The protocol endpoints over HTTP, at the Keycloak paths of reference/psc.md: discovery
//! (both documents), JWKS, token, userinfo, introspection, revocation, CIBA. Handlers only
//! parse the request and shape the answer; the rules live in the other modules.
//!
//! Every answer is `Cache-Control: no-store` except discovery and JWKS (short public
//! cache). Errors are RFC 6749 JSON (`error`, `error_description` in French); a client
//! authentication failure is a 401 with `WWW-Authenticate: Basic`, a bad bearer token a 401
//! with `WWW-Authenticate: Bearer error="invalid_token"`. CORS is open on these endpoints
//! (no cookie is ever read here), for browser-based clients.
//!
//! Must never log a request body (it carries secrets, codes and tokens).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::request::{AuthBy, Form};
use crate::{Idp, IdpError, REALM_PATH};

fn p(suffix: &str) -> String {
    format!("{REALM_PATH}{suffix}")
}

/// The protocol routes, under the realm path.
pub fn routes() -> Router<Idp> {
    use tower_http::cors::{Any, CorsLayer};
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600));
    Router::new()
        .route(&p("/.well-known/openid-configuration"), get(discovery))
        .route(
            &p("/.well-known/wallet-openid-configuration"),
            get(discovery),
        )
        .route(&p("/protocol/openid-connect/certs"), get(jwks))
        .route(&p("/protocol/openid-connect/token"), post(token))
        .route(
            &p("/protocol/openid-connect/userinfo"),
            get(userinfo_get).post(userinfo_post),
        )
        .route(
            &p("/protocol/openid-connect/token/introspect"),
            post(introspect),
        )
        .route(&p("/protocol/openid-connect/revoke"), post(revoke))
        .route(&p("/protocol/openid-connect/ext/ciba/auth"), post(ciba))
        .layer(cors)
}

/// A JSON answer that no cache may keep.
fn no_store(status: StatusCode, body: &impl serde::Serialize) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        axum::Json(body),
    )
        .into_response()
}

/// The RFC 6749 §5.2 error answer (and RFC 6750 §3 for bearer errors).
pub(crate) fn error_response(e: &IdpError) -> Response {
    if e.is_server_error() {
        tracing::error!(code = e.code(), error = %e, "erreur du fournisseur d'identité");
    } else {
        tracing::info!(code = e.code(), error = e.oauth_error(), "requête refusée");
    }
    let description = if e.is_server_error() {
        "erreur interne du service : réessayez dans quelques instants".to_string()
    } else {
        e.to_string()
    };
    let mut resp = no_store(
        e.status(),
        &json!({"error": e.oauth_error(), "error_description": description}),
    );
    let challenge = match e {
        IdpError::InvalidClient(_) | IdpError::UnknownClient(_) => {
            Some(r#"Basic realm="esante-wallet""#.to_string())
        }
        // The French description stays in the JSON body: a header value must be ASCII.
        IdpError::InvalidToken(_) => {
            Some(r#"Bearer realm="esante-wallet", error="invalid_token""#.to_string())
        }
        _ => None,
    };
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    resp
}

fn answer<T: serde::Serialize>(r: Result<T, IdpError>) -> Response {
    match r {
        Ok(v) => no_store(StatusCode::OK, &v),
        Err(e) => error_response(&e),
    }
}

/// Refuses a body that is not form-encoded (the back-channel endpoints take only that).
fn form_of(headers: &HeaderMap, body: &Bytes) -> Result<Form, IdpError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(IdpError::InvalidRequest(
            "corps attendu en application/x-www-form-urlencoded".into(),
        ));
    }
    Form::parse(body)
}

async fn discovery(State(idp): State<Idp>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        idp.inner.discovery.clone(),
    )
        .into_response()
}

async fn jwks(State(idp): State<Idp>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        idp.jwks().to_string(),
    )
        .into_response()
}

async fn token(State(idp): State<Idp>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form = form_of(&headers, &body)?;
        let endpoint = format!("{}/protocol/openid-connect/token", idp.issuer());
        let grant = form
            .get("grant_type")
            .ok_or_else(|| IdpError::InvalidRequest("grant_type manquant".into()))?;
        let known = [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:openid:params:grant-type:ciba",
        ];
        if !known.contains(&grant) {
            return Err(IdpError::UnsupportedGrantType(grant.to_string()));
        }
        let (rec, by) = idp.authenticate_client(&headers, &form, &endpoint).await?;
        match grant {
            "authorization_code" => {
                idp.grant_code(
                    &rec,
                    form.get("code"),
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                )
                .await
            }
            "refresh_token" => {
                idp.grant_refresh(&rec, form.get("refresh_token"), form.get("scope"))
                    .await
            }
            "client_credentials" => {
                idp.grant_client_credentials(&rec, by, form.get("scope"))
                    .await
            }
            _ => idp.grant_ciba(&rec, by, form.get("auth_req_id")).await,
        }
    }
    .await;
    answer(result)
}

/// The bearer token of a userinfo request: the `Authorization` header, or (POST only) the
/// `access_token` form field — never both (RFC 6750 §2).
fn bearer(headers: &HeaderMap, form: Option<&Form>) -> Result<String, IdpError> {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let form_token = form.and_then(|f| f.get("access_token")).map(str::to_string);
    match (header_token, form_token) {
        (Some(_), Some(_)) => Err(IdpError::InvalidRequest(
            "jeton d'accès donné deux fois (en-tête et corps)".into(),
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(IdpError::InvalidToken("jeton d'accès manquant".into())),
    }
}

async fn userinfo_get(State(idp): State<Idp>, headers: HeaderMap) -> Response {
    userinfo(idp, bearer(&headers, None)).await
}

async fn userinfo_post(State(idp): State<Idp>, headers: HeaderMap, body: Bytes) -> Response {
    let token = form_of(&headers, &body).and_then(|f| bearer(&headers, Some(&f)));
    userinfo(idp, token).await
}

async fn userinfo(idp: Idp, token: Result<String, IdpError>) -> Response {
    let result = async {
        let token = token?;
        let claims = idp.verify_access_token(&token).await?;
        let idnat = crate::tokens::idnat_of_subject(&claims.sub).ok_or_else(|| {
            IdpError::InvalidToken("jeton de compte de service : pas d'utilisateur".into())
        })?;
        if !claims.scope.split(' ').any(|s| s == "openid") {
            return Err(IdpError::InvalidToken(
                "jeton sans le scope openid : userinfo refusé".into(),
            ));
        }
        let info = idp
            .userinfo_claims(idnat, claims.auth_mode.as_deref().unwrap_or(""))
            .await?
            .ok_or_else(|| IdpError::InvalidToken("professionnel absent du répertoire".into()))?;
        let client = idp.client_record(&claims.azp).await?;
        match client.as_ref().map(|r| &r.client) {
            Some(c) if c.userinfo_signed => {
                let mut signed = info;
                signed.insert("iss".into(), idp.issuer().into());
                signed.insert("aud".into(), c.client_id.clone().into());
                signed.insert("iat".into(), idp.now().into());
                let keys = idp.keys();
                let key = keys
                    .signer(c.alg(), idp.now())
                    .ok_or_else(|| IdpError::Internal("aucune clé active".into()))?;
                let jwt = key.sign("JWT", &signed)?;
                Ok((
                    [
                        (header::CACHE_CONTROL, "no-store"),
                        (header::CONTENT_TYPE, "application/jwt"),
                    ],
                    jwt,
                )
                    .into_response())
            }
            _ => Ok(no_store(StatusCode::OK, &info)),
        }
    }
    .await;
    result.unwrap_or_else(|e| error_response(&e))
}

async fn introspect(State(idp): State<Idp>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form = form_of(&headers, &body)?;
        let endpoint = format!("{}/protocol/openid-connect/token/introspect", idp.issuer());
        let (rec, by) = idp.authenticate_client(&headers, &form, &endpoint).await?;
        if by == AuthBy::None {
            return Err(IdpError::InvalidClient(
                "l'introspection demande un client authentifié".into(),
            ));
        }
        let token = form
            .get("token")
            .ok_or_else(|| IdpError::InvalidRequest("paramètre token manquant".into()))?;
        idp.introspect(&rec, token).await
    }
    .await;
    answer(result)
}

async fn revoke(State(idp): State<Idp>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form = form_of(&headers, &body)?;
        let endpoint = format!("{}/protocol/openid-connect/revoke", idp.issuer());
        let (rec, _) = idp.authenticate_client(&headers, &form, &endpoint).await?;
        let token = form
            .get("token")
            .ok_or_else(|| IdpError::InvalidRequest("paramètre token manquant".into()))?;
        idp.revoke_token(&rec, token, form.get("token_type_hint"))
            .await
    }
    .await;
    match result {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn ciba(State(idp): State<Idp>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form = form_of(&headers, &body)?;
        idp.ciba_start(&headers, &form).await
    }
    .await;
    answer(result)
}

/// The discovery document (both paths serve it), built once at start.
pub(crate) fn discovery_document(issuer: &str) -> String {
    let ep = |s: &str| format!("{issuer}/protocol/openid-connect{s}");
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    // Public clients (no secret, no keys) send only their client_id at the token and
    // revocation endpoints; introspection demands an authenticated client.
    let with_none = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
    let algs = ["RS256", "ES256"];
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": ep("/auth"),
        "token_endpoint": ep("/token"),
        "introspection_endpoint": ep("/token/introspect"),
        "userinfo_endpoint": ep("/userinfo"),
        "end_session_endpoint": ep("/logout"),
        "jwks_uri": ep("/certs"),
        "revocation_endpoint": ep("/revoke"),
        "backchannel_authentication_endpoint": ep("/ext/ciba/auth"),
        "grant_types_supported": [
            "authorization_code", "refresh_token", "client_credentials",
            "urn:openid:params:grant-type:ciba"
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": with_none,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "revocation_endpoint_auth_methods_supported": with_none,
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": crate::tokens::SCOPES,
        "acr_values_supported": ["eidas1"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "tls_client_certificate_bound_access_tokens": false,
        "claim_types_supported": ["normal"],
    });
    let claims = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        "azp",
        "preferred_username",
        "given_name",
        "family_name",
        "email_verified",
        "SubjectNameID",
        "SubjectRole",
        "SubjectOrganization",
        "SubjectOrganizationID",
        "SubjectRefPro",
        "Secteur_Activite",
        "Palier_Authentification",
        "PSI_Locale",
        "UITVersion",
        "Mode_Acces_Raison",
        "Acces_Regulation_Medicale",
        "authMode",
        "otherIds",
        "codeCivilite",
        "codeGenreActivite",
    ];
    let mut doc = doc;
    if let Some(m) = doc.as_object_mut() {
        m.insert("claims_supported".into(), json!(claims));
    }
    doc.to_string()
}

impl Idp {
    /// The JWK Set published now.
    pub fn jwks(&self) -> serde_json::Value {
        let keys = self.keys();
        let published: Vec<&serde_json::Value> = keys
            .published(self.now(), self.config().max_signed_token_ttl())
            .into_iter()
            .map(|k| &k.jwk)
            .collect();
        json!({ "keys": published })
    }
}
