//! Client of the e-CPS device API (`/ecps/api/v1/…`): activation start and confirm
//! (unsigned), then device calls signed with a DPoP-like proof: a compact ES256 JWS whose
//! header names the device (`kid`) and whose claims are the method (`htm`), the server URL
//! plus path (`htu`), the time (`iat`) and a fresh unique id (`jti`).
//!
//! Must never log a code, a password or a proof.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AuthenticatorError;

/// The header that carries the device proof.
const PROOF_HEADER: &str = "DPoP";
/// Longest wait the server grants in one long-poll, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ActivationStarted {
    pub activation_id: String,
    pub email_hint: String,
    pub sms_hint: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DeviceCreated {
    pub device_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RequestItem {
    pub id: String,
    pub service: String,
    pub choices: Vec<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
struct RequestsBody {
    requests: Vec<RequestItem>,
}

/// The server's verdict on an answer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AnswerOutcome {
    /// `approved`, `denied` or `wrong_password`.
    pub outcome: String,
    #[serde(default)]
    pub remaining: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DeviceStatus {
    pub id: String,
    pub idnat: String,
    pub status: String,
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

/// Unsigned calls (activation).
#[derive(Debug, Clone)]
pub struct EcpsClient {
    http: reqwest::Client,
    server: String,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn decode<T: DeserializeOwned>(r: reqwest::Response) -> Result<T, AuthenticatorError> {
    let status = r.status();
    if status.is_success() {
        return Ok(r.json().await?);
    }
    let text = r.text().await.unwrap_or_default();
    Err(match serde_json::from_str::<ErrorBody>(&text) {
        Ok(b) => AuthenticatorError::Api {
            status: status.as_u16(),
            code: b.error,
            message: b.message,
        },
        Err(_) => AuthenticatorError::Api {
            status: status.as_u16(),
            code: "http".into(),
            message: format!("réponse inattendue du serveur e-CPS (statut {status})"),
        },
    })
}

impl EcpsClient {
    /// `server` is the public URL of the caducee server (`https://…`, no trailing path).
    pub fn new(server: &str) -> Result<EcpsClient, AuthenticatorError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(MAX_WAIT_SECS + 15))
            .build()?;
        Ok(EcpsClient {
            http,
            server: server.trim_end_matches('/').to_string(),
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    pub async fn start_activation(
        &self,
        id: &str,
    ) -> Result<ActivationStarted, AuthenticatorError> {
        let r = self
            .http
            .post(self.url("/ecps/api/v1/activations"))
            .json(&serde_json::json!({ "id": id }))
            .send()
            .await?;
        decode(r).await
    }

    pub async fn confirm_activation(
        &self,
        activation_id: &str,
        email_code: &str,
        sms_code: &str,
        password: &str,
        public_key: &p256::PublicKey,
    ) -> Result<DeviceCreated, AuthenticatorError> {
        let jwk: serde_json::Value = serde_json::from_str(&public_key.to_jwk_string())
            .map_err(|e| AuthenticatorError::Crypto(e.to_string()))?;
        let r = self
            .http
            .post(self.url(&format!("/ecps/api/v1/activations/{activation_id}/confirm")))
            .json(&serde_json::json!({
                "email_code": email_code,
                "sms_code": sms_code,
                "password": password,
                "public_jwk": jwk,
            }))
            .send()
            .await?;
        decode(r).await
    }

    /// The signed-call client of a registered device.
    pub fn device(&self, device_id: &str, key: &p256::SecretKey) -> DeviceClient {
        DeviceClient {
            client: self.clone(),
            device_id: device_id.to_string(),
            key: SigningKey::from(key),
        }
    }
}

/// Device calls, each signed with the device key.
#[derive(Debug, Clone)]
pub struct DeviceClient {
    client: EcpsClient,
    device_id: String,
    key: SigningKey,
}

#[derive(Serialize)]
struct ProofHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    htm: &'a str,
    htu: &'a str,
    iat: i64,
    jti: String,
}

impl DeviceClient {
    /// The proof of a call `method` on `path` (query excluded), now, with a fresh `jti`.
    pub fn proof(&self, method: &str, path: &str) -> Result<String, AuthenticatorError> {
        let h = b64_json(&ProofHeader {
            alg: "ES256",
            typ: "ecps-proof+jwt",
            kid: &self.device_id,
        })?;
        let p = b64_json(&ProofClaims {
            htm: method,
            htu: &self.client.url(path),
            iat: now(),
            jti: uuid::Uuid::new_v4().to_string(),
        })?;
        let input = format!("{h}.{p}");
        let sig: Signature = self.key.sign(input.as_bytes());
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }

    /// Long-poll: the pending requests, waiting at most `wait` seconds (capped at 30) for one.
    pub async fn pending(&self, wait: u64) -> Result<Vec<RequestItem>, AuthenticatorError> {
        let path = "/ecps/api/v1/requests";
        let r = self
            .client
            .http
            .get(format!(
                "{}?wait={}",
                self.client.url(path),
                wait.min(MAX_WAIT_SECS)
            ))
            .header(PROOF_HEADER, self.proof("GET", path)?)
            .send()
            .await?;
        Ok(decode::<RequestsBody>(r).await?.requests)
    }

    /// Answers request `id` with the chosen `code` and the e-CPS password.
    pub async fn answer(
        &self,
        id: &str,
        code: &str,
        password: &str,
    ) -> Result<AnswerOutcome, AuthenticatorError> {
        let path = format!("/ecps/api/v1/requests/{id}");
        let r = self
            .client
            .http
            .post(self.client.url(&path))
            .header(PROOF_HEADER, self.proof("POST", &path)?)
            .json(&serde_json::json!({ "code": code, "password": password }))
            .send()
            .await?;
        decode(r).await
    }

    /// The device as the server sees it.
    pub async fn status(&self) -> Result<DeviceStatus, AuthenticatorError> {
        let path = "/ecps/api/v1/device";
        let r = self
            .client
            .http
            .get(self.client.url(path))
            .header(PROOF_HEADER, self.proof("GET", path)?)
            .send()
            .await?;
        decode(r).await
    }
}

/// Base64url (no padding) of the JSON of `v`.
fn b64_json<T: Serialize>(v: &T) -> Result<String, AuthenticatorError> {
    serde_json::to_vec(v)
        .map(|b| URL_SAFE_NO_PAD.encode(b))
        .map_err(|e| AuthenticatorError::Crypto(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn psc_04_proof_is_es256_bound_to_method_url_with_fresh_jti() {
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let dev = EcpsClient::new("http://h:1/").unwrap().device("dev-1", &sk);
        let a = dev.proof("GET", "/ecps/api/v1/requests").unwrap();
        let b = dev.proof("GET", "/ecps/api/v1/requests").unwrap();
        let parts: Vec<&str> = a.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "dev-1");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "http://h:1/ecps/api/v1/requests");
        assert!((claims["iat"].as_i64().unwrap() - now()).abs() < 5);
        let claims_b: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(b.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_ne!(claims["jti"], claims_b["jti"]);
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        VerifyingKey::from(sk.public_key())
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }
}
