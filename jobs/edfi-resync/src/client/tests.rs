//! The client against the Ed-Fi emulator over real loopback HTTP: both OAuth flows, token
//! sharing and renewal, paging, upserts and deletes, retries (429 with `Retry-After`, 5xx,
//! stalls, dropped connections), errors in both body styles, cancellation and concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferry_edfi_emulator::{Config, Emulator, ErrorStyle, Fault, Request};
use serde_json::{Value, json};

use super::retry::nap;
use super::*;

const SCHOOL: i64 = 255_901_001;

fn start(config: Config) -> Emulator {
    let emulator = Emulator::start(config).expect("emulator starts");
    emulator.seed_fixtures();
    emulator
}

/// A fast-retrying client for `emulator` (backoff 20 ms … 200 ms, 5 s timeout, 4 attempts).
fn config_for(emulator: &Emulator) -> ApiConfig {
    let c = emulator.config();
    let standard = match c.mode {
        ferry_edfi_emulator::Mode::V3 => Standard::Ds5,
        ferry_edfi_emulator::Mode::V2 => Standard::V2,
    };
    ApiConfig {
        timeout: Duration::from_secs(5),
        max_attempts: 4,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        ..ApiConfig::new(
            standard,
            &emulator.base_url(),
            c.year.unwrap_or(2025),
            &c.client_id,
            &c.client_secret,
        )
    }
}

fn api_for(emulator: &Emulator) -> Api {
    api_with(config_for(emulator))
}

/// A client for `config` that is never cancelled.
fn api_with(config: ApiConfig) -> Api {
    Api::new(config, Arc::new(AtomicBool::new(false))).expect("client")
}

fn requests(emulator: &Emulator, method: &str, resource: &str) -> Vec<Request> {
    emulator
        .journal()
        .into_iter()
        .filter(|r| r.method == method && r.resource.as_deref() == Some(resource))
        .collect()
}

/// The status of each `method` request on `resource`, in order.
fn statuses(emulator: &Emulator, method: &str, resource: &str) -> Vec<u16> {
    requests(emulator, method, resource)
        .iter()
        .map(|r| r.status)
        .collect()
}

/// The path (with query) of each GET of `resource`, in order.
fn get_paths(emulator: &Emulator, resource: &str) -> Vec<String> {
    requests(emulator, "GET", resource)
        .into_iter()
        .map(|r| r.path)
        .collect()
}

/// Posts the new location `room` of [`SCHOOL`], checks that the host created it, and returns
/// its id (from the `Location` header).
fn post_location(api: &Api, room: &str) -> String {
    let posted = api
        .post(Resource::Locations, &location(SCHOOL, room))
        .expect("location posted");
    assert!(posted.created);
    posted.id.expect("Location header")
}

fn location(school: i64, room: &str) -> Value {
    json!({"schoolReference": {"schoolId": school}, "classroomIdentificationCode": room})
}

#[test]
fn api_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Api>();
    shareable::<ApiError>();
}

#[test]
fn v3_client_credentials_token_is_fetched_once_and_reused() {
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    for _ in 0..20 {
        assert_eq!(api.get_all(Resource::Schools).unwrap().len(), 2);
    }
    assert_eq!(emulator.tokens_issued(), 1);
    let tokens = requests(&emulator, "POST", "oauth/token");
    assert_eq!(tokens.len(), 1);
    // Basic header, and only the grant in the body (both → 400 invalid_client on ODS/API).
    assert!(tokens[0].authorization);
    assert_eq!(
        tokens[0].body,
        Some(json!({"grant_type": "client_credentials"}))
    );
    let gets = requests(&emulator, "GET", "schools");
    assert_eq!(gets.len(), 20);
    assert!(gets.iter().all(|r| r.authorization && r.status == 200));
    assert!(
        gets[0].path.starts_with("/data/v3/ed-fi/schools?"),
        "{}",
        gets[0].path
    );
    let stats = api.stats();
    assert_eq!((stats.gets, stats.token_fetches, stats.retries), (20, 1, 0));
}

