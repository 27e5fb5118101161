//! Demo mode (`serve --demo`): one agent per département of the demo personas, active,
//! with the password [`DEMO_AGENT_PASSWORD`] and a TOTP secret drawn at their creation;
//! `serve --demo` prints their e-mail, password and `otpauth://` URI at every start (only in
//! demo mode), so that a newcomer can log in at `/ars` with any authenticator app — or with
//! `oathtool --totp -b SECRET`.

use super::agents::{self, AgentState};
use super::totp;
use crate::{PortalError, Portals};
use std::collections::BTreeSet;

/// The password of the demo agents (README).
pub const DEMO_AGENT_PASSWORD: &str = "Ars-Demo-Agence-2026";

/// A demo agent as printed at start.
#[derive(Debug, Clone)]
pub struct DemoAgent {
    pub email: String,
    pub name: String,
    pub departments: Vec<String>,
    pub password: &'static str,
    /// Base32, as typed in an app.
    pub totp_secret: String,
    pub otpauth_uri: String,
}

/// The demo agent of a département: `agent.{dept}@ars.example.test`.
pub fn demo_email(department: &str) -> String {
    format!("agent.{}@ars.example.test", department.to_lowercase())
}

impl Portals {
    /// Creates the demo agents that are missing (one per département of the demo
    /// personas) and returns every demo agent with their credentials.
    pub async fn seed_demo_agents(&self) -> Result<Vec<DemoAgent>, PortalError> {
        let store = self.store();
        let mut departments = BTreeSet::new();
        for persona in caducee_registry::generate::demo_personas() {
            if let (Some(d), _) = super::record::department_and_name(store, &persona.idnat).await? {
                departments.insert(d);
            }
        }
        let now = self.now();
        let mut out = Vec::new();
        for dept in departments {
            let email = demo_email(&dept);
            let existing = {
                let mut conn = store.pool().acquire().await?;
                agents::by_email(&mut conn, &email).await?
            };
            let (agent, sealed) = match existing {
                Some((agent, secrets)) => match secrets.totp_sealed {
                    Some(s) if agent.state == AgentState::Active => (agent, s),
                    // Re-enrolled or removed by hand: the operator's choice stands.
                    _ => continue,
                },
                None => {
                    let added = agents::add(
                        store,
                        self.one_time(),
                        &email,
                        &format!("Agent de démonstration ({dept})"),
                        &dept,
                        "system:demo",
                        now,
                    )
                    .await?;
                    let Ok(added) = added else { continue };
                    let hash = self
                        .passwords()
                        .hash(DEMO_AGENT_PASSWORD)
                        .await
                        .map_err(|e| PortalError::Internal(e.to_string()))?;
                    let secret = totp::new_secret()?;
                    let sealed = self.ars_sealer().seal(&added.agent.id, &secret)?;
                    sqlx::query(
                        "UPDATE ars_agent SET password_hash = $1, totp_sealed = $2, state = 'active',
                            updated_at = $3 WHERE id = $4",
                    )
                    .bind(&hash)
                    .bind(&sealed)
                    .bind(now)
                    .bind(&added.agent.id)
                    .execute(store.pool())
                    .await?;
                    (added.agent, sealed)
                }
            };
            let secret = self.ars_sealer().open(&agent.id, &sealed)?;
            out.push(DemoAgent {
                email: agent.email.clone(),
                name: agent.name.clone(),
                departments: agent.departments.clone(),
                password: DEMO_AGENT_PASSWORD,
                totp_secret: totp::base32(&secret)?,
                otpauth_uri: totp::uri(&secret, &agent.email)?,
            });
        }
        Ok(out)
    }
}
