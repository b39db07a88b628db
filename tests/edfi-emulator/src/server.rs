//! The emulator's HTTP side: the listener (whose connections a fault can cut), the single
//! request handler (routing, journal, in-flight counting, fault injection), the OAuth endpoints
//! and the data routes, and the two error body styles. Data rules live in `store.rs`.

#![allow(
    clippy::result_large_err,
    reason = "one error per request, rendered at once; boxing buys nothing"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::resources::{self, Resource};
use crate::store::{self, Stores};
use crate::{AuthFlow, Config, ErrorStyle, Fault, FaultAction, Mode, Request};

/// State shared by the handler and the [`crate::Emulator`] handle.
#[derive(Debug)]
pub struct Shared {
    pub(crate) config: Config,
    base_url: String,
    started: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub stores: Stores,
    /// token → (client id, expiry)
    pub tokens: HashMap<String, (String, Instant)>,
    /// v2 code → (client id, expiry)
    pub codes: HashMap<String, (String, Instant)>,
    pub tokens_issued: usize,
    secret_counter: u64,
    /// rule, matching calls seen, times fired
    faults: Vec<(Fault, u64, u64)>,
    pub journal: Vec<Request>,
    next_seq: u64,
    pub in_flight: usize,
    pub max_in_flight: usize,
    nk_in_flight: HashSet<String>,
}

impl Shared {
    pub(crate) fn new(config: Config, base_url: String) -> Shared {
        Shared {
            config,
            base_url,
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::lock(&self.inner)
    }

    /// The data route prefix for a year: `/data/v3/ed-fi`, `/data/v3/{y}/ed-fi` or `/api/v2.0/{y}`.
    pub(crate) fn data_prefix(&self, year: Option<i32>) -> String {
        match (self.config.mode, year) {
            (Mode::V3, None) => "/data/v3/ed-fi".to_owned(),
            (Mode::V3, Some(y)) => format!("/data/v3/{y}/ed-fi"),
            (Mode::V2, y) => format!("/api/v2.0/{}", y.unwrap_or_default()),
        }
    }

    pub(crate) fn seed(&self, year: Option<i32>, resource: &str, items: Vec<Value>) {
        let Some(spec) = resources::find(self.config.mode, resource) else {
            return;
        };
        let now = now();
        let mut inner = self.lock();
        for mut item in items {
            let id = item
                .as_object_mut()
                .and_then(|m| m.remove("id"))
                .and_then(|v| v.as_str().map(str::to_owned));
            store::strip_server_fields(&mut item);
            let key = store::key_of(spec, &item);
            inner.stores.upsert(year, resource, key, item, id, &now);
        }
    }

    pub(crate) fn items(&self, year: Option<i32>, resource: &str) -> Vec<Value> {
        let inner = self.lock();
        inner
            .stores
            .year_ref(year)
            .and_then(|y| y.get(resource))
            .map(|c| c.items.values().map(store::render).collect())
            .unwrap_or_default()
    }

    pub(crate) fn counts(&self, year: Option<i32>) -> BTreeMap<String, usize> {
        let inner = self.lock();
        inner
            .stores
            .year_ref(year)
            .map(|y| y.iter().map(|(k, c)| (k.clone(), c.items.len())).collect())
            .unwrap_or_default()
    }

    pub(crate) fn journal(&self) -> Vec<Request> {
        let mut journal = self.lock().journal.clone();
        journal.sort_by_key(|r| r.seq);
        journal
    }

    pub(crate) fn set_faults(&self, faults: Vec<Fault>) {
        self.lock().faults = faults.into_iter().map(|f| (f, 0, 0)).collect();
    }

    fn ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Serves until `stop` fires.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let app = axum::Router::new().fallback(handle).with_state(shared);
    let server = axum::serve(
        KillListener(listener),
        app.into_make_service_with_connect_info::<Conn>(),
    );
    tokio::select! {
        _ = server => {}
        _ = stop => {}
    }
}

/// A TCP listener whose connections carry a kill switch, so a `Drop` fault can close the
/// connection without an answer.
struct KillListener(TcpListener);

/// Per-connection handle given to the handler.
#[derive(Debug, Clone)]
struct Conn(Arc<AtomicBool>);

/// A TCP stream that fails every read and write once killed (hyper then closes it).
struct KillIo {
    stream: TcpStream,
    killed: Arc<AtomicBool>,
}

impl Listener for KillListener {
    type Io = KillIo;
    type Addr = Conn;