#[test]
fn v2_authorization_code_flow_and_year_route() {
    let emulator = start(Config::v2(2025));
    let api = api_for(&emulator);
    let schools = api.get_all(Resource::Schools).unwrap();
    assert_eq!(schools.len(), 2);
    let journal = emulator.journal();
    let oauth: Vec<_> = journal
        .iter()
        .filter(|r| {
            r.resource
                .as_deref()
                .is_some_and(|r| r.starts_with("oauth/"))
        })
        .collect();
    assert_eq!(oauth.len(), 2);
    assert_eq!(oauth[0].resource.as_deref(), Some("oauth/authorize"));
    assert_eq!(
        oauth[0].body,
        Some(json!({"Client_id": "ferry-key", "Response_type": "code"}))
    );
    assert_eq!(oauth[1].resource.as_deref(), Some("oauth/token"));
    let token_body = oauth[1].body.as_ref().unwrap();
    assert_eq!(token_body["Grant_type"], "authorization_code");
    assert_eq!(token_body["Client_id"], "ferry-key");
    assert!(token_body["Code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(
        !oauth[1].authorization,
        "v2 sends credentials in the body only"
    );
    let get = requests(&emulator, "GET", "schools");
    assert_eq!(get.len(), 1);
    assert_eq!(get[0].path, "/api/v2.0/2025/schools?offset=0&limit=500");
}

#[test]
fn bad_secret_is_a_clear_error_without_the_secret() {
    let emulator = start(Config::v3());
    let mut config = config_for(&emulator);
    config.client_secret = "Wr0ng-S3cret-xyz".to_owned();
    let api = api_with(config);
    let error = api.get_all(Resource::Schools).unwrap_err();
    let shown = error.to_string();
    assert!(matches!(error, ApiError::Unauthorized(_)), "{error:?}");
    assert!(
        shown.contains("invalid_client") && shown.contains("ferry-key"),
        "{shown}"
    );
    assert!(shown.contains("/oauth/token"), "{shown}");
    for text in [shown, format!("{error:?}"), format!("{api:?}")] {
        assert!(!text.contains("Wr0ng-S3cret-xyz"), "secret leaked: {text}");
    }
    assert_eq!(
        requests(&emulator, "POST", "oauth/token").len(),
        1,
        "not retried"
    );
    assert!(requests(&emulator, "GET", "schools").is_empty());
}

#[test]
fn bearer_token_never_shows_in_errors() {
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    let error = api
        .post(Resource::Locations, &location(1, "X"))
        .unwrap_err();
    let token = emulator
        .journal()
        .iter()
        .find(|r| r.resource.as_deref() == Some("oauth/token"))
        .map(|r| r.status)
        .unwrap();
    assert_eq!(token, 200);
    // The emulator's tokens are 32 hex digits with bit 48 set: none may appear in the error.
    let shown = format!("{error} {error:?} {api:?}");
    assert!(
        !shown
            .split(|c: char| !c.is_ascii_hexdigit())
            .any(|w| w.len() == 32),
        "{shown}"
    );
}

#[test]
fn revoked_token_is_refreshed_once_then_the_request_succeeds() {
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    api.get_all(Resource::Schools).unwrap();
    emulator.revoke_tokens();
    assert_eq!(api.get_all(Resource::Schools).unwrap().len(), 2);
    assert_eq!(emulator.tokens_issued(), 2);
    assert_eq!(statuses(&emulator, "GET", "schools"), [200, 401, 200]);
    let stats = api.stats();
    assert_eq!((stats.token_fetches, stats.reauthentications), (2, 1));
    assert_eq!(stats.retries, 0, "a refused token is not a retry");
}

#[test]
fn a_second_401_with_a_fresh_token_is_unauthorized() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![Fault::respond("GET", "schools", 401)]);
    let api = api_for(&emulator);
    let error = api.get_all(Resource::Schools).unwrap_err();
    assert!(matches!(error, ApiError::Unauthorized(_)), "{error:?}");
    assert_eq!(requests(&emulator, "GET", "schools").len(), 2);
    assert_eq!(emulator.tokens_issued(), 2, "exactly one refresh");
}

#[test]
fn short_lived_token_is_renewed_before_it_expires() {
    let emulator = start(Config {
        token_ttl: Duration::from_secs(2),
        ..Config::v3()
    });
    let api = api_for(&emulator);
    api.get_all(Resource::Schools).unwrap();
    nap(Duration::from_millis(2200));
    api.get_all(Resource::Schools).unwrap();
    assert_eq!(emulator.tokens_issued(), 2);
    assert!(
        emulator.journal().iter().all(|r| r.status != 401),
        "renewed before the host refused the old token"
    );
    assert_eq!(api.stats().reauthentications, 0);
}

