//! The attestation as a PDF (krilla: fonts embedded as subsets, text extractable), and the
//! way back: the signed content read out of a PDF (lopdf).
//!
//! The JWS travels inside the PDF as an embedded file (`attestation-rpps.jws`, stored
//! uncompressed, listed in the catalogue's `EmbeddedFiles` name tree), the standard place a
//! reader shows as an attachment and a tool finds without guessing; the visible text and the
//! QR code are a rendering of the same content for people.

use crate::content::Attested;
use crate::AttestationError;
use caducee_pages::{Arg, Locale, Tr};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use krilla::Document;

/// The embedded file's name.
pub const EMBEDDED_NAME: &str = "attestation-rpps.jws";

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A4 in points.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// Largest PDF read back (an attestation is about 60 kB).
pub const MAX_PDF_BYTES: usize = 8 * 1024 * 1024;
/// Largest embedded JWS accepted.
const MAX_JWS_BYTES: usize = 64 * 1024;

struct Fonts {
    regular: Font,
    bold: Font,
}

fn fonts() -> Result<Fonts, AttestationError> {
    let load = |bytes: &'static [u8]| {
        Font::new(bytes.into(), 0).ok_or_else(|| AttestationError::Pdf("police".into()))
    };
    Ok(Fonts {
        regular: load(REGULAR)?,
        bold: load(BOLD)?,
    })
}

