//! Settings, parsed once at start from `EASEL_*` variables or flags into typed values. A wrong value
//! stops the start with a message that names the variable. AWS settings (credentials, endpoints)
//! are left to the AWS SDK's usual chain.

use std::{net::SocketAddr, num::NonZeroU32, path::PathBuf, time::Duration};

use clap::Args;

use crate::{
    catalogue::Catalogue,
    guard::{Caps, Usd},
    http::AllowedViewers,
    identity::{Admins, ClientSecret, Issuer, OidcSettings, PublicUrl},
    storage::StorageLocation,
    studio::JobSettings,
};

/// The flags and variables exactly as given.
#[derive(Debug, Clone, Args)]
pub struct RawConfig {
    /// Address to listen on.
    #[arg(long, env = "EASEL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where images are kept: a folder, or s3://bucket/prefix.
    #[arg(long, env = "EASEL_STORAGE", default_value = "easel-data")]
    pub storage: String,
    /// A TOML file listing the models to offer (default: the built-in list).
    #[arg(long, env = "EASEL_MODELS")]
    pub models: Option<PathBuf>,
    /// The AWS region whose Bedrock serves the models (apart from where Easel runs).
    #[arg(long, env = "EASEL_BEDROCK_REGION", default_value = "us-west-2")]
    pub bedrock_region: String,
    /// Seconds to wait for one model call.
    #[arg(long, env = "EASEL_BEDROCK_TIMEOUT_SECS", default_value = "120")]
    pub bedrock_timeout_secs: String,
    /// Seconds in-flight generations may take to finish after SIGTERM.
    #[arg(long, env = "EASEL_SHUTDOWN_GRACE_SECS", default_value = "30")]
    pub shutdown_grace_secs: String,
    /// Key that signs the browser cookie, base64, at least 64 bytes (default: one kept in storage).
    #[arg(long, env = "EASEL_COOKIE_KEY", hide_env_values = true)]
    pub cookie_key: Option<String>,
    /// The key that signed cookies before the current one: still accepted, and cookies signed
    /// with it are signed again with the current key (base64, at least 64 bytes).
    #[arg(long, env = "EASEL_COOKIE_KEY_PREVIOUS", hide_env_values = true)]
    pub cookie_key_previous: Option<String>,
    /// Easel is served over HTTPS: the cookie is sent over HTTPS only, and browsers are told to
    /// use HTTPS (Strict-Transport-Security).
    #[arg(long, env = "EASEL_SECURE_COOKIE", default_value = "false")]
    pub secure_cookie: String,
    /// Jobs of one model that one process runs at once.
    #[arg(long, env = "EASEL_MODEL_CONCURRENCY", default_value = "4")]
    pub model_concurrency: String,
    /// Jobs making large pictures (the upscales and outpaint) that one process runs at once,
    /// whatever their model: each may hold tens of megabytes.
    #[arg(long, env = "EASEL_LARGE_PICTURE_JOBS", default_value = "2")]
    pub large_picture_jobs: String,
    /// Jobs of one model that may wait for a free slot in one process before new ones are refused.
    #[arg(long, env = "EASEL_QUEUE_LENGTH", default_value = "100")]
    pub queue_length: String,
    /// Jobs (generations and edits) and uploads one browser may start per minute.
    #[arg(long, env = "EASEL_RATE_LIMIT", default_value = "30")]
    pub rate_limit: String,
    /// Seconds between checks of which models Bedrock still serves.
    #[arg(long, env = "EASEL_MODEL_CHECK_SECS", default_value = "300")]
    pub model_check_secs: String,

    /// What one browser may spend per UTC day, in USD (0: no cap).
    #[arg(long, env = "EASEL_BUDGET_DAILY_USD", default_value = "2")]
    pub budget_daily_usd: String,

    /// What the whole deployment may spend per calendar month, in USD (0: no cap).
    #[arg(long, env = "EASEL_BUDGET_MONTHLY_USD", default_value = "50")]
    pub budget_monthly_usd: String,