    async fn accept(&mut self) -> (KillIo, Conn) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let killed = Arc::new(AtomicBool::new(false));
                    return (
                        KillIo {
                            stream,
                            killed: Arc::clone(&killed),
                        },
                        Conn(killed),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        Ok(Conn(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, KillListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

fn killed_err() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection dropped by fault injection",
    )
}

impl AsyncRead for KillIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Decrements the in-flight count however the request ends (also if the client goes away).
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.in_flight = inner.in_flight.saturating_sub(1);
    }
}

/// Removes a POST's natural-key marker when the request ends.
struct NkMarker(Arc<Shared>, String);

impl Drop for NkMarker {
    fn drop(&mut self) {
        self.0.lock().nk_in_flight.remove(&self.1);
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    Token,
    Authorize,
    /// v3 `GET /` version document.
    Discovery,
    /// v3 `GET /metadata/data/v3/dependencies`.
    Dependencies,
    Data {
        year: Option<i32>,
        resource: String,
        id: Option<String>,
    },
    Unknown,
}

impl Route {
    fn resource(&self) -> Option<String> {
        match self {
            Route::Token => Some("oauth/token".to_owned()),
            Route::Authorize => Some("oauth/authorize".to_owned()),
            Route::Data { resource, .. } => Some(resource.clone()),
            Route::Discovery => Some("discovery".to_owned()),
            Route::Dependencies => Some("metadata/dependencies".to_owned()),
            Route::Unknown => None,
        }
    }
}

fn parse_route(config: &Config, path: &str) -> Route {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let data = |year: Option<i32>, rest: &[&str]| match rest {
        [r] if !r.is_empty() => Route::Data {
            year,
            resource: (*r).to_owned(),
            id: None,
        },
        [r, id] if !r.is_empty() && !id.is_empty() => Route::Data {
            year,
            resource: (*r).to_owned(),
            id: Some((*id).to_owned()),
        },
        _ => Route::Unknown,
    };
    let code_flow = matches!(
        config.auth_flow,
        AuthFlow::AuthorizationCode | AuthFlow::Both
    );
    match (config.mode, segs.as_slice()) {
        (_, ["oauth", "token"]) => Route::Token,
        (Mode::V3, [""]) => Route::Discovery,
        (Mode::V3, ["metadata", "data", "v3", "dependencies"]) => Route::Dependencies,
        (_, ["oauth", "authorize"]) if code_flow => Route::Authorize,
        (Mode::V3, ["data", "v3", "ed-fi", rest @ ..]) if config.year.is_none() => data(None, rest),
        (Mode::V3, ["data", "v3", y, "ed-fi", rest @ ..]) if config.year.is_some() => {
            y.parse().map_or(Route::Unknown, |y| data(Some(y), rest))
        }
        (Mode::V2, ["api", "v2.0", y, rest @ ..]) => {
            y.parse().map_or(Route::Unknown, |y| data(Some(y), rest))
        }
        _ => Route::Unknown,
    }
}

/// Percent-decodes `application/x-www-form-urlencoded` text.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// An API error, rendered in the configured style.
#[derive(Debug)]
struct ApiError {
    status: u16,
    kind: &'static str,
    title: &'static str,
    detail: String,
    validation: BTreeMap<String, Vec<String>>,
    errors: Vec<String>,
    /// Legacy `message` when it differs from `detail`.
    message: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(
        status: u16,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            title,
            detail: detail.into(),
            validation: BTreeMap::new(),
            errors: Vec::new(),
            message: None,
            retry_after: None,
        }
    }

    fn validation(errors: BTreeMap<String, Vec<String>>) -> ApiError {
        ApiError {
            validation: errors,
            message: Some("The request is invalid.".to_owned()),
            ..ApiError::new(
                400,
                "urn:ed-fi:api:bad-request:data-validation-failed",
                "Data Validation Failed",
                "Data validation failed. See 'validationErrors' for details.",
            )
        }
    }

    fn data_validation(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            400,
            "urn:ed-fi:api:bad-request:data-validation-failed",
            "Data Validation Failed",
            detail,
        )
    }

    fn parameter(error: String) -> ApiError {
        ApiError {
            message: Some(error.clone()),
            errors: vec![error],
            ..ApiError::new(
                400,
                "urn:ed-fi:api:bad-request:parameter-validation-failed",
                "Parameter Validation Failed",
                "The request parameters were invalid. See 'errors' for details.",
            )
        }
    }

    fn unauthorized() -> ApiError {
        ApiError {
            errors: vec!["Invalid token".to_owned()],
            message: Some("Authorization has been denied for this request.".to_owned()),
            ..ApiError::new(
                401,
                "urn:ed-fi:api:security:authentication",
                "Authentication Failed",
                "The caller could not be authenticated.",
            )
        }
    }