/// Splits `text` into lines of at most about `max` characters, at spaces.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn pdf_date(unix: i64) -> DateTime {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    DateTime::new(u16::try_from(t.year()).unwrap_or(1970))
        .month(u8::from(t.month()))
        .day(t.day())
        .hour(t.hour())
        .minute(t.minute())
        .second(t.second())
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// The PDF of `a`, carrying `jws` (the signature of exactly `a`), its QR code pointing at
/// `verify_url`, in the language `locale`.
pub fn render(
    a: &Attested,
    jws: &str,
    verify_url: &str,
    locale: Locale,
) -> Result<Vec<u8>, AttestationError> {
    let tr = Tr::new(locale);
    let f = fonts()?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(tr.t("att-pdf-title"))
            .description(tr.t_with("att-pdf-name", &[("name", Arg::from(a.display_name()))]))
            .language(locale.tag().to_string())
            .creator("caducee".into())
            .creation_date(pdf_date(a.issued_at)),
    );
    doc.embed_file(EmbeddedFile {
        path: EMBEDDED_NAME.into(),
        mime_type: MimeType::new("application/jose"),
        description: Some(tr.t("att-pdf-embedded")),
        association_kind: AssociationKind::Source,
        data: jws.as_bytes().to_vec().into(),
        modification_date: Some(pdf_date(a.issued_at)),
        compress: Some(false),
        location: None,
    })
    .ok_or_else(|| AttestationError::Pdf("fichier intégré".into()))?;
    let settings = PageSettings::from_wh(WIDTH, HEIGHT)
        .ok_or_else(|| AttestationError::Pdf("format de page".into()))?;
    let mut page = doc.start_page_with(settings);
    let mut surface = page.surface();
    let mut y = MARGIN + 20.0;
    let text = |surface: &mut krilla::surface::Surface<'_>,
                y: &mut f32,
                font: &Font,
                size: f32,
                s: &str,
                after: f32| {
        surface.draw_text(
            Point::from_xy(MARGIN, *y),
            font.clone(),
            size,
            s,
            false,
            TextDirection::Auto,
        );
        *y += size * 1.35 + after;
    };
    text(
        &mut surface,
        &mut y,
        &f.bold,
        20.0,
        &tr.t("att-pdf-title"),
        2.0,
    );
    text(
        &mut surface,
        &mut y,
        &f.regular,
        10.0,
        &tr.t("att-pdf-subtitle"),
        14.0,
    );
    for line in wrap(&tr.t("att-pdf-intro"), 84) {
        text(&mut surface, &mut y, &f.regular, 10.0, &line, 0.0);
    }
    y += 14.0;
    text(
        &mut surface,
        &mut y,
        &f.bold,
        13.0,
        &tr.t("att-pdf-person"),
        4.0,
    );
    let name = tr.t_with("att-pdf-name", &[("name", Arg::from(a.display_name()))]);
    text(&mut surface, &mut y, &f.regular, 11.0, &name, 1.0);
    let number_key = if a.is_rpps() {
        "att-pdf-rpps"
    } else {
        "att-pdf-adeli"
    };
    let number = tr.t_with(number_key, &[("number", Arg::from(a.identifier.clone()))]);
    text(&mut surface, &mut y, &f.bold, 11.0, &number, 1.0);
    let idnat = tr.t_with("att-pdf-idnat", &[("idnat", Arg::from(a.id_nat.clone()))]);
    text(&mut surface, &mut y, &f.regular, 11.0, &idnat, 12.0);
    text(
        &mut surface,
        &mut y,
        &f.bold,
        13.0,
        &tr.t("att-pdf-professions"),
        4.0,
    );
    if a.professions.is_empty() {
        text(
            &mut surface,
            &mut y,
            &f.regular,
            11.0,
            &tr.t("att-pdf-no-profession"),
            0.0,
        );
    }
    for p in &a.professions {
        text(
            &mut surface,
            &mut y,
            &f.regular,
            11.0,
            &format!("• {p}"),
            0.0,
        );
    }
    y += 12.0;
    text(
        &mut surface,
        &mut y,
        &f.bold,
        13.0,
        &tr.t("att-pdf-activities"),
        4.0,
    );
    if a.activities.is_empty() {
        text(
            &mut surface,
            &mut y,
            &f.regular,
            11.0,
            &tr.t("att-pdf-no-activity"),
            0.0,
        );
    }
    // Room for the QR code block at the bottom of the page.
    let bottom = HEIGHT - MARGIN - 150.0;
    for (i, act) in a.activities.iter().enumerate() {
        if y > bottom - 30.0 {
            let more = tr.t_with(
                "att-pdf-more-activities",
                &[("count", Arg::from((a.activities.len() - i) as i64))],
            );
            text(&mut surface, &mut y, &f.regular, 10.0, &more, 0.0);
            break;
        }
        let head = [act.profession.as_str(), act.mode.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" — ");
        text(
            &mut surface,
            &mut y,
            &f.regular,
            11.0,
            &format!("• {head}"),
            0.0,
        );
        let place = [act.structure.as_str(), act.place.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        for line in wrap(&place, 80) {
            text(
                &mut surface,
                &mut y,
                &f.regular,
                10.0,
                &format!("   {line}"),
                0.0,
            );
        }
        y += 3.0;
    }
    y = y.max(bottom - 20.0);
    let issued = tr.t_with(
        "att-pdf-issued",
        &[("date", Arg::from(crate::content::when(&tr, a.issued_at)))],
    );
    text(&mut surface, &mut y, &f.bold, 11.0, &issued, 10.0);
    // The QR code, bottom right; its explanation at its left.
    let qr_size = 110.0;
    let qr_top = y;
    draw_qr(
        &mut surface,
        verify_url,
        WIDTH - MARGIN - qr_size,
        qr_top,
        qr_size,
    )?;
    // The text column beside the QR code.
    for line in wrap(&tr.t("att-pdf-verify"), 52) {
        text(&mut surface, &mut y, &f.bold, 11.0, &line, 0.0);
    }
    y += 2.0;
    let code = tr.t_with(
        "att-pdf-code",
        &[("code", Arg::from(crate::code::grouped(&a.code)))],
    );
    text(&mut surface, &mut y, &f.regular, 11.0, &code, 2.0);
    for line in wrap(verify_url, 60) {
        text(&mut surface, &mut y, &f.regular, 9.0, &line, 0.0);
    }
    y += 6.0;
    for line in wrap(&tr.t("att-pdf-signature"), 62) {
        text(&mut surface, &mut y, &f.regular, 8.0, &line, 0.0);
    }
    surface.finish();
    page.finish();
    doc.finish()
        .map_err(|e| AttestationError::Pdf(format!("{e:?}")))
}

