//! `caducee serve [--demo]`: migrations, demo seeding, then the HTTP server until SIGTERM
//! or Ctrl-C (graceful: requests in flight finish).

use crate::commands::open_store;
use crate::config::Config;
use anyhow::Context;
use caducee_core::clock::system_clock;
use clap::Args;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Demo mode: synthetic registry and personas, developer pages.
    #[arg(long)]
    demo: bool,
    /// Address to listen on (overrides CADUCEE_LISTEN).
    #[arg(long)]
    listen: Option<String>,
}

pub async fn run(mut config: Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    config.demo |= args.demo;
    let store = open_store(&config).await?;
    let clock = system_clock();
    if config.demo {
        if let Some(summary) = caducee_registry::demo::seed(&store, clock.as_ref()).await? {
            tracing::info!(lines = summary.lines, "registre de démonstration chargé");
        }
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("écoute sur {}", config.listen))?;
    let local = listener.local_addr()?;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{local}"));
    }
    let state = caducee_web::AppState::new(store.clone(), clock, config.public_url(), config.demo);
    let app = caducee_web::router(state);
    tracing::info!(listen = %local, public_url = %config.public_url(), database = %caducee_store::redact_url(&config.database_url), demo = config.demo, "caducee démarré");
    // Printed on stdout so scripts and tests can find an ephemeral port.
    println!("caducee écoute sur http://{local}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("arrêt demandé");
}
