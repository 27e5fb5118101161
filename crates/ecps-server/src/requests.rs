//! PSC-03: authentication requests by number matching. The identity provider creates a
//! request (2-digit code shown on the login page, three shuffled choices for the device,
//! 120 s); the device lists the pending ones and answers with the chosen code and the e-CPS
//! password, which the server checks (argon2id; 5 consecutive failures lock the e-CPS).
//! Limits against push bombing: 3 pending requests and 10 per 10 minutes per professional.
//!
//! Must never store or audit a password, and never decide a request whose validity has
//! passed by the injected clock.

use caducee_store::audit::{self, AuditEvent};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::secrets::{choices_for, is_two_digits, two_digits};
use crate::{ps_actor, EcpsError, EcpsServer};

/// Longest service name kept (it is shown on a phone).
const MAX_SERVICE_CHARS: usize = 100;

/// What the identity provider shows on the login page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub id: String,
    /// The 2-digit code to display.
    pub code: String,
    pub expires_at: i64,
}

/// A request as the device sees it: who asks and the three choices, never which is right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub id: String,
    pub service: String,
    pub choices: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Denied => "denied",
            RequestStatus::Expired => "expired",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RequestStatus> {
        Some(match s {
            "pending" => RequestStatus::Pending,
            "approved" => RequestStatus::Approved,
            "denied" => RequestStatus::Denied,
            "expired" => RequestStatus::Expired,
            "cancelled" => RequestStatus::Cancelled,
            _ => return None,
        })
    }
}

/// What the identity provider polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestState {
    pub id: String,
    pub idnat: String,
    pub service: String,
    pub code: String,
    /// `Pending` past its expiry is reported `Expired`.
    pub status: RequestStatus,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
}

/// The result of a device's answer that the server recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Right password, right code: the login continues.
    Approved,
    /// Right password, wrong code: the request is denied (the login fails).
    Denied,
    /// Wrong password; the request stays pending. `remaining` tries before the lock.
    WrongPassword { remaining: u32 },
    /// Wrong password once too many: the e-CPS is locked until reactivation, and the
    /// request is denied.
    Locked,
}

pub(crate) struct DeviceRow {
    pub(crate) idnat: String,
    password_hash: String,
    locked: bool,
    expires_at: i64,
}

/// Whose budget a new request spends (issue 10, item 5: strangers must not be able to spend
/// the budget of a professional's real logins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBudget {
    /// The professional's window (10 per 10 minutes), shared by everyone who types their
    /// identifier: the push-bombing limit.
    Professional,
    /// A browser that completed a login of this professional recently: the caller limits it
    /// on its own budget (per browser), so the professional's window does not stop it.
    KnownBrowser,
}

/// A request its own browser cancelled within this many seconds weighs half in the
/// professional's window: a mistyped identifier fixed at once should not cost a full login.
pub const QUICK_CANCEL_SECS: i64 = 10;

impl EcpsServer {
    /// Starts an authentication for `idnat` on behalf of `service` (its display name). With
    /// `binding` (a CIBA `binding_message` of 2 digits chosen by the client) that code is
    /// used; otherwise one is drawn. Spends the professional's window.
    pub async fn create_request(
        &self,
        idnat: &str,
        service: &str,
        binding: Option<&str>,
    ) -> Result<AuthRequest, EcpsError> {
        self.create_request_with(idnat, service, binding, RequestBudget::Professional)
            .await
    }

