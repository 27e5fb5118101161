//! The "Délégation" tab of the login page (`idp/login_tab_delegation.html`): one link per
//! configured provider, and, after a first upstream login, what the pairing asks.

use crate::{Idp, IdpError, REALM_PATH};
use caducee_pages::{Arg, PageCtx};

/// A provider as the tab lists it.
pub(crate) struct ProviderLink {
    /// "Se connecter avec {name}".
    pub label: String,
    pub href: String,
}

/// The data of the "Délégation" panel (as `delegation`).
#[derive(Default)]
pub struct DelegationTab {
    pub(crate) providers: Vec<ProviderLink>,
    /// The heading of the pairing notice when a first upstream login waits for its
    /// pairing in this flow ("Première connexion avec {name}").
    pub(crate) pending: Option<String>,
    /// The e-CPS and card tabs of this page (the pairing login).
    pub(crate) ecps_tab: String,
    pub(crate) card_tab: String,
}

/// The tab of the login flow `flow_id`, whose page is `page_url`.
pub(crate) async fn for_flow(
    idp: &Idp,
    ctx: &PageCtx,
    flow_id: &str,
    page_url: &str,
) -> Result<DelegationTab, IdpError> {
    let base = format!("{}{REALM_PATH}/broker", idp.public_url());
    let flow_q: String = url::form_urlencoded::byte_serialize(flow_id.as_bytes()).collect();
    let providers = idp
        .delegations()
        .all()
        .iter()
        .map(|b| ProviderLink {
            label: ctx.tr.t_with(
                "delegation-login-with",
                &[("provider", Arg::from(b.settings.name.as_str()))],
            ),
            href: format!("{base}/{}/login?flow={flow_q}", b.settings.id),
        })
        .collect();
    let pending = match super::store::pending_provider(idp, flow_id).await? {
        Some(id) => idp.delegations().get(&id).map(|b| {
            ctx.tr.t_with(
                "delegation-pairing-title",
                &[("provider", Arg::from(b.settings.name.as_str()))],
            )
        }),
        None => None,
    };
    Ok(DelegationTab {
        providers,
        pending,
        ecps_tab: format!("{page_url}?tab=ecps"),
        card_tab: format!("{page_url}?tab=carte"),
    })
}
