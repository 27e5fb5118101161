//! Device state under one directory: `activation.json` (an activation started, waiting for
//! the two codes) and `device.json` (the registered device: server, idNat, device id,
//! expiry, and the P-256 private key encrypted with ChaCha20-Poly1305 under a key derived
//! from the e-CPS password by argon2id, salt and nonce stored beside). Every file is
//! written with mode 0600 (directory 0700), through a temporary file and a rename.
//!
//! The seal is the only thing between a copied `device.json` and the device key: whoever
//! holds the file can try passwords offline, where the server's lock after 5 wrong passwords
//! never sees them (issue 10, item 18). So the local derivation is far costlier than the
//! server's (which runs for every login of every professional): argon2id with 256 MiB and 2
//! passes ([`SEAL_V2`], about 0.8 s on the 2-core benchmark machine while it was busy), run
//! once per approval on the professional's own machine. The parameters are stored with a
//! version in the file, so files sealed with version 1 (19 MiB, t = 2) still open, and are
//! sealed again at the current cost by the next successful use
//! ([`DeviceState::upgrade_seal`]).
//!
//! Must never write the private key or the password in clear, and never let anything but
//! the code choose the cost of a new seal (tests use a cheaper one through `#[cfg(test)]`
//! only).

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AuthenticatorError;

const DEVICE_FILE: &str = "device.json";
const ACTIVATION_FILE: &str = "activation.json";

/// argon2id cost of a local seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealCost {
    /// Memory, in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

/// Version 1 of the seal (files written before issue 10): OWASP's server-side parameters,
/// m = 19 MiB, t = 2, p = 1. Still opened, never written.
pub const SEAL_V1: SealCost = SealCost {
    m_kib: 19 * 1024,
    t: 2,
    p: 1,
};

/// Version 2, what every new seal uses: m = 256 MiB, t = 2, p = 1, about 13 times the
/// memory × time of version 1 for each password an offline guesser tries.
pub const SEAL_V2: SealCost = SealCost {
    m_kib: 256 * 1024,
    t: 2,
    p: 1,
};

/// The version of new seals.
pub const SEAL_VERSION: u32 = 2;

/// Bounds on the parameters a file may ask for: a damaged or hostile file must not make
/// the authenticator allocate without limit.
const MAX_M_KIB: u32 = 4 * 1024 * 1024;
const MAX_T: u32 = 64;
const MAX_P: u32 = 16;

/// A seal from before versions were written is version 1.
fn version_1() -> u32 {
    1
}

/// An activation started and not yet finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingActivation {
    pub server: String,
    pub id: String,
    pub activation_id: String,
    pub email_hint: String,
    pub sms_hint: String,
    pub expires_at: i64,
}

/// The private key, encrypted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EncryptedKey {
    /// The seal's version ([`SEAL_VERSION`] for new seals; absent, in older files: 1).
    #[serde(default = "version_1")]
    pub version: u32,
    /// Always `argon2id`.
    pub kdf: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    /// Base64 of the 16-byte salt.
    pub salt: String,
    /// Always `chacha20poly1305`.
    pub cipher: String,
    /// Base64 of the 12-byte nonce.
    pub nonce: String,
    /// Base64 of the encrypted 32-byte P-256 scalar and its tag.
    pub ciphertext: String,
}

/// The registered device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceState {
    pub server: String,
    pub idnat: String,
    pub device_id: String,
    pub expires_at: i64,
    pub key: EncryptedKey,
}

/// The directory holding the device state.
#[derive(Debug, Clone)]
pub struct DeviceStore {
    dir: PathBuf,
}

impl DeviceStore {
    pub fn new(dir: impl Into<PathBuf>) -> DeviceStore {
        DeviceStore { dir: dir.into() }
    }

