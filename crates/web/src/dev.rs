//! Developer pages, mounted only in demo/dev mode: `/dev/outbox` lists every message the
//! outbox holds, so that a newcomer can read the codes without a real phone. Outside demo
//! mode these routes answer 404 as if they did not exist: they must never leak a code in
//! production.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use caducee_pages::{Arg, Layout, PageCtx, Template};

pub fn routes() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(outbox))
}

fn status_key(status: caducee_notify::Status) -> &'static str {
    use caducee_notify::Status;
    match status {
        Status::Pending => "web-outbox-pending",
        Status::Sent => "web-outbox-sent",
        Status::Failed => "web-outbox-failed",
        Status::Expired => "web-outbox-expired",
    }
}

/// One message as the table shows it.
struct Row {
    when: String,
    channel: String,
    recipient: String,
    subject: String,
    status: String,
    attempts: i64,
    text: String,
}

#[derive(Template)]
#[template(path = "web/outbox.html")]
struct Outbox {
    layout: Layout,
    /// The counts line; `None` when the outbox could not be read.
    counts: Option<String>,
    rows: Vec<Row>,
}

/// In Paris time, as every other page and message shows it (`core::date_fr`).
fn when(unix: i64) -> String {
    caducee_core::date_fr::date_time(unix)
}

async fn outbox(State(state): State<AppState>, ctx: PageCtx) -> Response {
    if !state.inner.demo {
        return StatusCode::NOT_FOUND.into_response();
    }
    let layout = Layout::new(&ctx, ctx.t("web-outbox-title"));
    let store = &state.inner.store;
    let (messages, counts) = match (
        caducee_notify::recent(store, 100).await,
        caducee_notify::counts(store).await,
    ) {
        (Ok(m), Ok(c)) => (m, c),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "lecture de la file d'envoi");
            let page = Outbox {
                layout,
                counts: None,
                rows: Vec::new(),
            };
            return caducee_pages::html(StatusCode::SERVICE_UNAVAILABLE, &page);
        }
    };
    let rows = messages
        .iter()
        .map(|m| Row {
            when: when(m.created_at),
            channel: ctx.t(match m.channel {
                caducee_notify::ChannelKind::Email => "web-outbox-email",
                caducee_notify::ChannelKind::Sms => "web-outbox-sms",
            }),
            recipient: m.recipient.clone(),
            subject: m.subject.clone(),
            status: ctx.t(status_key(m.status)),
            attempts: m.attempts,
            text: m.body_text.clone(),
        })
        .collect();
    let counts = ctx.tr.t_with(
        "web-outbox-counts",
        &[
            ("pending", Arg::Num(counts.pending)),
            ("sent", Arg::Num(counts.sent)),
            ("failed", Arg::Num(counts.failed)),
            ("expired", Arg::Num(counts.expired)),
        ],
    );
    caducee_pages::html(
        StatusCode::OK,
        &Outbox {
            layout,
            counts: Some(counts),
            rows,
        },
    )
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