    fn not_found() -> ApiError {
        ApiError::new(
            404,
            "urn:ed-fi:api:not-found",
            "Not Found",
            "The specified resource could not be found.",
        )
    }

    fn method_not_allowed(detail: &str) -> ApiError {
        ApiError::new(
            405,
            "urn:ed-fi:api:method-not-allowed",
            "Method Not Allowed",
            detail,
        )
    }

    fn precondition() -> ApiError {
        ApiError::new(
            412,
            "urn:ed-fi:api:optimistic-lock-failed",
            "Optimistic Lock Failed",
            "The item has been modified by another user.",
        )
    }

    fn non_unique() -> ApiError {
        ApiError::new(
            409,
            "urn:ed-fi:api:data-conflict:non-unique-identity",
            "Identifying Values Are Not Unique",
            "The identifying value(s) of the item are the same as another item that already exists.",
        )
    }

    fn render(&self, style: ErrorStyle, seq: u64) -> Response {
        let body = match style {
            ErrorStyle::ProblemDetails => {
                let mut m = Map::new();
                m.insert("type".into(), json!(self.kind));
                m.insert("title".into(), json!(self.title));
                m.insert("status".into(), json!(self.status));
                m.insert("detail".into(), json!(self.detail));
                if !self.validation.is_empty() {
                    m.insert("validationErrors".into(), json!(self.validation));
                }
                if !self.errors.is_empty() {
                    m.insert("errors".into(), json!(self.errors));
                }
                m.insert("correlationId".into(), json!(format!("emulator-{seq}")));
                Value::Object(m)
            }
            ErrorStyle::Message => {
                let mut m = Map::new();
                m.insert(
                    "message".into(),
                    json!(self.message.as_deref().unwrap_or(&self.detail)),
                );
                if !self.validation.is_empty() {
                    m.insert("modelState".into(), json!(self.validation));
                }
                Value::Object(m)
            }
        };
        let ctype = match style {
            ErrorStyle::ProblemDetails => "application/problem+json",
            ErrorStyle::Message => "application/json; charset=utf-8",
        };
        let mut headers = Vec::new();
        if let Some(secs) = self.retry_after {
            headers.push((header::RETRY_AFTER, secs.to_string()));
        }
        respond(self.status, Some((ctype, body.to_string())), headers)
    }
}

fn respond(
    status: u16,
    body: Option<(&str, String)>,
    headers: Vec<(HeaderName, String)>,
) -> Response {
    let mut response = match body {
        Some((ctype, text)) => {
            let mut r = Response::new(Body::from(text));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(ctype)
                    .unwrap_or(HeaderValue::from_static("application/json")),
            );
            r
        }
        None => Response::new(Body::empty()),
    };
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

fn json_ok(status: u16, body: &Value, headers: Vec<(HeaderName, String)>) -> Response {
    respond(
        status,
        Some(("application/json; charset=utf-8", body.to_string())),
        headers,
    )
}

fn oauth_error(status: u16, error: &str) -> Response {
    json_ok(status, &json!({ "error": error }), Vec::new())
}

/// What the handler hands to the journal besides the status.
#[derive(Debug, Default)]
struct Outcome {
    natural_key: Option<String>,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let method = parts.method.clone();
    if let Some(rest) = path.strip_prefix("/_emulator/") {
        return emulator_route(&shared, &method, rest, &query);
    }
    let start_ms = shared.ms();
    let started_at = now();
    let seq = {
        let mut inner = shared.lock();
        inner.next_seq += 1;
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        inner.next_seq
    };
    let _in_flight = InFlight(Arc::clone(&shared));
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let route = parse_route(&shared.config, &path);
    let ctype = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let journal_body = if bytes.is_empty() {
        None
    } else if !ctype.contains("json") && matches!(route, Route::Token | Route::Authorize) {
        Some(Value::Object(
            parse_form(&String::from_utf8_lossy(&bytes))
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ))
    } else {
        serde_json::from_slice(&bytes).ok()
    };

