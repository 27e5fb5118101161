//! PSC-05: reminder e-mails 30 and 7 days before an e-CPS expires, sent by the periodic
//! housekeeping of any node.
//!
//! Each reminder is sent at most once per threshold and device: the device row carries the
//! time each one was sent (`reminded_30d_at`, `reminded_7d_at`), set by a conditional
//! `UPDATE` in the same transaction as the outbox message and the audit event, so two nodes
//! running the housekeeping at once cannot both send it, and a crash sends nothing or
//! everything. A device found with 7 days or less left that never got the 30-day reminder
//! (caducee was down, or the device was activated with a short validity) gets only the
//! 7-day one: two e-mails at once would say the same thing.
//!
//! Must never read the system clock (the thresholds are measured on the injected clock) and
//! never remind about an expired, replaced or unknown device.

use caducee_core::contact::Email;
use caducee_core::ids::IdNatPs;
use caducee_core::mask::mask_email;
use caducee_notify::{OutgoingMessage, Template};
use caducee_registry::queries;
use caducee_store::audit::{self, AuditEvent};
use sqlx::Row;

use crate::{EcpsError, EcpsServer};

const DAY: i64 = 86_400;

/// Devices handled by one housekeeping round; the rest wait for the next round (a minute
/// later), so one round stays short even on the day a large cohort nears its expiry.
const BATCH: i64 = 500;

/// The two reminders, latest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threshold {
    Days30,
    Days7,
}

impl Threshold {
    fn days(self) -> i64 {
        match self {
            Threshold::Days30 => 30,
            Threshold::Days7 => 7,
        }
    }

    /// The column recording that this reminder was sent. Static strings only: they are
    /// pasted into SQL.
    fn column(self) -> &'static str {
        match self {
            Threshold::Days30 => "reminded_30d_at",
            Threshold::Days7 => "reminded_7d_at",
        }
    }

    /// The reminder due for a device expiring in `left` seconds, if any.
    fn due(left: i64) -> Option<Threshold> {
        if left <= 0 {
            None
        } else if left <= 7 * DAY {
            Some(Threshold::Days7)
        } else if left <= 30 * DAY {
            Some(Threshold::Days30)
        } else {
            None
        }
    }
}

impl EcpsServer {
    /// Sends the expiry reminders that are due (see the module documentation) and returns
    /// how many devices were handled (an e-mail queued, or none when the registry has no
    /// valid e-mail address, which is audited).
    pub async fn send_expiry_reminders(&self) -> Result<u64, EcpsError> {
        let now = self.now();
        // Candidates: active devices within 30 days of expiry, without the 7-day reminder,
        // and without the 30-day one unless they are now within 7 days.
        let rows = sqlx::query(
            "SELECT id, idnat, expires_at, reminded_30d_at FROM ecps_device
             WHERE status = 'active' AND expires_at > $1 AND expires_at <= $2
               AND reminded_7d_at IS NULL
               AND (reminded_30d_at IS NULL OR expires_at <= $3)
             ORDER BY expires_at, id LIMIT $4",
        )
        .bind(now)
        .bind(now + 30 * DAY)
        .bind(now + 7 * DAY)
        .bind(BATCH)
        .fetch_all(self.store.pool())
        .await?;
        let mut handled = 0;
        for r in &rows {
            let device_id: String = r.try_get(0)?;
            let idnat: String = r.try_get(1)?;
            let expires_at: i64 = r.try_get(2)?;
            let Some(threshold) = Threshold::due(expires_at - now) else {
                continue;
            };
            if self
                .remind(&device_id, &idnat, expires_at, threshold, now)
                .await?
            {
                handled += 1;
            }
        }
        if handled > 0 {
            self.notify.wake();
        }
        Ok(handled)
    }

    /// One reminder: marker, e-mail and audit event in one transaction. False when another
    /// node got there first (or the device changed meanwhile).
    async fn remind(
        &self,
        device_id: &str,
        idnat: &str,
        expires_at: i64,
        threshold: Threshold,
        now: i64,
    ) -> Result<bool, EcpsError> {
        // Read outside the transaction: the registry is another component's, and a contact
        // changed a moment later would not make this reminder wrong.
        let email = self.registry_email(idnat).await?;
        let mut tx = self.store.begin().await?;
        // The 7-day reminder also closes the 30-day one (sent or skipped), so nothing can
        // send the 30-day reminder after it.
        let marked = sqlx::query(&format!(
            "UPDATE ecps_device SET {col} = $1
             WHERE id = $2 AND status = 'active' AND expires_at = $3
               AND {col} IS NULL AND reminded_7d_at IS NULL",
            col = threshold.column()
        ))
        .bind(now)
        .bind(device_id)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked != 1 {
            return Ok(false);
        }
        let days_left = u32::try_from((expires_at - now + DAY - 1) / DAY).unwrap_or(1);
        let masked = email.as_ref().map(|e| mask_email(e.as_str()));
        if let Some(email) = email {
            let message = OutgoingMessage::email(
                email,
                Template::EcpsExpiryReminder {
                    expires_on: caducee_core::date_fr::date(expires_at),
                    days_left,
                },
            )
            // Useless once the e-CPS has expired.
            .not_after(expires_at);
            let message = match &self.config.public_url {
                Some(u) => message.public_url(u),
                None => message,
            };
            caducee_notify::enqueue(&mut tx, self.clock.as_ref(), &message).await?;
        }
        audit::record(
            &mut *tx,
            now,
            &AuditEvent {
                actor: "system:ecps",
                action: "ecps.device.expiry_reminder",
                subject: Some(idnat),
                details: serde_json::json!({
                    "device": device_id,
                    "thresholdDays": threshold.days(),
                    "daysLeft": days_left,
                    "expiresAt": expires_at,
                    "email": masked,
                    "sent": masked.is_some(),
                }),
                request_id: None,
            },
        )
        .await?;
        tx.commit().await?;
        if masked.is_none() {
            tracing::warn!(
                device = device_id,
                threshold_days = threshold.days(),
                "e-CPS : rappel d'expiration non envoyé, aucune adresse e-mail valide au répertoire"
            );
        }
        Ok(true)
    }

    /// The professional's e-mail address in the registry, when there is a valid one.
    async fn registry_email(&self, idnat: &str) -> Result<Option<Email>, EcpsError> {
        let id = IdNatPs::parse(idnat).map_err(|e| EcpsError::Corrupt(e.to_string()))?;
        let professional =
            queries::get_professional(&self.store, &id)
                .await
                .map_err(|e| match e {
                    queries::RegistryError::Store(s) => EcpsError::Store(s),
                    other => EcpsError::Corrupt(other.to_string()),
                })?;
        Ok(professional
            .and_then(|p| p.contact)
            .and_then(|c| Email::parse(&c.email).ok()))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn psc_05_the_latest_threshold_reached_is_the_one_due() {
        assert_eq!(Threshold::due(31 * DAY), None);
        assert_eq!(Threshold::due(30 * DAY), Some(Threshold::Days30));
        assert_eq!(Threshold::due(7 * DAY + 1), Some(Threshold::Days30));
        assert_eq!(Threshold::due(7 * DAY), Some(Threshold::Days7));
        assert_eq!(Threshold::due(1), Some(Threshold::Days7));
        assert_eq!(Threshold::due(0), None);
        assert_eq!(caducee_core::date_fr::date(1_867_741_200), "09/03/2029");
    }
}
