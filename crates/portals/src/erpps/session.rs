//! Who is logged in to eRPPS: the portal session of `demo.rs` (Pro Santé Connect), read
//! from the eRPPS session cookie; and whether their contact coordinates were checked at
//! the first login (`erpps_contact_check`, portals migration 12).

use super::{BASE, SLUG};
use crate::state::{redirect, Cookie, PortalState};
use crate::{PortalError, Portals};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use sqlx::Row;

/// The professional logged in to eRPPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErppsUser {
    /// idNat_PS (`8` + RPPS), from the userinfo's `SubjectNameID`.
    pub idnat: String,
    /// "Prénom Nom" as the userinfo gives them.
    pub name: String,
    /// The provider's subject.
    pub sub: String,
}

/// The eRPPS user of this request, if its session cookie names a live eRPPS session. For
/// the routes of other components under `/erpps` (the attestations' download).
pub async fn current(
    portals: &Portals,
    headers: &HeaderMap,
) -> Result<Option<ErppsUser>, PortalError> {
    let Some(portal) = portals.inner.configs.iter().find(|c| c.slug == SLUG) else {
        return Ok(None);
    };
    let st = PortalState {
        portals: portals.clone(),
        portal: portal.clone(),
    };
    current_in(&st, headers).await
}

pub(crate) async fn current_in(
    st: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<ErppsUser>, PortalError> {
    let Some(secret) = st.cookie(headers, &Cookie::Session) else {
        return Ok(None);
    };
    let Some(session) = crate::sessions::find_session(&st.portals, &st.portal, &secret).await?
    else {
        return Ok(None);
    };
    let Some(idnat) = session.idnat.clone() else {
        return Ok(None);
    };
    let text = |k: &str| {
        session
            .userinfo
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name = format!("{} {}", text("given_name"), text("family_name"))
        .trim()
        .to_string();
    Ok(Some(ErppsUser {
        idnat,
        name,
        sub: session.sub,
    }))
}

/// The user, or the response that sends an anonymous visitor to the landing page.
pub(crate) async fn require(
    st: &PortalState,
    headers: &HeaderMap,
) -> Result<Result<ErppsUser, Response>, PortalError> {
    Ok(match current_in(st, headers).await? {
        Some(u) => Ok(u),
        None => Err(redirect(BASE, Vec::new())),
    })
}

/// Whether the professional checked their coordinates at a first login (confirmed them,
/// or asked to change them).
pub(crate) async fn contact_checked(st: &PortalState, idnat: &str) -> Result<bool, PortalError> {
    Ok(
        sqlx::query("SELECT 1 FROM erpps_contact_check WHERE idnat = $1")
            .bind(idnat)
            .fetch_optional(st.portals.store().pool())
            .await?
            .is_some(),
    )
}

/// Records the check (`how`: `confirmed` or `change_requested`), once.
pub(crate) async fn mark_contact_checked(
    st: &PortalState,
    idnat: &str,
    how: &str,
) -> Result<(), PortalError> {
    sqlx::query(
        "INSERT INTO erpps_contact_check (idnat, how, checked_at) VALUES ($1, $2, $3)
         ON CONFLICT (idnat) DO NOTHING",
    )
    .bind(idnat)
    .bind(how)
    .bind(st.portals.now())
    .execute(st.portals.store().pool())
    .await?;
    super::audit_action(
        st,
        idnat,
        "erpps.contact.checked",
        serde_json::json!({ "how": how }),
    )
    .await;
    Ok(())
}

/// The registry's contact coordinates of `idnat` (empty strings when none).
pub(crate) async fn registry_contact(
    st: &PortalState,
    idnat: &str,
) -> Result<caducee_registry::queries::Contact, PortalError> {
    let row = sqlx::query("SELECT email, mobile, address FROM reg_contact WHERE idnat = $1")
        .bind(idnat)
        .fetch_optional(st.portals.store().pool())
        .await?;
    Ok(match row {
        Some(r) => caducee_registry::queries::Contact {
            email: r.try_get(0)?,
            mobile: r.try_get(1)?,
            address: r.try_get(2)?,
        },
        None => caducee_registry::queries::Contact {
            email: String::new(),
            mobile: String::new(),
            address: String::new(),
        },
    })
}