    /// Jobs one browser may have queued or running at once.
    #[arg(long, env = "EASEL_JOBS_PER_BROWSER", default_value = "8")]
    pub jobs_per_browser: String,

    /// Seconds a process that stopped answering keeps its jobs before another takes them over.
    #[arg(long, env = "EASEL_JOB_LEASE_SECS", default_value = "30")]
    pub job_lease_secs: String,

    /// Seconds between looks for jobs that a stopped or dead process left behind.
    #[arg(long, env = "EASEL_JOB_SCAN_SECS", default_value = "30")]
    pub job_scan_secs: String,

    /// Seconds a job throttled by Bedrock keeps retrying before it fails.
    #[arg(long, env = "EASEL_THROTTLE_PATIENCE_SECS", default_value = "60")]
    pub throttle_patience_secs: String,

    /// Milliseconds the answer to Generate waits for jobs whose model lately took less, so
    /// their pictures come with it (0: never wait).
    #[arg(long, env = "EASEL_QUICK_ANSWER_MS", default_value = "100")]
    pub quick_answer_ms: String,

    /// Address for Prometheus metrics (/metrics), apart from the public one; empty: none.
    #[arg(long, env = "EASEL_METRICS_LISTEN", default_value = "")]
    pub metrics_listen: String,

    /// Seconds a client has to send a request's headers before its connection is closed.
    #[arg(long, env = "EASEL_HEADER_TIMEOUT_SECS", default_value = "10")]
    pub header_timeout_secs: String,

    /// Megabytes one browser may keep in its gallery before its uploads are refused (0: no quota).
    #[arg(long, env = "EASEL_UPLOAD_QUOTA_MB", default_value = "200")]
    pub upload_quota_mb: String,

    /// Comma-separated e-mail addresses of the people who may open /admin.
    #[arg(long, env = "EASEL_ADMINS", default_value = "")]
    pub admins: String,

    /// Comma-separated CIDRs (like 203.0.113.0/24) of the viewers CloudFront may let in, read
    /// from its CloudFront-Viewer-Address header; empty: everyone.
    #[arg(long, env = "EASEL_ALLOWED_VIEWER_CIDRS", default_value = "")]
    pub allowed_viewer_cidrs: String,

    /// Who may use the studio: `none` (whoever reaches it; each browser has an anonymous
    /// gallery) or `oidc` (people signed in through an OpenID Connect provider).
    #[arg(long, env = "EASEL_AUTH", default_value = "none")]
    pub auth: String,

    /// The origin browsers see, e.g. https://d111.cloudfront.net (unset: each request's own
    /// host). An https origin makes the cookies Secure with the `__Host-` prefix and turns on
    /// Strict-Transport-Security.
    #[arg(long, env = "EASEL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The OpenID Connect provider's issuer URL (https; plain http only on loopback).
    #[arg(long, env = "EASEL_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// Easel's client id at the provider.
    #[arg(long, env = "EASEL_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// Easel's client secret at the provider.
    #[arg(long, env = "EASEL_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,

    /// A file holding the client secret, instead of EASEL_OIDC_CLIENT_SECRET.
    #[arg(long, env = "EASEL_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,

    /// A logout endpoint in Cognito's style (it takes client_id and logout_uri), for a provider
    /// whose discovery document names no end_session_endpoint.
    #[arg(long, env = "EASEL_OIDC_LOGOUT_URL")]
    pub oidc_logout_url: Option<String>,