    /// [`Self::create_request`], spending `budget`.
    pub async fn create_request_with(
        &self,
        idnat: &str,
        service: &str,
        binding: Option<&str>,
        budget: RequestBudget,
    ) -> Result<AuthRequest, EcpsError> {
        let binding = binding.map(str::trim);
        if let Some(b) = binding {
            if !is_two_digits(b) {
                return Err(EcpsError::BadBinding);
            }
        }
        let service: String = service.trim().chars().take(MAX_SERVICE_CHARS).collect();
        let now = self.now();
        let cfg = &self.config;
        let mut tx = self.store.begin().await?;
        // Write first: serialises the requests of one professional (row lock on PostgreSQL,
        // write lock on SQLite), so the limits below hold across nodes.
        let touched = sqlx::query(
            "UPDATE ecps_device SET locked = locked WHERE idnat = $1 AND status = 'active'",
        )
        .bind(idnat)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if touched == 0 {
            return Err(EcpsError::NoDevice);
        }
        let dev = sqlx::query(
            "SELECT locked, expires_at FROM ecps_device WHERE idnat = $1 AND status = 'active'",
        )
        .bind(idnat)
        .fetch_one(&mut *tx)
        .await?;
        let (locked, dev_expires): (i64, i64) = (dev.try_get(0)?, dev.try_get(1)?);
        if now >= dev_expires {
            return Err(EcpsError::DeviceExpired);
        }
        if locked != 0 {
            return Err(EcpsError::DeviceLocked);
        }
        let pending: i64 = sqlx::query(
            "SELECT COUNT(*) FROM ecps_request WHERE idnat = $1 AND status = 'pending' AND expires_at > $2",
        )
        .bind(idnat)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        // In half units: a request cancelled by its browser within QUICK_CANCEL_SECS weighs
        // 1, any other 2, so such cancellations still bound the pushes a phone receives.
        let recent_halves: i64 = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'cancelled' AND decided_at - created_at <= $3
                                 THEN 1 ELSE 2 END), 0)
             FROM ecps_request WHERE idnat = $1 AND created_at > $2",
        )
        .bind(idnat)
        .bind(now - cfg.request_window_secs)
        .bind(QUICK_CANCEL_SECS)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let recent = recent_halves / 2;
        let refusal = if pending >= i64::from(cfg.max_pending_requests) {
            Some(EcpsError::TooManyPending)
        } else if budget == RequestBudget::Professional
            && recent_halves >= 2 * i64::from(cfg.max_requests_per_window)
        {
            Some(EcpsError::TooManyRequests)
        } else {
            None
        };
        if let Some(err) = refusal {
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: "system:idp",
                    action: "ecps.request.refused",
                    subject: Some(idnat),
                    details: serde_json::json!({
                        "service": service,
                        "pending": pending,
                        "recent": recent,
                    }),
                    request_id: None,
                },
            )
            .await?;
            tx.commit().await?;
            return Err(err);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let code = binding.map(str::to_string).unwrap_or_else(two_digits);
        let choices = choices_for(&code);
        let expires_at = now + cfg.request_ttl_secs;
        sqlx::query(
            "INSERT INTO ecps_request (id, idnat, service, binding, code, choices, status,
                created_at, expires_at, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, NULL)",
        )
        .bind(&id)
        .bind(idnat)
        .bind(&service)
        .bind(binding)
        .bind(&code)
        .bind(choices.join(","))
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: "system:idp",
                action: "ecps.request.created",
                subject: Some(idnat),
                details: serde_json::json!({
                    "request": id,
                    "service": service,
                    "binding": binding.is_some(),
                    "expiresAt": expires_at,
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        // Devices long-polling on this node answer at once; other nodes' pollers see the
        // request in the database.
        self.watch.wake([idnat]);
        Ok(AuthRequest {
            id,
            code,
            expires_at,
        })
    }

    /// The pending, unexpired requests of the device's professional, oldest first.
    pub async fn pending_for_device(
        &self,
        device_id: &str,
    ) -> Result<Vec<PendingRequest>, EcpsError> {
        let now = self.now();
        let dev = self.device_row(device_id).await?;
        check_device(&dev, now)?;
        let rows = sqlx::query(
            "SELECT id, service, choices, created_at, expires_at FROM ecps_request
             WHERE idnat = $1 AND status = 'pending' AND expires_at > $2
             ORDER BY created_at, id",
        )
        .bind(&dev.idnat)
        .bind(now)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let choices: String = r.try_get(2)?;
                Ok(PendingRequest {
                    id: r.try_get(0)?,
                    service: r.try_get(1)?,
                    choices: choices.split(',').map(str::to_string).collect(),
                    created_at: r.try_get(3)?,
                    expires_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// The device answers request `request_id` with the code the professional picked and
    /// their e-CPS password.
    pub async fn answer(
        &self,
        device_id: &str,
        request_id: &str,
        chosen_code: &str,
        password: &str,
    ) -> Result<Outcome, EcpsError> {
        let dev = self.device_row(device_id).await?;
        check_device(&dev, self.now())?;
        let req = self.request_state(request_id).await?;
        if req.idnat != dev.idnat {
            return Err(EcpsError::RequestNotFound);
        }
        match req.status {
            RequestStatus::Pending => {}
            RequestStatus::Expired => return Err(EcpsError::RequestExpired),
            _ => return Err(EcpsError::RequestClosed),
        }
        let password_ok = self.hasher.verify(password, &dev.password_hash).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let actor = ps_actor(&dev.idnat);
        let subject = Some(dev.idnat.as_str());
        if password_ok {
            // The usual path in one statement (it is paid at every login): resets the
            // failure count of the device if it is still active and unlocked, taking its
            // row lock (PostgreSQL) or the write lock (SQLite) like the path below.
            let reset = sqlx::query(
                "UPDATE ecps_device SET failed_attempts = 0
                 WHERE id = $1 AND status = 'active' AND locked = 0",
            )
            .bind(device_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if reset == 0 {
                // Replaced or locked while the password was being checked.
                let locked = sqlx::query(
                    "SELECT locked FROM ecps_device WHERE id = $1 AND status = 'active'",
                )
                .bind(device_id)
                .fetch_optional(&mut *tx)
                .await?;
                return Err(match locked {
                    None => EcpsError::UnknownDevice,
                    Some(_) => EcpsError::DeviceLocked,
                });
            }
        } else {
            let touched = sqlx::query(
                "UPDATE ecps_device SET failed_attempts = failed_attempts WHERE id = $1 AND status = 'active'",
            )
            .bind(device_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if touched == 0 {
                return Err(EcpsError::UnknownDevice);
            }
            let row = sqlx::query("SELECT failed_attempts, locked FROM ecps_device WHERE id = $1")
                .bind(device_id)
                .fetch_one(&mut *tx)
                .await?;
            let (failed, locked): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            if locked != 0 {
                return Err(EcpsError::DeviceLocked);
            }
            let failed = failed + 1;
            let lock = failed >= i64::from(self.config.max_wrong_passwords);
            sqlx::query("UPDATE ecps_device SET failed_attempts = $1, locked = $2 WHERE id = $3")
                .bind(failed)
                .bind(i64::from(lock))
                .bind(device_id)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: &actor,
                    action: "ecps.request.wrong_password",
                    subject,
                    details: serde_json::json!({
                        "request": request_id, "device": device_id, "failedAttempts": failed,
                    }),
                    request_id: None,
                },
            )
            .await?;
            if lock {
                sqlx::query(
                    "UPDATE ecps_request SET status = 'denied', decided_at = $1
                     WHERE id = $2 AND status = 'pending'",
                )
                .bind(now)
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
                audit::record(
                    &mut *tx,
                    now,
                    &AuditEvent {
                        actor: &actor,
                        action: "ecps.device.locked",
                        subject,
                        details: serde_json::json!({ "device": device_id, "failedAttempts": failed }),
                        request_id: None,
                    },
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(if lock {
                Outcome::Locked
            } else {
                Outcome::WrongPassword {
                    remaining: u32::try_from(i64::from(self.config.max_wrong_passwords) - failed)
                        .unwrap_or(0),
                }
            });
        }
        let right = is_two_digits(chosen_code.trim()) && chosen_code.trim() == req.code;
        let status = if right { "approved" } else { "denied" };
        let decided = sqlx::query(
            "UPDATE ecps_request SET status = $1, decided_at = $2
             WHERE id = $3 AND status = 'pending' AND expires_at > $2",
        )
        .bind(status)
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if decided == 0 {
            // Expired or decided by another answer while the password was being checked.
            // The reset of the failure counter still stands: the password was right.
            tx.commit().await?;
            let again = self.request_state(request_id).await?;
            return Err(match again.status {
                RequestStatus::Expired => EcpsError::RequestExpired,
                _ => EcpsError::RequestClosed,
            });
        }
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: &actor,
                action: if right {
                    "ecps.request.approved"
                } else {
                    "ecps.request.denied"
                },
                subject,
                details: serde_json::json!({
                    "request": request_id, "device": device_id, "service": req.service,
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(if right {
            Outcome::Approved
        } else {
            Outcome::Denied
        })
    }

    /// The state of a request, for the identity provider's polling.
    pub async fn request_state(&self, request_id: &str) -> Result<RequestState, EcpsError> {
        let row = sqlx::query(
            "SELECT id, idnat, service, code, status, created_at, expires_at, decided_at
             FROM ecps_request WHERE id = $1",
        )
        .bind(request_id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(EcpsError::RequestNotFound)?;
        state_of(&row, self.now())
    }

    /// "Quitter l'authentification": the login page gives up a pending request.
    pub async fn cancel_request(&self, request_id: &str) -> Result<RequestState, EcpsError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE ecps_request SET status = 'cancelled', decided_at = $1
             WHERE id = $2 AND status = 'pending' AND expires_at > $1",
        )
        .bind(now)
        .bind(request_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 1 {
            let idnat: String = sqlx::query("SELECT idnat FROM ecps_request WHERE id = $1")
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            audit::record(
                &mut *tx,
                now,
                &AuditEvent {
                    actor: "system:idp",
                    action: "ecps.request.cancelled",
                    subject: Some(&idnat),
                    details: serde_json::json!({ "request": request_id }),
                    request_id: None,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.request_state(request_id).await
    }

    pub(crate) async fn device_row(&self, device_id: &str) -> Result<DeviceRow, EcpsError> {
        let row = sqlx::query(
            "SELECT idnat, password_hash, locked, expires_at FROM ecps_device
             WHERE id = $1 AND status = 'active'",
        )
        .bind(device_id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or(EcpsError::UnknownDevice)?;
        Ok(DeviceRow {
            idnat: row.try_get(0)?,
            password_hash: row.try_get(1)?,
            locked: row.try_get::<i64, _>(2)? != 0,
            expires_at: row.try_get(3)?,
        })
    }
}

fn check_device(dev: &DeviceRow, now: i64) -> Result<(), EcpsError> {
    if now >= dev.expires_at {
        return Err(EcpsError::DeviceExpired);
    }
    if dev.locked {
        return Err(EcpsError::DeviceLocked);
    }
    Ok(())
}

fn state_of(row: &AnyRow, now: i64) -> Result<RequestState, EcpsError> {
    let status: String = row.try_get(4)?;
    let expires_at: i64 = row.try_get(6)?;
    let mut status = RequestStatus::parse(&status)
        .ok_or_else(|| EcpsError::Corrupt(format!("statut de demande « {status} »")))?;
    if status == RequestStatus::Pending && now >= expires_at {
        status = RequestStatus::Expired;
    }
    Ok(RequestState {
        id: row.try_get(0)?,
        idnat: row.try_get(1)?,
        service: row.try_get(2)?,
        code: row.try_get(3)?,
        status,
        created_at: row.try_get(5)?,
        expires_at,
        decided_at: row.try_get(7)?,
    })
}
