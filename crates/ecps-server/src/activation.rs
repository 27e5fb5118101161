//! PSC-04/PSC-05: activation of an e-CPS with one code sent by e-mail and one by SMS to the
//! coordinates of the RPPS registry, then registration of the device (P-256 public key,
//! argon2id password hash) for 3 years; a new activation replaces the previous device.
//!
//! Limits (issue 10, items 6 and 17), all kept in the database so every node counts alike:
//! - per **source** (address, IPv6 /64), through the device API: 10 code sends an hour
//!   (starts and resends) and 2 activations an hour for one professional, counted before
//!   the identifier is looked up, so that reading states (unknown identifier, missing
//!   coordinates) costs a stranger as much as sending codes;
//! - per **professional**: 5 activations per 24 hours, where an activation whose codes were
//!   never entered right weighs one hour only: a stranger cannot block someone's
//!   activation for a day, and cannot make a stranger's activation weigh more by typing
//!   wrong codes either (only the right codes, proof of the registry's e-mail and mobile,
//!   make it weigh 24 hours).
//!
//! Must never store or audit a code or a password, and never send anything itself: the
//! codes leave through the notify outbox, written in the same transaction as the activation.

use caducee_core::contact::{Email, Mobile};
use caducee_core::ids::IdNatPs;
use caducee_core::mask::{mask_email, mask_phone};
use caducee_core::source::ClientSource;
use caducee_notify::{OutgoingMessage, Template};
use caducee_registry::queries;
use caducee_store::audit::{self, AuditEvent};
use caducee_store::throttle::{Limit, Verdict};
use sqlx::Row;

use crate::password::check_password_rules;
use crate::secrets::{code_hash, code_matches, six_digits};
use crate::{ps_actor, EcpsError, EcpsServer};

const EMAIL: &str = "email";
const SMS: &str = "sms";
const ARS: &str = "contactez votre agence régionale de santé (ARS) pour les faire enregistrer ou corriger au répertoire RPPS";

/// What the device shows after asking for an activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationStarted {
    pub activation_id: String,
    /// The e-mail address the code went to, masked (`tu***01@cn.medecin.fr`).
    pub email_hint: String,
    /// The mobile the code went to, masked (`+3378***22`).
    pub sms_hint: String,
    /// Unix seconds after which the codes are refused.
    pub expires_at: i64,
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub idnat: String,
    pub activated_at: i64,
    pub expires_at: i64,
}

/// Activation statuses whose codes were entered right: such an activation weighs 24 hours
/// against the professional's budget.
const CODES_USED: [&str; 2] = ["confirming", "used"];

impl EcpsServer {
    /// Sends an activation code to the e-mail and one to the mobile the registry holds for
    /// `idnat`. Any pending activation of the same professional is superseded. For callers
    /// inside the process, which have no network source (tools, tests): the device API
    /// calls [`Self::start_activation_from`].
    pub async fn start_activation(&self, idnat: &IdNatPs) -> Result<ActivationStarted, EcpsError> {
        self.start(idnat, None).await
    }

    /// [`Self::start_activation`] asked from `source` (the device API): counted against the
    /// source's limits first, before anything is looked up, so that every answer (unknown
    /// identifier, missing coordinates, codes sent) costs the same.
    pub async fn start_activation_from(
        &self,
        idnat: &IdNatPs,
        source: &ClientSource,
    ) -> Result<ActivationStarted, EcpsError> {
        self.start(idnat, Some(source)).await
    }

    /// Code sends (starts and resends) per source and hour.
    fn sends_per_source(&self) -> Limit {
        Limit::new(
            "ecps.activation.source",
            self.config.activation_max_per_source_per_hour,
            3600,
        )
    }

    /// Activations created per source and professional and hour, with the key counted.
    pub(crate) fn starts_per_source_and_person(
        &self,
        source: &ClientSource,
        idnat: &IdNatPs,
    ) -> (Limit, String) {
        let limit = Limit::new(
            "ecps.activation.source_person",
            self.config.activation_max_per_source_and_person_per_hour,
            3600,
        );
        (
            limit,
            format!("{} {}", source.throttle_key(), idnat.as_str()),
        )
    }

