//! An emulator of an Ed-Fi ODS/API host, for the tests of Ferry's `edfi-resync` job: the states'
//! Ed-Fi APIs cannot run in CI, so this serves the part of the API the job uses on loopback
//! HTTP, with the behaviours a sync client must cope with.
//!
//! Two generations: [`Mode::V3`] (ODS/API 7.x, Data Standard 5, `/data/v3/ed-fi/{resource}`,
//! OAuth2 `client_credentials`) and [`Mode::V2`] (ODS/API 2.x as Wisconsin uses it,
//! `/api/v2.0/{year}/{resource}`, two-step `authorize` + `authorization_code`). Resources, keys
//! and references are declared in one table ([`resources`]). Writes upsert by natural key and
//! check references; deletes check dependents; errors come as RFC 9457 problem details or the
//! legacy `{"message"}` body ([`ErrorStyle`]). Tests can inject faults ([`Fault`]), expire or
//! revoke tokens, slow requests down to provoke overlap, and read a journal of every request.
//!
//! [`Emulator::start`] binds `127.0.0.1` and serves from its own runtime thread until dropped.
//! See the crate's README for the full list of what is and is not emulated.

pub mod fixtures;
pub mod resources;
mod server;
mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use server::Shared;

/// Which API generation to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// ODS/API 3.x–7.x (Data Standard 5 model): `/data/v3/ed-fi/{resource}`.
    V3,
    /// ODS/API 2.x (Data Standard 2, Wisconsin v2): `/api/v2.0/{year}/{resource}`.
    V2,
}

/// Shape of error bodies on the data routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// ODS/API ≥ 7.2: `{type, title, status, detail, validationErrors?, errors?, correlationId}`.
    ProblemDetails,
    /// ODS/API ≤ 7.1 and 2.x: `{"message": …}` (plus `modelState` keyed by `$.path` for validation).
    Message,
}

/// Which OAuth grants `/oauth/token` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFlow {
    /// `grant_type=client_credentials` (Basic header or body credentials).
    ClientCredentials,
    /// v2: `/oauth/authorize` then `Grant_type=authorization_code` with the code.
    AuthorizationCode,
    /// Both grants.
    Both,
}

/// Emulator settings; start from [`Config::v3`] or [`Config::v2`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// API generation.
    pub mode: Mode,
    /// v2: the default school year (for [`Emulator::seed`], [`Emulator::items`], fixtures and
    /// [`Emulator::data_url`]); every `{year}` in a route selects its own store. v3: `Some(y)`
    /// puts the year in the route (`/data/v3/{y}/ed-fi/…`, year-specific mode).
    pub year: Option<i32>,
    /// The one accepted client key.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Accepted grants.
    pub auth_flow: AuthFlow,
    /// Bearer token lifetime (`expires_in`).
    pub token_ttl: Duration,
    /// Lifetime of a v2 authorization code (codes are also single-use).
    pub code_ttl: Duration,
    /// Live tokens allowed per client; one more → 429 "Too Many Tokens". `None` = unlimited.
    pub max_tokens: Option<usize>,
    /// Largest accepted `limit` (ODS default 500).
    pub page_limit_max: u32,
    /// Page size when `limit` is omitted (v3 500, v2 25).
    pub default_limit: u32,
    /// Error body shape on data routes.
    pub error_style: ErrorStyle,
    /// ODS/API ≤ 5.x: an unresolved Student/Staff reference → 400 "… reference could not be
    /// resolved." instead of 409.
    pub legacy_person_refs: bool,
    /// Descriptor namespace prefix: v3 values are `{ns}/{Name}#{code}`; v2 namespaces are
    /// `{ns}/Descriptor/{Name}.xml` and values are bare codes or `{namespace}/{code}`.
    pub descriptor_namespace: String,
    /// Artificial delay inside every data request (POSTs hold their natural-key marker during
    /// it), so tests can provoke overlapping requests.
    pub request_delay: Duration,
    /// Allow POST/PUT/DELETE on the lookups (schools, courses, staffs, schoolYearTypes,
    /// descriptors); otherwise they answer 403 as for a district client without those claims.
    pub allow_lookup_writes: bool,
    /// v2: PUT to an unknown id creates the item with that id (the 2.x documentation); otherwise 404.
    pub v2_put_creates: bool,
}

impl Config {
    /// ODS/API 7.x defaults: client `ferry-key`/`ferry-secret`, 30 min tokens, page limits 500/500,
    /// problem details, namespace `uri://ed-fi.org`.
    #[must_use]
    pub fn v3() -> Config {
        Config {
            mode: Mode::V3,
            year: None,
            client_id: "ferry-key".to_owned(),
            client_secret: "ferry-secret".to_owned(),
            auth_flow: AuthFlow::ClientCredentials,
            token_ttl: Duration::from_secs(1800),
            code_ttl: Duration::from_secs(60),
            max_tokens: None,
            page_limit_max: 500,
            default_limit: 500,
            error_style: ErrorStyle::ProblemDetails,
            legacy_person_refs: false,
            descriptor_namespace: "uri://ed-fi.org".to_owned(),
            request_delay: Duration::ZERO,
            allow_lookup_writes: false,
            v2_put_creates: true,
        }
    }

