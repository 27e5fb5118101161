//! What the one layout (`templates/kit/layout.html`) needs of a page: its language, its
//! title, the path the language switch returns to, and the scripts it loads (files only:
//! the content security policy forbids inline scripts and styles).

use crate::catalogue::Tr;
use crate::locale::{Locale, PageCtx};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

#[derive(Debug, Clone)]
pub struct Layout {
    pub tr: Tr,
    /// The page's own title (translated); the layout adds " — caducee".
    pub title: String,
    /// Path and query of the page, which the language switch returns to.
    pub path: String,
    /// Script files the page loads (same origin), at the end of the body.
    pub scripts: Vec<String>,
    /// The partner portal the page belongs to: its banner and its accent stylesheet.
    pub brand: Option<Brand>,
}

/// A portal's banner ("ORDRE DES MÉDECINS") and colour.
#[derive(Debug, Clone)]
pub struct Brand {
    pub name: String,
    /// Its home page.
    pub href: String,
    /// Its stylesheet of `--accent` (a file: the CSP forbids inline styles).
    pub theme_href: String,
}

impl Layout {
    pub fn new(ctx: &PageCtx, title: impl Into<String>) -> Layout {
        Layout {
            tr: ctx.tr,
            title: title.into(),
            path: ctx.path.clone(),
            scripts: Vec::new(),
            brand: None,
        }
    }

    /// The page of a portal: its banner, its colour.
    pub fn brand(mut self, brand: Brand) -> Layout {
        self.brand = Some(brand);
        self
    }

    pub fn with_script(mut self, src: impl Into<String>) -> Layout {
        self.scripts.push(src.into());
        self
    }

    /// Shorthand for templates: `layout.t(…)`.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    pub fn lang(&self) -> &'static str {
        self.tr.locale().tag()
    }

    pub fn stylesheet(&self) -> String {
        crate::stylesheet_href()
    }

    /// The other language of the switch.
    pub fn other(&self) -> Locale {
        match self.tr.locale() {
            Locale::Fr => Locale::En,
            Locale::En => Locale::Fr,
        }
    }

    /// The name of the other language, in that language.
    pub fn other_name(&self) -> String {
        Tr::new(self.other()).t("kit-language-name")
    }

    /// The switch's link: the kit's route, back to this page.
    pub fn switch_href(&self) -> String {
        let back = crate::assets::local_path(&self.path).unwrap_or("/");
        format!(
            "/langue/{}?retour={}",
            self.other().tag(),
            utf8_percent_encode(back, NON_ALPHANUMERIC)
        )
    }
}