/// The QR code of `data`, `size` points wide, its top-left corner at (`x`, `y`).
fn draw_qr(
    surface: &mut krilla::surface::Surface<'_>,
    data: &str,
    x: f32,
    y: f32,
    size: f32,
) -> Result<(), AttestationError> {
    let qr = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AttestationError::Pdf(format!("QR code : {e}")))?;
    let width = qr.width();
    // Four modules of quiet zone on each side.
    let module = size / (width as f32 + 8.0);
    let colors = qr.to_colors();
    let mut pb = PathBuilder::new();
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (col, row) = ((i % width) as f32, (i / width) as f32);
            if let Some(r) = Rect::from_xywh(
                x + (col + 4.0) * module,
                y + (row + 4.0) * module,
                module,
                module,
            ) {
                pb.push_rect(r);
            }
        }
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(Fill::default()));
        surface.draw_path(&path);
    }
    Ok(())
}

/// The JWS embedded in `pdf` by [`render`].
pub fn extract(pdf: &[u8]) -> Result<String, AttestationError> {
    let unreadable = |why: &str| AttestationError::NotAnAttestation(why.to_string());
    if pdf.len() > MAX_PDF_BYTES {
        return Err(unreadable("fichier trop grand"));
    }
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_PDF_BYTES),
        ..lopdf::LoadOptions::default()
    };
    let doc = lopdf::Document::load_mem_with_options(pdf, options)
        .map_err(|_| unreadable("ce fichier n'est pas un PDF lisible"))?;
    let names = doc
        .catalog()
        .and_then(|c| c.get_deref(b"Names", &doc))
        .and_then(|n| n.as_dict())
        .and_then(|n| n.get_deref(b"EmbeddedFiles", &doc))
        .and_then(|n| n.as_dict())
        .map_err(|_| unreadable("aucun contenu signé dans ce PDF"))?;
    let spec = find_name(&doc, names, EMBEDDED_NAME.as_bytes(), 0)
        .ok_or_else(|| unreadable("aucun contenu signé dans ce PDF"))?;
    let stream = spec
        .get_deref(b"EF", &doc)
        .and_then(|ef| ef.as_dict())
        .and_then(|ef| ef.get_deref(b"F", &doc))
        .and_then(|f| f.as_stream())
        .map_err(|_| unreadable("contenu signé illisible"))?;
    let bytes = if stream.dict.has(b"Filter") {
        stream
            .decompressed_content_with_limit(MAX_JWS_BYTES)
            .map_err(|_| unreadable("contenu signé illisible"))?
    } else {
        stream.content.clone()
    };
    if bytes.len() > MAX_JWS_BYTES {
        return Err(unreadable("contenu signé trop grand"));
    }
    String::from_utf8(bytes).map_err(|_| unreadable("contenu signé illisible"))
}

/// The file specification named `name` in a name tree node (its `Names`, then its `Kids`).
fn find_name<'a>(
    doc: &'a lopdf::Document,
    node: &'a lopdf::Dictionary,
    name: &[u8],
    depth: usize,
) -> Option<&'a lopdf::Dictionary> {
    if depth > 8 {
        return None;
    }
    if let Ok(pairs) = node.get_deref(b"Names", doc).and_then(|n| n.as_array()) {
        for pair in pairs.chunks(2) {
            if let [key, value] = pair {
                if doc.dereference(key).ok()?.1.as_str().ok() == Some(name) {
                    return doc.dereference(value).ok()?.1.as_dict().ok();
                }
            }
        }
    }
    if let Ok(kids) = node.get_deref(b"Kids", doc).and_then(|k| k.as_array()) {
        for kid in kids {
            if let Ok((_, lopdf::Object::Dictionary(d))) = doc.dereference(kid) {
                if let Some(found) = find_name(doc, d, name, depth + 1) {
                    return Some(found);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_cuts_at_spaces() {
        assert_eq!(wrap("un deux trois", 7), vec!["un deux", "trois"]);
        assert!(wrap("", 7).is_empty());
    }
}
