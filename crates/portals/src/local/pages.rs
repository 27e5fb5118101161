//! The pages of local accounts, made of the kit's components: one form page whose blocks
//! are components (every form of the journeys looks and behaves the same: title, steps,
//! alerts, error summary, fields, buttons, links), one message page, the home pages.

use crate::state::PortalState;
use crate::PortalConfig;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use caducee_pages::{
    Alert, Brand, Button, Checkbox, ErrorSummary, Field, Layout, Link, PageCtx, PasswordInput,
    RadioGroup, Select, Steps, Template, TermsBox,
};

/// The layout of a page of `portal`: its banner, its colour, "title — portal".
pub(crate) fn layout(ctx: &PageCtx, portal: &PortalConfig, title: &str) -> Layout {
    let base = portal.base();
    Layout::new(ctx, format!("{title} — {}", portal.name)).brand(Brand {
        name: portal.name.clone(),
        theme_href: format!("{base}/theme.css"),
        href: base,
    })
}

/// One block of a form, in order.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    Field(Field),
    Password(PasswordInput),
    Radios(RadioGroup),
    Select(Select),
    Checkbox(Checkbox),
    Terms(TermsBox),
    /// A heading of a part of the form ("INFORMATIONS CONNEXION").
    Heading(String),
    /// A value shown, not typed (the login e-mail taken from the registry).
    Shown {
        label: String,
        value: String,
    },
    /// A link on its own line ("Où trouver mon RPPS ?").
    Link(Link),
}

/// A form page.
#[derive(Template)]
#[template(path = "local/form.html")]
pub(crate) struct FormPage {
    pub layout: Layout,
    pub heading: String,
    pub steps: Option<Steps>,
    pub alerts: Vec<Alert>,
    pub summary: Option<ErrorSummary>,
    pub intro: Vec<String>,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub blocks: Vec<Block>,
    pub buttons: Vec<Button>,
    /// Links under the form ("Se connecter", "Identifiants oubliés ?").
    pub links: Vec<Link>,
}

impl FormPage {
    pub fn new(layout: Layout, heading: impl Into<String>, action: impl Into<String>) -> Self {
        FormPage {
            layout,
            heading: heading.into(),
            steps: None,
            alerts: Vec::new(),
            summary: None,
            intro: Vec::new(),
            action: action.into(),
            hidden: Vec::new(),
            blocks: Vec::new(),
            buttons: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn hidden(mut self, name: &str, value: impl Into<String>) -> Self {
        self.hidden.push((name.to_string(), value.into()));
        self
    }

    /// The error summary of the form's fields in error, when there are some (RGAA).
    pub fn summarize(mut self) -> Self {
        let mut summary = ErrorSummary::new(&self.layout.tr);
        for b in &self.blocks {
            summary = match b {
                Block::Field(f) => summary.field(f),
                Block::Password(p) => summary.field(&p.field),
                Block::Terms(t) => summary.field(&t.field),
                Block::Select(x) => summary.field(&x.field),
                Block::Checkbox(c) => summary.field(&c.field),
                Block::Radios(g) => summary.radios(g),
                _ => summary,
            };
        }
        self.summary = (!summary.is_empty()).then_some(summary);
        let live = self
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Password(p) if p.live_url.is_some()));
        if live && self.layout.scripts.is_empty() {
            self.layout = self
                .layout
                .with_script(caducee_pages::password_script_href());
        }
        self
    }
}

/// A page that says one thing, with a way on.
#[derive(Template)]
#[template(path = "local/message.html")]
pub(crate) struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub alert: Alert,
    pub links: Vec<Link>,
}

/// Renders a page; a template failure (a data bug, logged by the kit) gives the plain line.
pub(crate) fn render(page: &impl Template) -> String {
    caducee_pages::render(page).unwrap_or_else(|_| {
        "Service momentanément indisponible. Réessayez dans quelques instants.".to_string()
    })
}

#[derive(Template)]
#[template(path = "local/terms.html")]
struct TermsPage {
    layout: Layout,
    heading: String,
    paragraphs: Vec<String>,
    back: String,
}

fn terms_page(st: &PortalState, headers: &HeaderMap, which: &str) -> Response {
    let ctx = PageCtx::from_headers(headers, format!("{}/{which}", st.base()));
    let (title, keys) = if which == "conditions" {
        (
            "account-terms-title",
            ["account-terms-p1", "account-terms-p2", "account-terms-p3"],
        )
    } else {
        (
            "account-privacy-title",
            [
                "account-privacy-p1",
                "account-privacy-p2",
                "account-privacy-p3",
            ],
        )
    };
    let heading = ctx.t(title);
    let paragraphs = keys.iter().map(|k| ctx.t(k)).collect();
    let page = TermsPage {
        layout: layout(&ctx, &st.portal, &heading),
        heading,
        paragraphs,
        back: st.base(),
    };
    crate::state::html(StatusCode::OK, render(&page), Vec::new())
}

/// The terms of use the creation form links to (demo text: an operator links its own).
pub(crate) async fn terms(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    terms_page(&st, &headers, "conditions")
}

pub(crate) async fn privacy(State(st): State<PortalState>, headers: HeaderMap) -> Response {
    terms_page(&st, &headers, "confidentialite")
}