    let mut outcome = Outcome::default();
    let mut dropped = false;
    let response = match fault_for(&shared, &method, route.resource().as_deref()).await {
        Some(FaultAction::Drop) => {
            conn.0.store(true, Ordering::SeqCst);
            dropped = true;
            respond(500, None, Vec::new())
        }
        Some(FaultAction::Respond {
            status,
            retry_after,
        }) => {
            let (kind, title) = match status {
                429 => ("urn:ed-fi:api:too-many-requests", "Too Many Requests"),
                502 => ("urn:ed-fi:api:bad-gateway", "Bad Gateway"),
                503 => ("urn:ed-fi:api:service-unavailable", "Service Unavailable"),
                504 => ("urn:ed-fi:api:gateway-timeout", "Gateway Timeout"),
                _ => ("urn:ed-fi:api:system-fault", "System Fault"),
            };
            let err = ApiError {
                retry_after,
                ..ApiError::new(
                    status,
                    kind,
                    title,
                    format!("Injected fault: {status} {title}."),
                )
            };
            err.render(shared.config.error_style, seq)
        }
        Some(FaultAction::Stall { .. }) | None => match &route {
            Route::Token => token(&shared, &parts.headers, &ctype, &bytes),
            Route::Authorize => authorize(&shared, &query, &ctype, &bytes),
            Route::Data { year, resource, id } => {
                let req = DataRequest {
                    shared: &shared,
                    method: &method,
                    year: *year,
                    resource,
                    id: id.as_deref(),
                    headers: &parts.headers,
                    query: &query,
                    bytes: &bytes,
                    seq,
                };
                match data(req, &mut outcome).await {
                    Ok(r) => r,
                    Err(e) => e.render(shared.config.error_style, seq),
                }
            }
            Route::Discovery | Route::Dependencies if method != Method::GET => {
                ApiError::method_not_allowed("Only GET is supported.")
                    .render(shared.config.error_style, seq)
            }
            Route::Discovery => discovery(&shared),
            Route::Dependencies => {
                let list: Vec<Value> = store::dependencies(shared.config.mode)
                    .into_iter()
                    .map(|(name, order)| json!({"resource": format!("/ed-fi/{name}"), "order": order, "operations": ["Create", "Update"]}))
                    .collect();
                json_ok(200, &Value::Array(list), Vec::new())
            }
            Route::Unknown => ApiError::not_found().render(shared.config.error_style, seq),
        },
    };
    let (year, id) = match &route {
        Route::Data { year, id, .. } => (*year, id.clone()),
        _ => (None, None),
    };
    let entry = Request {
        seq,
        method: method.to_string(),
        path: path_and_query,
        resource: route.resource(),
        year,
        id,
        body: journal_body,
        authorization: parts.headers.contains_key(header::AUTHORIZATION),
        status: if dropped {
            0
        } else {
            response.status().as_u16()
        },
        natural_key: outcome.natural_key,
        start_ms,
        end_ms: shared.ms(),
        started_at,
    };
    shared.lock().journal.push(entry);
    response
}

/// Applies the fault schedule: sleeps for matching stalls; returns the answering fault, if any.
async fn fault_for(
    shared: &Shared,
    method: &Method,
    resource: Option<&str>,
) -> Option<FaultAction> {
    let (stall, answer) = {
        let mut inner = shared.lock();
        let mut stall = 0u64;
        let mut answer = None;
        for (fault, seen, fired) in &mut inner.faults {
            let method_ok = fault
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()));
            let resource_ok = fault
                .resource
                .as_deref()
                .is_none_or(|r| Some(r) == resource);
            if !(method_ok && resource_ok) {
                continue;
            }
            *seen += 1;
            if *seen < fault.nth.unwrap_or(1) || *fired >= fault.count.unwrap_or(u64::MAX) {
                continue;
            }
            match &fault.action {
                FaultAction::Stall { ms } => {
                    *fired += 1;
                    stall += ms;
                }
                other => {
                    if answer.is_none() {
                        *fired += 1;
                        answer = Some(other.clone());
                    }
                }
            }
        }
        (stall, answer)
    };
    if stall > 0 {
        tokio::time::sleep(Duration::from_millis(stall)).await;
    }
    answer.or((stall > 0).then_some(FaultAction::Stall { ms: stall }))
}

/// The v3 `GET /` version document (what clients read to find the OAuth and data URLs).
fn discovery(shared: &Shared) -> Response {
    let base = &shared.base_url;
    let body = json!({
        "version": "7.1",
        "informationalVersion": "7.1 (Ferry emulator)",
        "suite": "3",
        "build": "0",
        "apiMode": if shared.config.year.is_some() { "Year Specific" } else { "Shared Instance" },
        "dataModels": [{"name": "Ed-Fi", "version": "5.0.0", "informationalVersion": "The Ed-Fi Data Standard v5.0"}],
        "urls": {
            "dependencies": format!("{base}/metadata/data/v3/dependencies"),
            "oauth": format!("{base}/oauth/token"),
            "dataManagementApi": format!("{base}/data/v3/"),
        }
    });
    json_ok(200, &body, Vec::new())
}