    /// Hours a sign-in lasts before the person signs in again.
    #[arg(long, env = "EASEL_SESSION_HOURS", default_value = "168")]
    pub session_hours: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub storage: StorageLocation,
    pub catalogue: Catalogue,
    pub bedrock_region: String,
    pub bedrock_timeout: Duration,
    pub shutdown_grace: Duration,
    pub cookie_key: Option<CookieKey>,
    /// Accepted besides `cookie_key` while browsers move to it.
    pub cookie_key_previous: Option<CookieKey>,
    /// Served over HTTPS (`EASEL_SECURE_COOKIE`).
    pub secure_cookie: bool,
    pub rate_limit: u32,
    pub model_check_interval: Duration,
    pub gallery_page_size: usize,
    pub jobs: JobSettings,
    pub budget: Caps,
    pub metrics_listen: Option<SocketAddr>,
    pub header_timeout: Duration,
    /// How often the store is checked for `/readyz`.
    pub store_check_interval: Duration,
    /// Uploaded pictures read and decoded at once; more are answered "busy".
    pub pictures_at_once: usize,
    /// Bytes of uploads one browser may keep; `None`: no quota.
    pub upload_quota: Option<u64>,
    /// How often a quiet job stream sends a comment, so that no proxy closes it as idle.
    pub stream_keep_alive: Duration,
    /// Who may open /admin.
    pub admins: Admins,
    /// Where viewers may come from; `None`: anywhere.
    pub allowed_viewers: Option<AllowedViewers>,
    pub auth: Auth,
    /// The origin browsers see, when it is not the request's own host.
    pub public_url: Option<PublicUrl>,
}

/// Who may use the studio.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Whoever reaches it, each browser with an anonymous gallery.
    None,
    /// People signed in through an OpenID Connect provider.
    Oidc(OidcSettings),
}

/// Well inside CloudFront's 30 s origin read timeout, after which it drops a silent stream.
const STREAM_KEEP_ALIVE: Duration = Duration::from_secs(10);
const _: () = assert!(
    STREAM_KEEP_ALIVE.as_secs() <= 15,
    "CloudFront needs a comment every 15 s"
);

/// The cookie-signing key; never printed.
#[derive(Clone)]
pub struct CookieKey(pub Vec<u8>);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    variable: &'static str,
    message: String,
}

fn parse<T>(
    variable: &'static str,
    raw: &str,
    f: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    f(raw.trim()).map_err(|message| ConfigError { variable, message })
}

fn seconds(raw: &str) -> Result<Duration, String> {
    raw.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("{raw:?} is not a whole number of seconds"))
}

fn positive_seconds(raw: &str) -> Result<Duration, String> {
    match seconds(raw)? {
        d if d.is_zero() => Err(format!("{raw:?} is too short: 1 second or more")),
        d => Ok(d),
    }
}

fn dollars(raw: &str) -> Result<Option<Usd>, String> {
    match raw.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(d) if d.is_finite() && d > 0.0 => Ok(Some(Usd::from_dollars(d))),
        _ => Err(format!(
            "{raw:?} is not an amount of dollars like 2 or 0.50 (0: no cap)"
        )),
    }
}

fn cookie_key(raw: &str) -> Result<CookieKey, String> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| "the key is not base64".to_owned())?;
    if key.len() < 64 {
        return Err(format!(
            "the key is {} bytes; it needs 64 or more",
            key.len()
        ));
    }
    Ok(CookieKey(key))
}

fn address(raw: &str) -> Result<SocketAddr, String> {
    raw.parse()
        .map_err(|_| format!("{raw:?} is not an address like 0.0.0.0:8080"))
}

fn positive(raw: &str) -> Result<NonZeroU32, String> {
    raw.parse()
        .map_err(|_| format!("{raw:?} is not a whole number of 1 or more"))
}

/// An optional setting: unset or blank is `None`.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(variable: &'static str, raw: &'a Option<String>) -> Result<&'a str, ConfigError> {
    given(raw).ok_or_else(|| missing(variable))
}

fn missing(variable: &'static str) -> ConfigError {
    ConfigError {
        variable,
        message: "required with EASEL_AUTH=oidc".to_owned(),
    }
}

