//! The job's HTTP client for the Ed-Fi host: URLs per API generation, one shared OAuth token,
//! paged reads, upserting POSTs, deletes, retries with backoff, and cancellation.
//!
//! The plugin runs synchronously on its own worker thread, so this is reqwest's blocking client
//! (which drives its own runtime thread internally); one [`Api`] is `Send + Sync` and shared by
//! the job's worker threads, which then share its connection pool and its one token
//! ([`auth`]). Every request goes through one loop:
//!
//! * before each attempt: stop if the job is cancelled; take the shared token (fetched once,
//!   renewed shortly before `expires_in` runs out);
//! * 401: drop that token (only the first of several threads seeing it counts), fetch one new
//!   token and resend once, without spending an attempt; a second 401 is
//!   [`ApiError::Unauthorized`];
//! * 429, 5xx, connection errors and timeouts: wait ([`retry::backoff`], at least the host's
//!   `Retry-After`) and try again, up to [`ApiConfig::max_attempts`] attempts, then
//!   [`ApiError::Exhausted`]; waits are cut short by cancellation;
//! * any other 4xx: returned at once as [`ApiError::Rejected`] with the host's message
//!   ([`errors::describe`]) for the per-record report — a 409 (missing parent) or 400
//!   (validation) will not heal by resending the same body.
//!
//! Reads always send `limit` (hosts differ in their default: 500 on 7.x, 25 on 2.x) and page
//! with `offset` until a short page. Writes are POST upserts by natural key (201 created, 200
//! updated; the server id is the last segment of `Location`) and DELETE by server id (404 =
//! already gone). HTTPS uses rustls with the ring provider (no OpenSSL, no aws-lc).
//!
//! The client secret and the bearer token appear in no error message and no `Debug` output.

pub mod auth;
pub mod errors;
pub mod retry;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::Value;

pub use auth::AuthFlow;
pub use errors::ApiError;

use crate::model::{Resource, Standard};
use crate::settings::Settings;

/// Default time allowed for one request (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default attempts per request (the first and five retries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;
/// Default first backoff delay (doubled on each retry).
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Default longest backoff delay.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// The largest page an Ed-Fi host serves (`limit` above 500 is a 400).
pub const MAX_PAGE_SIZE: u32 = 500;
/// A read that keeps getting full pages past this many items stops with an error instead of
/// looping forever on a host that ignores `offset`.
pub const MAX_ITEMS_PER_READ: usize = 10_000_000;

/// How to reach and authenticate to the Ed-Fi host. `Debug` hides the secret.
#[derive(Clone)]
pub struct ApiConfig {
    /// The host, without a trailing slash: `/oauth/token` and the data routes hang off it.
    pub base_url: String,
    /// API generation: [`Standard::Ds5`] = `/data/v3/ed-fi/{resource}`, [`Standard::V2`] =
    /// `/api/v2.0/{school_year}/{resource}`.
    pub standard: Standard,
    /// The scope year (end year), in v2 routes.
    pub school_year: i32,
    /// The OAuth client key.
    pub client_id: String,
    /// The OAuth client secret (never shown by `Debug` or in errors).
    pub client_secret: String,
    /// OAuth flow; [`ApiConfig::new`] picks the generation's usual one.
    pub auth_flow: AuthFlow,
    /// `limit` of each GET, 1..=500.
    pub page_size: u32,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Attempts per request for retryable failures (at least 1).
    pub max_attempts: u32,
    /// First backoff delay.
    pub backoff_base: Duration,
    /// Longest backoff delay.
    pub backoff_cap: Duration,
}