fn emulator_route(shared: &Shared, method: &Method, rest: &str, query: &str) -> Response {
    let year = parse_form(query)
        .into_iter()
        .find(|(k, _)| k == "year")
        .and_then(|(_, v)| v.parse().ok())
        .or(shared.config.year);
    match (
        method.as_str(),
        rest.split('/').collect::<Vec<_>>().as_slice(),
    ) {
        ("GET", ["journal"]) => json_ok(200, &json!(shared.journal()), Vec::new()),
        ("DELETE", ["journal"]) => {
            shared.lock().journal.clear();
            respond(204, None, Vec::new())
        }
        ("GET", ["store", resource]) => {
            json_ok(200, &json!(shared.items(year, resource)), Vec::new())
        }
        ("GET", ["stats"]) => {
            let inner = shared.lock();
            json_ok(
                200,
                &json!({"maxInFlight": inner.max_in_flight, "tokensIssued": inner.tokens_issued, "requests": inner.journal.len()}),
                Vec::new(),
            )
        }
        _ => respond(404, None, Vec::new()),
    }
}

/// Lower-cased parameters of an OAuth request body (form or JSON) plus the query.
fn oauth_params(ctype: &str, bytes: &[u8], query: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = parse_form(query)
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    if ctype.contains("json") {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) {
            for (k, v) in map {
                let v = store::scalar(&v).unwrap_or_default();
                out.insert(k.to_ascii_lowercase(), v);
            }
        }
    } else {
        for (k, v) in parse_form(&String::from_utf8_lossy(bytes)) {
            out.insert(k.to_ascii_lowercase(), v);
        }
    }
    out
}

fn token_secret(inner: &mut Inner) -> String {
    inner.secret_counter += 1;
    store::hex32(inner.secret_counter | (1 << 48))
}

fn token(shared: &Shared, headers: &HeaderMap, ctype: &str, bytes: &[u8]) -> Response {
    let config = &shared.config;
    let params = oauth_params(ctype, bytes, "");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())))
                .unwrap_or_default()
        });
    let body_creds = params.contains_key("client_id") || params.contains_key("client_secret");
    if basic.is_some() && body_creds {
        return oauth_error(400, "invalid_client");
    }
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            params.get("client_id").cloned().unwrap_or_default(),
            params.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    let grant = params.get("grant_type").map(String::as_str);
    let credentials = matches!(
        config.auth_flow,
        AuthFlow::ClientCredentials | AuthFlow::Both
    );
    let code_flow = matches!(
        config.auth_flow,
        AuthFlow::AuthorizationCode | AuthFlow::Both
    );
    let mut inner = shared.lock();
    match grant {
        None => return oauth_error(400, "invalid_request"),
        Some("client_credentials") if credentials => {}
        Some("authorization_code") if code_flow => {}
        Some(_) => return oauth_error(400, "unsupported_grant_type"),
    }
    if id != config.client_id || secret != config.client_secret {
        return oauth_error(401, "invalid_client");
    }
    let now = Instant::now();
    if grant == Some("authorization_code") {
        let code = params.get("code").cloned().unwrap_or_default();
        match inner.codes.remove(&code) {
            Some((client, expiry)) if client == id && expiry > now => {}
            _ => return oauth_error(400, "invalid_grant"),
        }
    }
    inner.tokens.retain(|_, (_, expiry)| *expiry > now);
    let live = inner
        .tokens
        .values()
        .filter(|(client, _)| *client == id)
        .count();
    if config.max_tokens.is_some_and(|max| live >= max) {
        drop(inner);
        let err = ApiError {
            errors: vec!["Access tokens should be reused until they expire.".to_owned()],
            ..ApiError::new(
                429,
                "urn:ed-fi:api:security:authentication:too-many-tokens",
                "Too Many Tokens",
                "The client has requested too many tokens from the API.",
            )
        };
        return err.render(config.error_style, 0);
    }
    let access = token_secret(&mut inner);
    inner
        .tokens
        .insert(access.clone(), (id, now + config.token_ttl));
    inner.tokens_issued += 1;
    json_ok(
        200,
        &json!({"access_token": access, "expires_in": config.token_ttl.as_secs(), "token_type": "bearer"}),
        Vec::new(),
    )
}

fn authorize(shared: &Shared, query: &str, ctype: &str, bytes: &[u8]) -> Response {
    let params = oauth_params(ctype, bytes, query);
    if params.get("client_id") != Some(&shared.config.client_id) {
        return oauth_error(401, "invalid_client");
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return oauth_error(400, "unsupported_response_type");
    }
    let mut inner = shared.lock();
    let code = token_secret(&mut inner);
    let expiry = Instant::now() + shared.config.code_ttl;
    inner
        .codes
        .insert(code.clone(), (shared.config.client_id.clone(), expiry));
    json_ok(200, &json!({ "code": code }), Vec::new())
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return false;
    };
    shared
        .lock()
        .tokens
        .get(token)
        .is_some_and(|(_, expiry)| *expiry > Instant::now())
}

