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
    /// Secret (≥ 32 characters) that seals the identity provider's signing keys in the
    /// database (`CADUCEE_INSTANCE_SECRET_FILE` to read it from a file). Every node of a
    /// deployment needs the same. When absent with SQLite, one is generated once into
    /// `instance_secret` beside the database file (mode 0600); PostgreSQL requires it.
    pub instance_secret: Option<String>,
    /// Identity provider settings (`[idp]` table): token lifetimes, key rotation, caches.
    pub idp: caducee_idp::IdpConfig,
    /// OIDC clients declared in the file (`[[clients]]`), upserted at each `serve` start.
    pub clients: Vec<ClientConfig>,
    /// Partner portals (`[[portals]]`): slug, name, accent, login means, account policy,
    /// professions, services, onboarding (DESIGN.md "Portals"). `--demo` adds the demo ones
    /// (`demo`, `ordre`) whose slug the file does not use.
    pub portals: Vec<caducee_portals::PortalConfig>,
    /// Bearer token that reads `/metrics` on the main address outside demo mode
    /// (`CADUCEE_METRICS_TOKEN_FILE` to read it from a file). Without it and without
    /// `metrics_listen`, `/metrics` is a 404 outside demo mode.
    pub metrics_token: Option<String>,
    /// A separate address serving `/metrics` alone (e.g. `127.0.0.1:9090`, reachable by the
    /// monitoring only); open there unless `metrics_token` is set.
    pub metrics_listen: Option<String>,
    /// Limits of the HTTP server (`[http]` table).
    pub http: HttpConfig,
    /// The registry (`[registry]` table): the propagation delay of approved changes.
    pub registry: RegistryConfig,
    /// FranceConnect (`[franceconnect]` table), eRPPS's upstream provider for a first
    /// registration and for coordinates proven through it (REG-07, REG-12). Absent: with
    /// `--demo`, the stand-in at `/dev/franceconnect`; otherwise those pages say it is not
    /// configured.
    pub franceconnect: Option<FranceConnectConfig>,
    /// The CPS card host (PSC-06): the TLS address of the card login, client certificates
    /// required (`CADUCEE_CARD_LISTEN`, e.g. `127.0.0.1:8443`). `--demo` uses the main
    /// port + 363 when absent.
    pub card_listen: Option<String>,
    /// The authorities whose cards the card login accepts, PEM (`CADUCEE_CARD_CA_FILE`;
    /// `caducee pki init --out DIR` writes `DIR/ca.pem`, its key `DIR/ca-key.pem` beside it).
    pub card_ca_file: Option<std::path::PathBuf>,
    /// The card host's server certificate and key (PEM); absent, one is issued at start by
    /// the authority of `card_ca_file` when its key is beside it.
    pub card_cert_file: Option<std::path::PathBuf>,
    pub card_key_file: Option<std::path::PathBuf>,
    /// Délégation providers (`[[delegations]]`, PSC-08): organisations' own OpenID Connect
    /// providers a professional logs in through (`kc_idp_hint=<id>`). Each registers the
    /// redirect URI `{public_url}/auth/realms/esante-wallet/broker/{id}/endpoint`.
    pub delegations: Vec<DelegationConfig>,
}

/// One `[[delegations]]` entry: `id`, `name`, `issuer`, `client_id`, `client_secret_file`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DelegationConfig {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// File holding the client secret.
    pub client_secret_file: Option<std::path::PathBuf>,
}

/// `[franceconnect]`: the service provider's registration at FranceConnect
/// (`CADUCEE_FRANCECONNECT__ISSUER`, `CADUCEE_FRANCECONNECT__CLIENT_ID`,
/// `CADUCEE_FRANCECONNECT__CLIENT_SECRET_FILE`). Its redirect URI is
/// `{public_url}/erpps/franceconnect/callback`, its post-logout one `{public_url}/erpps`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FranceConnectConfig {
    pub issuer: String,
    pub client_id: String,
    /// File holding the client secret.
    pub client_secret_file: Option<std::path::PathBuf>,
}

impl FranceConnectConfig {
    /// The settings the portals use, the secret read from its file.
    pub fn settings(
        &self,
    ) -> anyhow::Result<caducee_portals::franceconnect::FranceConnectSettings> {
        anyhow::ensure!(
            !self.issuer.trim().is_empty(),
            "[franceconnect] issuer est obligatoire (CADUCEE_FRANCECONNECT__ISSUER)"
        );
        anyhow::ensure!(
            !self.client_id.trim().is_empty(),
            "[franceconnect] client_id est obligatoire (CADUCEE_FRANCECONNECT__CLIENT_ID)"
        );
        let path = self.client_secret_file.as_ref().with_context(|| {
            "[franceconnect] client_secret_file est obligatoire (CADUCEE_FRANCECONNECT__CLIENT_SECRET_FILE)"
        })?;
        let secret = std::fs::read_to_string(path)
            .with_context(|| format!("[franceconnect] lecture de {}", path.display()))?;
        anyhow::ensure!(
            !secret.trim().is_empty(),
            "[franceconnect] le fichier {} est vide",
            path.display()
        );
        Ok(caducee_portals::franceconnect::FranceConnectSettings {
            issuer: self.issuer.trim().to_string(),
            client_id: self.client_id.trim().to_string(),
            client_secret: secret.trim().to_string(),
        })
    }
}