#[test]
fn pages_with_limit_until_a_short_page() {
    let emulator = start(Config::v3());
    let rooms: Vec<Value> = (0..1203)
        .map(|i| location(SCHOOL, &format!("R{i:04}")))
        .collect();
    emulator.seed("locations", rooms);
    let api = api_for(&emulator);
    let items = api.get_all(Resource::Locations).unwrap();
    assert_eq!(items.len(), 1203);
    let mut codes: Vec<&str> = items
        .iter()
        .map(|i| i["classroomIdentificationCode"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 1203, "no item read twice");
    assert_eq!(
        get_paths(&emulator, "locations"),
        [
            "/data/v3/ed-fi/locations?offset=0&limit=500",
            "/data/v3/ed-fi/locations?offset=500&limit=500",
            "/data/v3/ed-fi/locations?offset=1000&limit=500",
        ]
    );
}

#[test]
fn v2_paging_sends_limit_despite_the_hosts_default_of_25() {
    let emulator = start(Config::v2(2025));
    let rooms: Vec<Value> = (0..60).map(|i| location(1234, &format!("R{i}"))).collect();
    emulator.seed("locations", rooms);
    let mut config = config_for(&emulator);
    config.page_size = 50;
    let api = api_with(config);
    assert_eq!(api.get_all(Resource::Locations).unwrap().len(), 60);
    assert_eq!(
        get_paths(&emulator, "locations"),
        [
            "/api/v2.0/2025/locations?offset=0&limit=50",
            "/api/v2.0/2025/locations?offset=50&limit=50",
        ]
    );
}

#[test]
fn get_by_example_filters_on_the_host() {
    let emulator = start(Config::v3());
    emulator.seed(
        "locations",
        vec![location(SCHOOL, "A"), location(SCHOOL, "B")],
    );
    let api = api_for(&emulator);
    let found = api
        .get_by_example(Resource::Locations, &[("classroomIdentificationCode", "B")])
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["classroomIdentificationCode"], "B");
    let get = requests(&emulator, "GET", "locations");
    assert_eq!(
        get[0].path,
        "/data/v3/ed-fi/locations?classroomIdentificationCode=B&offset=0&limit=500"
    );
}

#[test]
fn post_creates_then_updates_with_the_id_from_location() {
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    let first = api
        .post(Resource::Locations, &location(SCHOOL, "101"))
        .unwrap();
    assert!(first.created);
    let id = first.id.clone().expect("Location header");
    assert_eq!(id.len(), 32);
    let stored = emulator.items("locations");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["id"], id.as_str());
    let mut changed = location(SCHOOL, "101");
    changed["maximumNumberOfSeats"] = json!(30);
    let second = api.post(Resource::Locations, &changed).unwrap();
    assert_eq!(
        second,
        Posted {
            created: false,
            id: Some(id)
        }
    );
    assert_eq!(emulator.items("locations")[0]["maximumNumberOfSeats"], 30);
    assert_eq!(api.stats().posts, 2);
}

#[test]
fn delete_then_delete_again_is_already_gone() {
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    let id = post_location(&api, "201");
    assert_eq!(
        api.delete(Resource::Locations, &id).unwrap(),
        Deleted::Deleted
    );
    assert!(emulator.items("locations").is_empty());
    assert_eq!(
        api.delete(Resource::Locations, &id).unwrap(),
        Deleted::AlreadyGone
    );
    assert_eq!(statuses(&emulator, "DELETE", "locations"), [204, 404]);
}

#[test]
fn put_replaces_by_id() {
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    let id = post_location(&api, "301");
    let mut body = location(SCHOOL, "301");
    body["optimalNumberOfSeats"] = json!(12);
    api.put(Resource::Locations, &id, &body).unwrap();
    assert_eq!(emulator.items("locations")[0]["optimalNumberOfSeats"], 12);
    let missing = api
        .put(
            Resource::Locations,
            "0123456789abcdef0123456789abcdef",
            &body,
        )
        .unwrap_err();
    assert_eq!(missing.status(), Some(404));
}

#[test]
fn retry_after_is_honoured() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![
        Fault::respond("POST", "locations", 429)
            .retry_after(1)
            .times(1),
    ]);
    let api = api_for(&emulator);
    let started = Instant::now();
    post_location(&api, "401");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let posts = requests(&emulator, "POST", "locations");
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 201]
    );
    assert!(posts[1].start_ms - posts[0].end_ms >= 1000.0);
    assert_eq!(api.stats().retries, 1);
}