    /// Counts one send asked from `source`, in a transaction of its own committed whatever
    /// the answer turns out to be; when starting an activation for `idnat`, also refuses
    /// when the source has created too many for that professional (those are counted when
    /// created: a start the professional's budget refuses sends nothing and is not one).
    pub(crate) async fn count_source(
        &self,
        source: &ClientSource,
        idnat: Option<&IdNatPs>,
    ) -> Result<(), EcpsError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut verdict = self
            .sends_per_source()
            .hit(&mut tx, &source.throttle_key(), now)
            .await?;
        if let (Verdict::Allowed, Some(idnat)) = (verdict, idnat) {
            let (limit, key) = self.starts_per_source_and_person(source, idnat);
            verdict = limit.peek(&mut tx, &key, now).await?;
        }
        tx.commit().await?;
        match verdict {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { retry_after_secs } => {
                tracing::warn!(
                    source = %source,
                    "e-CPS : demande d'activation refusée, trop de demandes de cette source"
                );
                Err(EcpsError::TooManyFromSource { retry_after_secs })
            }
        }
    }

    /// Refuses a new activation when the professional's budget is spent: activations of the
    /// last 24 hours, those whose codes were never entered right only during their first
    /// [`crate::EcpsConfig::activation_unused_weight_secs`]. Says when one frees up.
    pub(crate) async fn check_professional_budget(
        &self,
        idnat: &IdNatPs,
        now: i64,
    ) -> Result<(), EcpsError> {
        let cfg = &self.config;
        let rows = sqlx::query(
            "SELECT created_at, status FROM ecps_activation WHERE idnat = $1 AND created_at > $2",
        )
        .bind(idnat.as_str())
        .bind(now - 86_400)
        .fetch_all(self.store.pool())
        .await?;
        let mut weigh_until = Vec::with_capacity(rows.len());
        for r in &rows {
            let created_at: i64 = r.try_get(0)?;
            let status: String = r.try_get(1)?;
            let weight = if CODES_USED.contains(&status.as_str()) {
                86_400
            } else {
                cfg.activation_unused_weight_secs.min(86_400)
            };
            if created_at + weight > now {
                weigh_until.push(created_at + weight);
            }
        }
        let max = usize::try_from(cfg.activation_max_per_day).unwrap_or(usize::MAX);
        if weigh_until.len() < max {
            return Ok(());
        }
        weigh_until.sort_unstable();
        // One more is allowed once all but max − 1 have stopped weighing.
        let frees_at = weigh_until
            .get(weigh_until.len() - max)
            .copied()
            .unwrap_or(now + 86_400);
        Err(EcpsError::TooManyActivations {
            retry_after_secs: (frees_at - now).max(1),
        })
    }

    /// The e-mail and mobile the registry holds for `idnat`, both valid; else the error
    /// that sends the professional to their ARS.
    async fn registered_contact(&self, idnat: &IdNatPs) -> Result<(Email, Mobile), EcpsError> {
        let professional = queries::get_professional(&self.store, idnat)
            .await
            .map_err(|e| match e {
                queries::RegistryError::Store(s) => EcpsError::Store(s),
                other => EcpsError::BadId(other.to_string()),
            })?
            .ok_or_else(|| EcpsError::UnknownProfessional(idnat.as_str().to_string()))?;
        let contact = professional.contact.as_ref();
        let email = contact.map(|c| Email::parse(&c.email));
        let mobile = contact.map(|c| Mobile::parse(&c.mobile));
        match (email, mobile) {
            (Some(Ok(e)), Some(Ok(m))) => Ok((e, m)),
            (Some(Ok(_)), _) => Err(EcpsError::MissingContact(format!(
                "aucun téléphone mobile valide n'est enregistré pour vous : {ARS}"
            ))),
            (_, Some(Ok(_))) => Err(EcpsError::MissingContact(format!(
                "aucune adresse e-mail valide n'est enregistrée pour vous : {ARS}"
            ))),
            _ => Err(EcpsError::MissingContact(format!(
                "vos coordonnées (adresse e-mail et téléphone mobile) sont absentes ou invalides : {ARS}"
            ))),
        }
    }

    /// The masked e-mail and mobile an activation of `idnat` would send its codes to, for
    /// the login page's activation request (PSC-04, "Demande d'activation e-CPS"), asked from
    /// `source`: counted against the source's code sends first, before anything is looked
    /// up, as [`Self::start_activation_from`] is, so that reading these hints (and that the
    /// professional has no e-CPS) costs a stranger as much as sending codes (issue 10,
    /// item 17). Sends nothing.
    pub async fn activation_hints_from(
        &self,
        idnat: &IdNatPs,
        source: &ClientSource,
    ) -> Result<(String, String), EcpsError> {
        self.count_source(source, Some(idnat)).await?;
        let (email, mobile) = self.registered_contact(idnat).await?;
        Ok((mask_email(email.as_str()), mask_phone(mobile.as_str())))
    }

    async fn start(
        &self,
        idnat: &IdNatPs,
        source: Option<&ClientSource>,
    ) -> Result<ActivationStarted, EcpsError> {
        if let Some(source) = source {
            self.count_source(source, Some(idnat)).await?;
        }
        let (email, mobile) = self.registered_contact(idnat).await?;
        let now = self.now();
        let cfg = &self.config;
        self.check_professional_budget(idnat, now).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let expires_at = now + cfg.activation_ttl_secs;
        let (email_code, sms_code) = (six_digits(), six_digits());
        let mut tx = self.store.begin().await?;
        if let Some(source) = source {
            let (limit, key) = self.starts_per_source_and_person(source, idnat);
            limit.hit(&mut tx, &key, now).await?;
        }
        sqlx::query(
            "UPDATE ecps_activation SET status = 'superseded' WHERE idnat = $1 AND status = 'pending'",
        )
        .bind(idnat.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ecps_activation (id, idnat, email_code_hash, sms_code_hash, expires_at,
                tries, resends, created_at, status)
             VALUES ($1, $2, $3, $4, $5, 0, 0, $6, 'pending')",
        )
        .bind(&id)
        .bind(idnat.as_str())
        .bind(code_hash(&id, EMAIL, &email_code))
        .bind(code_hash(&id, SMS, &sms_code))
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let started = self
            .send_codes(
                &mut tx, &id, &email, &mobile, email_code, sms_code, expires_at,
            )
            .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &ps_actor(idnat.as_str()),
                action: "ecps.activation.started",
                subject: Some(idnat.as_str()),
                details: serde_json::json!({
                    "activation": id,
                    "email": started.email_hint,
                    "mobile": started.sms_hint,
                    "expiresAt": expires_at,
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        self.notify.wake();
        Ok(started)
    }

    /// Sends new codes for a pending activation (new validity; earlier codes stop working).
    /// At most [`crate::EcpsConfig::activation_max_resends`] times; failed tries still count.
    /// For callers inside the process; the device API calls [`Self::resend_activation_from`].
    pub async fn resend_activation(
        &self,
        activation_id: &str,
    ) -> Result<ActivationStarted, EcpsError> {
        self.resend(activation_id, None).await
    }

    /// [`Self::resend_activation`] asked from `source`: one of the source's sends, counted
    /// first.
    pub async fn resend_activation_from(
        &self,
        activation_id: &str,
        source: &ClientSource,
    ) -> Result<ActivationStarted, EcpsError> {
        self.resend(activation_id, Some(source)).await
    }

    async fn resend(
        &self,
        activation_id: &str,
        source: Option<&ClientSource>,
    ) -> Result<ActivationStarted, EcpsError> {
        if let Some(source) = source {
            self.count_source(source, None).await?;
        }
        let now = self.now();
        let row = sqlx::query("SELECT idnat, status, resends FROM ecps_activation WHERE id = $1")
            .bind(activation_id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or(EcpsError::ActivationNotFound)?;
        let idnat: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let resends: i64 = row.try_get(2)?;
        if status != "pending" {
            return Err(EcpsError::ActivationClosed);
        }
        if resends >= i64::from(self.config.activation_max_resends) {
            return Err(EcpsError::TooManyResends);
        }
        let id = IdNatPs::parse(&idnat).map_err(|e| EcpsError::Corrupt(e.to_string()))?;
        let professional = queries::get_professional(&self.store, &id)
            .await
            .map_err(|e| EcpsError::Corrupt(e.to_string()))?
            .ok_or_else(|| EcpsError::UnknownProfessional(idnat.clone()))?;
        let contact = professional.contact.ok_or_else(|| {
            EcpsError::MissingContact(format!("vos coordonnées sont absentes : {ARS}"))
        })?;
        let (Ok(email), Ok(mobile)) =
            (Email::parse(&contact.email), Mobile::parse(&contact.mobile))
        else {
            return Err(EcpsError::MissingContact(format!(
                "vos coordonnées sont invalides : {ARS}"
            )));
        };
        let expires_at = now + self.config.activation_ttl_secs;
        let (email_code, sms_code) = (six_digits(), six_digits());
        let mut tx = self.store.begin().await?;
        let updated = sqlx::query(
            "UPDATE ecps_activation SET email_code_hash = $1, sms_code_hash = $2, expires_at = $3,
                resends = resends + 1
             WHERE id = $4 AND status = 'pending' AND resends = $5",
        )
        .bind(code_hash(activation_id, EMAIL, &email_code))
        .bind(code_hash(activation_id, SMS, &sms_code))
        .bind(expires_at)
        .bind(activation_id)
        .bind(resends)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(EcpsError::ActivationClosed);
        }
        let started = self
            .send_codes(
                &mut tx,
                activation_id,
                &email,
                &mobile,
                email_code,
                sms_code,
                expires_at,
            )
            .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &ps_actor(&idnat),
                action: "ecps.activation.resent",
                subject: Some(&idnat),
                details: serde_json::json!({
                    "activation": activation_id,
                    "resends": resends + 1,
                    "email": started.email_hint,
                    "mobile": started.sms_hint,
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        self.notify.wake();
        Ok(started)
    }

    /// Queues one code by e-mail and one by SMS in the caller's transaction, and returns
    /// what the professional is told (masked hints).
    #[allow(clippy::too_many_arguments)]
    async fn send_codes(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        activation_id: &str,
        email: &Email,
        mobile: &Mobile,
        email_code: String,
        sms_code: String,
        expires_at: i64,
    ) -> Result<ActivationStarted, EcpsError> {
        let minutes = u32::try_from((self.config.activation_ttl_secs + 59) / 60).unwrap_or(10);
        let with_url = |m: OutgoingMessage| match &self.config.public_url {
            Some(u) => m.public_url(u),
            None => m,
        };
        let mail = with_url(OutgoingMessage::email(
            email.clone(),
            Template::EcpsActivationCode {
                code: email_code,
                validity_minutes: minutes,
            },
        ))
        .not_after(expires_at);
        let sms = OutgoingMessage::sms(
            mobile.clone(),
            Template::EcpsActivationCode {
                code: sms_code,
                validity_minutes: minutes,
            },
        )
        .not_after(expires_at);
        caducee_notify::enqueue(tx, self.clock.as_ref(), &mail).await?;
        caducee_notify::enqueue(tx, self.clock.as_ref(), &sms).await?;
        Ok(ActivationStarted {
            activation_id: activation_id.to_string(),
            email_hint: mask_email(email.as_str()),
            sms_hint: mask_phone(mobile.as_str()),
            expires_at,
        })
    }

    /// Checks both codes and registers the device: `public_jwk` is its P-256 public key
    /// (JWK), `password` the new e-CPS password. Wrong codes count as one try; after
    /// [`crate::EcpsConfig::activation_max_tries`] the activation is dead. The previous
    /// device of the professional, if any, is replaced.
    pub async fn confirm_activation(
        &self,
        activation_id: &str,
        email_code: &str,
        sms_code: &str,
        password: &str,
        public_jwk: &str,
    ) -> Result<Device, EcpsError> {
        // Input errors first: they must not consume a try.
        check_password_rules(password)?;
        let jwk = crate::proof::canonical_jwk(public_jwk)?;
        let now = self.now();
        let max_tries = i64::from(self.config.activation_max_tries);
        let mut tx = self.store.begin().await?;
        lock_activation(&mut tx, activation_id).await?;
        let row = sqlx::query(
            "SELECT idnat, email_code_hash, sms_code_hash, expires_at, tries, status, method
             FROM ecps_activation WHERE id = $1",
        )
        .bind(activation_id)
        .fetch_one(&mut *tx)
        .await?;
        let idnat: String = row.try_get(0)?;
        let email_hash: String = row.try_get(1)?;
        let sms_hash: String = row.try_get(2)?;
        let expires_at: i64 = row.try_get(3)?;
        let tries: i64 = row.try_get(4)?;
        let status: String = row.try_get(5)?;
        let method: String = row.try_get(6)?;
        // A card-proven activation has no codes: its token alone confirms it.
        if method != "codes" {
            return Err(EcpsError::ActivationNotFound);
        }
        match status.as_str() {
            "pending" => {}
            "exhausted" => return Err(EcpsError::ActivationExhausted),
            _ => return Err(EcpsError::ActivationClosed),
        }
        if now >= expires_at {
            return Err(EcpsError::ActivationExpired);
        }
        let email_ok = code_matches(activation_id, EMAIL, email_code, &email_hash);
        let sms_ok = code_matches(activation_id, SMS, sms_code, &sms_hash);
        if !(email_ok & sms_ok) {
            let tries = tries + 1;
            let dead = tries >= max_tries;
            sqlx::query("UPDATE ecps_activation SET tries = $1, status = $2 WHERE id = $3")
                .bind(tries)
                .bind(if dead { "exhausted" } else { "pending" })
                .bind(activation_id)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: &ps_actor(&idnat),
                    action: if dead {
                        "ecps.activation.exhausted"
                    } else {
                        "ecps.activation.wrong_codes"
                    },
                    subject: Some(&idnat),
                    details: serde_json::json!({
                        "activation": activation_id,
                        "tries": tries,
                        "emailCodeOk": email_ok,
                        "smsCodeOk": sms_ok,
                    }),
                    request_id: None,
                },
            )
            .await?;
            tx.commit().await?;
            return Err(if dead {
                EcpsError::ActivationExhausted
            } else {
                EcpsError::WrongCodes {
                    remaining: u32::try_from(max_tries - tries).unwrap_or(0),
                }
            });
        }
        // Codes right: close the activation now so a second confirmation cannot reuse them,
        // then hash the password outside any transaction (it takes tens of milliseconds).
        sqlx::query("UPDATE ecps_activation SET status = 'confirming' WHERE id = $1")
            .bind(activation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.register_device(activation_id, idnat, password, &jwk, "codes")
            .await
    }

    /// The end of a proven activation (codes or card), whose row is `confirming`: hashes
    /// the password, registers the device for the configured years and replaces the
    /// previous one, audited with the `method` that proved it.
    pub(crate) async fn register_device(
        &self,
        activation_id: &str,
        idnat: String,
        password: &str,
        jwk: &str,
        method: &str,
    ) -> Result<Device, EcpsError> {
        let password_hash = match self.hasher.hash(password).await {
            Ok(h) => h,
            Err(e) => {
                // Give the activation back so the professional can retry.
                let _ = sqlx::query(
                    "UPDATE ecps_activation SET status = 'pending' WHERE id = $1 AND status = 'confirming'",
                )
                .bind(activation_id)
                .execute(self.store.pool())
                .await;
                return Err(e.into());
            }
        };
        let activated_at = self.now();
        let device_expires_at = years_later(self.clock.now(), self.config.device_validity_years);
        let device_id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.store.begin().await?;
        let closed = sqlx::query(
            "UPDATE ecps_activation SET status = 'used' WHERE id = $1 AND status = 'confirming'",
        )
        .bind(activation_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if closed != 1 {
            return Err(EcpsError::ActivationClosed);
        }
        let previous: Vec<String> =
            sqlx::query("SELECT id FROM ecps_device WHERE idnat = $1 AND status = 'active'")
                .bind(&idnat)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
        sqlx::query(
            "UPDATE ecps_device SET status = 'replaced' WHERE idnat = $1 AND status = 'active'",
        )
        .bind(&idnat)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO ecps_device (id, idnat, public_jwk, password_hash, failed_attempts,
                locked, activated_at, expires_at, status)
             VALUES ($1, $2, $3, $4, 0, 0, $5, $6, 'active')",
        )
        .bind(&device_id)
        .bind(&idnat)
        .bind(jwk)
        .bind(&password_hash)
        .bind(activated_at)
        .bind(device_expires_at)
        .execute(&mut *tx)
        .await?;
        // Requests addressed to the replaced device's owner stay valid: they belong to the
        // professional, not to a device.
        audit::record(
            &mut *tx,
            activated_at,
            &AuditEvent {
                actor: &ps_actor(&idnat),
                action: "ecps.device.activated",
                subject: Some(&idnat),
                details: serde_json::json!({
                    "activation": activation_id,
                    "method": method,
                    "device": device_id,
                    "replaced": previous,
                    "expiresAt": device_expires_at,
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Device {
            id: device_id,
            idnat,
            activated_at,
            expires_at: device_expires_at,
        })
    }

    /// Deactivates the professional's active device (the account page's "Désactiver mon
    /// e-CPS", e.g. a lost phone): its proofs are refused at once on every node, its
    /// pending requests closed; audited as `actor`. False when there was none.
    pub async fn deactivate_device(&self, idnat: &str, actor: &str) -> Result<bool, EcpsError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let row = sqlx::query("SELECT id FROM ecps_device WHERE idnat = $1 AND status = 'active'")
            .bind(idnat)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let device: String = row.try_get(0)?;
        sqlx::query("UPDATE ecps_device SET status = 'deactivated' WHERE id = $1")
            .bind(&device)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE ecps_request SET status = 'cancelled', decided_at = $2
             WHERE idnat = $1 AND status = 'pending'",
        )
        .bind(idnat)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor,
                action: "ecps.device.deactivated",
                subject: Some(idnat),
                details: serde_json::json!({ "device": device }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The active device of a professional, if any (expired or locked devices included:
    /// the caller tells why they are refused).
    pub async fn active_device(&self, idnat: &str) -> Result<Option<Device>, EcpsError> {
        let row = sqlx::query(
            "SELECT id, idnat, activated_at, expires_at FROM ecps_device
             WHERE idnat = $1 AND status = 'active'",
        )
        .bind(idnat)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| -> Result<Device, EcpsError> {
            Ok(Device {
                id: r.try_get(0)?,
                idnat: r.try_get(1)?,
                activated_at: r.try_get(2)?,
                expires_at: r.try_get(3)?,
            })
        })
        .transpose()
    }
}

/// The same instant `years` later (29 February becomes 28 February when needed), in Unix
/// seconds.
pub(crate) fn years_later(at: time::OffsetDateTime, years: i32) -> i64 {
    let target = at.year().saturating_add(years);
    at.replace_year(target)
        .or_else(|_| (at - time::Duration::days(1)).replace_year(target))
        .map(|t| t.unix_timestamp())
        .unwrap_or_else(|_| at.unix_timestamp() + i64::from(years) * 365 * 86_400)
}

/// Writes first: takes the row lock (PostgreSQL) or the write lock (SQLite) before the
/// activation is read, so two confirmations of one activation (codes or card) are
/// serialised. An unknown id is `ActivationNotFound`.
pub(crate) async fn lock_activation(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    activation_id: &str,
) -> Result<(), EcpsError> {
    let touched = sqlx::query("UPDATE ecps_activation SET tries = tries WHERE id = $1")
        .bind(activation_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if touched == 0 {
        return Err(EcpsError::ActivationNotFound);
    }
    Ok(())
}