impl ApiConfig {
    /// A configuration with the defaults: the generation's OAuth flow (v3 client credentials,
    /// v2 authorization code), pages of 500, 60 s timeout, 6 attempts, backoff 200 ms … 30 s.
    #[must_use]
    pub fn new(
        standard: Standard,
        base_url: &str,
        school_year: i32,
        client_id: &str,
        client_secret: &str,
    ) -> ApiConfig {
        ApiConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            standard,
            school_year,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            auth_flow: match standard {
                Standard::Ds5 => AuthFlow::ClientCredentials,
                Standard::V2 => AuthFlow::AuthorizationCode,
            },
            page_size: MAX_PAGE_SIZE,
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
        }
    }

    /// The configuration a run's settings describe (defaults for what they do not set).
    #[must_use]
    pub fn from_settings(settings: &Settings) -> ApiConfig {
        ApiConfig {
            page_size: settings.page_size,
            ..ApiConfig::new(
                settings.standard,
                &settings.base_url,
                settings.school_year,
                &settings.client_id,
                &settings.client_secret,
            )
        }
    }

    /// The URL of a resource collection.
    #[must_use]
    pub fn collection_url(&self, resource: Resource) -> String {
        match self.standard {
            Standard::Ds5 => format!("{}/data/v3/ed-fi/{resource}", self.base_url),
            Standard::V2 => format!("{}/api/v2.0/{}/{resource}", self.base_url, self.school_year),
        }
    }
}

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("base_url", &self.base_url)
            .field("standard", &self.standard)
            .field("school_year", &self.school_year)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_flow", &self.auth_flow)
            .field("page_size", &self.page_size)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .finish()
    }
}

/// What a POST did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// 201: the natural key was new; 200: an existing item was updated.
    pub created: bool,
    /// The server id (last segment of `Location`), when the host sent one.
    pub id: Option<String>,
}

/// What a DELETE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// 204 (or another 2xx): deleted now.
    Deleted,
    /// 404: the host no longer has the item (deleted by someone else, or by an earlier run
    /// that did not record it); the job's goal is reached either way.
    AlreadyGone,
}

/// Counts for the job's summary and benchmarks. Requests are attempts actually sent to data
/// routes (retries included); token requests are counted apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiStats {
    /// GET attempts (one per page, retries included).
    pub gets: u64,
    /// POST attempts.
    pub posts: u64,
    /// PUT attempts.
    pub puts: u64,
    /// DELETE attempts.
    pub deletes: u64,
    /// Attempts repeated after a 429/5xx/transport failure.
    pub retries: u64,
    /// Tokens fetched (1 for a run that never needed a new one).
    pub token_fetches: u64,
    /// Requests resent with a new token after a 401.
    pub reauthentications: u64,
}

