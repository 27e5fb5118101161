//! The `caducee` binary: parses the command line and wires the components together. No
//! business rule lives here.

mod commands;
mod config;
mod log_fields;
mod progress;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// mimalloc instead of glibc's malloc: the directory's reads and the import allocate a
/// small value per column and row (sqlx hands values over one by one), and `perf` showed
/// glibc's `malloc`/`free` (with `malloc_consolidate`) at about a third of the server's CPU
/// under `name:contains=` (bench/README.md). mimalloc's thread-local free lists make those
/// small allocations cheap. Its `override` feature also serves `malloc` itself, so the
/// bundled SQLite (bound values copied and freed per statement) gets it too: the import of
/// 300,000 rows went from 13.1 to 8.7 s of user CPU, 11.5 s with the Rust allocator alone
/// (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "caducee",
    version,
    about = "Identité des professionnels de santé : répertoire RPPS, fournisseur d'identité Pro Santé Connect, e-CPS, portails."
)]
pub struct Cli {
    /// Configuration file (TOML). Default: ./caducee.toml when present.
    #[arg(long, global = true, env = "CADUCEE_CONFIG")]
    config: Option<PathBuf>,
    /// Database: sqlite://PATH or postgres://… (overrides the configuration).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web server (identity provider, directory, portals).
    Serve(commands::serve::ServeArgs),
    /// Imports extraction files.
    Import {
        #[command(subcommand)]
        what: commands::files::ImportWhat,
    },
    /// Exports extraction files.
    Export {
        #[command(subcommand)]
        what: commands::files::ExportWhat,
    },
    /// Generates synthetic extraction files.
    Generate {
        #[command(subcommand)]
        what: commands::files::GenerateWhat,
    },
    /// Reads the registry and sets contact coordinates.
    Registry {
        #[command(subcommand)]
        what: commands::registry::RegistryCommand,
    },
    /// The e-CPS authenticator: activation, approval of authentication requests, status.
    Ecps {
        #[command(subcommand)]
        what: commands::ecps::EcpsCommand,
    },
    /// OIDC clients of the identity provider: add, list, remove.
    Client {
        #[command(subcommand)]
        what: commands::client::ClientCommand,
    },
    /// Partner portals: list those configured, import legacy accounts, publish terms.
    Portal {
        #[command(subcommand)]
        what: commands::portal::PortalCommand,
    },
    /// The regional health agencies' back office (/ars): its agents.
    Ars {
        #[command(subcommand)]
        what: commands::ars::ArsCommand,
    },
    /// Attestations of RPPS registration: issue one (operator), verify a PDF.
    Attestation {
        #[command(subcommand)]
        what: commands::attestation::AttestationCommand,
    },
    /// The test authority of the CPS cards: init, issue-card, revoke, crl.
    Pki {
        #[command(subcommand)]
        what: commands::pki::PkiCommand,
    },
    /// Signing keys of the identity provider: rotate, list.
    Keys {
        #[command(subcommand)]
        what: commands::keys::KeysCommand,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut config = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(url) = cli.database_url {
        config.database_url = url;
    }
    commands::init_logging(&config, matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("erreur : {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve::run(config, args).await,
            Command::Import { what } => commands::files::import(config, what).await,
            Command::Export { what } => commands::files::export(config, what).await,
            Command::Generate { what } => commands::files::generate(what),
            Command::Registry { what } => commands::registry::run(config, what).await,
            Command::Ecps { what } => commands::ecps::run(what).await,
            Command::Client { what } => commands::client::run(config, what).await,
            Command::Keys { what } => commands::keys::run(config, what).await,
            Command::Pki { what } => commands::pki::run(config, what).await,
            Command::Attestation { what } => commands::attestation::run(config, what).await,
            Command::Portal { what } => commands::portal::run(config, what).await,
            Command::Ars { what } => commands::ars::run(config, what).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
