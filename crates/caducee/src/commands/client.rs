//! `caducee client add | list | remove` (the contract of DESIGN.md) and the `[[clients]]`
//! of the configuration file, upserted at `serve` start. Secrets are read from files,
//! never from the command line (which `ps` shows), and never printed.

use crate::commands::open_store;
use crate::config::{ClientConfig, Config};
use anyhow::Context;
use caducee_core::clock::system_clock;
use caducee_idp::{admin, Client, ClientSpec, IdpError};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Registers (or replaces) an OIDC client. Without --secret-file nor --jwks-file/--jwks-uri
    /// the client is public (PKCE required).
    Add(Box<AddArgs>),
    /// Lists the clients (never their secrets).
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Removes a client (its refresh tokens are revoked).
    Remove { id: String },
}

/// The flags of `client add` (the contract of DESIGN.md, plus the optional ones).
#[derive(Args)]
pub struct AddArgs {
    #[arg(long)]
    id: String,
    /// Display name (login page, e-CPS device).
    #[arg(long)]
    name: String,
    /// File holding the client secret (at least 32 random characters).
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Allowed redirect URI (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// authorization_code, refresh_token, client_credentials, ciba (repeat; default:
    /// authorization_code and refresh_token).
    #[arg(long = "grant")]
    grants: Vec<String>,
    /// OIDC back-channel logout URI of the client.
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// File holding the client's JWK Set (private_key_jwt).
    #[arg(long)]
    jwks_file: Option<PathBuf>,
    /// URL of the client's JWK Set (private_key_jwt).
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Answer userinfo as a signed JWT (application/jwt).
    #[arg(long)]
    userinfo_signed: bool,
    /// RS256 (default) or ES256.
    #[arg(long)]
    id_token_alg: Option<String>,
}

fn read_trimmed(path: &Path, what: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("{what} : lecture de {}", path.display()))?
        .trim()
        .to_string())
}

/// The registration of a `[[clients]]` entry or of `client add`'s flags.
pub fn spec_of(c: &ClientConfig) -> anyhow::Result<ClientSpec> {
    Ok(ClientSpec {
        client_id: c.id.clone(),
        name: c.name.clone(),
        secret: c
            .secret_file
            .as_deref()
            .map(|p| read_trimmed(p, "secret du client"))
            .transpose()?,
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        grants: c.grants.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        jwks: c
            .jwks_file
            .as_deref()
            .map(|p| read_trimmed(p, "JWKS du client"))
            .transpose()?,
        jwks_uri: c.jwks_uri.clone(),
        userinfo_signed: c.userinfo_signed,
        id_token_alg: c.id_token_alg.clone(),
    })
}

/// Upserts the clients declared in the configuration file (at `serve` start).
pub async fn apply_config_clients(idp: &caducee_idp::Idp, config: &Config) -> anyhow::Result<()> {
    for c in &config.clients {
        let spec =
            spec_of(c).with_context(|| format!("client « {} » de la configuration", c.id))?;
        idp.upsert_client(spec, "system:config")
            .await
            .with_context(|| format!("client « {} » de la configuration", c.id))?;
    }
    if !config.clients.is_empty() {
        tracing::info!(
            clients = config.clients.len(),
            "clients de la configuration enregistrés"
        );
    }
    Ok(())
}

fn operator() -> String {
    format!(
        "operator:{}",
        std::env::var("USER").unwrap_or_else(|_| "inconnu".to_string())
    )
}

pub async fn run(config: Config, command: ClientCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    let clock = system_clock();
    let code = match command {
        ClientCommand::Add(args) => {
            let AddArgs {
                id,
                name,
                secret_file,
                redirect_uris,
                post_logout_redirect_uris,
                grants,
                backchannel_logout_uri,
                jwks_file,
                jwks_uri,
                userinfo_signed,
                id_token_alg,
            } = *args;
            let spec = spec_of(&ClientConfig {
                id,
                name,
                secret_file,
                redirect_uris,
                post_logout_redirect_uris,
                grants,
                backchannel_logout_uri,
                jwks_file,
                jwks_uri,
                userinfo_signed,
                id_token_alg,
            });
            let spec = match spec {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("erreur : {e:#}");
                    store.close().await;
                    return Ok(ExitCode::from(2));
                }
            };
            match admin::upsert_client(&store, clock.as_ref(), spec, &operator()).await {
                Ok(client) => {
                    println!("{}", serde_json::to_string_pretty(&client)?);
                    ExitCode::SUCCESS
                }
                Err(e @ IdpError::BadClient(_)) => {
                    eprintln!("erreur : {e}");
                    ExitCode::from(2)
                }
                Err(e) => return Err(e.into()),
            }
        }
        ClientCommand::List { json } => {
            let clients = admin::list_clients(&store).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&clients)?);
            } else {
                print!("{}", table(&clients));
            }
            ExitCode::SUCCESS
        }
        ClientCommand::Remove { id } => {
            if admin::remove_client(&store, clock.as_ref(), &id, &operator()).await? {
                println!("client « {id} » supprimé");
                ExitCode::SUCCESS
            } else {
                eprintln!("erreur : {}", IdpError::UnknownClient(id));
                ExitCode::from(3)
            }
        }
    };
    store.close().await;
    Ok(code)
}

/// A plain-text table: id, type, grants, redirect URIs, name.
fn table(clients: &[Client]) -> String {
    let rows: Vec<[String; 5]> = clients
        .iter()
        .map(|c| {
            [
                c.client_id.clone(),
                if c.public {
                    "public".to_string()
                } else {
                    c.auth_method.clone()
                },
                c.grants.join(","),
                c.redirect_uris.join(" "),
                c.name.clone(),
            ]
        })
        .collect();
    let head = [
        "ID",
        "AUTHENTIFICATION",
        "AUTORISATIONS",
        "REDIRECT_URIS",
        "NOM",
    ];
    let mut widths = head.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    if clients.is_empty() {
        out.push_str("(aucun client)\n");
    }
    out
}