#[test]
fn service_unavailable_twice_then_success() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![Fault::respond("POST", "locations", 503).times(2)]);
    let api = api_for(&emulator);
    post_location(&api, "501");
    assert_eq!(statuses(&emulator, "POST", "locations"), [503, 503, 201]);
    let stats = api.stats();
    assert_eq!((stats.posts, stats.retries, stats.token_fetches), (3, 2, 1));
}

#[test]
fn service_unavailable_forever_is_exhausted_after_max_attempts() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![Fault::respond("POST", "locations", 503)]);
    let api = api_for(&emulator);
    let error = api
        .post(Resource::Locations, &location(SCHOOL, "601"))
        .unwrap_err();
    let ApiError::Exhausted { attempts, last } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*attempts, 4);
    assert_eq!(last.status(), Some(503));
    assert!(error.to_string().contains("Injected fault: 503"), "{error}");
    assert_eq!(requests(&emulator, "POST", "locations").len(), 4);
}

#[test]
fn stall_beyond_the_timeout_is_retried() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![Fault::stall("GET", "schools", 1500).times(1)]);
    let mut config = config_for(&emulator);
    config.timeout = Duration::from_millis(500);
    let api = api_with(config);
    let started = Instant::now();
    assert_eq!(api.get_all(Resource::Schools).unwrap().len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "did not wait out the stall"
    );
    assert_eq!(api.stats().retries, 1);
    assert_eq!(api.stats().gets, 2);
}

#[test]
fn dropped_connection_is_retried() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![Fault::drop_connection("GET", "schools").times(1)]);
    let api = api_for(&emulator);
    assert_eq!(api.get_all(Resource::Schools).unwrap().len(), 2);
    assert_eq!(api.stats().retries, 1);
}

#[test]
fn conflict_and_validation_come_back_with_the_hosts_message() {
    // Problem details (ODS/API 7.2+).
    let emulator = start(Config::v3());
    let api = api_for(&emulator);
    let conflict = api
        .post(Resource::Locations, &location(999, "701"))
        .unwrap_err();
    assert!(
        conflict.is_conflict() && !conflict.is_validation(),
        "{conflict:?}"
    );
    assert_eq!(
        conflict.problem_type(),
        Some("urn:ed-fi:api:data-conflict:unresolved-reference")
    );
    assert!(
        conflict
            .to_string()
            .contains("The referenced 'School' item does not exist."),
        "{conflict}"
    );
    let invalid = api
        .post(
            Resource::Locations,
            &json!({"schoolReference": {"schoolId": SCHOOL}}),
        )
        .unwrap_err();
    assert!(invalid.is_validation(), "{invalid:?}");
    assert_eq!(invalid.status(), Some(400));
    assert!(
        invalid.to_string().contains(
            "$.classroomIdentificationCode: ClassroomIdentificationCode is required and should \
             not be left empty."
        ),
        "{invalid}"
    );
    assert_eq!(
        requests(&emulator, "POST", "locations").len(),
        2,
        "not retried"
    );

    // The legacy {"message", "modelState"} body (2.x and ODS/API ≤ 7.1).
    let emulator = start(Config::v2(2025));
    assert_eq!(emulator.config().error_style, ErrorStyle::Message);
    let api = api_for(&emulator);
    let conflict = api
        .post(Resource::Locations, &location(999, "701"))
        .unwrap_err();
    assert_eq!(
        conflict,
        ApiError::Rejected {
            status: 409,
            problem_type: None,
            message: "The value supplied for the related 'school' resource does not exist.".into()
        }
    );
    let invalid = api
        .post(
            Resource::Locations,
            &json!({"schoolReference": {"schoolId": 1234}}),
        )
        .unwrap_err();
    assert!(invalid.is_validation());
    let shown = invalid.to_string();
    assert!(
        shown.contains("The request is invalid.")
            && shown
                .contains("$.classroomIdentificationCode: ClassroomIdentificationCode is required"),
        "{shown}"
    );
    assert_eq!(
        requests(&emulator, "POST", "locations").len(),
        2,
        "not retried"
    );
}

