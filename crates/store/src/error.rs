//! The store's one error type. Messages never carry a database password.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("URL de base de données non reconnue : {0} (attendu sqlite://CHEMIN ou postgres://…)")]
    BadUrl(String),
    #[error("connexion impossible à la base {0} : {1}")]
    Connect(String, #[source] sqlx::Error),
    #[error("migration {component}/{version} ({name}) en échec : {source}")]
    Migration {
        component: String,
        version: i64,
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("erreur d'entrée/sortie : {0}")]
    Io(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// From SQLite's own API ([`crate::NativeSqlite`]): the file and SQLite's message.
    #[error("base SQLite {0}")]
    Native(String),
}