    /// ODS/API 2.x (Wisconsin v2) defaults for school year `year`: authorization-code flow,
    /// default page 25, `{"message"}` errors, namespace `http://www.ed-fi.org`.
    #[must_use]
    pub fn v2(year: i32) -> Config {
        Config {
            mode: Mode::V2,
            year: Some(year),
            auth_flow: AuthFlow::AuthorizationCode,
            default_limit: 25,
            error_style: ErrorStyle::Message,
            legacy_person_refs: true,
            descriptor_namespace: "http://www.ed-fi.org".to_owned(),
            ..Config::v3()
        }
    }
}

/// What a matching request gets from a [`Fault`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status (429, 500, 502, 503, 504, …) instead of processing the request;
    /// `retry_after` adds a `Retry-After: <seconds>` header.
    Respond {
        /// HTTP status.
        status: u16,
        /// Seconds for `Retry-After`, if any.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait this long, then process the request normally.
    Stall {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without answering.
    Drop,
}

/// One fault-injection rule. A request matches when the method and the resource match
/// (`None` = any; resource is the collection name, or `oauth/token` / `oauth/authorize`).
/// Among its matching requests the rule fires from the `nth` (1-based, default 1) on, at most
/// `count` times (default unlimited). Stalls add up; the first firing `Respond`/`Drop` wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// HTTP method (`GET`, `POST`, …), case-insensitive; `None` = any.
    #[serde(default)]
    pub method: Option<String>,
    /// Resource collection name or `oauth/token`/`oauth/authorize`; `None` = any.
    #[serde(default)]
    pub resource: Option<String>,
    /// First matching call (1-based) that fires.
    #[serde(default)]
    pub nth: Option<u64>,
    /// How many times it fires.
    #[serde(default)]
    pub count: Option<u64>,
    /// What happens.
    pub action: FaultAction,
}

impl Fault {
    /// Fault answering `status` to `method` on `resource`, every time.
    #[must_use]
    pub fn respond(method: &str, resource: &str, status: u16) -> Fault {
        Fault {
            method: Some(method.to_owned()),
            resource: Some(resource.to_owned()),
            nth: None,
            count: None,
            action: FaultAction::Respond {
                status,
                retry_after: None,
            },
        }
    }

    /// Adds `Retry-After: secs` to a `Respond` fault.
    #[must_use]
    pub fn retry_after(mut self, secs: u64) -> Fault {
        if let FaultAction::Respond { retry_after, .. } = &mut self.action {
            *retry_after = Some(secs);
        }
        self
    }

    /// Fault stalling `method` on `resource` for `ms` milliseconds.
    #[must_use]
    pub fn stall(method: &str, resource: &str, ms: u64) -> Fault {
        Fault {
            action: FaultAction::Stall { ms },
            ..Fault::respond(method, resource, 0)
        }
    }

    /// Fault dropping the connection of `method` on `resource`.
    #[must_use]
    pub fn drop_connection(method: &str, resource: &str) -> Fault {
        Fault {
            action: FaultAction::Drop,
            ..Fault::respond(method, resource, 0)
        }
    }

    /// Fires from the `nth` matching call on.
    #[must_use]
    pub fn nth(mut self, nth: u64) -> Fault {
        self.nth = Some(nth);
        self
    }

    /// Fires at most `count` times.
    #[must_use]
    pub fn times(mut self, count: u64) -> Fault {
        self.count = Some(count);
        self
    }
}

/// One journalled request (the `/_emulator/*` routes are not journalled).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Request {
    /// Arrival order, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Collection name, or `oauth/token`/`oauth/authorize`; `None` for unknown routes.
    pub resource: Option<String>,
    /// Route year (v2, or v3 year-specific).
    pub year: Option<i32>,
    /// Item id from the route, if any.
    pub id: Option<String>,
    /// Parsed JSON body (form bodies of the OAuth routes as an object of strings).
    pub body: Option<Value>,
    /// Whether an `Authorization` header was sent.
    pub authorization: bool,
    /// Status answered (0 when the connection was dropped by a fault).
    pub status: u16,
    /// Natural key of the item written or deleted, `name=value` pairs joined by `&`.
    pub natural_key: Option<String>,
    /// Milliseconds since the emulator started, at arrival.
    pub start_ms: f64,
    /// Milliseconds since the emulator started, when answered.
    pub end_ms: f64,
    /// Wall-clock arrival time, RFC 3339.
    pub started_at: String,
}