fn logout_url(raw: &str) -> Result<url::Url, String> {
    match url::Url::parse(raw) {
        Ok(url) if url.scheme() == "https" || url.scheme() == "http" => Ok(url),
        _ => Err(format!(
            "{raw:?} is not a URL like https://DOMAIN.auth.REGION.amazoncognito.com/logout"
        )),
    }
}

impl RawConfig {
    fn auth(&self) -> Result<Auth, ConfigError> {
        match parse("EASEL_AUTH", &self.auth, |s| Ok(s.to_owned()))?.as_str() {
            "none" => return Ok(Auth::None),
            "oidc" => {}
            other => {
                return Err(ConfigError {
                    variable: "EASEL_AUTH",
                    message: format!("{other:?} is neither none nor oidc"),
                });
            }
        }
        let issuer = required("EASEL_OIDC_ISSUER", &self.oidc_issuer)?;
        let client_id = required("EASEL_OIDC_CLIENT_ID", &self.oidc_client_id)?;
        let client_secret = match (
            given(&self.oidc_client_secret),
            &self.oidc_client_secret_file,
        ) {
            (Some(secret), None) => parse("EASEL_OIDC_CLIENT_SECRET", secret, ClientSecret::parse)?,
            (None, Some(path)) => parse(
                "EASEL_OIDC_CLIENT_SECRET_FILE",
                &path.display().to_string(),
                |_| {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    ClientSecret::parse(&text)
                },
            )?,
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    variable: "EASEL_OIDC_CLIENT_SECRET_FILE",
                    message: "give the secret or a file holding it, not both".to_owned(),
                });
            }
            (None, None) => return Err(missing("EASEL_OIDC_CLIENT_SECRET")),
        };
        Ok(Auth::Oidc(OidcSettings {
            issuer: parse("EASEL_OIDC_ISSUER", issuer, Issuer::parse)?,
            client_id: client_id.to_owned(),
            client_secret,
            logout_url: given(&self.oidc_logout_url)
                .map(|raw| parse("EASEL_OIDC_LOGOUT_URL", raw, logout_url))
                .transpose()?,
            session_lifetime: parse("EASEL_SESSION_HOURS", &self.session_hours, |s| {
                positive(s).map(|hours| Duration::from_secs(u64::from(hours.get()) * 3600))
            })?,
        }))
    }

    pub fn parse(self) -> Result<Config, ConfigError> {
        let public_url = given(&self.public_url)
            .map(|raw| parse("EASEL_PUBLIC_URL", raw, PublicUrl::parse))
            .transpose()?;
        Ok(Config {
            auth: self.auth()?,
            listen: parse("EASEL_LISTEN", &self.listen, address)?,
            storage: parse("EASEL_STORAGE", &self.storage, |s| s.parse())?,
            catalogue: match &self.models {
                None => Catalogue::built_in(),
                Some(path) => parse("EASEL_MODELS", &path.display().to_string(), |_| {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    Catalogue::parse(&text).map_err(|e| e.to_string())
                })?,
            },
            bedrock_region: parse("EASEL_BEDROCK_REGION", &self.bedrock_region, |s| {
                let valid = !s.is_empty()
                    && s.split('-').count() >= 3
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                valid
                    .then(|| s.to_owned())
                    .ok_or_else(|| format!("{s:?} is not an AWS region like us-west-2"))
            })?,
            bedrock_timeout: parse(
                "EASEL_BEDROCK_TIMEOUT_SECS",
                &self.bedrock_timeout_secs,
                seconds,
            )?,
            shutdown_grace: parse(
                "EASEL_SHUTDOWN_GRACE_SECS",
                &self.shutdown_grace_secs,
                seconds,
            )?,
            cookie_key: self
                .cookie_key
                .as_deref()
                .map(|raw| parse("EASEL_COOKIE_KEY", raw, cookie_key))
                .transpose()?,
            cookie_key_previous: self
                .cookie_key_previous
                .as_deref()
                .map(|raw| parse("EASEL_COOKIE_KEY_PREVIOUS", raw, cookie_key))
                .transpose()?,
            secure_cookie: parse("EASEL_SECURE_COOKIE", &self.secure_cookie, |s| {
                s.parse::<bool>()
                    .map_err(|_| format!("{s:?} is not true or false"))
            })? || public_url.as_ref().is_some_and(PublicUrl::is_https),
            public_url,
            jobs: JobSettings {
                concurrency: parse("EASEL_MODEL_CONCURRENCY", &self.model_concurrency, positive)?
                    .get() as usize,
                large_picture_jobs: parse(
                    "EASEL_LARGE_PICTURE_JOBS",
                    &self.large_picture_jobs,
                    positive,
                )?
                .get() as usize,
                queue_length: parse("EASEL_QUEUE_LENGTH", &self.queue_length, |s| {
                    s.parse()
                        .map_err(|_| format!("{s:?} is not a whole number"))
                })?,
                per_browser: parse("EASEL_JOBS_PER_BROWSER", &self.jobs_per_browser, positive)?
                    .get() as usize,
                lease: parse(
                    "EASEL_JOB_LEASE_SECS",
                    &self.job_lease_secs,
                    positive_seconds,
                )?,
                scan_interval: parse("EASEL_JOB_SCAN_SECS", &self.job_scan_secs, |s| {
                    seconds(s).map(|d| d.max(Duration::from_millis(200)))
                })?,
                throttle_patience: parse(
                    "EASEL_THROTTLE_PATIENCE_SECS",
                    &self.throttle_patience_secs,
                    seconds,
                )?,
                quick_answer: parse("EASEL_QUICK_ANSWER_MS", &self.quick_answer_ms, |s| {
                    s.parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| format!("{s:?} is not a whole number of milliseconds"))
                })?,
            },
            budget: Caps {
                daily_per_browser: parse(
                    "EASEL_BUDGET_DAILY_USD",
                    &self.budget_daily_usd,
                    dollars,
                )?,
                monthly: parse(
                    "EASEL_BUDGET_MONTHLY_USD",
                    &self.budget_monthly_usd,
                    dollars,
                )?,
            },
            metrics_listen: match self.metrics_listen.trim() {
                "" => None,
                raw => Some(parse("EASEL_METRICS_LISTEN", raw, address)?),
            },
            rate_limit: parse("EASEL_RATE_LIMIT", &self.rate_limit, positive)?.get(),
            model_check_interval: parse("EASEL_MODEL_CHECK_SECS", &self.model_check_secs, seconds)?,
            gallery_page_size: 12,
            store_check_interval: Duration::from_secs(10),
            // Two cores decode two at a time; a few more may be arriving over the network.
            pictures_at_once: 4,
            header_timeout: parse(
                "EASEL_HEADER_TIMEOUT_SECS",
                &self.header_timeout_secs,
                positive_seconds,
            )?,
            upload_quota: parse("EASEL_UPLOAD_QUOTA_MB", &self.upload_quota_mb, |s| {
                s.parse::<u64>()
                    .map(|mb| (mb > 0).then_some(mb * 1024 * 1024))
                    .map_err(|_| format!("{s:?} is not a whole number of megabytes (0: no quota)"))
            })?,
            stream_keep_alive: STREAM_KEEP_ALIVE,
            admins: parse("EASEL_ADMINS", &self.admins, Admins::parse)?,
            allowed_viewers: match self.allowed_viewer_cidrs.trim() {
                "" => None,
                raw => Some(parse(
                    "EASEL_ALLOWED_VIEWER_CIDRS",
                    raw,
                    AllowedViewers::parse,
                )?),
            },
        })
    }
}

