//! Tunable limits of the e-CPS server. Defaults follow DESIGN.md and issue 4; every value is
//! a plain number so the binary can read it from its configuration.
//!
//! Must never hold the argon2 cost: the cost is chosen in code ([`crate::Argon2Policy`]), so
//! a configuration file cannot weaken password hashing.

/// Limits and validities, in seconds unless named otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcpsConfig {
    /// Validity of the activation codes (10 minutes).
    pub activation_ttl_secs: i64,
    /// Wrong code pairs accepted before the activation is dead (5).
    pub activation_max_tries: u32,
    /// Times the codes of one activation may be sent again (3).
    pub activation_max_resends: u32,
    /// Activation requests one professional may have started per 24 hours (5). An activation
    /// whose codes were never entered right (what a stranger typing someone else's RPPS
    /// leaves behind) weighs only [`Self::activation_unused_weight_secs`].
    pub activation_max_per_day: u32,
    /// How long an activation whose codes were never entered right counts against
    /// [`Self::activation_max_per_day`] (1 hour instead of 24).
    pub activation_unused_weight_secs: i64,
    /// Code sends one source (address, IPv6 /64) may ask for per hour through the device
    /// API: activation starts and resends, counted before anything is looked up, whatever
    /// the answer (10). Bounds the messages a stranger sends and the states they read.
    pub activation_max_per_source_per_hour: u32,
    /// Activations one source may start per hour for one professional (2): fewer than
    /// [`Self::activation_max_per_day`], so one source alone cannot block a professional.
    pub activation_max_per_source_and_person_per_hour: u32,
    /// Validity of a device from its activation, in years (3, PSC-05).
    pub device_validity_years: i32,
    /// Consecutive wrong passwords that lock the device (5).
    pub max_wrong_passwords: u32,
    /// Validity of an authentication request (120 s).
    pub request_ttl_secs: i64,
    /// Pending requests one professional may have at once (3).
    pub max_pending_requests: u32,
    /// Requests one professional may receive per window (10 per 10 minutes).
    pub max_requests_per_window: u32,
    pub request_window_secs: i64,
    /// Accepted distance between a device proof's `iat` and the server's clock (60 s).
    pub proof_max_skew_secs: i64,
    /// Base URL used as the Message-ID domain of the e-mails (None: the notify default).
    pub public_url: Option<String>,
    /// Validity of a card-proven activation's token (5 minutes, PSC-04 with the card).
    pub card_activation_ttl_secs: i64,
    /// The CPS card host's base URL (`card_url`), where `/ecps` sends a card holder to
    /// activate with the card; None: no card host, the page offers the codes only.
    pub card_url: Option<String>,
}

impl Default for EcpsConfig {
    fn default() -> Self {
        EcpsConfig {
            activation_ttl_secs: 600,
            activation_max_tries: 5,
            activation_max_resends: 3,
            activation_max_per_day: 5,
            activation_unused_weight_secs: 3600,
            activation_max_per_source_per_hour: 10,
            activation_max_per_source_and_person_per_hour: 2,
            device_validity_years: 3,
            max_wrong_passwords: 5,
            request_ttl_secs: 120,
            max_pending_requests: 3,
            max_requests_per_window: 10,
            request_window_secs: 600,
            proof_max_skew_secs: 60,
            public_url: None,
            card_activation_ttl_secs: 300,
            card_url: None,
        }
    }
}