struct DataRequest<'a> {
    shared: &'a Arc<Shared>,
    method: &'a Method,
    year: Option<i32>,
    resource: &'a str,
    id: Option<&'a str>,
    headers: &'a HeaderMap,
    query: &'a str,
    bytes: &'a [u8],
    seq: u64,
}

fn if_match(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"').to_owned())
}

fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    let bad = |e: String| ApiError {
        errors: vec![e.clone()],
        message: Some(format!("The request is invalid. {e}")),
        ..ApiError::new(
            400,
            "urn:ed-fi:api:bad-request",
            "Bad Request",
            "The request construction was invalid.",
        )
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad("The request body must be a JSON object.".to_owned())),
        Err(e) => Err(bad(format!("The request body is not valid JSON: {e}"))),
    }
}

async fn data(req: DataRequest<'_>, outcome: &mut Outcome) -> Result<Response, ApiError> {
    let shared = req.shared;
    let config = &shared.config;
    let spec = resources::find(config.mode, req.resource).ok_or_else(ApiError::not_found)?;
    if !authorized(shared, req.headers) {
        return Err(ApiError::unauthorized());
    }
    let write = matches!(*req.method, Method::POST | Method::PUT | Method::DELETE);
    match (req.method.clone(), req.id) {
        (Method::GET, _) | (Method::POST, None) | (Method::PUT | Method::DELETE, Some(_)) => {}
        (Method::PUT, None) => {
            return Err(ApiError::method_not_allowed(
                "Resource collections cannot be replaced. To \"upsert\" an item in the collection, use POST.",
            ));
        }
        (Method::DELETE, None) => {
            return Err(ApiError::method_not_allowed(
                "Resource collections cannot be deleted. To delete a specific item, use DELETE and include the \"id\" in the route.",
            ));
        }
        (Method::POST, Some(_)) => {
            return Err(ApiError::method_not_allowed(
                "Resource items can only be updated using PUT. To \"upsert\" an item in the resource collection using POST, remove the \"id\" from the route.",
            ));
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                "The request method is not supported for this resource.",
            ));
        }
    }
    if write && spec.lookup && !config.allow_lookup_writes {
        return Err(ApiError::new(
            403,
            "urn:ed-fi:api:security:authorization:access-denied",
            "Authorization Denied",
            format!(
                "The API client's assigned claim set does not allow writing '{}'.",
                resources::entity_name(spec, req.resource)
            ),
        ));
    }
    if *req.method != Method::POST && !config.request_delay.is_zero() {
        tokio::time::sleep(config.request_delay).await;
    }
    match (req.method.clone(), req.id) {
        (Method::GET, None) => get_collection(&req),
        (Method::GET, Some(id)) => get_item(&req, id),
        (Method::POST, None) => post(&req, spec, outcome).await,
        (Method::PUT, Some(id)) => put(&req, spec, id, outcome),
        (Method::DELETE, Some(id)) => delete(&req, spec, id, outcome),
        _ => Err(ApiError::method_not_allowed(
            "The request method is not supported for this resource.",
        )),
    }
}

fn get_collection(req: &DataRequest<'_>) -> Result<Response, ApiError> {
    let config = &req.shared.config;
    let mut offset = 0usize;
    let mut limit = config.default_limit as usize;
    let mut total = false;
    let mut filters = Vec::new();
    for (k, v) in parse_form(req.query) {
        match k.as_str() {
            "offset" => {
                offset = v.parse().map_err(|_| {
                    ApiError::parameter("Offset must be a non-negative integer.".to_owned())
                })?;
            }
            "limit" => {
                let max = config.page_limit_max;
                let n: i64 = v.parse().map_err(|_| {
                    ApiError::parameter(format!("Limit must be a value between 0 and {max}."))
                })?;
                if n < 0 || n > i64::from(max) {
                    return Err(ApiError::parameter(format!(
                        "Limit must be a value between 0 and {max}."
                    )));
                }
                limit = usize::try_from(n).unwrap_or(0);
            }
            "totalCount" => total = v.eq_ignore_ascii_case("true"),
            _ => filters.push((k, v)),
        }
    }
    let spec = resources::find(config.mode, req.resource).ok_or_else(ApiError::not_found)?;
    let inner = req.shared.lock();
    let store = inner.stores.year_ref(req.year);
    let coll = store.and_then(|y| y.get(req.resource));
    let matching: Vec<&store::Item> = coll
        .map(|c| {
            c.items
                .values()
                .filter(|item| {
                    let flat = store::flatten(item);
                    filters.iter().all(|(k, v)| flat.get(k) == Some(v))
                })
                .collect()
        })
        .unwrap_or_default();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| store::render_linked(config.mode, spec, store, i))
        .collect();
    let mut headers = Vec::new();
    if total {
        headers.push((
            HeaderName::from_static("total-count"),
            matching.len().to_string(),
        ));
    }
    Ok(json_ok(200, &Value::Array(page), headers))
}

