//! `caducee keys rotate | list`: the identity provider's signing keys. Rotation inserts a
//! successor that is published at once and signs after `[idp] key_publish_delay_secs`
//! (`--now`: at once, after a compromise); running servers pick it up at their next key
//! reload. Never prints key material.

use crate::commands::open_store;
use crate::config::Config;
use caducee_core::clock::system_clock;
use caducee_idp::{admin, Alg};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Creates the successor of the signing key of an algorithm.
    Rotate {
        /// RS256 (default) or ES256.
        #[arg(long, default_value = "RS256")]
        alg: String,
        /// Sign with the new key at once instead of after the publication delay.
        #[arg(long)]
        now: bool,
    },
    /// The signing keys as JSON (kid, algorithm, dates, whether it signs and is published).
    List,
}

pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let secret = config.instance_secret()?;
    let clock = system_clock();
    let code = match command {
        KeysCommand::Rotate { alg, now } => {
            let Some(alg) = Alg::parse(&alg) else {
                eprintln!("erreur : algorithme « {alg} » non pris en charge : RS256 ou ES256");
                store.close().await;
                return Ok(ExitCode::from(2));
            };
            let actor = format!(
                "operator:{}",
                std::env::var("USER").unwrap_or_else(|_| "inconnu".to_string())
            );
            let kid = admin::rotate_key(
                &store,
                clock.as_ref(),
                &config.idp,
                &secret,
                alg,
                now,
                &actor,
            )
            .await?;
            println!("{}", serde_json::json!({ "kid": kid, "alg": alg.as_str() }));
            ExitCode::SUCCESS
        }
        KeysCommand::List => {
            let keys = admin::list_keys(&store, clock.as_ref(), &config.idp, &secret).await?;
            println!("{}", serde_json::to_string_pretty(&keys)?);
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}