/// `[registry]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistryConfig {
    /// Seconds between an agency's approval of a change request and the change reaching the
    /// registry, the directory and the userinfo claims (REG-06; 172,800 = 48 h;
    /// `CADUCEE_REGISTRY__PROPAGATION_DELAY_SECS`).
    pub propagation_delay_secs: i64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            propagation_delay_secs: caducee_registry::requests::DEFAULT_PROPAGATION_DELAY_SECS,
        }
    }
}

/// `[http]`: what one client may hold, and which reverse proxies are believed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Seconds a client has to send a request head; idle keep-alive connections too (10).
    pub header_read_timeout_secs: u64,
    /// Open connections in all (10,000).
    pub max_connections: usize,
    /// Open connections of one source address (IPv6: its /64) (256).
    pub max_connections_per_source: usize,
    /// Reverse proxies whose `X-Forwarded-For` gives the client's address (addresses or
    /// CIDR blocks, e.g. `["127.0.0.1", "10.0.0.0/8"]`); none by default.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let d = caducee_web::ServerLimits::default();
        HttpConfig {
            header_read_timeout_secs: d.header_read_timeout.as_secs(),
            max_connections: d.max_connections,
            max_connections_per_source: d.max_connections_per_source,
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpConfig {
    pub fn limits(&self) -> anyhow::Result<caducee_web::ServerLimits> {
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| p.parse::<caducee_web::IpBlock>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("[http] trusted_proxies : {e}"))?;
        Ok(caducee_web::ServerLimits {
            header_read_timeout: std::time::Duration::from_secs(
                self.header_read_timeout_secs.max(1),
            ),
            max_connections: self.max_connections.max(1),
            max_connections_per_source: self.max_connections_per_source.max(1),
            trusted_proxies,
            ..caducee_web::ServerLimits::default()
        })
    }
}

