//! HTML escaping and the shared page layout, used by every component that renders pages
//! (web, idp, portals) and by the e-mail templates. Escaping is text in, text out; it must
//! never be used to "sanitise" HTML, only to put text inside it.
//!
//! The layout is French first, accessible (RGAA / WCAG 2.1 AA: language, landmarks,
//! contrast, focus visible), readable on a phone. Server-rendered HTML, no front-end build.

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
:root{--bleu:#000091;--texte:#161616;--gris:#666;--fond:#f6f6f6}
*{box-sizing:border-box}
body{margin:0;font-family:Marianne,Arial,sans-serif;color:var(--texte);line-height:1.5}
header{background:var(--bleu);color:#fff;padding:.75rem 1rem}
header a{color:#fff;text-decoration:none;font-weight:bold;font-size:1.25rem}
main{max-width:60rem;margin:0 auto;padding:1rem}
a{color:var(--bleu)}
a:focus,button:focus,input:focus{outline:3px solid #0a76f6;outline-offset:2px}
.cartes{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem;padding:0;list-style:none}
.cartes li{background:var(--fond);padding:1rem;border-radius:4px}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}
footer{color:var(--gris);font-size:.875rem;padding:1rem;text-align:center}
";

/// A complete HTML page around `body` (already escaped HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — caducee</title><style>{STYLE}</style></head><body>\
<header role=\"banner\"><a href=\"/\">caducee</a></header>\
<main id=\"contenu\" role=\"main\">{body}</main>\
<footer role=\"contentinfo\">caducee — identité des professionnels de santé</footer></body></html>",
        title = escape(title)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