impl Config {
    /// The settings a test or a local run starts from: every default, storage in `folder`.
    pub fn for_folder(folder: impl Into<PathBuf>) -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            raw: RawConfig,
        }
        let defaults = <Defaults as clap::Parser>::parse_from(["easel"]).raw;
        let mut config = defaults.parse().expect("the defaults are valid");
        config.storage = StorageLocation::Folder(folder.into());
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        raw: RawConfig,
    }

    fn parse_args(args: &[&str]) -> Result<Config, ConfigError> {
        Cli::parse_from(std::iter::once("easel").chain(args.iter().copied()))
            .raw
            .parse()
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = parse_args(&["--listen", "everywhere"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_LISTEN:"), "{err}");
        let err = parse_args(&["--bedrock-region", "Oregon"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_BEDROCK_REGION:"), "{err}");
        let err = parse_args(&["--cookie-key", "c2hvcnQ="])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs 64 or more"), "{err}");
        let err = parse_args(&["--cookie-key-previous", "not base64!"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_COOKIE_KEY_PREVIOUS:"), "{err}");
        let err = parse_args(&["--storage", "s3://"]).unwrap_err().to_string();
        assert!(err.starts_with("EASEL_STORAGE:"), "{err}");
        let err = parse_args(&["--admins", "ops@example.com, not an address"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_ADMINS:"), "{err}");
        let err = parse_args(&["--allowed-viewer-cidrs", "10.0.0.0/8, 10.0.0.1/33"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_ALLOWED_VIEWER_CIDRS:"), "{err}");
    }

    #[test]
    fn sign_in_settings_are_checked_at_start() {
        assert!(matches!(parse_args(&[]).unwrap().auth, Auth::None));
        let err = parse_args(&["--auth", "password"]).unwrap_err().to_string();
        assert!(err.starts_with("EASEL_AUTH:"), "{err}");
        let err = parse_args(&["--auth", "oidc"]).unwrap_err().to_string();
        assert!(err.starts_with("EASEL_OIDC_ISSUER:"), "{err}");
        let oidc = [
            "--auth",
            "oidc",
            "--oidc-issuer",
            "http://idp.example",
            "--oidc-client-id",
            "easel",
            "--oidc-client-secret",
            "s3cret",
        ];
        let err = parse_args(&oidc).unwrap_err().to_string();
        assert!(err.starts_with("EASEL_OIDC_ISSUER:"), "{err}");
        let mut local = oidc;
        local[3] = "http://localhost:9000";
        let config = parse_args(&local).unwrap();
        let Auth::Oidc(settings) = config.auth else {
            panic!("oidc expected")
        };
        assert_eq!(settings.session_lifetime, Duration::from_secs(168 * 3600));
        assert_eq!(settings.client_secret.expose(), "s3cret");
        let err = parse_args(&local[..6]).unwrap_err().to_string();
        assert!(err.starts_with("EASEL_OIDC_CLIENT_SECRET:"), "{err}");
        let err = parse_args(&[&local[..], &["--session-hours", "0"]].concat())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_SESSION_HOURS:"), "{err}");
    }

    #[test]
    fn the_client_secret_may_come_from_a_file() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "from-a-file\n").unwrap();
        let path = file.path().to_str().unwrap();
        let config = parse_args(&[
            "--auth",
            "oidc",
            "--oidc-issuer",
            "https://idp.example",
            "--oidc-client-id",
            "easel",
            "--oidc-client-secret-file",
            path,
        ])
        .unwrap();
        let Auth::Oidc(settings) = config.auth else {
            panic!("oidc expected")
        };
        assert_eq!(settings.client_secret.expose(), "from-a-file");
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let config = parse_args(&["--public-url", "https://d111.cloudfront.net"]).unwrap();
        assert!(config.secure_cookie);
        assert!(
            !parse_args(&["--public-url", "http://127.0.0.1:8080"])
                .unwrap()
                .secure_cookie
        );
        let err = parse_args(&["--public-url", "https://x.example/studio"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EASEL_PUBLIC_URL:"), "{err}");
    }

    #[test]
    fn s3_storage_is_accepted() {
        let config = parse_args(&["--storage", "s3://bucket/gallery"]).unwrap();
        assert!(matches!(config.storage, StorageLocation::S3 { .. }));
    }
}
