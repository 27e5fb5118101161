//! The back office's pages: one template (`templates/ars/page.html`) on the page kit —
//! heading, alerts, error summary, sections of data, lists and forms made of the kit's
//! components. Every value is data, escaped by the template.

use caducee_pages::{
    Alert, Brand, Button, ErrorSummary, Field, Layout, Link, PageCtx, PasswordInput, RadioGroup,
    Template,
};

/// One block of a form.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    Field(Field),
    Password(PasswordInput),
    Radios(RadioGroup),
    /// A value shown, not typed (the TOTP secret to type in an app).
    Shown {
        label: String,
        value: String,
    },
    /// An image of ours (the QR code).
    Image {
        src: String,
        alt: String,
    },
}

/// A form.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormPart {
    pub title: Option<String>,
    pub action: String,
    pub multipart: bool,
    pub hidden: Vec<(String, String)>,
    pub blocks: Vec<Block>,
    pub buttons: Vec<Button>,
}

impl FormPart {
    pub fn new(action: impl Into<String>, csrf: String) -> FormPart {
        FormPart {
            action: action.into(),
            hidden: vec![("csrf".to_string(), csrf)],
            ..FormPart::default()
        }
    }

    pub fn hidden(mut self, name: &str, value: impl Into<String>) -> Self {
        self.hidden.push((name.to_string(), value.into()));
        self
    }

    pub fn block(mut self, b: Block) -> Self {
        self.blocks.push(b);
        self
    }

    pub fn button(mut self, b: Button) -> Self {
        self.buttons.push(b);
        self
    }
}

/// An entry of a list (a queue's item).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub href: Option<String>,
    pub label: String,
    pub meta: Vec<String>,
}

/// A part of a page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    pub title: Option<String>,
    pub paragraphs: Vec<String>,
    pub rows: Vec<(String, String)>,
    pub items: Vec<Item>,
    /// Said when `items` is empty.
    pub empty: Option<String>,
    /// A way on from this part ("Renseigner les coordonnées…").
    pub link: Option<Link>,
    pub forms: Vec<FormPart>,
}

impl Section {
    pub fn titled(title: String) -> Section {
        Section {
            title: Some(title),
            ..Section::default()
        }
    }

    pub fn untitled() -> Section {
        Section::default()
    }

    pub fn row(mut self, label: String, value: impl Into<String>) -> Self {
        let v = value.into();
        self.rows
            .push((label, if v.trim().is_empty() { "—".into() } else { v }));
        self
    }

    pub fn form(mut self, f: FormPart) -> Self {
        self.forms.push(f);
        self
    }
}

/// Who is logged in, and the logout button.
#[derive(Debug, Clone)]
pub(crate) struct Nav {
    pub who: String,
    pub csrf: String,
    pub logout: String,
}

#[derive(Template)]
#[template(path = "ars/page.html")]
pub(crate) struct Page {
    pub layout: Layout,
    pub nav: Option<Nav>,
    pub back: Option<Link>,
    pub heading: String,
    pub summary: Option<ErrorSummary>,
    pub alerts: Vec<Alert>,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
    pub links: Vec<Link>,
}

impl Page {
    pub fn new(ctx: &PageCtx, heading: impl Into<String>) -> Page {
        let heading = heading.into();
        Page {
            layout: layout(ctx, &heading),
            nav: None,
            back: None,
            heading,
            summary: None,
            alerts: Vec::new(),
            intro: Vec::new(),
            sections: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn section(mut self, s: Section) -> Self {
        self.sections.push(s);
        self
    }

    pub fn alert(mut self, a: Alert) -> Self {
        self.alerts.push(a);
        self
    }

    /// The error summary of the fields in error of every form (RGAA).
    pub fn summarize(mut self) -> Self {
        let mut summary = ErrorSummary::new(&self.layout.tr);
        for f in self.sections.iter().flat_map(|s| &s.forms) {
            for b in &f.blocks {
                summary = match b {
                    Block::Field(x) => summary.field(x),
                    Block::Password(p) => summary.field(&p.field),
                    Block::Radios(g) => summary.radios(g),
                    _ => summary,
                };
            }
        }
        self.summary = (!summary.is_empty()).then_some(summary);
        self
    }

    pub fn render(&self) -> String {
        render(self)
    }
}

/// The layout of a back-office page: its banner, its colour, "title — Espace ARS".
pub(crate) fn layout(ctx: &PageCtx, title: &str) -> Layout {
    let name = ctx.t("ars-name");
    Layout::new(ctx, format!("{title} — {name}")).brand(Brand {
        name,
        theme_href: "/ars/theme.css".to_string(),
        href: super::BASE.to_string(),
    })
}

fn render(page: &impl Template) -> String {
    caducee_pages::render(page).unwrap_or_else(|_| {
        "Service momentanément indisponible. Réessayez dans quelques instants.".to_string()
    })
}

/// A page that says one thing, with the way back to the back office.
pub(crate) fn message(ctx: &PageCtx, title: &str, text: &str, request_id: Option<&str>) -> String {
    let mut page = Page::new(ctx, title).alert(caducee_pages::Alert::new(
        caducee_pages::AlertKind::Error,
        text,
    ));
    if let Some(rid) = request_id {
        page.intro.push(
            ctx.tr
                .t_with("ars-request-id", &[("id", caducee_pages::Arg::from(rid))]),
        );
    }
    page.links
        .push(Link::new(super::BASE, ctx.t("ars-back-home")));
    page.render()
}
