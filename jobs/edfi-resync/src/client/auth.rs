//! OAuth2 for the Ed-Fi host: one bearer token, fetched once and shared by every worker thread,
//! renewed shortly before it expires and once after a 401.
//!
//! ODS/API 7.x limits the live tokens per client (`BearerTokenPerClientLimit`, answered with 429
//! "Too Many Tokens"), so a token per request or per worker would break a run; and tokens expire
//! (30–60 min) in the middle of long runs. [`TokenCache`] keeps the one token and a generation
//! number: a worker that gets a 401 asks to drop *the generation it used*, so when several
//! workers see the same expired token at once only the first drop counts and only one new token
//! is fetched (the others find the fresh one). The fetch happens under the cache's lock, so
//! workers arriving meanwhile wait for it rather than fetching their own.
//!
//! Two flows: `client_credentials` (ODS/API 3.x–7.x: Basic header with key and secret, form body
//! `grant_type=client_credentials`; never credentials in both, which the host refuses) and the
//! 2.x two-step `authorization_code` flow (`/oauth/authorize` → code → `/oauth/token`).

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ApiConfig;
use super::errors::{self, ApiError};

/// How the client obtains its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFlow {
    /// ODS/API 3.x–7.x: `POST /oauth/token`, Basic key:secret, `grant_type=client_credentials`.
    ClientCredentials,
    /// ODS/API 2.x (Wisconsin v2): `POST /oauth/authorize` (`Client_id`, `Response_type=code`)
    /// → `{"code"}`, then `POST /oauth/token` (`Client_id`, `Client_secret`, `Code`,
    /// `Grant_type=authorization_code`).
    AuthorizationCode,
}

/// Token lifetime assumed when the host's answer has no `expires_in` (the documented example).
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(1800);
/// Renew at most this long before expiry (the margin other Ed-Fi clients use)…
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// When to renew a token that lives `expires_in`: the margin is 120 s, or a fifth of the lifetime
/// for short-lived tokens, so a request never leaves with a token about to lapse in flight.
#[must_use]
pub fn refresh_after(expires_in: Duration) -> Duration {
    expires_in - (expires_in / 5).min(MAX_REFRESH_MARGIN)
}

/// A bearer token; its `Debug` never shows the value.
#[derive(Clone)]
pub struct Token {
    value: String,
    renew_at: Instant,
    generation: u64,
}

impl Token {
    /// The bearer value, for the `Authorization` header only.
    pub(crate) fn value(&self) -> &str {
        &self.value
    }

    /// Which fetch produced it (for [`TokenCache::invalidate`]).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("renew_at", &self.renew_at)
            .field("generation", &self.generation)
            .finish()
    }
}

/// The one token of a client, shared by its threads.
#[derive(Debug, Default)]
pub struct TokenCache {
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    token: Option<Token>,
    generation: u64,
}