/// One `[[clients]]` entry of the configuration file: the flags of `caducee client add`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientConfig {
    pub id: String,
    pub name: String,
    /// File holding the client secret (absent: a public client, or private_key_jwt).
    pub secret_file: Option<std::path::PathBuf>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`, `ciba`.
    pub grants: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// File holding the client's JWK Set (private_key_jwt).
    pub jwks_file: Option<std::path::PathBuf>,
    pub jwks_uri: Option<String>,
    pub userinfo_signed: bool,
    /// `RS256` (default) or `ES256`.
    pub id_token_alg: Option<String>,
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
            instance_secret: None,
            idp: caducee_idp::IdpConfig::default(),
            clients: Vec::new(),
            portals: Vec::new(),
            metrics_token: None,
            metrics_listen: None,
            http: HttpConfig::default(),
            registry: RegistryConfig::default(),
            franceconnect: None,
            card_listen: None,
            card_ca_file: None,
            card_cert_file: None,
            card_key_file: None,
            delegations: Vec::new(),
        }
    }
}

/// Keys whose value may come from a file named by `CADUCEE_<KEY>_FILE`.
const SECRET_KEYS: &[&str] = &[
    "database_url",
    "smtp_url",
    "smtp_password",
    "sms_url",
    "instance_secret",
    "metrics_token",
];

impl Config {
    /// The portals this node serves: the file's, then (in demo mode) the demo ones whose
    /// slug the file does not use.
    pub fn portals_served(&self) -> Vec<caducee_portals::PortalConfig> {
        let mut out = self.portals.clone();
        if self.demo {
            for p in caducee_portals::config::demo_portals() {
                if !out.iter().any(|o| o.slug == p.slug) {
                    out.push(p);
                }
            }
        }
        out
    }

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
            // `__` reaches into tables: CADUCEE_IDP__ACCESS_TOKEN_TTL_SECS sets
            // `[idp] access_token_ttl_secs`.
            figment.merge(
                Env::prefixed("CADUCEE_")
                    .filter(|k| !k.as_str().ends_with("_file"))
                    .split("__"),
            );
        for key in SECRET_KEYS {
            let var = format!("CADUCEE_{}_FILE", key.to_uppercase());
            if let Ok(path) = std::env::var(&var) {
                let value = std::fs::read_to_string(&path)
                    .with_context(|| format!("{var} : lecture de {path}"))?;
                figment = figment.merge(Serialized::default(key, value.trim().to_string()));
            }
        }
        let mut config: Config = figment.extract().context("configuration invalide")?;
        // A `…_FILE` key of a table is not one of the environment's (they are filtered
        // above as secrets' files): FranceConnect's secret file is named here.
        if let Ok(path) = std::env::var("CADUCEE_FRANCECONNECT__CLIENT_SECRET_FILE") {
            config
                .franceconnect
                .get_or_insert_with(FranceConnectConfig::default)
                .client_secret_file = Some(path.into());
        }
        Ok(config)
    }

    /// The `[[delegations]]` providers, each secret read from its file, checked (ids,
    /// issuers) as the identity provider will use them.
    pub fn delegation_providers(
        &self,
    ) -> anyhow::Result<Vec<caducee_idp::delegation::DelegationProvider>> {
        let mut out = Vec::new();
        for d in &self.delegations {
            let path = d.client_secret_file.as_ref().with_context(|| {
                format!(
                    "[[delegations]] {} : client_secret_file est obligatoire",
                    d.id
                )
            })?;
            let secret = std::fs::read_to_string(path).with_context(|| {
                format!("[[delegations]] {} : lecture de {}", d.id, path.display())
            })?;
            out.push(caducee_idp::delegation::DelegationProvider {
                id: d.id.trim().to_string(),
                name: d.name.trim().to_string(),
                issuer: d.issuer.trim().to_string(),
                client_id: d.client_id.trim().to_string(),
                client_secret: secret.trim().to_string(),
            });
        }
        caducee_idp::delegation::validate(&out).map_err(anyhow::Error::msg)?;
        Ok(out)
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// Where the demo keeps its files (the card authority, a demo card): beside the SQLite
    /// file, else `./data`.
    pub fn data_dir(&self) -> std::path::PathBuf {
        sqlite_file(&self.database_url)
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| std::path::PathBuf::from("./data"))
    }

    /// The instance secret: configured, or (SQLite only) the one generated at first start
    /// into `instance_secret` beside the database file. PostgreSQL deployments have several
    /// nodes that must share it, so there it must be configured.
    pub fn instance_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(s) = &self.instance_secret {
            let s = s.trim();
            anyhow::ensure!(
                s.chars().count() >= caducee_idp::MIN_INSTANCE_SECRET_LEN,
                "instance_secret doit compter au moins {} caractères (par exemple `openssl rand -hex 32`)",
                caducee_idp::MIN_INSTANCE_SECRET_LEN
            );
            return Ok(s.as_bytes().to_vec());
        }
        let Some(db) = sqlite_file(&self.database_url) else {
            anyhow::bail!(
                "instance_secret manquant : avec PostgreSQL, donnez le même secret à tous les nœuds \
                 (CADUCEE_INSTANCE_SECRET ou CADUCEE_INSTANCE_SECRET_FILE, au moins {} caractères, \
                 par exemple `openssl rand -hex 32`) : il chiffre les clés de signature partagées",
                caducee_idp::MIN_INSTANCE_SECRET_LEN
            )
        };
        let path = db
            .parent()
            .map(|d| d.join("instance_secret"))
            .unwrap_or_else(|| Path::new("instance_secret").to_path_buf());
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let s = existing.trim();
            anyhow::ensure!(
                s.len() >= caducee_idp::MIN_INSTANCE_SECRET_LEN,
                "{} : secret d'instance trop court",
                path.display()
            );
            return Ok(s.as_bytes().to_vec());
        }
        let secret = {
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("création de {}", dir.display()))?;
        }
        match write_private(&path, &secret) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "secret d'instance généré");
                Ok(secret.into_bytes())
            }
            // Another process created it at the same moment: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let s = std::fs::read_to_string(&path)
                    .with_context(|| format!("lecture de {}", path.display()))?;
                Ok(s.trim().as_bytes().to_vec())
            }
            Err(e) => {
                Err(e).with_context(|| format!("écriture du secret d'instance {}", path.display()))
            }
        }
    }
}

/// The file of a `sqlite:` URL, None for PostgreSQL or an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Creates a file readable by its owner only (0600), failing if it exists.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reg_06_the_propagation_delay_is_48_hours_unless_configured() {
        assert_eq!(Config::default().registry.propagation_delay_secs, 172_800);
        let c: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string("[registry]\npropagation_delay_secs = 60\n"))
            .extract()
            .unwrap();
        assert_eq!(c.registry.propagation_delay_secs, 60);
    }

    #[test]
    fn psc_08_delegations_read_with_their_secret_files_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("chu.secret");
        std::fs::write(&secret, "secret-du-chu\n").unwrap();
        let toml = format!(
            "[[delegations]]\nid = \"chu\"\nname = \"CHU de test\"\nissuer = \"http://127.0.0.1:4466\"\nclient_id = \"caducee\"\nclient_secret_file = {:?}\n",
            secret.display().to_string()
        );
        let c: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(&toml))
            .extract()
            .unwrap();
        let providers = c.delegation_providers().unwrap();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].client_secret, "secret-du-chu");
        assert_eq!(
            providers[0].callback_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/auth/realms/esante-wallet/broker/chu/endpoint"
        );
        let mut twice = c.clone();
        twice.delegations.push(c.delegations[0].clone());
        assert!(twice.delegation_providers().is_err());
        let mut no_file = c.clone();
        no_file.delegations[0].client_secret_file = None;
        assert!(no_file.delegation_providers().is_err());
    }
}