    /// `explicit`, else `$CADUCEE_ECPS_STORE`, else `$XDG_CONFIG_HOME/caducee-ecps`, else
    /// `~/.config/caducee-ecps`.
    pub fn locate(explicit: Option<&Path>) -> Result<DeviceStore, AuthenticatorError> {
        if let Some(p) = explicit {
            return Ok(DeviceStore::new(p));
        }
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(p) = var("CADUCEE_ECPS_STORE") {
            return Ok(DeviceStore::new(PathBuf::from(p)));
        }
        if let Some(p) = var("XDG_CONFIG_HOME") {
            return Ok(DeviceStore::new(PathBuf::from(p).join("caducee-ecps")));
        }
        let home = var("HOME").ok_or_else(|| {
            AuthenticatorError::Io(std::io::Error::other(
                "répertoire personnel inconnu : indiquez --store RÉPERTOIRE",
            ))
        })?;
        Ok(DeviceStore::new(
            PathBuf::from(home).join(".config").join("caducee-ecps"),
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn device_path(&self) -> PathBuf {
        self.dir.join(DEVICE_FILE)
    }

    pub fn activation_path(&self) -> PathBuf {
        self.dir.join(ACTIVATION_FILE)
    }

    pub fn save_activation(&self, a: &PendingActivation) -> Result<(), AuthenticatorError> {
        self.write_json(ACTIVATION_FILE, a)
    }

    pub fn load_activation(&self) -> Result<PendingActivation, AuthenticatorError> {
        self.read_json(ACTIVATION_FILE)?
            .ok_or_else(|| AuthenticatorError::NoPendingActivation(self.dir.display().to_string()))
    }

    pub fn clear_activation(&self) -> Result<(), AuthenticatorError> {
        match std::fs::remove_file(self.activation_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    pub fn save_device(&self, d: &DeviceState) -> Result<(), AuthenticatorError> {
        self.write_json(DEVICE_FILE, d)
    }

    pub fn load_device(&self) -> Result<DeviceState, AuthenticatorError> {
        self.read_json(DEVICE_FILE)?
            .ok_or_else(|| AuthenticatorError::NotActivated(self.dir.display().to_string()))
    }

    /// After `key` was opened with `password`: when the device's seal is older than the
    /// current one, seals the key again at the current cost and saves the device. True when
    /// it did.
    pub fn upgrade_seal(
        &self,
        device: &mut DeviceState,
        key: &p256::SecretKey,
        password: &str,
    ) -> Result<bool, AuthenticatorError> {
        if device.key.is_current() {
            return Ok(false);
        }
        device.key = EncryptedKey::seal(key, password)?;
        self.save_device(device)?;
        Ok(true)
    }

    fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, AuthenticatorError> {
        let bytes = match std::fs::read(self.dir.join(name)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuthenticatorError::Corrupt(format!("{name} : {e}")))
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), AuthenticatorError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| AuthenticatorError::Corrupt(format!("{name} : {e}")))?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, self.dir.join(name))?;
        Ok(())
    }
}

fn derive(
    password: &str,
    salt: &[u8],
    k: &EncryptedKey,
) -> Result<Zeroizing<[u8; 32]>, AuthenticatorError> {
    if k.m_kib > MAX_M_KIB || k.t > MAX_T || k.p > MAX_P {
        return Err(AuthenticatorError::Corrupt(format!(
            "paramètres de chiffrement hors limites (m = {} Kio, t = {}, p = {})",
            k.m_kib, k.t, k.p
        )));
    }
    let params = Params::new(k.m_kib, k.t, k.p, Some(32))
        .map_err(|e| AuthenticatorError::Crypto(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, out.as_mut())
        .map_err(|e| AuthenticatorError::Crypto(e.to_string()))?;
    Ok(out)
}

fn b64(what: &str, s: &str) -> Result<Vec<u8>, AuthenticatorError> {
    STANDARD
        .decode(s)
        .map_err(|_| AuthenticatorError::Corrupt(format!("{what} mal encodé")))
}

impl EncryptedKey {
    /// Encrypts `key` under `password` with a fresh salt and nonce, at the current cost
    /// ([`SEAL_V2`]).
    pub fn seal(key: &p256::SecretKey, password: &str) -> Result<EncryptedKey, AuthenticatorError> {
        EncryptedKey::seal_at(key, password, SEAL_VERSION, SEAL_V2)
    }

    /// A cheap seal for this crate's tests (64 KiB, t = 1), labelled with the current
    /// version. Absent from every other build.
    #[cfg(test)]
    pub(crate) fn seal_for_tests(
        key: &p256::SecretKey,
        password: &str,
    ) -> Result<EncryptedKey, AuthenticatorError> {
        let cheap = SealCost {
            m_kib: 64,
            t: 1,
            p: 1,
        };
        EncryptedKey::seal_at(key, password, SEAL_VERSION, cheap)
    }

    /// True when the seal is of the current version and cost (nothing to upgrade).
    pub fn is_current(&self) -> bool {
        self.version >= SEAL_VERSION
            && self.m_kib >= SEAL_V2.m_kib
            && self.t >= SEAL_V2.t
            && self.kdf == "argon2id"
    }

    fn seal_at(
        key: &p256::SecretKey,
        password: &str,
        version: u32,
        cost: SealCost,
    ) -> Result<EncryptedKey, AuthenticatorError> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut sealed = EncryptedKey {
            version,
            kdf: "argon2id".into(),
            m_kib: cost.m_kib,
            t: cost.t,
            p: cost.p,
            salt: STANDARD.encode(salt),
            cipher: "chacha20poly1305".into(),
            nonce: STANDARD.encode(nonce),
            ciphertext: String::new(),
        };
        let kek = derive(password, &salt, &sealed)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
        let secret = Zeroizing::new(key.to_bytes());
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), secret.as_slice())
            .map_err(|_| AuthenticatorError::Crypto("chiffrement de la clé".into()))?;
        sealed.ciphertext = STANDARD.encode(ct);
        Ok(sealed)
    }