impl TokenCache {
    fn lock(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current token, fetching one with `fetch` (which returns the value and `expires_in`)
    /// when there is none or it is due for renewal. Threads arriving during a fetch wait for it.
    ///
    /// # Errors
    /// Whatever `fetch` returns.
    pub fn current(
        &self,
        fetch: impl FnOnce() -> Result<(String, Duration), ApiError>,
    ) -> Result<Token, ApiError> {
        let mut state = self.lock();
        if let Some(token) = &state.token
            && Instant::now() < token.renew_at
        {
            return Ok(token.clone());
        }
        let fetched_at = Instant::now();
        let (value, expires_in) = fetch()?;
        state.generation += 1;
        let token = Token {
            value,
            renew_at: fetched_at + refresh_after(expires_in),
            generation: state.generation,
        };
        state.token = Some(token.clone());
        Ok(token)
    }

    /// Drops the token of `generation` after the host refused it; a no-op when another thread
    /// already replaced it. Returns whether this call dropped it.
    pub fn invalidate(&self, generation: u64) -> bool {
        let mut state = self.lock();
        let current = state
            .token
            .as_ref()
            .is_some_and(|t| t.generation == generation);
        if current {
            state.token = None;
        }
        current
    }
}

/// Fetches a token with the configured flow: `(access_token, expires_in)`.
///
/// # Errors
/// [`ApiError::Unauthorized`] when the host refuses the client (naming the URL, the client id
/// and the host's OAuth error, never the secret); [`ApiError::Rejected`] for 429/5xx (the caller
/// retries); [`ApiError::Transport`]; [`ApiError::Protocol`] for an answer without a token.
pub fn fetch(
    http: &reqwest::blocking::Client,
    config: &ApiConfig,
) -> Result<(String, Duration), ApiError> {
    let token_url = format!("{}/oauth/token", config.base_url);
    let request = match config.auth_flow {
        AuthFlow::ClientCredentials => http
            .post(&token_url)
            .basic_auth(&config.client_id, Some(&config.client_secret))
            .form(&[("grant_type", "client_credentials")]),
        AuthFlow::AuthorizationCode => {
            let authorize_url = format!("{}/oauth/authorize", config.base_url);
            let answer = call(
                http.post(&authorize_url).form(&[
                    ("Client_id", config.client_id.as_str()),
                    ("Response_type", "code"),
                ]),
                &authorize_url,
                config,
            )?;
            let code = answer
                .get("code")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ApiError::Protocol(format!("{authorize_url} answered without a \"code\""))
                })?
                .to_owned();
            http.post(&token_url).form(&[
                ("Client_id", config.client_id.as_str()),
                ("Client_secret", config.client_secret.as_str()),
                ("Code", code.as_str()),
                ("Grant_type", "authorization_code"),
            ])
        }
    };
    let answer = call(request, &token_url, config)?;
    let value = answer
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Protocol(format!("{token_url} answered without an \"access_token\""))
        })?
        .to_owned();
    let expires_in = answer
        .get("expires_in")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .map_or(DEFAULT_EXPIRES_IN, Duration::from_secs);
    Ok((value, expires_in))
}

/// Sends one OAuth request and reads its JSON answer, classifying failures.
fn call(
    request: reqwest::blocking::RequestBuilder,
    url: &str,
    config: &ApiConfig,
) -> Result<Value, ApiError> {
    let response = request
        .send()
        .map_err(|e| ApiError::Transport(errors::transport(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .map_err(|e| ApiError::Transport(errors::transport(&e)))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            ApiError::Protocol(format!(
                "{url} answered {status} with a body that is not JSON: {e}"
            ))
        });
    }
    let (problem_type, message) = errors::describe(&body, status.canonical_reason().unwrap_or(""));
    let code = status.as_u16();
    if super::retry::retryable_status(code) {
        return Err(ApiError::Rejected {
            status: code,
            problem_type,
            message: format!("{url}: {message}"),
        });
    }
    Err(ApiError::Unauthorized(format!(
        "{url} refused client {:?} ({code} {message}); check client_id and client_secret",
        config.client_id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin() {
        assert_eq!(
            refresh_after(Duration::from_secs(1800)),
            Duration::from_secs(1680)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(10)),
            Duration::from_secs(8)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn one_fetch_per_generation() {
        let cache = TokenCache::default();
        let fetch = |v: &str| {
            let v = v.to_owned();
            move || Ok((v, Duration::from_secs(600)))
        };
        let first = cache.current(fetch("a")).unwrap();
        assert_eq!((first.value(), first.generation()), ("a", 1));
        let again = cache.current(|| panic!("a live token is reused")).unwrap();
        assert_eq!(again.value(), "a");
        assert!(cache.invalidate(1));
        assert!(
            !cache.invalidate(1),
            "a second 401 on the same token does nothing"
        );
        let second = cache.current(fetch("b")).unwrap();
        assert_eq!((second.value(), second.generation()), ("b", 2));
        assert!(
            !cache.invalidate(1),
            "a late 401 on the old token keeps the new one"
        );
        assert_eq!(cache.current(fetch("c")).unwrap().value(), "b");
        let shown = format!("{:?}", cache.current(fetch("c")).unwrap());
        assert!(
            shown.contains("<redacted>") && !shown.contains("\"b\""),
            "{shown}"
        );
    }
}