/// A running emulator on `127.0.0.1`; the server stops when this is dropped.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts on an ephemeral loopback port.
    ///
    /// # Errors
    /// If the socket or the runtime cannot be created.
    pub fn start(config: Config) -> std::io::Result<Emulator> {
        Emulator::start_on(config, 0)
    }

    /// Starts on `127.0.0.1:port` (0 = ephemeral).
    ///
    /// # Errors
    /// If the socket or the runtime cannot be created.
    pub fn start_on(config: Config, port: u16) -> std::io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .thread_name("edfi-emulator")
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("edfi-emulator".to_owned())
            .spawn(move || {
                runtime.block_on(server::serve(serving, listener, rx));
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(Emulator {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (the host: `/oauth/token` and the data routes hang off it).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data URL for the configured year: `…/data/v3/ed-fi` (or `…/data/v3/{year}/ed-fi`)
    /// or `…/api/v2.0/{year}`; append `/{resource}`.
    #[must_use]
    pub fn data_url(&self) -> String {
        format!(
            "{}{}",
            self.base_url(),
            self.shared.data_prefix(self.shared.config.year)
        )
    }

    /// The configuration it runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Stores `items` in `resource` of the configured year without validation (upsert by
    /// natural key; `id` in an item is kept).
    pub fn seed(&self, resource: &str, items: Vec<Value>) {
        self.seed_year(self.shared.config.year, resource, items);
    }

    /// [`Emulator::seed`] into the store of route year `year`.
    pub fn seed_year(&self, year: Option<i32>, resource: &str, items: Vec<Value>) {
        self.shared.seed(year, resource, items);
    }

    /// Seeds the standard test district ([`fixtures`]) into the configured year.
    pub fn seed_fixtures(&self) {
        self.seed_fixtures_year(self.shared.config.year);
    }

    /// Seeds the standard test district into the store of route year `year`.
    pub fn seed_fixtures_year(&self, year: Option<i32>) {
        for (resource, items) in fixtures::all(&self.shared.config) {
            self.shared.seed(year, &resource, items);
        }
    }

    /// Seeds what the state holds from a document in the layout of the edfi-resync job's
    /// `fixtures/lookups.json`: `{"ds5"|"v2": {resource: [items]}, "descriptors": {Name:
    /// [codes]}, "types": {Name: [codes]}}`, taking the section of this emulator's mode.
    pub fn seed_state(&self, doc: &Value) {
        let config = &self.shared.config;
        let section = match config.mode {
            Mode::V3 => "ds5",
            Mode::V2 => "v2",
        };
        for table in ["descriptors", "types"] {
            for (name, codes) in doc[table].as_object().into_iter().flatten() {
                let items = codes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|code| {
                        serde_json::json!({
                            "namespace": fixtures::descriptor_namespace(config, name),
                            "codeValue": code,
                            "shortDescription": code,
                            "description": code,
                        })
                    })
                    .collect();
                self.seed(&resources::descriptor_collection(name), items);
            }
        }
        for (resource, items) in doc[section].as_object().into_iter().flatten() {
            self.seed(resource, items.as_array().cloned().unwrap_or_default());
        }
    }

    /// Items of `resource` in the configured year, as a GET by id would show them.
    #[must_use]
    pub fn items(&self, resource: &str) -> Vec<Value> {
        self.shared.items(self.shared.config.year, resource)
    }

    /// Items of `resource` in route year `year`.
    #[must_use]
    pub fn items_year(&self, year: Option<i32>, resource: &str) -> Vec<Value> {
        self.shared.items(year, resource)
    }

    /// Number of items per resource in the configured year.
    #[must_use]
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.shared.counts(self.shared.config.year)
    }

    /// Journalled requests in arrival order.
    #[must_use]
    pub fn journal(&self) -> Vec<Request> {
        self.shared.journal()
    }

    /// Forgets the journal.
    pub fn clear_journal(&self) {
        self.shared.lock().journal.clear();
    }

    /// Replaces the fault schedule (counters start afresh).
    pub fn set_faults(&self, faults: Vec<Fault>) {
        self.shared.set_faults(faults);
    }

    /// Invalidates every token issued so far (the next data request with one gets 401).
    pub fn revoke_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Most requests in progress at once since start or [`Emulator::reset_max_in_flight`].
    #[must_use]
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().max_in_flight
    }

    /// Restarts the [`Emulator::max_in_flight`] measurement.
    pub fn reset_max_in_flight(&self) {
        let mut inner = self.shared.lock();
        inner.max_in_flight = inner.in_flight;
    }

    /// Tokens issued since start.
    #[must_use]
    pub fn tokens_issued(&self) -> usize {
        self.shared.lock().tokens_issued
    }

    /// Blocks until the server stops (for the bin: it runs until the process is killed).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Locks a mutex, ignoring poisoning (a panicking handler must not wedge the emulator).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
