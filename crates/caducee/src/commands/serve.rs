//! `caducee serve [--demo]`: migrations, demo seeding, then the HTTP server until SIGTERM
//! or Ctrl-C (graceful: requests in flight finish).

use crate::commands::open_store;
use crate::config::Config;
use anyhow::Context;
use caducee_core::clock::system_clock;
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

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
    // The directory's search index made whole (an interrupted import, rows from elsewhere).
    caducee_registry::search::index_missing(&store).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("écoute sur {}", config.listen))?;
    let local = listener.local_addr()?;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{local}"));
    }
    // Notifications: the worker delivers the outbox until shutdown; flows wake it after
    // committing a message.
    let transports = caducee_notify::Transports::from_config(&caducee_notify::TransportConfig {
        smtp_url: config.smtp_url.clone(),
        smtp_password: config.smtp_password.clone(),
        mail_from: config.mail_from.clone(),
        sms_url: config.sms_url.clone(),
        demo: config.demo,
    })?;
    tracing::info!(transports = %transports.describe(), "notifications");
    let waker = caducee_notify::Waker::new();
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = caducee_notify::Worker::new(
        store.clone(),
        clock.clone(),
        std::sync::Arc::new(transports),
    )
    .with_node_id(node_id())
    .keep_bodies(config.demo)
    .with_waker(waker.clone());
    let worker_task = tokio::spawn(worker.run(async move {
        let _ = worker_stopped.await;
    }));
    // What the operator is told beside the listen line (délégation redirect URIs, the card
    // host, the demo's card and agents): printed after it, because scripts and tests read
    // the first line of stdout for the address (README).
    let mut notices: Vec<String> = Vec::new();
    // The CPS card host (card_listen), bound first: the login page and
    // the e-CPS page (activation with the card, PSC-04) link to it.
    let card_host =
        crate::commands::pki::prepare_card_host(&mut config, &store, local, &mut notices)
            .await
            .context("connexion par carte CPS")?;
    // The e-CPS server: OWASP argon2 parameters, default limits (DESIGN.md).
    let ecps = std::sync::Arc::new(caducee_ecps_server::EcpsServer::new(
        store.clone(),
        clock.clone(),
        waker.clone(),
        caducee_ecps_server::EcpsConfig {
            public_url: Some(config.public_url()),
            card_url: config.idp.card_url.clone(),
            ..caducee_ecps_server::EcpsConfig::default()
        },
    ));
    // Purges spent device-proof ids, closes overdue requests and sends the expiry reminders
    // (PSC-05) that are due; any node may do it, several at once too (each reminder is
    // claimed in the database).
    let housekeeping = every(Duration::from_secs(60), {
        let ecps = ecps.clone();
        let (store, clock) = (store.clone(), clock.clone());
        move || {
            let ecps = ecps.clone();
            let (store, clock) = (store.clone(), clock.clone());
            async move {
                // Rate-limit windows that no longer count.
                if let Err(e) = caducee_store::throttle::prune(store.pool(), clock.unix()).await {
                    tracing::warn!(error = %e, "limites de débit : ménage périodique");
                }
                // First registrations' drafts abandoned for 30 days (REG-07), their documents.
                match caducee_registry::registration::purge_abandoned(&store, clock.as_ref()).await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        forgotten = n,
                        "registre : brouillons d'inscription abandonnés oubliés"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "registre : brouillons d'inscription abandonnés")
                    }
                }
                match ecps.housekeeping().await {
                    Ok(done) if done.reminders > 0 => {
                        tracing::info!(
                            reminders = done.reminders,
                            "e-CPS : rappels d'expiration mis en file d'envoi"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "e-CPS : ménage périodique"),
                }
            }
        }
    });
    // The identity provider: signing keys sealed with the instance secret (created at
    // first start), then the clients the configuration file declares.
    let instance_secret = config.instance_secret()?;
    // Délégation providers ([[delegations]]), their secrets read and checked now.
    config.idp.delegations = config.delegation_providers()?;
    for d in &config.idp.delegations {
        notices.push(format!(
            "délégation {} ({}) : {} — URI de redirection à déclarer : {}",
            d.id,
            d.name,
            d.issuer,
            d.callback_url(&config.public_url())
        ));
    }
    let idp = caducee_idp::Idp::start(
        store.clone(),
        clock.clone(),
        &config.public_url(),
        config.idp.clone(),
        ecps.clone(),
        &instance_secret,
    )
    .await
    .context("fournisseur d'identité")?;
    crate::commands::client::apply_config_clients(&idp, &config).await?;
    if let Some((card_listener, trust)) = card_host {
        notices.push(format!(
            "carte CPS : {} (certificat client exigé)",
            config.idp.card_url.as_deref().unwrap_or_default()
        ));
        tokio::spawn(caducee_idp::card::listener::serve(
            card_listener,
            idp.clone(),
            trust,
        ));
    }
    // FranceConnect for eRPPS: `[franceconnect]`, else in demo mode the stand-in served by
    // this process at /dev/franceconnect (README), else none (its pages say so).
    let (franceconnect_settings, franceconnect_standin) = match &config.franceconnect {
        Some(fc) => (Some(fc.settings()?), None),
        None if config.demo => {
            let standin = std::sync::Arc::new(
                caducee_portals::franceconnect::standin::StandIn::new(&instance_secret)
                    .context("FranceConnect de démonstration")?,
            );
            (Some(standin.settings(&config.public_url())), Some(standin))
        }
        None => (None, None),
    };
    let portals = caducee_portals::Portals::with_options(
        store.clone(),
        clock.clone(),
        &config.public_url(),
        &instance_secret,
        caducee_portals::PortalsOptions {
            franceconnect: franceconnect_settings.clone(),
            franceconnect_standin: franceconnect_standin.clone(),
            configs: config.portals_served(),
            propagation_delay_secs: config.registry.propagation_delay_secs.max(0),
            ..caducee_portals::PortalsOptions::default()
        },
    )?;
    register_portal_clients(&idp, &portals).await?;
    if config.demo {
        portals
            .seed_demo_terms()
            .await
            .context("conditions des portails de démonstration")?;
        portals
            .seed_demo_legacy_accounts()
            .await
            .context("comptes importés des portails de démonstration")?;
        // The agencies' back office: one agent per département of the personas, printed
        // (demo mode only) so that a newcomer can log in at /ars.
        let agents = portals
            .seed_demo_agents()
            .await
            .context("agents ARS de démonstration")?;
        for a in &agents {
            notices.push(format!(
                "Démo — agent ARS {} (départements {}) : mot de passe {} ; TOTP {} ({})",
                a.email,
                a.departments.join(","),
                a.password,
                a.totp_secret,
                a.otpauth_uri
            ));
        }
    }
    // Expired flows (ACC-02: typed data gone after 10 minutes), spent codes and links,
    // ended sessions of the portals.
    let portals_housekeeping = every(Duration::from_secs(60), {
        let portals = portals.clone();
        move || {
            let portals = portals.clone();
            async move {
                if let Err(e) = portals.housekeeping().await {
                    tracing::warn!(error = %e, "portails : ménage périodique");
                }
            }
        }
    });
    // Key rotation when due, expired codes, tokens, login flows and sessions deleted; any
    // node may do it.
    let idp_housekeeping = every(Duration::from_secs(60), {
        let idp = idp.clone();
        move || {
            let idp = idp.clone();
            async move {
                if let Err(e) = idp.housekeeping().await {
                    tracing::warn!(code = e.code(), error = %e, "fournisseur d'identité : ménage périodique");
                }
                if let Err(e) = caducee_idp::browser::housekeeping(&idp).await {
                    tracing::warn!(code = e.code(), error = %e, "fournisseur d'identité : ménage des sessions");
                }
                if let Err(e) = caducee_idp::delegation::housekeeping(&idp).await {
                    tracing::warn!(code = e.code(), error = %e, "délégation : ménage des connexions en cours");
                }
            }
        }
    });
    // Back-channel logouts: new ones are attempted at once by `end_session`; this loop
    // retries the failed ones when their pause is over, and those a restart interrupted.
    let logout_delivery = every(Duration::from_secs(2), {
        let idp = idp.clone();
        move || {
            let idp = idp.clone();
            async move {
                if let Err(e) = idp.deliver_logouts().await {
                    tracing::warn!(code = e.code(), error = %e, "déconnexion back-channel");
                }
            }
        }
    });
    // Approved change requests reach the registry (and so the directory and the userinfo
    // claims) once their propagation delay passed; any node may apply, each request once.
    let propagation_delay = config.registry.propagation_delay_secs.max(0);
    let registry_propagation = every(Duration::from_secs(5), {
        let store = store.clone();
        let clock = clock.clone();
        move || {
            let store = store.clone();
            let clock = clock.clone();
            async move {
                match caducee_registry::requests::apply_due(
                    &store,
                    clock.as_ref(),
                    propagation_delay,
                )
                .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(applied = n, "registre : demandes appliquées"),
                    Err(e) => tracing::warn!(error = %e, "registre : application des demandes"),
                }
                // First registrations approved by an agency (REG-07) at the same delay.
                match caducee_registry::registration::apply_due(
                    &store,
                    clock.as_ref(),
                    propagation_delay,
                )
                .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(applied = n, "registre : inscriptions appliquées"),
                    Err(e) => tracing::warn!(error = %e, "registre : application des inscriptions"),
                }
            }
        }
    });
    // Attestations of RPPS registration (REG-08): their key derived from the instance
    // secret, their public check at /verifier, the eRPPS download at /erpps/attestation.
    let attestations = caducee_attestation::Attestations::new(
        store.clone(),
        clock.clone(),
        &config.public_url(),
        &instance_secret,
    )
    .context("attestations")?
    .with_portals(portals.clone());
    let state = caducee_web::AppState::new(
        store.clone(),
        clock,
        config.public_url(),
        config.demo,
        waker,
        ecps,
    )
    .with_idp(idp)
    .with_portals(portals)
    .with_attestations(attestations);
    let state = match (&config.metrics_token, config.demo) {
        (Some(token), false) => {
            state.with_metrics(caducee_web::MetricsAccess::Token(token.clone()))
        }
        _ => state,
    };
    let limits = config.http.limits()?;
    let app = caducee_web::router(state.clone());
    tracing::info!(listen = %local, public_url = %config.public_url(), database = %caducee_store::redact_url(&config.database_url), demo = config.demo, "caducee démarré");
    // Printed on stdout so scripts and tests can find an ephemeral port.
    println!("caducee écoute sur http://{local}");
    // Whoever started us may have read the address and closed the pipe (the tests do):
    // a notice that cannot be written is not worth stopping the server for.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        for notice in &notices {
            let _ = writeln!(out, "{notice}");
        }
        let _ = out.flush();
    }
    // `/metrics` on an address of its own, for the monitoring (issue 10, item 16).
    let metrics_server = match &config.metrics_listen {
        Some(addr) => {
            let metrics_listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("écoute des métriques sur {addr}"))?;
            tracing::info!(listen = %addr, "métriques");
            let metrics_app = caducee_web::metrics_router(state.clone());
            let limits = limits.clone();
            Some(tokio::spawn(caducee_web::serve(
                metrics_listener,
                metrics_app,
                limits,
                std::future::pending(),
            )))
        }
        None => None,
    };
    caducee_web::serve(listener, app, limits, shutdown_signal()).await?;
    if let Some(task) = metrics_server {
        task.abort();
    }
    // The worker finishes the delivery round in progress; what it did not reach stays in
    // the outbox for the next start or another node.
    housekeeping.abort();
    idp_housekeeping.abort();
    portals_housekeeping.abort();
    logout_delivery.abort();
    registry_propagation.abort();
    let _ = stop_worker.send(());
    let _ = worker_task.await;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Registers the OIDC client of every portal served at the provider (DESIGN.md
/// "Portals": a portal is a real client of the idp). Their secrets are derived from the
/// instance secret by the portals component; registering again at every start makes a
/// changed public URL or instance secret follow.
async fn register_portal_clients(
    idp: &caducee_idp::Idp,
    portals: &caducee_portals::Portals,
) -> anyhow::Result<()> {
    for portal in portals.configs() {
        let r = portals.client_registration(portal);
        idp.upsert_client(
            caducee_idp::ClientSpec {
                client_id: r.client_id,
                name: r.name,
                secret: Some(r.secret),
                redirect_uris: r.redirect_uris,
                post_logout_redirect_uris: r.post_logout_redirect_uris,
                grants: r.grants,
                backchannel_logout_uri: r.backchannel_logout_uri,
                ..caducee_idp::ClientSpec::default()
            },
            "system:portals",
        )
        .await
        .with_context(|| format!("client OIDC du portail {}", portal.slug))?;
    }
    Ok(())
}

/// Names this node in the outbox claims (host and process), so an operator can tell which
/// node holds a message.
fn node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{}:{}",
        if host.is_empty() { "node" } else { &host },
        std::process::id()
    )
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

/// Runs `work` every `period` (the first time at once) in a task of its own, until aborted.
/// A pass that overruns delays the next instead of piling up.
fn every<F, Fut>(period: Duration, mut work: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            work().await;
        }
    })
}
