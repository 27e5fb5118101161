//! CIBA in poll mode (OpenID Connect Client-Initiated Backchannel Authentication, as
//! reference/psc.md shows it): a back-end service asks for a professional's authentication
//! (`login_hint` = idNat or RPPS, `binding_message` = the 2 digits it shows), the e-CPS
//! server sends it to the professional's device, and the service polls the token endpoint
//! (`authorization_pending`, `slow_down`, `expired_token`, `access_denied`) until tokens.
//!
//! The `auth_req_id` is a random 256-bit handle stored as SHA-256. Polls are rate-checked
//! by one conditional UPDATE, so several nodes agree. Tokens are issued once: the request
//! is marked `issued` in the same transaction as the refresh family is created.
//!
//! This module must never issue tokens for a request the e-CPS server has not approved.

use axum::http::HeaderMap;
use caducee_core::ids::IdNatPs;
use caducee_ecps_server::{AuthRequest, RequestStatus};
use caducee_store::audit::{self, AuditEvent};
use caducee_store::throttle::Limit;
use sqlx::Row;

use crate::clients::ClientRecord;
use crate::request::{AuthBy, Form};
use crate::tokens::{check_scope, TokenResponse, UserGrant};
use crate::{random_secret, secret_hash, Authentication, Idp, IdpError};

/// `amr` of an e-CPS authentication (the same as the browser side's).
const ECPS_AMR: [&str; 3] = ["pwd", "swk", "mfa"];

/// The answer to a CIBA authentication request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CibaStarted {
    pub auth_req_id: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Refused CIBA requests (unknown identifier, no e-CPS, locked…) one client may receive
/// per 10 minutes.
pub(crate) const CIBA_REFUSALS_PER_CLIENT: Limit = Limit::new("idp.ciba.refusals", 30, 600);

impl Idp {
    /// The professional a CIBA request names, and the e-CPS request sent to them.
    async fn ciba_target(
        &self,
        hint: &str,
        binding: &str,
        service: &str,
    ) -> Result<(IdNatPs, AuthRequest), IdpError> {
        let idnat = caducee_registry::queries::parse_id(hint).map_err(|_| {
            IdpError::UnknownUser(format!(
                "login_hint « {hint} » n'est pas un identifiant de professionnel valide"
            ))
        })?;
        let known = caducee_registry::queries::person_exists(self.store(), &idnat).await?;
        if !known {
            return Err(IdpError::UnknownUser(format!(
                "aucun professionnel {} dans le répertoire",
                idnat.as_str()
            )));
        }
        let req = self
            .ecps()
            .create_request(idnat.as_str(), service, Some(binding))
            .await
            .map_err(IdpError::from_ecps_for_ciba)?;
        Ok((idnat, req))
    }

