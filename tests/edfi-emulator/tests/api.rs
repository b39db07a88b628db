//! Tests of the Ed-Fi emulator over real loopback HTTP with reqwest: both OAuth flows, token
//! expiry/revocation/limits, upsert and validation semantics in both error styles, references
//! and dependents, paging, fault injection, the journal and concurrency.

use std::time::{Duration, Instant};

use ferry_edfi_emulator::fixtures::{self, descriptor};
use ferry_edfi_emulator::{AuthFlow, Config, Emulator, ErrorStyle, Fault, Mode};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A client; the workspace builds reqwest with rustls but no default crypto provider (its
/// default would pull in aws-lc), so ring is installed first, as Ferry itself does.
fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn start(config: Config) -> Emulator {
    let emu = Emulator::start(config).unwrap();
    emu.seed_fixtures();
    emu
}

/// POSTs `form` to the token endpoint, with HTTP Basic credentials `(id, secret)` when given.
async fn token_request(
    c: &Client,
    emu: &Emulator,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = c.post(format!("{}/oauth/token", emu.base_url()));
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.form(form).send().await.unwrap()
}

async fn token_v3(c: &Client, emu: &Emulator) -> String {
    let basic = (
        emu.config().client_id.as_str(),
        emu.config().client_secret.as_str(),
    );
    let r = token_request(c, emu, Some(basic), &[("grant_type", "client_credentials")]).await;
    let v = body_of(r, 200).await;
    v["access_token"].as_str().unwrap().to_owned()
}

async fn token_v2(c: &Client, emu: &Emulator) -> String {
    let r = c
        .post(format!("{}/oauth/authorize", emu.base_url()))
        .form(&[
            ("Client_id", emu.config().client_id.as_str()),
            ("Response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let code = r.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = c
        .post(format!("{}/oauth/token", emu.base_url()))
        .json(&json!({"Client_id": emu.config().client_id, "Client_secret": emu.config().client_secret, "Code": code, "Grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post(
    c: &Client,
    emu: &Emulator,
    token: &str,
    resource: &str,
    body: &Value,
) -> reqwest::Response {
    c.post(format!("{}/{resource}", emu.data_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get(c: &Client, emu: &Emulator, token: &str, path: &str) -> reqwest::Response {
    c.get(format!("{}/{path}", emu.data_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Sends `request`; the response's status.
async fn status_of(request: RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}

/// Sends `request`; the response's JSON body, whatever its status.
async fn json_of(request: RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// The JSON body of `r`, once its status is checked to be `status`.
async fn body_of(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status, "{}", r.url());
    r.json().await.unwrap()
}

fn id_of(r: &reqwest::Response) -> String {
    r.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

const SCHOOL: i64 = 255_901_001;

fn student(id: &str) -> Value {
    json!({"studentUniqueId": id, "firstName": "Ann", "lastSurname": "Lee", "birthDate": "2010-07-04"})
}

fn ssa(cfg: &Config, student: &str) -> Value {
    json!({"schoolReference": {"schoolId": SCHOOL}, "studentReference": {"studentUniqueId": student},
           "entryDate": "2024-08-26", "entryGradeLevelDescriptor": descriptor(cfg, "GradeLevelDescriptor", "Ninth grade")})
}

#[tokio::test(flavor = "multi_thread")]
async fn v3_client_credentials_flow() {
    let emu = start(Config::v3());
    let c = client();
    let url = format!("{}/oauth/token", emu.base_url());
    // Basic header + form.
    let t = token_v3(&c, &emu).await;
    assert_eq!(t.len(), 32);
    assert!(t.chars().all(|ch| ch.is_ascii_hexdigit()));
    // Body credentials as JSON.
    let r = c.post(&url).json(&json!({"client_id": "ferry-key", "client_secret": "ferry-secret", "grant_type": "client_credentials"})).send().await.unwrap();
    let v = body_of(r, 200).await;
    assert_eq!(v["expires_in"], 1800);
    assert_eq!(v["token_type"], "bearer");
    // Body credentials as form.
    let r = token_request(
        &c,
        &emu,
        None,
        &[
            ("client_id", "ferry-key"),
            ("client_secret", "ferry-secret"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    // Wrong secret → 401 invalid_client.
    let r = token_request(
        &c,
        &emu,
        Some(("ferry-key", "nope")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(body_of(r, 401).await["error"], "invalid_client");
    // Wrong grant → 400 unsupported_grant_type.
    let r = token_request(
        &c,
        &emu,
        Some(("ferry-key", "ferry-secret")),
        &[("grant_type", "server_credentials")],
    )
    .await;
    assert_eq!(body_of(r, 400).await["error"], "unsupported_grant_type");
    // Header and body credentials → 400 invalid_client.
    let r = token_request(
        &c,
        &emu,
        Some(("ferry-key", "ferry-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "ferry-key"),
        ],
    )
    .await;
    assert_eq!(body_of(r, 400).await["error"], "invalid_client");
    // Data access: none, bogus, good.
    let r = c
        .get(format!("{}/schools", emu.data_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = get(&c, &emu, "0123456789abcdef0123456789abcdef", "schools").await;
    let body = body_of(r, 401).await;
    assert_eq!(body["type"], "urn:ed-fi:api:security:authentication");
    let r = get(&c, &emu, &t, "schools").await;
    assert_eq!(
        body_of(r, 200).await.as_array().unwrap().len(),
        fixtures::V3_SCHOOLS.len()
    );
    assert_eq!(emu.tokens_issued(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_authorization_code_flow() {
    let emu = start(Config::v2(2025));
    let c = client();
    assert!(emu.data_url().ends_with("/api/v2.0/2025"));
    let t = token_v2(&c, &emu).await;
    assert_eq!(get(&c, &emu, &t, "schools").await.status(), 200);
    // GET authorize also works; the code is single-use.
    let r = c
        .get(format!(
            "{}/oauth/authorize?Client_id=ferry-key&Response_type=code",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let code = r.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = [
        ("Client_id", "ferry-key"),
        ("Client_secret", "ferry-secret"),
        ("Code", code.as_str()),
        ("Grant_type", "authorization_code"),
    ];
    let url = format!("{}/oauth/token", emu.base_url());
    assert_eq!(status_of(c.post(&url).form(&form)).await, 200);
    let r = c.post(&url).form(&form).send().await.unwrap();
    assert_eq!(body_of(r, 400).await["error"], "invalid_grant");
    // Unknown client at authorize, bad secret at token, client_credentials not offered.
    let r = c
        .post(format!("{}/oauth/authorize", emu.base_url()))
        .form(&[("Client_id", "who"), ("Response_type", "code")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = token_request(
        &c,
        &emu,
        None,
        &[
            ("Client_id", "ferry-key"),
            ("Client_secret", "bad"),
            ("Code", "x"),
            ("Grant_type", "authorization_code"),
        ],
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = token_request(
        &c,
        &emu,
        Some(("ferry-key", "ferry-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(body_of(r, 400).await["error"], "unsupported_grant_type");
    // Unauthenticated v2 data request: legacy message body.
    let r = c
        .get(format!("{}/schools", emu.data_url()))
        .send()
        .await
        .unwrap();
    assert!(body_of(r, 401).await["message"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn token_expiry_revocation_and_limit() {
    let mut cfg = Config::v3();
    cfg.token_ttl = Duration::from_millis(600);
    cfg.max_tokens = Some(2);
    let emu = start(cfg);
    let c = client();
    let t = token_v3(&c, &emu).await;
    assert_eq!(get(&c, &emu, &t, "schools").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let expired = get(&c, &emu, &t, "schools").await;
    let expired = body_of(expired, 401).await;
    let unknown: Value = get(&c, &emu, "ffffffffffffffffffffffffffffffff", "schools")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired["errors"], unknown["errors"]);
    assert_eq!(expired["detail"], unknown["detail"]);
    // A new token works; revoking all makes it fail.
    let t2 = token_v3(&c, &emu).await;
    assert_eq!(get(&c, &emu, &t2, "schools").await.status(), 200);
    emu.revoke_tokens();
    assert_eq!(get(&c, &emu, &t2, "schools").await.status(), 401);
    // Limit: two live tokens, the third → 429.
    let _a = token_v3(&c, &emu).await;
    let _b = token_v3(&c, &emu).await;
    let r = token_request(
        &c,
        &emu,
        Some(("ferry-key", "ferry-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        body_of(r, 429).await["type"],
        "urn:ed-fi:api:security:authentication:too-many-tokens"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upsert_get_etag_and_verbs() {
    let emu = start(Config::v3());
    let c = client();
    let t = token_v3(&c, &emu).await;
    let loc = json!({"schoolReference": {"schoolId": SCHOOL}, "classroomIdentificationCode": "101", "maximumNumberOfSeats": 30});
    let r = post(&c, &emu, &t, "locations", &loc).await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/locations/", emu.data_url())));
    let etag1 = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag1.starts_with('"'));
    assert!(r.text().await.unwrap().is_empty());
    let loc2 = json!({"schoolReference": {"schoolId": SCHOOL}, "classroomIdentificationCode": "101", "maximumNumberOfSeats": 25});
    let r = post(&c, &emu, &t, "locations", &loc2).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["location"].to_str().unwrap(), location);
    let etag2 = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag1, etag2);
    assert_eq!(emu.items("locations").len(), 1);
    // GET by id, ETag and 304.
    let r = c.get(&location).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag2);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["maximumNumberOfSeats"], 25);
    assert_eq!(v["id"].as_str().unwrap().len(), 32);
    assert_eq!(format!("\"{}\"", v["_etag"].as_str().unwrap()), etag2);
    let r = c
        .get(&location)
        .bearer_auth(&t)
        .header("If-None-Match", &etag2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(
        get(&c, &emu, &t, "locations/00000000000000000000000000000000")
            .await
            .status(),
        404
    );
    // id in body, POST on item, PUT/DELETE on collection.
    let mut with_id = loc.clone();
    with_id["id"] = json!(v["id"]);
    let r = post(&c, &emu, &t, "locations", &with_id).await;
    assert!(
        body_of(r, 400).await["detail"]
            .as_str()
            .unwrap()
            .contains("'id' property")
    );
    assert_eq!(
        status_of(c.post(&location).bearer_auth(&t).json(&loc)).await,
        405
    );
    assert_eq!(
        status_of(
            c.put(format!("{}/locations", emu.data_url()))
                .bearer_auth(&t)
                .json(&loc)
        )
        .await,
        405
    );
    assert_eq!(
        status_of(
            c.delete(format!("{}/locations", emu.data_url()))
                .bearer_auth(&t)
        )
        .await,
        405
    );
    // PUT with a stale If-Match → 412; a good PUT → 204.
    let r = c
        .put(&location)
        .bearer_auth(&t)
        .header("If-Match", "\"999\"")
        .json(&loc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    assert_eq!(
        status_of(c.put(&location).bearer_auth(&t).json(&loc)).await,
        204
    );
    assert_eq!(emu.items("locations")[0]["maximumNumberOfSeats"], 30);
    // Lookups are read-only by default.
    let r = post(
        &c,
        &emu,
        &t,
        "schools",
        &json!({"schoolId": 1, "nameOfInstitution": "X"}),
    )
    .await;
    assert_eq!(r.status(), 403);
    // Ids and ETags are deterministic across instances.
    let emu2 = start(Config::v3());
    let t2 = token_v3(&c, &emu2).await;
    let r2 = post(&c, &emu2, &t2, "locations", &loc).await;
    assert_eq!(
        r2.headers()["location"]
            .to_str()
            .unwrap()
            .rsplit('/')
            .next(),
        location.rsplit('/').next()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_errors_in_both_styles() {
    for style in [ErrorStyle::ProblemDetails, ErrorStyle::Message] {
        let mut cfg = Config::v3();
        cfg.error_style = style;
        let emu = start(cfg);
        let c = client();
        let t = token_v3(&c, &emu).await;
        let bad = json!({"studentUniqueId": "S1", "firstName": "x".repeat(76), "lastSurname": "", "birthDate": "2010-13-01"});
        let r = post(&c, &emu, &t, "students", &bad).await;
        let v = body_of(r, 400).await;
        let errors = match style {
            ErrorStyle::ProblemDetails => {
                assert_eq!(
                    v["type"],
                    "urn:ed-fi:api:bad-request:data-validation-failed"
                );
                assert_eq!(v["title"], "Data Validation Failed");
                v["validationErrors"].clone()
            }
            ErrorStyle::Message => {
                assert!(v["message"].is_string());
                v["modelState"].clone()
            }
        };
        assert_eq!(
            errors["$.lastSurname"][0],
            "LastSurname is required and should not be left empty."
        );
        assert_eq!(
            errors["$.firstName"][0],
            "FirstName must be a string with a maximum length of 75."
        );
        assert!(errors["$.birthDate"].is_array());
        // Malformed JSON → 400 as well.
        let r = c
            .post(format!("{}/students", emu.data_url()))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{nope")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn references_and_descriptors() {
    let emu = start(Config::v3());
    let cfg = emu.config().clone();
    let c = client();
    let t = token_v3(&c, &emu).await;
    // Partial reference → 400 naming the missing properties.
    let co = json!({"courseReference": {"courseCode": "02052"}, "schoolReference": {"schoolId": SCHOOL},
                    "sessionReference": {"schoolId": SCHOOL, "schoolYear": 2025, "sessionName": "Fall"}, "localCourseCode": "ALG"});
    let v: Value = post(&c, &emu, &t, "courseOfferings", &co)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["validationErrors"]["$.courseReference"][0],
        "CourseReference is missing the following properties: EducationOrganizationId"
    );
    // Descriptors: no '#', unknown.
    let mut s = ssa(&cfg, "S1");
    s["entryGradeLevelDescriptor"] = json!("09");
    s["entryTypeDescriptor"] = json!("uri://ed-fi.org/EntryTypeDescriptor#Nope");
    let v: Value = post(&c, &emu, &t, "studentSchoolAssociations", &s)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        v["validationErrors"]["$.entryGradeLevelDescriptor"][0]
            .as_str()
            .unwrap()
            .contains("a '#' is expected")
    );
    assert_eq!(
        v["validationErrors"]["$.entryTypeDescriptor"][0],
        "EntryTypeDescriptor value 'uri://ed-fi.org/EntryTypeDescriptor#Nope' does not exist."
    );
    // Unresolved student → 409.
    let r = post(&c, &emu, &t, "studentSchoolAssociations", &ssa(&cfg, "S1")).await;
    let v = body_of(r, 409).await;
    assert_eq!(
        v["type"],
        "urn:ed-fi:api:data-conflict:unresolved-reference"
    );
    assert_eq!(v["detail"], "The referenced 'Student' item does not exist.");
    // Legacy: person reference → 400; other references still 409.
    let mut legacy = Config::v3();
    legacy.legacy_person_refs = true;
    legacy.error_style = ErrorStyle::Message;
    let emu2 = start(legacy);
    let t2 = token_v3(&c, &emu2).await;
    let r = post(
        &c,
        &emu2,
        &t2,
        "studentSchoolAssociations",
        &ssa(&cfg, "S1"),
    )
    .await;
    assert_eq!(
        body_of(r, 400).await["message"],
        "Validation of 'StudentSchoolAssociation' failed. Student reference could not be resolved."
    );
    let r = post(
        &c,
        &emu2,
        &t2,
        "locations",
        &json!({"schoolReference": {"schoolId": 42}, "classroomIdentificationCode": "1"}),
    )
    .await;
    assert!(
        body_of(r, 409).await["message"]
            .as_str()
            .unwrap()
            .contains("'school'")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_respects_dependents() {
    let emu = start(Config::v3());
    let cfg = emu.config().clone();
    let c = client();
    let t = token_v3(&c, &emu).await;
    let st = post(&c, &emu, &t, "students", &student("S1")).await;
    assert_eq!(st.status(), 201);
    let st_id = id_of(&st);
    let a = post(&c, &emu, &t, "studentSchoolAssociations", &ssa(&cfg, "S1")).await;
    assert_eq!(a.status(), 201);
    let a_id = id_of(&a);
    let url = |r: &str, id: &str| format!("{}/{r}/{id}", emu.data_url());
    let r = c
        .delete(url("students", &st_id))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let v = body_of(r, 409).await;
    assert_eq!(
        v["type"],
        "urn:ed-fi:api:data-conflict:dependent-item-exists"
    );
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("'StudentSchoolAssociation'")
    );
    assert_eq!(
        status_of(
            c.delete(url("studentSchoolAssociations", &a_id))
                .bearer_auth(&t)
        )
        .await,
        204
    );
    assert_eq!(
        status_of(c.delete(url("students", &st_id)).bearer_auth(&t)).await,
        204
    );
    assert_eq!(
        status_of(c.delete(url("students", &st_id)).bearer_auth(&t)).await,
        404
    );
    assert!(emu.items("students").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_counts_and_filters() {
    let emu = start(Config::v3());
    emu.seed(
        "students",
        (0..30).map(|i| student(&format!("S{i:02}"))).collect(),
    );
    let c = client();
    let t = token_v3(&c, &emu).await;
    let r = get(&c, &emu, &t, "students?limit=501").await;
    let v = body_of(r, 400).await;
    assert_eq!(
        v["type"],
        "urn:ed-fi:api:bad-request:parameter-validation-failed"
    );
    assert_eq!(v["errors"][0], "Limit must be a value between 0 and 500.");
    assert_eq!(get(&c, &emu, &t, "students?limit=-1").await.status(), 400);
    let r = get(&c, &emu, &t, "students?limit=10&offset=25&totalCount=true").await;
    assert_eq!(r.headers()["total-count"], "30");
    assert_eq!(
        r.json::<Value>().await.unwrap().as_array().unwrap().len(),
        5
    );
    let r = get(&c, &emu, &t, "students").await;
    assert!(r.headers().get("total-count").is_none());
    assert_eq!(
        r.json::<Value>().await.unwrap().as_array().unwrap().len(),
        30
    );
    let v: Value = get(&c, &emu, &t, "students?offset=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!([]));
    let v: Value = get(&c, &emu, &t, "students?limit=0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!([]));
    let v: Value = get(&c, &emu, &t, "students?studentUniqueId=S07")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["studentUniqueId"], "S07");
    // Flattened reference filter.
    let v: Value = get(
        &c,
        &emu,
        &t,
        "courses?educationOrganizationId=255901&courseCode=03151",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    // v2 default page is 25.
    let emu2 = start(Config::v2(2025));
    emu2.seed(
        "students",
        (0..30).map(|i| student(&format!("S{i:02}"))).collect(),
    );
    let t2 = token_v2(&c, &emu2).await;
    let v: Value = get(&c, &emu2, &t2, "students").await.json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 25);
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_injection() {
    let emu = start(Config::v3());
    let c = client();
    let t = token_v3(&c, &emu).await;
    emu.set_faults(vec![
        Fault::respond("GET", "schools", 429)
            .retry_after(7)
            .times(1),
        Fault::respond("GET", "courses", 503).nth(2).times(1),
        Fault::stall("GET", "staffs", 300).times(1),
    ]);
    let r = get(&c, &emu, &t, "schools").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(get(&c, &emu, &t, "schools").await.status(), 200);
    assert_eq!(get(&c, &emu, &t, "courses").await.status(), 200);
    assert_eq!(get(&c, &emu, &t, "courses").await.status(), 503);
    assert_eq!(get(&c, &emu, &t, "courses").await.status(), 200);
    let start = Instant::now();
    assert_eq!(get(&c, &emu, &t, "staffs").await.status(), 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = Instant::now();
    assert_eq!(get(&c, &emu, &t, "staffs").await.status(), 200);
    assert!(start.elapsed() < Duration::from_millis(300));
    // 500 without Retry-After, on the token route too; then a dropped connection.
    emu.set_faults(vec![
        Fault::respond("POST", "oauth/token", 500).times(1),
        Fault::drop_connection("GET", "schools").times(1),
    ]);
    let r = token_request(
        &c,
        &emu,
        Some(("ferry-key", "ferry-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status(), 500);
    assert!(r.headers().get("retry-after").is_none());
    let fresh = client();
    let err = fresh
        .get(format!("{}/schools", emu.data_url()))
        .bearer_auth(&t)
        .send()
        .await;
    assert!(err.is_err(), "connection should be dropped: {err:?}");
    assert_eq!(get(&c, &emu, &t, "schools").await.status(), 200);
    let dropped = emu.journal().into_iter().filter(|j| j.status == 0).count();
    assert_eq!(dropped, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn journal_records_order_and_keys() {
    let emu = start(Config::v3());
    let c = client();
    let t = token_v3(&c, &emu).await;
    emu.clear_journal();
    post(&c, &emu, &t, "students", &student("S1")).await;
    post(&c, &emu, &t, "students", &student("S1")).await;
    get(&c, &emu, &t, "students?studentUniqueId=S1").await;
    let j = emu.journal();
    assert_eq!(j.len(), 3);
    assert!(
        j.windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].end_ms <= w[1].start_ms)
    );
    assert_eq!(
        j.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![201, 200, 200]
    );
    assert_eq!(j[0].method, "POST");
    assert_eq!(j[0].resource.as_deref(), Some("students"));
    assert_eq!(j[0].natural_key.as_deref(), Some("studentUniqueId=S1"));
    assert_eq!(j[0].body.as_ref().unwrap()["firstName"], "Ann");
    assert!(j[0].authorization);
    assert_eq!(j[2].path, "/data/v3/ed-fi/students?studentUniqueId=S1");
    let over_http = json_of(c.get(format!("{}/_emulator/journal", emu.base_url()))).await;
    assert_eq!(over_http.as_array().unwrap().len(), 3);
    let store = json_of(c.get(format!("{}/_emulator/store/students", emu.base_url()))).await;
    assert_eq!(store[0]["studentUniqueId"], "S1");
    emu.clear_journal();
    assert!(emu.journal().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_same_key_posts_conflict_and_in_flight_is_measured() {
    let mut cfg = Config::v3();
    cfg.request_delay = Duration::from_millis(300);
    let emu = start(cfg);
    let c = client();
    let t = token_v3(&c, &emu).await;
    let s1 = student("S1");
    let (a, b) = tokio::join!(
        post(&c, &emu, &t, "students", &s1),
        post(&c, &emu, &t, "students", &s1)
    );
    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409]);
    let loser = if a.status() == StatusCode::CONFLICT {
        a
    } else {
        b
    };
    assert_eq!(
        loser.json::<Value>().await.unwrap()["type"],
        "urn:ed-fi:api:data-conflict:non-unique-identity"
    );
    assert_eq!(emu.items("students").len(), 1);
    // Five distinct keys in parallel all overlap.
    emu.reset_max_in_flight();
    let futures: Vec<_> = (0..5)
        .map(|i| {
            let c = c.clone();
            let url = format!("{}/students", emu.data_url());
            let t = t.clone();
            async move {
                c.post(url)
                    .bearer_auth(t)
                    .json(&student(&format!("P{i}")))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        })
        .collect();
    let results = futures_join(futures).await;
    assert!(results.iter().all(|s| *s == 201));
    assert_eq!(emu.max_in_flight(), 5);
    // Sequential requests never overlap.
    emu.reset_max_in_flight();
    for i in 0..3 {
        post(&c, &emu, &t, "students", &student(&format!("Q{i}"))).await;
    }
    assert_eq!(emu.max_in_flight(), 1);
}

async fn futures_join<F: std::future::Future<Output = StatusCode> + Send + 'static>(
    futures: Vec<F>,
) -> Vec<StatusCode> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The 10-resource write set in dependency order, v3 (DS 5) shapes; also key change rules.
#[tokio::test(flavor = "multi_thread")]
async fn v3_write_set_and_key_changes() {
    let emu = start(Config::v3());
    let cfg = emu.config().clone();
    let c = client();
    let t = token_v3(&c, &emu).await;
    let d = |n: &str, v: &str| descriptor(&cfg, n, v);
    let sec_ref = json!({"localCourseCode": "ALG", "schoolId": SCHOOL, "schoolYear": 2025, "sectionIdentifier": "ALG-1", "sessionName": "Fall"});
    let bodies = [
        (
            "locations",
            json!({"schoolReference": {"schoolId": SCHOOL}, "classroomIdentificationCode": "101"}),
        ),
        (
            "classPeriods",
            json!({"schoolReference": {"schoolId": SCHOOL}, "classPeriodName": "P1"}),
        ),
        (
            "gradingPeriods",
            json!({"schoolReference": {"schoolId": SCHOOL}, "schoolYearTypeReference": {"schoolYear": 2025},
            "gradingPeriodDescriptor": d("GradingPeriodDescriptor", "First Semester"), "gradingPeriodName": "S1", "periodSequence": 1,
            "beginDate": "2024-09-03", "endDate": "2025-01-17", "totalInstructionalDays": 88}),
        ),
        (
            "sessions",
            json!({"schoolReference": {"schoolId": SCHOOL}, "schoolYearTypeReference": {"schoolYear": 2025}, "sessionName": "Fall",
            "beginDate": "2024-09-03", "endDate": "2025-01-17", "termDescriptor": d("TermDescriptor", "Fall Semester"), "totalInstructionalDays": 88,
            "gradingPeriods": [{"gradingPeriodReference": {"schoolId": SCHOOL, "schoolYear": 2025,
                "gradingPeriodDescriptor": d("GradingPeriodDescriptor", "First Semester"), "gradingPeriodName": "S1"}}]}),
        ),
        (
            "courseOfferings",
            json!({"courseReference": {"courseCode": "02052", "educationOrganizationId": fixtures::V3_COURSE_EDORG},
            "schoolReference": {"schoolId": SCHOOL}, "sessionReference": {"schoolId": SCHOOL, "schoolYear": 2025, "sessionName": "Fall"}, "localCourseCode": "ALG"}),
        ),
        (
            "sections",
            json!({"courseOfferingReference": {"localCourseCode": "ALG", "schoolId": SCHOOL, "schoolYear": 2025, "sessionName": "Fall"},
            "locationReference": {"classroomIdentificationCode": "101", "schoolId": SCHOOL}, "sectionIdentifier": "ALG-1",
            "classPeriods": [{"classPeriodReference": {"schoolId": SCHOOL, "classPeriodName": "P1"}}]}),
        ),
        ("students", student("S1")),
        ("studentSchoolAssociations", ssa(&cfg, "S1")),
        (
            "studentSectionAssociations",
            json!({"sectionReference": sec_ref, "studentReference": {"studentUniqueId": "S1"}, "beginDate": "2024-09-03"}),
        ),
        (
            "staffSectionAssociations",
            json!({"sectionReference": sec_ref, "staffReference": {"staffUniqueId": "1000000001"},
            "classroomPositionDescriptor": d("ClassroomPositionDescriptor", "Teacher of Record"), "beginDate": "2024-09-03"}),
        ),
    ];
    let mut ids = std::collections::HashMap::new();
    for (resource, body) in &bodies {
        let r = post(&c, &emu, &t, resource, body).await;
        let status = r.status();
        let id = r.headers().get("location").map(|_| id_of(&r));
        assert_eq!(status, 201, "{resource}: {}", r.text().await.unwrap());
        ids.insert(*resource, id.unwrap());
    }
    // Key change allowed (classPeriods): cascades into the section's classPeriods.
    let r = c
        .put(format!(
            "{}/classPeriods/{}",
            emu.data_url(),
            ids["classPeriods"]
        ))
        .bearer_auth(&t)
        .json(&json!({"schoolReference": {"schoolId": SCHOOL}, "classPeriodName": "P1-NEW"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        emu.items("sections")[0]["classPeriods"][0]["classPeriodReference"]["classPeriodName"],
        "P1-NEW"
    );
    // Key change not supported (students).
    let r = c
        .put(format!("{}/students/{}", emu.data_url(), ids["students"]))
        .bearer_auth(&t)
        .json(&student("S2"))
        .send()
        .await
        .unwrap();
    let v = body_of(r, 400).await;
    assert_eq!(
        v["type"],
        "urn:ed-fi:api:bad-request:data-validation-failed:key-change-not-supported"
    );
    assert_eq!(v["title"], "Key Change Not Supported");
    // Deleting in reverse order works.
    for (resource, _) in bodies.iter().rev() {
        let r = c
            .delete(format!("{}/{resource}/{}", emu.data_url(), ids[resource]))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{resource}");
    }
}

/// The write set with v2 (WI) shapes: the 8-field section key, per-year stores, ignored key changes.
#[tokio::test(flavor = "multi_thread")]
async fn v2_write_set_and_year_isolation() {
    let emu = start(Config::v2(2025));
    assert_eq!(emu.config().mode, Mode::V2);
    let c = client();
    let t = token_v2(&c, &emu).await;
    let s = 1234;
    let sec_ref = json!({"schoolId": s, "classPeriodName": "Main P1 S1", "classroomIdentificationCode": "101", "localCourseCode": "MATH101",
        "termDescriptor": "1S", "schoolYear": 2025, "uniqueSectionCode": "55123", "sequenceOfCourse": 1});
    let bodies = [
        (
            "locations",
            json!({"schoolReference": {"schoolId": s}, "classroomIdentificationCode": "101"}),
        ),
        (
            "classPeriods",
            json!({"schoolReference": {"schoolId": s}, "name": "Main P1 S1"}),
        ),
        (
            "gradingPeriods",
            json!({"schoolReference": {"schoolId": s}, "descriptor": "04", "beginDate": "2024-09-03", "endDate": "2025-01-17", "totalInstructionalDays": 88}),
        ),
        (
            "sessions",
            json!({"schoolReference": {"schoolId": s}, "schoolYearTypeReference": {"schoolYear": 2025}, "termDescriptor": "1S", "name": "Main - Term 1",
            "beginDate": "2024-09-03", "endDate": "2025-01-17", "totalInstructionalDays": 88,
            "gradingPeriods": [{"gradingPeriodReference": {"schoolId": s, "descriptor": "04", "beginDate": "2024-09-03"}}]}),
        ),
        (
            "courseOfferings",
            json!({"courseReference": {"educationOrganizationId": 48856, "code": "02052"}, "schoolReference": {"schoolId": s},
            "sessionReference": {"schoolId": s, "schoolYear": 2025, "termDescriptor": "1S"}, "localCourseCode": "MATH101"}),
        ),
        (
            "sections",
            json!({"classPeriodReference": {"schoolId": s, "name": "Main P1 S1"},
            "courseOfferingReference": {"localCourseCode": "MATH101", "schoolId": s, "schoolYear": 2025, "termDescriptor": "1S"},
            "locationReference": {"schoolId": s, "classroomIdentificationCode": "101"}, "schoolReference": {"schoolId": s},
            "uniqueSectionCode": "55123", "sequenceOfCourse": 1, "mediumOfInstructionType": "Face-to-face instruction"}),
        ),
        ("students", student("9876543210")),
        (
            "studentSchoolAssociations",
            json!({"schoolReference": {"schoolId": s}, "studentReference": {"studentUniqueId": "9876543210"},
            "entryDate": "2024-09-03", "entryGradeLevelDescriptor": "07", "entryTypeDescriptor": "01"}),
        ),
        (
            "studentSectionAssociations",
            json!({"sectionReference": sec_ref, "studentReference": {"studentUniqueId": "9876543210"}, "beginDate": "2024-09-03"}),
        ),
        (
            "staffSectionAssociations",
            json!({"sectionReference": sec_ref, "staffReference": {"staffUniqueId": "1000000001"}, "classroomPositionDescriptor": "05971"}),
        ),
    ];
    for (resource, body) in &bodies {
        let r = post(&c, &emu, &t, resource, body).await;
        let status = r.status();
        assert_eq!(status, 201, "{resource}: {}", r.text().await.unwrap());
    }
    // Class period name over 20 characters (WI rule) → 400 with $.name, message style.
    let r = post(
        &c,
        &emu,
        &t,
        "classPeriods",
        &json!({"schoolReference": {"schoolId": s}, "name": "x".repeat(21)}),
    )
    .await;
    assert!(body_of(r, 400).await["modelState"]["$.name"].is_array());
    // Namespaced descriptor form is accepted too; unknown code is not.
    let ns = fixtures::descriptor_namespace(emu.config(), "GradeLevelDescriptor");
    let mut e = bodies[7].1.clone();
    e["entryDate"] = json!("2025-01-06");
    e["entryGradeLevelDescriptor"] = json!(format!("{ns}/08"));
    assert_eq!(
        post(&c, &emu, &t, "studentSchoolAssociations", &e)
            .await
            .status(),
        201
    );
    e["entryGradeLevelDescriptor"] = json!("99");
    assert_eq!(
        post(&c, &emu, &t, "studentSchoolAssociations", &e)
            .await
            .status(),
        400
    );
    // The section is referenced: deleting it → 409; PUT ignores a key change.
    let sec = emu.items("sections")[0].clone();
    let sec_url = format!(
        "{}/sections/{}",
        emu.data_url(),
        sec["id"].as_str().unwrap()
    );
    assert_eq!(status_of(c.delete(&sec_url).bearer_auth(&t)).await, 409);
    let mut changed = bodies[5].1.clone();
    changed["uniqueSectionCode"] = json!("99999");
    changed["mediumOfInstructionType"] = json!("Televised");
    assert_eq!(
        status_of(c.put(&sec_url).bearer_auth(&t).json(&changed)).await,
        204
    );
    let after = &emu.items("sections")[0];
    assert_eq!(after["uniqueSectionCode"], "55123");
    assert_eq!(after["mediumOfInstructionType"], "Televised");
    // Another year has its own (empty) store.
    let other = c
        .get(format!("{}/api/v2.0/2024/locations", emu.base_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(other.json::<Value>().await.unwrap(), json!([]));
    emu.seed_fixtures_year(Some(2024));
    let r = c
        .post(format!("{}/api/v2.0/2024/locations", emu.base_url()))
        .bearer_auth(&t)
        .json(&bodies[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(emu.items_year(Some(2024), "locations").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn v3_links_metadata_year_route_and_misc_verbs() {
    let mut cfg = Config::v3();
    cfg.year = Some(2025);
    let emu = start(cfg);
    assert!(emu.data_url().ends_with("/data/v3/2025/ed-fi"));
    let c = client();
    let t = token_v3(&c, &emu).await;
    let r = post(
        &c,
        &emu,
        &t,
        "locations",
        &json!({"schoolReference": {"schoolId": SCHOOL}, "classroomIdentificationCode": "7"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    // Reference links in GET output; echoing them back in a PUT is harmless.
    let v = json_of(c.get(&location).bearer_auth(&t)).await;
    assert_eq!(v["schoolReference"]["link"]["rel"], "School");
    assert!(
        v["schoolReference"]["link"]["href"]
            .as_str()
            .unwrap()
            .starts_with("/ed-fi/schools/")
    );
    assert_eq!(
        status_of(c.put(&location).bearer_auth(&t).json(&v)).await,
        204
    );
    assert!(
        emu.items("locations")[0]["schoolReference"]
            .get("link")
            .is_none()
    );
    // DELETE with a stale If-Match → 412; PATCH → 405.
    let r = c
        .delete(&location)
        .bearer_auth(&t)
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        body_of(r, 412).await["type"],
        "urn:ed-fi:api:optimistic-lock-failed"
    );
    assert_eq!(
        status_of(c.patch(&location).bearer_auth(&t).json(&v)).await,
        405
    );
    // The unscoped route is not served in year-specific mode.
    let r = c
        .get(format!("{}/data/v3/ed-fi/locations", emu.base_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Discovery and dependencies.
    let v = json_of(c.get(format!("{}/", emu.base_url()))).await;
    assert_eq!(
        v["urls"]["oauth"],
        format!("{}/oauth/token", emu.base_url())
    );
    let deps = json_of(c.get(format!("{}/metadata/data/v3/dependencies", emu.base_url()))).await;
    let order = |r: &str| {
        deps.as_array()
            .unwrap()
            .iter()
            .find(|d| d["resource"] == format!("/ed-fi/{r}"))
            .unwrap()["order"]
            .as_u64()
            .unwrap()
    };
    assert!(order("schools") < order("locations"));
    assert!(order("locations") < order("sections"));
    assert!(order("sessions") < order("courseOfferings"));
    assert!(order("courseOfferings") < order("sections"));
    assert!(order("sections") < order("studentSectionAssociations"));
    assert!(order("students") < order("studentSchoolAssociations"));
}

#[test]
fn fault_json_syntax() {
    let text = r#"[
        {"method": "POST", "resource": "students", "nth": 2, "count": 1, "action": {"respond": {"status": 429, "retry_after": 5}}},
        {"resource": "sections", "action": {"stall": {"ms": 1500}}},
        {"method": "GET", "action": "drop"}
    ]"#;
    let faults: Vec<Fault> = serde_json::from_str(text).unwrap();
    assert_eq!(
        faults[0],
        Fault::respond("POST", "students", 429)
            .retry_after(5)
            .nth(2)
            .times(1)
    );
    assert_eq!(
        faults[1].action,
        ferry_edfi_emulator::FaultAction::Stall { ms: 1500 }
    );
    assert_eq!(faults[1].method, None);
    assert_eq!(faults[2].action, ferry_edfi_emulator::FaultAction::Drop);
}

#[tokio::test(flavor = "multi_thread")]
async fn v3_section_key_change_cascades_to_associations() {
    let mut cfg = Config::v3();
    cfg.auth_flow = AuthFlow::Both;
    let emu = start(cfg);
    let cfg = emu.config().clone();
    let c = client();
    let t = token_v3(&c, &emu).await;
    let co = json!({"localCourseCode": "ALG", "schoolId": SCHOOL, "schoolYear": 2025, "sessionName": "Fall"});
    emu.seed("sessions", vec![json!({"schoolReference": {"schoolId": SCHOOL}, "schoolYearTypeReference": {"schoolYear": 2025}, "sessionName": "Fall",
        "beginDate": "2024-09-03", "endDate": "2025-01-17", "termDescriptor": descriptor(&cfg, "TermDescriptor", "Fall Semester"), "totalInstructionalDays": 88})]);
    emu.seed("courseOfferings", vec![json!({"courseReference": {"courseCode": "02052", "educationOrganizationId": fixtures::V3_COURSE_EDORG},
        "schoolReference": {"schoolId": SCHOOL}, "sessionReference": {"schoolId": SCHOOL, "schoolYear": 2025, "sessionName": "Fall"}, "localCourseCode": "ALG"})]);
    let r = post(
        &c,
        &emu,
        &t,
        "sections",
        &json!({"courseOfferingReference": co, "sectionIdentifier": "A"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let sec_url = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        post(&c, &emu, &t, "students", &student("S1"))
            .await
            .status(),
        201
    );
    let mut sec_ref = co.clone();
    sec_ref["sectionIdentifier"] = json!("A");
    let ssec = json!({"sectionReference": sec_ref, "studentReference": {"studentUniqueId": "S1"}, "beginDate": "2024-09-03"});
    assert_eq!(
        post(&c, &emu, &t, "studentSectionAssociations", &ssec)
            .await
            .status(),
        201
    );
    let r = c
        .put(&sec_url)
        .bearer_auth(&t)
        .json(&json!({"courseOfferingReference": co, "sectionIdentifier": "B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let assoc = &emu.items("studentSectionAssociations")[0];
    assert_eq!(assoc["sectionReference"]["sectionIdentifier"], "B");
    // The association is found by its new key (a re-POST updates instead of creating).
    let mut again = ssec.clone();
    again["sectionReference"]["sectionIdentifier"] = json!("B");
    assert_eq!(
        post(&c, &emu, &t, "studentSectionAssociations", &again)
            .await
            .status(),
        200
    );
    assert_eq!(emu.items("studentSectionAssociations").len(), 1);
}