#[derive(Debug, Default)]
struct Counters {
    gets: AtomicU64,
    posts: AtomicU64,
    puts: AtomicU64,
    deletes: AtomicU64,
    retries: AtomicU64,
    token_fetches: AtomicU64,
    reauthentications: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A successful (or 404) answer, as far as the callers need it.
struct Reply {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

/// The Ed-Fi client: `Send + Sync`, share it (by reference or `Arc`) between worker threads.
pub struct Api {
    http: Client,
    config: ApiConfig,
    token: auth::TokenCache,
    cancel: Arc<AtomicBool>,
    counters: Counters,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Api {
    /// A client for `config`; `cancel` is checked before each attempt and during waits (the
    /// job sets it when the run is cancelled). Fetches no token yet.
    ///
    /// # Errors
    /// [`ApiError::Config`] for a base URL that is not http(s), a page size outside 1..=500, no
    /// attempts, or a client that cannot be built.
    pub fn new(config: ApiConfig, cancel: Arc<AtomicBool>) -> Result<Api, ApiError> {
        let url = reqwest::Url::parse(&config.base_url)
            .map_err(|e| ApiError::Config(format!("base_url {:?}: {e}", config.base_url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ApiError::Config(format!(
                "base_url {:?} is not http(s)",
                config.base_url
            )));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&config.page_size) {
            return Err(ApiError::Config(format!(
                "page_size {} is not within 1..={MAX_PAGE_SIZE}",
                config.page_size
            )));
        }
        if config.max_attempts == 0 {
            return Err(ApiError::Config("max_attempts must be at least 1".into()));
        }
        // reqwest is built with rustls but without a default crypto provider (its default would
        // pull in aws-lc); make ring the process default, as the scheduler does. An error only
        // means a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("ferry-edfi-resync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config(format!("HTTP client: {}", errors::transport(&e))))?;
        Ok(Api {
            http,
            config,
            token: auth::TokenCache::default(),
            cancel,
            counters: Counters::default(),
        })
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// Every item of `resource`, page by page (`offset`, `limit` = the page size) until a page
    /// comes back short.
    ///
    /// # Errors
    /// See [`Api::get_by_example`].
    pub fn get_all(&self, resource: Resource) -> Result<Vec<Value>, ApiError> {
        self.get_by_example(resource, &[])
    }

    /// Every item of `resource` matching the query parameters (e.g.
    /// `[("studentUniqueId", "604822")]`; references flattened: `schoolId`, not
    /// `schoolReference.schoolId`), paged like [`Api::get_all`]. A 2.x host answering a full
    /// key with one object instead of an array gives a one-item list.
    ///
    /// # Errors
    /// [`ApiError`] as described in the module documentation; [`ApiError::Protocol`] for an
    /// answer that is not JSON, or a read that never ends.
    pub fn get_by_example(
        &self,
        resource: Resource,
        example: &[(&str, &str)],
    ) -> Result<Vec<Value>, ApiError> {
        let base = self.config.collection_url(resource);
        let page_size = self.config.page_size as usize;
        let mut items = Vec::new();
        loop {
            let mut url =
                reqwest::Url::parse(&base).map_err(|e| ApiError::Config(format!("{base}: {e}")))?;
            url.query_pairs_mut()
                .extend_pairs(example.iter().copied())
                .append_pair("offset", &items.len().to_string())
                .append_pair("limit", &page_size.to_string());
            let reply = self.send(Method::GET, url.as_str(), None)?;
            let page = match serde_json::from_slice::<Value>(&reply.body) {
                Ok(Value::Array(page)) => page,
                Ok(one @ Value::Object(_)) => vec![one],
                Ok(other) => {
                    return Err(ApiError::Protocol(format!(
                        "GET {url} answered {} with {}, not a list",
                        reply.status,
                        errors::bounded(&other.to_string(), 80)
                    )));
                }
                Err(e) => {
                    return Err(ApiError::Protocol(format!(
                        "GET {url} answered {} with a body that is not JSON: {e}",
                        reply.status
                    )));
                }
            };
            let short = page.len() < page_size;
            items.extend(page);
            if short {
                return Ok(items);
            }
            if items.len() > MAX_ITEMS_PER_READ {
                return Err(ApiError::Protocol(format!(
                    "GET {base} returned more than {MAX_ITEMS_PER_READ} items; the host may be \
                     ignoring offset"
                )));
            }
        }
    }

    /// Upserts `body` (no `id` in it) by its natural key.
    ///
    /// # Errors
    /// [`ApiError::Rejected`] with the host's message for 400/409/…; see the module docs.
    pub fn post(&self, resource: Resource, body: &Value) -> Result<Posted, ApiError> {
        let url = self.config.collection_url(resource);
        let reply = self.send(Method::POST, &url, Some(body))?;
        Ok(Posted {
            created: reply.status == 201,
            id: reply.location.as_deref().and_then(id_of_location),
        })
    }

    /// Replaces the item with server id `id` (204). For the few changes a POST upsert cannot
    /// make (a key change on the resources that allow it).
    ///
    /// # Errors
    /// [`ApiError::Rejected`] (404 = unknown id, 400 key change not supported, …).
    pub fn put(&self, resource: Resource, id: &str, body: &Value) -> Result<(), ApiError> {
        let url = format!("{}/{}", self.config.collection_url(resource), encode(id));
        let reply = self.send(Method::PUT, &url, Some(body))?;
        if reply.status == 404 {
            return Err(ApiError::Rejected {
                status: 404,
                problem_type: None,
                message: format!("{resource} {id} does not exist"),
            });
        }
        Ok(())
    }

    /// Deletes the item with server id `id`; 404 means it is already gone.
    ///
    /// # Errors
    /// [`ApiError::Rejected`] (409 = other items still reference it, …).
    pub fn delete(&self, resource: Resource, id: &str) -> Result<Deleted, ApiError> {
        let url = format!("{}/{}", self.config.collection_url(resource), encode(id));
        let reply = self.send(Method::DELETE, &url, None)?;
        Ok(if reply.status == 404 {
            Deleted::AlreadyGone
        } else {
            Deleted::Deleted
        })
    }

    /// The counts so far.
    #[must_use]
    pub fn stats(&self) -> ApiStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ApiStats {
            gets: get(&c.gets),
            posts: get(&c.posts),
            puts: get(&c.puts),
            deletes: get(&c.deletes),
            retries: get(&c.retries),
            token_fetches: get(&c.token_fetches),
            reauthentications: get(&c.reauthentications),
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn current_token(&self) -> Result<auth::Token, ApiError> {
        self.token.current(|| {
            bump(&self.counters.token_fetches);
            auth::fetch(&self.http, &self.config)
        })
    }

    /// One request through the retry loop. Returns 2xx/3xx answers, and 404 for DELETE and PUT
    /// (their callers decide); every other status is an error.
    fn send(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Reply, ApiError> {
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        loop {
            if self.cancelled() {
                return Err(ApiError::Cancelled);
            }
            attempts += 1;
            let (failure, retry_after) = match self.attempt(&method, url, body) {
                Ok(Attempt::Done(reply)) => return Ok(reply),
                Ok(Attempt::Unauthorized {
                    generation,
                    message,
                }) => {
                    if reauthenticated {
                        return Err(ApiError::Unauthorized(format!(
                            "{method} {url} answered 401 even with a new token: {message}"
                        )));
                    }
                    // A refused token is not the host failing: resend at once, once, with the
                    // token another thread may already have fetched.
                    reauthenticated = true;
                    attempts -= 1;
                    self.token.invalidate(generation);
                    bump(&self.counters.reauthentications);
                    continue;
                }
                Ok(Attempt::Retry { error, retry_after }) => (error, retry_after),
                Err(error) => return Err(error),
            };
            if attempts >= self.config.max_attempts {
                return Err(ApiError::Exhausted {
                    attempts,
                    last: Box::new(failure),
                });
            }
            let wait = retry::backoff(attempts, self.config.backoff_base, self.config.backoff_cap)
                .max(retry_after.unwrap_or_default());
            bump(&self.counters.retries);
            retry::sleep_unless_cancelled(wait, &self.cancel)?;
        }
    }

    /// One attempt: token, request, classification.
    fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Attempt, ApiError> {
        let token = match self.current_token() {
            Ok(token) => token,
            Err(error @ (ApiError::Transport(_) | ApiError::Rejected { .. })) => {
                // The token endpoint is overloaded or unreachable: as retryable as the data.
                return Ok(Attempt::Retry {
                    error,
                    retry_after: None,
                });
            }
            Err(error) => return Err(error),
        };
        let counter = match *method {
            Method::GET => &self.counters.gets,
            Method::POST => &self.counters.posts,
            Method::PUT => &self.counters.puts,
            _ => &self.counters.deletes,
        };
        bump(counter);
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token.value())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send() {
            Ok(response) => response,
            Err(e) => {
                return Ok(Attempt::Retry {
                    error: ApiError::Transport(format!(
                        "{method} {url}: {}",
                        errors::transport(&e)
                    )),
                    retry_after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let reason = response.status().canonical_reason().unwrap_or("");
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(reqwest::header::LOCATION);
        let retry_after =
            header(reqwest::header::RETRY_AFTER).and_then(|v| retry::parse_retry_after(&v));
        let body = match response.bytes() {
            Ok(bytes) => bytes.to_vec(),
            Err(e) => {
                return Ok(Attempt::Retry {
                    error: ApiError::Transport(format!(
                        "{method} {url}: reading the answer: {}",
                        errors::transport(&e)
                    )),
                    retry_after: None,
                });
            }
        };
        let not_found_is_answer = status == 404 && matches!(*method, Method::DELETE | Method::PUT);
        if status < 400 || not_found_is_answer {
            return Ok(Attempt::Done(Reply {
                status,
                location,
                body,
            }));
        }
        let (problem_type, message) = errors::describe(&body, reason);
        if status == 401 {
            return Ok(Attempt::Unauthorized {
                generation: token.generation(),
                message,
            });
        }
        let error = ApiError::Rejected {
            status,
            problem_type,
            message,
        };
        if retry::retryable_status(status) {
            Ok(Attempt::Retry { error, retry_after })
        } else {
            Err(error)
        }
    }
}

/// How one attempt ended.
enum Attempt {
    Done(Reply),
    Unauthorized {
        generation: u64,
        message: String,
    },
    Retry {
        error: ApiError,
        retry_after: Option<Duration>,
    },
}

/// The server id in a `Location` header: its last path segment (query and fragment ignored).
#[must_use]
pub fn id_of_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next().unwrap_or(location);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A server id made safe for a path segment (ids are 32 hex digits; anything else is escaped).
fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
