//! Configuration: one typed struct gives names, defaults and documentation. Layers, later
//! wins: defaults → TOML file (`--config`, else `./caducee.toml` when present) →
//! `CADUCEE_<KEY>` environment variables → `CADUCEE_<KEY>_FILE` (a file holding the value,
//! for secrets) → command-line flags.

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://PATH` (default `sqlite://./data/caducee.db`) or `postgres://…`.
    pub database_url: String,
    /// Address the HTTP server listens on.
    pub listen: String,
    /// External base URL used in the issuer and in links; default `http://<listen>`.
    pub public_url: Option<String>,
    /// `smtp://host:port` (credentials and TLS mode in the URL), for the notifications.
    pub smtp_url: Option<String>,
    /// Password of the SMTP account when it is not in the URL (use `CADUCEE_SMTP_PASSWORD_FILE`).
    pub smtp_password: Option<String>,
    /// Sender of the e-mails, e.g. `caducee <no-reply@sante.example>`.
    pub mail_from: Option<String>,
    /// HTTP endpoint of the SMS gateway (`POST {"to","text"}`).
    pub sms_url: Option<String>,
    /// Demo mode: synthetic registry, personas, developer pages.
    pub demo: bool,
    /// `text` or `json` log lines.
    pub log_format: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://./data/caducee.db".to_string(),
            listen: "127.0.0.1:8080".to_string(),
            public_url: None,
            smtp_url: None,
            smtp_password: None,
            mail_from: None,
            sms_url: None,
            demo: false,
            log_format: "text".to_string(),
        }
    }
}

/// Keys whose value may come from a file named by `CADUCEE_<KEY>_FILE`.
const SECRET_KEYS: &[&str] = &["database_url", "smtp_url", "smtp_password", "sms_url"];

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "fichier de configuration introuvable : {}",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("caducee.toml")),
        }
        figment =
            figment.merge(Env::prefixed("CADUCEE_").filter(|k| !k.as_str().ends_with("_file")));
        for key in SECRET_KEYS {
            let var = format!("CADUCEE_{}_FILE", key.to_uppercase());
            if let Ok(path) = std::env::var(&var) {
                let value = std::fs::read_to_string(&path)
                    .with_context(|| format!("{var} : lecture de {path}"))?;
                figment = figment.merge(Serialized::default(key, value.trim().to_string()));
            }
        }
        figment.extract().context("configuration invalide")
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}