    /// Decrypts the key; a wrong password is [`AuthenticatorError::WrongPassword`]. Opens
    /// every version so far, with the parameters the file holds.
    pub fn open(&self, password: &str) -> Result<p256::SecretKey, AuthenticatorError> {
        if self.version == 0 || self.version > SEAL_VERSION {
            return Err(AuthenticatorError::Corrupt(format!(
                "clé scellée en version {} inconnue de ce programme : mettez caducee à jour",
                self.version
            )));
        }
        if self.kdf != "argon2id" || self.cipher != "chacha20poly1305" {
            return Err(AuthenticatorError::Corrupt(format!(
                "chiffrement inconnu {}/{}",
                self.kdf, self.cipher
            )));
        }
        let salt = b64("sel", &self.salt)?;
        let nonce = b64("nonce", &self.nonce)?;
        let ct = b64("clé chiffrée", &self.ciphertext)?;
        if nonce.len() != 12 {
            return Err(AuthenticatorError::Corrupt(
                "nonce de taille invalide".into(),
            ));
        }
        let kek = derive(password, &salt, self)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
        let plain = Zeroizing::new(
            cipher
                .decrypt(Nonce::from_slice(&nonce), ct.as_slice())
                .map_err(|_| AuthenticatorError::WrongPassword)?,
        );
        p256::SecretKey::from_slice(&plain)
            .map_err(|_| AuthenticatorError::Corrupt("clé privée invalide".into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn psc_04_key_sealed_with_password_opens_only_with_it() {
        let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let sealed = EncryptedKey::seal_for_tests(&key, "mot de passe e-CPS").unwrap();
        assert_eq!(
            sealed.open("mot de passe e-CPS").unwrap().to_bytes(),
            key.to_bytes()
        );
        assert!(matches!(
            sealed.open("autre mot de passe"),
            Err(AuthenticatorError::WrongPassword)
        ));
    }

    #[test]
    fn psc_04_device_file_is_0600_and_holds_no_clear_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeviceStore::new(dir.path().join("s"));
        let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let state = DeviceState {
            server: "http://x".into(),
            idnat: "810001".into(),
            device_id: "d".into(),
            expires_at: 1,
            key: EncryptedKey::seal_for_tests(&key, "mot de passe e-CPS").unwrap(),
        };
        store.save_device(&state).unwrap();
        assert_eq!(store.load_device().unwrap(), state);
        let meta = std::fs::metadata(store.device_path()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(store.device_path()).unwrap();
        let clear = STANDARD.encode(key.to_bytes());
        assert!(!text.contains(&clear));
        assert!(!text.contains(&hex_of(&key.to_bytes())));
        assert!(matches!(
            DeviceStore::new(dir.path().join("none")).load_device(),
            Err(AuthenticatorError::NotActivated(_))
        ));
    }

    /// Issue 10 item 18: a new seal costs an offline guesser 256 MiB of memory per try, and
    /// says its version and parameters in the file.
    #[test]
    fn sec_18_new_seals_cost_256_mib_and_say_their_version() {
        let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let sealed = EncryptedKey::seal(&key, "mot de passe e-CPS").unwrap();
        let json = serde_json::to_value(&sealed).unwrap();
        assert_eq!(json["version"], 2, "{json}");
        assert_eq!(json["kdf"], "argon2id");
        assert!(json["m_kib"].as_u64().unwrap() >= 256 * 1024, "{json}");
        assert!(json["t"].as_u64().unwrap() >= 2, "{json}");
        assert!(sealed.is_current());
        assert_eq!(
            sealed.open("mot de passe e-CPS").unwrap().to_bytes(),
            key.to_bytes()
        );
    }

    /// Issue 10 item 18: a `device.json` written before versions (19 MiB, no `version`
    /// field) still opens with its own parameters, and the first use seals it again at the
    /// current cost; a version from the future, or parameters out of bounds, are refused
    /// before anything is allocated.
    #[test]
    fn sec_18_a_version_1_store_still_opens_and_is_sealed_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = DeviceStore::new(dir.path().join("s"));
        let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let v1 = EncryptedKey::seal_at(&key, "mot de passe e-CPS", 1, SEAL_V1).unwrap();
        let mut json = serde_json::to_value(&v1).unwrap();
        json.as_object_mut().unwrap().remove("version");
        let old = serde_json::json!({
            "server": "http://x", "idnat": "810001", "device_id": "d", "expires_at": 1,
            "key": json,
        });
        std::fs::create_dir_all(store.dir()).unwrap();
        std::fs::write(store.device_path(), old.to_string()).unwrap();

        let mut device = store.load_device().unwrap();
        assert_eq!(device.key.version, 1);
        assert!(!device.key.is_current());
        let opened = device.key.open("mot de passe e-CPS").unwrap();
        assert_eq!(opened.to_bytes(), key.to_bytes());
        assert!(store
            .upgrade_seal(&mut device, &opened, "mot de passe e-CPS")
            .unwrap());
        let again = store.load_device().unwrap();
        assert_eq!((again.key.version, again.key.m_kib), (2, 256 * 1024));
        assert_ne!(again.key.salt, v1.salt);
        assert_eq!(
            again.key.open("mot de passe e-CPS").unwrap().to_bytes(),
            key.to_bytes()
        );
        assert!(matches!(
            again.key.open("autre mot de passe"),
            Err(AuthenticatorError::WrongPassword)
        ));
        let mut again = again;
        assert!(!store
            .upgrade_seal(&mut again, &opened, "mot de passe e-CPS")
            .unwrap());

        let future = EncryptedKey {
            version: 3,
            ..v1.clone()
        };
        assert!(matches!(
            future.open("mot de passe e-CPS"),
            Err(AuthenticatorError::Corrupt(m)) if m.contains("mettez caducee à jour")
        ));
        let greedy = EncryptedKey {
            m_kib: u32::MAX,
            ..v1
        };
        assert!(matches!(
            greedy.open("mot de passe e-CPS"),
            Err(AuthenticatorError::Corrupt(_))
        ));
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