#[test]
fn cancellation_during_backoff_returns_quickly() {
    let emulator = start(Config::v3());
    emulator.set_faults(vec![Fault::respond("POST", "locations", 503)]);
    let mut config = config_for(&emulator);
    config.backoff_base = Duration::from_secs(20);
    config.backoff_cap = Duration::from_secs(30);
    config.max_attempts = 6;
    let cancel = Arc::new(AtomicBool::new(false));
    let api = Api::new(config, Arc::clone(&cancel)).unwrap();
    let started = Instant::now();
    let error = std::thread::scope(|s| {
        s.spawn(|| {
            nap(Duration::from_millis(300));
            cancel.store(true, Ordering::Relaxed);
        });
        api.post(Resource::Locations, &location(SCHOOL, "801"))
            .unwrap_err()
    });
    assert_eq!(error, ApiError::Cancelled);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&emulator, "POST", "locations").len(), 1);
    // Once cancelled, nothing more is sent.
    assert_eq!(api.get_all(Resource::Schools), Err(ApiError::Cancelled));
    assert!(requests(&emulator, "GET", "schools").is_empty());
}

#[test]
fn eight_threads_share_one_client_and_one_token() {
    let emulator = start(Config {
        request_delay: Duration::from_millis(20),
        ..Config::v3()
    });
    let api = api_for(&emulator);
    emulator.reset_max_in_flight();
    let results: Vec<Result<Posted, ApiError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let api = &api;
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            api.post(Resource::Locations, &location(SCHOOL, &format!("T{t}-{i}")))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(results.len(), 80);
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|p| p.created)));
    assert_eq!(emulator.items("locations").len(), 80);
    assert_eq!(
        emulator.tokens_issued(),
        1,
        "threads waited for the one token"
    );
    let peak = emulator.max_in_flight();
    assert!((2..=8).contains(&peak), "max in flight {peak}");
}

#[test]
fn revoked_token_seen_by_many_threads_is_refreshed_once() {
    let emulator = start(Config {
        request_delay: Duration::from_millis(30),
        ..Config::v3()
    });
    let api = api_for(&emulator);
    api.get_all(Resource::Schools).unwrap();
    emulator.revoke_tokens();
    std::thread::scope(|s| {
        for t in 0..8 {
            let api = &api;
            s.spawn(move || {
                api.post(Resource::Locations, &location(SCHOOL, &format!("S{t}")))
                    .unwrap();
            });
        }
    });
    assert_eq!(emulator.items("locations").len(), 8);
    assert_eq!(emulator.tokens_issued(), 2, "one refresh for all threads");
}

#[test]
fn https_uses_rustls_with_ring() {
    // Nothing listens on port 1: the point is that an https client builds and fails cleanly.
    let mut config = ApiConfig::new(Standard::Ds5, "https://127.0.0.1:1/", 2025, "k", "s");
    config.max_attempts = 1;
    let api = api_with(config);
    assert_eq!(api.config().base_url, "https://127.0.0.1:1");
    let error = api.get_all(Resource::Schools).unwrap_err();
    let ApiError::Exhausted { attempts: 1, last } = &error else {
        panic!("{error:?}");
    };
    assert!(matches!(**last, ApiError::Transport(_)), "{last:?}");
}

#[test]
fn configuration_is_checked_and_debug_hides_the_secret() {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut config = ApiConfig::new(Standard::V2, "ftp://x", 2025, "k", "TopSecret!");
    assert!(matches!(
        Api::new(config.clone(), Arc::clone(&cancel)),
        Err(ApiError::Config(_))
    ));
    config.base_url = "http://x".into();
    config.page_size = 501;
    assert!(matches!(
        Api::new(config.clone(), Arc::clone(&cancel)),
        Err(ApiError::Config(_))
    ));
    config.page_size = 100;
    let api = Api::new(config.clone(), cancel).unwrap();
    assert_eq!(config.auth_flow, AuthFlow::AuthorizationCode);
    assert_eq!(
        config.collection_url(Resource::StudentSectionAssociations),
        "http://x/api/v2.0/2025/studentSectionAssociations"
    );
    for shown in [format!("{config:?}"), format!("{api:?}")] {
        assert!(
            !shown.contains("TopSecret!") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
    assert_eq!(
        id_of_location("http://h/data/v3/ed-fi/locations/abc123?x=1"),
        Some("abc123".to_owned())
    );
    assert_eq!(id_of_location(""), None);
}