fn get_item(req: &DataRequest<'_>, id: &str) -> Result<Response, ApiError> {
    let mode = req.shared.config.mode;
    let spec = resources::find(mode, req.resource).ok_or_else(ApiError::not_found)?;
    let inner = req.shared.lock();
    let store = inner.stores.year_ref(req.year);
    let item = store
        .and_then(|y| y.get(req.resource))
        .and_then(|c| c.get_by_id(id))
        .ok_or_else(ApiError::not_found)?;
    let etag = item.etag.to_string();
    if if_match(req.headers, header::IF_NONE_MATCH).is_some_and(|v| v == etag) {
        return Ok(respond(
            304,
            None,
            vec![(header::ETAG, format!("\"{etag}\""))],
        ));
    }
    Ok(json_ok(
        200,
        &store::render_linked(mode, spec, store, item),
        vec![(header::ETAG, format!("\"{etag}\""))],
    ))
}

/// Steps 2–6 for a POST/PUT body: validation errors (400), then references (409 / legacy 400).
fn check_body(req: &DataRequest<'_>, spec: &Resource, body: &Value) -> Result<(), ApiError> {
    let config = &req.shared.config;
    let inner = req.shared.lock();
    let store = inner.stores.year_ref(req.year);
    let errors = store::validate(config.mode, spec, body, store);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some((field, target)) = store::unresolved(config.mode, spec, body, store) {
        let target_entity = resources::find(config.mode, target).map_or(target, |t| t.entity);
        let entity = resources::entity_name(spec, req.resource);
        if config.legacy_person_refs && resources::is_person(target) {
            return Err(ApiError {
                message: Some(format!(
                    "Validation of '{entity}' failed. {target_entity} reference could not be resolved."
                )),
                ..ApiError::data_validation(format!(
                    "Validation of '{entity}' failed. {target_entity} reference could not be resolved."
                ))
            });
        }
        let _ = field;
        return Err(ApiError {
            message: Some(format!(
                "The value supplied for the related '{}' resource does not exist.",
                target_entity.to_ascii_lowercase()
            )),
            ..ApiError::new(
                409,
                "urn:ed-fi:api:data-conflict:unresolved-reference",
                "Unresolved Reference",
                format!("The referenced '{target_entity}' item does not exist."),
            )
        });
    }
    Ok(())
}

async fn post(
    req: &DataRequest<'_>,
    spec: &'static Resource,
    outcome: &mut Outcome,
) -> Result<Response, ApiError> {
    let config = &req.shared.config;
    let mut body = parse_body(req.bytes)?;
    store::strip_server_fields(&mut body);
    if body.get("id").is_some() {
        return Err(ApiError::data_validation(
            "Resource identifiers cannot be assigned by the client. The 'id' property should not be included in the request body.",
        ));
    }
    check_body(req, spec, &body)?;
    let key = store::key_of(spec, &body);
    outcome.natural_key = Some(key.clone());
    let marker_key = format!("{:?}/{}/{}", req.year, req.resource, key);
    let _marker = {
        let mut inner = req.shared.lock();
        if !inner.nk_in_flight.insert(marker_key.clone()) {
            return Err(ApiError::non_unique());
        }
        NkMarker(Arc::clone(req.shared), marker_key)
    };
    if !config.request_delay.is_zero() {
        tokio::time::sleep(config.request_delay).await;
    }
    let mut inner = req.shared.lock();
    let existing = inner
        .stores
        .year_ref(req.year)
        .and_then(|y| y.get(req.resource))
        .and_then(|c| c.get_by_key(&key))
        .map(|i| i.etag);
    if let (Some(etag), Some(wanted)) = (existing, if_match(req.headers, header::IF_MATCH))
        && etag.to_string() != wanted
    {
        return Err(ApiError::precondition());
    }
    let written = inner
        .stores
        .upsert(req.year, req.resource, key, body, None, &now());
    let location = format!(
        "{}{}/{}/{}",
        req.shared.base_url,
        req.shared.data_prefix(req.year),
        req.resource,
        written.id
    );
    Ok(respond(
        if written.created { 201 } else { 200 },
        None,
        vec![
            (header::LOCATION, location),
            (header::ETAG, format!("\"{}\"", written.etag)),
        ],
    ))
}