    /// `POST …/ext/ciba/auth`.
    pub(crate) async fn ciba_start(
        &self,
        headers: &HeaderMap,
        form: &Form,
    ) -> Result<CibaStarted, IdpError> {
        let endpoint = format!("{}/protocol/openid-connect/ext/ciba/auth", self.issuer());
        let (rec, by) = self.authenticate_client(headers, form, &endpoint).await?;
        let client = &rec.client;
        if by == AuthBy::None || !client.has_grant("ciba") {
            return Err(IdpError::UnauthorizedClient(
                "ce client n'est pas autorisé à utiliser CIBA".into(),
            ));
        }
        let scope = check_scope(form.get("scope").unwrap_or(""), None)?;
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(IdpError::InvalidScope(
                "le scope doit contenir openid".into(),
            ));
        }
        if let Some(acr) = form.get("acr_values") {
            // eidas2 (older clients) is accepted as a request for at least eidas1.
            if !acr.split(' ').any(|a| a == "eidas1" || a == "eidas2") {
                return Err(IdpError::InvalidRequest(
                    "acr_values : seul eidas1 est proposé".into(),
                ));
            }
        }
        if form.get("login_hint_token").is_some() || form.get("id_token_hint").is_some() {
            return Err(IdpError::InvalidRequest(
                "seul login_hint (identifiant national du professionnel) est pris en charge".into(),
            ));
        }
        match form.get("channel") {
            None | Some("MOBILE") => {}
            Some(other) => {
                return Err(IdpError::InvalidRequest(format!(
                    "canal « {other} » non disponible : seul MOBILE (e-CPS) est proposé"
                )))
            }
        }
        let hint = form
            .get("login_hint")
            .ok_or_else(|| IdpError::InvalidRequest("login_hint manquant".into()))?;
        let binding = form.get("binding_message").ok_or_else(|| {
            IdpError::InvalidRequest(
                "binding_message manquant : deux chiffres que votre application affiche au professionnel"
                    .into(),
            )
        })?;
        // Every refusal below tells the client something of the identifier (unknown, no
        // e-CPS, locked…): a client may collect only so many (issue 10, item 17). Checked
        // before the answer is computed, counted when the answer is a refusal.
        let now = self.now();
        {
            let mut conn = self.store().pool().acquire().await?;
            let verdict = CIBA_REFUSALS_PER_CLIENT
                .peek(&mut conn, &client.client_id, now)
                .await?;
            if verdict.is_refused() {
                return Err(IdpError::TooManyRequests(
                    "trop de demandes CIBA refusées pour ce client : réessayez plus tard".into(),
                ));
            }
        }
        let found = self.ciba_target(hint, binding, &client.name).await;
        if found.is_err() {
            let mut conn = self.store().pool().acquire().await?;
            CIBA_REFUSALS_PER_CLIENT
                .hit(&mut conn, &client.client_id, now)
                .await?;
        }
        let (idnat, req) = found?;
        let id = random_secret();
        let interval = self.config().ciba_interval_secs.max(1);
        let mut tx = self.store().begin().await?;
        sqlx::query(
            "INSERT INTO idp_ciba (id_hash, client_id, ecps_request_id, idnat, scope, acr, status,
                poll_interval, last_polled_at, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'eidas1', 'pending', $6, NULL, $7, $8)",
        )
        .bind(secret_hash(&id))
        .bind(&client.client_id)
        .bind(&req.id)
        .bind(idnat.as_str())
        .bind(&scope)
        .bind(interval)
        .bind(now)
        .bind(req.expires_at)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &format!("client:{}", client.client_id),
                action: "idp.ciba.requested",
                subject: Some(idnat.as_str()),
                details: serde_json::json!({ "client": client.client_id, "ecpsRequest": req.id }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CibaStarted {
            auth_req_id: id,
            expires_in: req.expires_at - now,
            interval,
        })
    }

    /// `grant_type=urn:openid:params:grant-type:ciba`.
    pub(crate) async fn grant_ciba(
        &self,
        rec: &ClientRecord,
        by: AuthBy,
        auth_req_id: Option<&str>,
    ) -> Result<TokenResponse, IdpError> {
        let client = &rec.client;
        if by == AuthBy::None || !client.has_grant("ciba") {
            return Err(IdpError::UnauthorizedClient(
                "ce client n'est pas autorisé à utiliser CIBA".into(),
            ));
        }
        let id =
            auth_req_id.ok_or_else(|| IdpError::InvalidRequest("auth_req_id manquant".into()))?;
        let hash = secret_hash(id);
        let bad = || IdpError::InvalidGrant("auth_req_id inconnu ou déjà utilisé".into());
        let row = sqlx::query("SELECT * FROM idp_ciba WHERE id_hash = $1")
            .bind(&hash)
            .fetch_optional(self.store().pool())
            .await?
            .ok_or_else(bad)?;
        if row.try_get::<String, _>("client_id")? != client.client_id
            || row.try_get::<String, _>("status")? != "pending"
        {
            return Err(bad());
        }
        let now = self.now();
        if row.try_get::<i64, _>("expires_at")? <= now {
            return Err(IdpError::ExpiredToken);
        }
        // One poll per interval, decided by the database so that every node agrees. A poll
        // too early lengthens the interval by 5 s (CIBA Core §11).
        let on_time = sqlx::query(
            "UPDATE idp_ciba SET last_polled_at = $1
             WHERE id_hash = $2 AND (last_polled_at IS NULL OR last_polled_at + poll_interval <= $1)",
        )
        .bind(now)
        .bind(&hash)
        .execute(self.store().pool())
        .await?
        .rows_affected();
        if on_time == 0 {
            sqlx::query("UPDATE idp_ciba SET poll_interval = poll_interval + 5 WHERE id_hash = $1")
                .bind(&hash)
                .execute(self.store().pool())
                .await?;
            return Err(IdpError::SlowDown);
        }
        let ecps_id: String = row.try_get("ecps_request_id")?;
        let state = self.ecps().request_state(&ecps_id).await?;
        match state.status {
            RequestStatus::Pending => Err(IdpError::AuthorizationPending),
            RequestStatus::Expired => Err(IdpError::ExpiredToken),
            RequestStatus::Denied => Err(IdpError::AccessDenied(
                "le professionnel a refusé la demande ou choisi un autre code".into(),
            )),
            RequestStatus::Cancelled => Err(IdpError::AccessDenied(
                "la demande d'authentification a été annulée".into(),
            )),
            RequestStatus::Approved => {
                let family_id = uuid::Uuid::new_v4().to_string();
                let auth = Authentication {
                    idnat: state.idnat.clone(),
                    auth_time: state.decided_at.unwrap_or(now),
                    acr: "eidas1".into(),
                    amr: ECPS_AMR.iter().map(|s| s.to_string()).collect(),
                    auth_mode: "MOBILE".into(),
                    // No browser session: the family stands for the session CIBA opened,
                    // so its tokens carry a `sid` like any other.
                    session_id: Some(family_id.clone()),
                };
                let scope: String = row.try_get("scope")?;
                let g = UserGrant::from_authentication(&auth, &scope, None);
                let access = self.pending_access();
                // Marking the request issued, starting its refresh family and the audit
                // record: one transaction, in the store's write lane.
                let family = self.new_family(client, &g, &access, &family_id);
                let dialect = self.store().dialect();
                let (hash, client_id, idnat) =
                    (hash.clone(), client.client_id.clone(), state.idnat.clone());
                let refresh = self
                    .store()
                    .serialized(Box::new(move |conn| {
                        Box::pin(async move {
                            let mut tx = caducee_store::begin_on(conn, dialect).await?;
                            let claimed = sqlx::query(
                                "UPDATE idp_ciba SET status = 'issued'
                                 WHERE id_hash = $1 AND status = 'pending'",
                            )
                            .bind(&hash)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            if claimed == 0 {
                                return Err(bad());
                            }
                            let refresh = match family {
                                Some(f) => Some(f.insert(&mut tx).await?),
                                None => None,
                            };
                            audit::record(
                                &mut *tx,
                                now,
                                &AuditEvent {
                                    actor: &format!("client:{client_id}"),
                                    action: "idp.ciba.tokens_issued",
                                    subject: Some(&idnat),
                                    details: serde_json::json!({ "client": client_id, "ecpsRequest": ecps_id }),
                                    request_id: None,
                                },
                            )
                            .await?;
                            tx.commit().await?;
                            Ok::<_, IdpError>(refresh)
                        })
                    }))
                    .await??;
                self.user_token_response(client, &g, &access, &scope, refresh)
            }
        }
    }
}
