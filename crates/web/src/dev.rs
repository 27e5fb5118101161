//! Developer pages, mounted only in demo/dev mode: `/dev/outbox` lists every message the
//! outbox holds, so that a newcomer can read the codes without a real phone. Outside demo
//! mode these routes answer 404 as if they did not exist: they must never leak a code in
//! production.

use crate::{escape, page, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(outbox))
}

fn status_label(status: caducee_notify::Status) -> &'static str {
    use caducee_notify::Status;
    match status {
        Status::Pending => "en attente",
        Status::Sent => "envoyé",
        Status::Failed => "échec",
        Status::Expired => "expiré (non envoyé)",
    }
}

/// In Paris time, as every other page and message shows it (`core::date_fr`).
fn when(unix: i64) -> String {
    caducee_core::date_fr::date_time(unix)
}

async fn outbox(State(state): State<AppState>) -> Response {
    if !state.inner.demo {
        return StatusCode::NOT_FOUND.into_response();
    }
    let store = &state.inner.store;
    let (messages, counts) = match (
        caducee_notify::recent(store, 100).await,
        caducee_notify::counts(store).await,
    ) {
        (Ok(m), Ok(c)) => (m, c),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "lecture de la file d'envoi");
            let body = "<h1>Messages envoyés</h1><p>La file d'envoi est momentanément illisible. Réessayez dans un instant.</p>";
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(page("Messages envoyés", body)),
            )
                .into_response();
        }
    };
    let mut rows = String::new();
    for m in &messages {
        let channel = match m.channel {
            caducee_notify::ChannelKind::Email => "e-mail",
            caducee_notify::ChannelKind::Sms => "SMS",
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{channel}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
            when(m.created_at),
            escape(&m.recipient),
            escape(&m.subject),
            status_label(m.status),
            m.attempts,
            escape(&m.body_text)
        ));
    }
    let body = format!(
        "<h1>Messages envoyés</h1>\
<p>Mode démonstration : voici les e-mails et SMS que caducee a remis (ou va remettre), les plus récents d'abord. \
En production cette page n'existe pas.</p>\
<p>{} en attente, {} envoyés, {} en échec, {} expirés.</p>\
<table><caption>Les 100 derniers messages</caption><thead><tr><th scope=\"col\">Date (heure de Paris)</th><th scope=\"col\">Canal</th>\
<th scope=\"col\">Destinataire</th><th scope=\"col\">Objet</th><th scope=\"col\">État</th><th scope=\"col\">Tentatives</th>\
<th scope=\"col\">Texte</th></tr></thead><tbody>{rows}</tbody></table>",
        counts.pending, counts.sent, counts.failed, counts.expired
    );
    Html(page("Messages envoyés", &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::when;

    /// Issue 10 item 4: the outbox shows Paris time, as every other page and message.
    #[test]
    fn nfr_03_dev_outbox_shows_paris_time() {
        // 2026-01-15 12:00 UTC (CET, +1) and 2026-07-01 12:00 UTC (CEST, +2).
        assert_eq!(when(1_768_478_400), "15/01/2026 à 13:00");
        assert_eq!(when(1_782_907_200), "01/07/2026 à 14:00");
    }
}