fn put(
    req: &DataRequest<'_>,
    spec: &'static Resource,
    id: &str,
    outcome: &mut Outcome,
) -> Result<Response, ApiError> {
    let config = &req.shared.config;
    let mut body = parse_body(req.bytes)?;
    store::strip_server_fields(&mut body);
    if let Some(m) = body.as_object_mut() {
        m.remove("id");
    }
    check_body(req, spec, &body)?;
    let mut inner = req.shared.lock();
    let existing = inner
        .stores
        .year_ref(req.year)
        .and_then(|y| y.get(req.resource))
        .and_then(|c| c.get_by_id(id))
        .map(|i| (i.etag, i.key.clone(), i.body.clone()));
    let Some((etag, old_key, old_body)) = existing else {
        if config.mode == Mode::V2 && config.v2_put_creates {
            let key = store::key_of(spec, &body);
            let taken = inner
                .stores
                .year_ref(req.year)
                .and_then(|y| y.get(req.resource))
                .and_then(|c| c.get_by_key(&key))
                .is_some();
            if taken {
                return Err(ApiError::non_unique());
            }
            outcome.natural_key = Some(key.clone());
            let written = inner.stores.upsert(
                req.year,
                req.resource,
                key,
                body,
                Some(id.to_owned()),
                &now(),
            );
            return Ok(respond(
                204,
                None,
                vec![(header::ETAG, format!("\"{}\"", written.etag))],
            ));
        }
        return Err(ApiError::not_found());
    };
    if if_match(req.headers, header::IF_MATCH).is_some_and(|wanted| wanted != etag.to_string()) {
        return Err(ApiError::precondition());
    }
    let mut new_key = store::key_of(spec, &body);
    if new_key != old_key {
        match config.mode {
            Mode::V2 => {
                // 2.x: "natural key values cannot be changed using this operation, and will not be modified".
                for (_, path) in spec.key {
                    if let Some(v) = store::get_path(&old_body, path) {
                        store::set_path(&mut body, path, v.clone());
                    }
                }
                new_key = old_key.clone();
            }
            Mode::V3 if spec.key_change => {
                let taken = inner
                    .stores
                    .year_ref(req.year)
                    .and_then(|y| y.get(req.resource))
                    .and_then(|c| c.get_by_key(&new_key))
                    .is_some();
                if taken {
                    return Err(ApiError::non_unique());
                }
                let values = store::key_values(spec, &body);
                store::cascade(
                    config.mode,
                    &mut inner.stores,
                    req.year,
                    spec.name,
                    old_key.clone(),
                    values,
                );
            }
            Mode::V3 => {
                return Err(ApiError::new(
                    400,
                    "urn:ed-fi:api:bad-request:data-validation-failed:key-change-not-supported",
                    "Key Change Not Supported",
                    format!(
                        "Identifying values for the {} resource cannot be changed. Delete and recreate the resource item instead.",
                        resources::entity_name(spec, req.resource)
                    ),
                ));
            }
        }
    }
    outcome.natural_key = Some(new_key.clone());
    let etag = inner
        .stores
        .replace(req.year, req.resource, id, new_key, body, &now());
    Ok(respond(
        204,
        None,
        vec![(header::ETAG, format!("\"{etag}\""))],
    ))
}

fn delete(
    req: &DataRequest<'_>,
    spec: &'static Resource,
    id: &str,
    outcome: &mut Outcome,
) -> Result<Response, ApiError> {
    let config = &req.shared.config;
    let mut inner = req.shared.lock();
    let (etag, key) = inner
        .stores
        .year_ref(req.year)
        .and_then(|y| y.get(req.resource))
        .and_then(|c| c.get_by_id(id))
        .map(|i| (i.etag, i.key.clone()))
        .ok_or_else(ApiError::not_found)?;
    outcome.natural_key = Some(key.clone());
    if if_match(req.headers, header::IF_MATCH).is_some_and(|wanted| wanted != etag.to_string()) {
        return Err(ApiError::precondition());
    }
    let store = inner.stores.year(req.year);
    if let Some(entity) = store::dependent(config.mode, store, spec.name, &key) {
        let detail = format!(
            "The requested action cannot be performed because this item is referenced by an existing '{entity}' item."
        );
        return Err(ApiError::new(
            409,
            "urn:ed-fi:api:data-conflict:dependent-item-exists",
            "Dependent Item Exists",
            detail,
        ));
    }
    if let Some(coll) = store.get_mut(req.resource) {
        coll.remove_id(id);
    }
    let _ = req.seq;
    Ok(respond(204, None, Vec::new()))
}
