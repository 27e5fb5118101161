//! The page kit of caducee (DESIGN.md "Pages"): every screen of every component is an
//! askama template (escaped by default, checked when compiled) that extends the one layout
//! of `templates/kit/layout.html` and builds its forms from the components of
//! `templates/kit/components.html`, styled by the one stylesheet served as a file
//! (`/assets/caducee-<hash>.css`), its words taken from the French and English catalogues
//! (Fluent, `locales/`).
//!
//! A component's HTML wires its accessibility once for all its uses: labels tied to their
//! inputs, hints and errors named by `aria-describedby`, `aria-invalid`, the error summary
//! that links to each field in error and takes the focus (RGAA pattern).
//!
//! This crate must never hold a component's business rules, nor build HTML in Rust strings:
//! the components are data (Rust structs) rendered by templates.
//!
//! Components using the kit point askama at its templates with an `askama.toml` of their
//! own: `[general] dirs = ["templates", "../pages/templates"]`.

mod assets;
mod catalogue;
pub mod components;
mod layout;
mod locale;

pub use askama::Template;
pub use assets::{
    password_script_href, routes, stylesheet_href, terms_script_href, LANG_COOKIE,
    LANG_COOKIE_SECURE,
};
pub use catalogue::{Arg, Tr, KEYS_FILES};
pub use components::*;
pub use layout::{Brand, Layout};
pub use locale::{Locale, PageCtx};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Renders a template; a failure (a bug of a template's data, never of input) is logged
/// and gives a plain French error page, never a panic.
pub fn render(template: &impl Template) -> Result<String, askama::Error> {
    template.render().inspect_err(|e| {
        tracing::error!(error = %e, "page rendering failed");
    })
}

/// An HTML response of a page that must never be cached (it carries a form token, a
/// person, a login state): `Cache-Control: no-store`, and `Vary` on what chose its
/// language.
pub fn html(status: StatusCode, template: &impl Template) -> Response {
    let body = match render(template) {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CACHE_CONTROL, "no-store")],
                "Service momentanément indisponible. Réessayez dans quelques instants.",
            )
                .into_response()
        }
    };
    let mut response = (status, axum::response::Html(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

#[cfg(test)]
mod tests;

// The templates of this crate name the escaper by its absolute path, as other crates do.
extern crate self as caducee_pages;

/// The HTML escaper of every template (`askama.toml`: `[[escaper]]`): `&`, `<`, `>` and `"`
/// become `&amp;`, `&lt;`, `&gt;`, `&quot;`. The apostrophe stays as typed (French is
/// full of them), which is safe because every attribute of the kit's templates is quoted
/// with `"` — a rule the kit's tests check on every template.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, string: &str) -> std::fmt::Result {
        let mut last = 0;
        for (i, b) in string.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => continue,
            };
            dest.write_str(&string[last..i])?;
            dest.write_str(entity)?;
            last = i + 1;
        }
        dest.write_str(&string[last..])
    }
}
