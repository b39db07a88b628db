//! The Ed-Fi resync (`plugin = "edfi-resync"`): pushes the district's SIS data to the state's
//! Ed-Fi ODS/API the way the Wisconsin Ed-Fi v2.0 sync does, for an ODS/API 7.x host (Data
//! Standard 5, `/data/v3/ed-fi/{resource}`) or a Wisconsin ODS/API 2.x host
//! (`/api/v2.0/{year}/{resource}`).
//!
//! The rules are pure and speak no HTTP, so each is tested without a server: [`model`] declares, per Data Standard, the ten resources the job writes (in dependency
//! order), their natural keys and references, and the state-owned lookups; [`source`] reads the
//! district's SIS contract (one relation per resource) in one read-only transaction;
//! [`transform`] applies the seed's rules (exclusions, summer school, future years, class period
//! names, session grouping, roster dates); [`body`] turns the result into each record's JSON
//! body with its natural key, canonical key and content hash; [`settings`] reads and checks the
//! job's settings.
//!
//! Talking to the host: [`client`] (both OAuth flows, one shared token refreshed on expiry or
//! 401, paging that always sends `limit`, retries with backoff and `Retry-After`), and [`sync`]
//! (what the host holds per record, the difference to send, and sending it parents first with
//! bounded parallelism). [`job`] is the plugin.

pub mod body;
pub mod client;
pub mod error;
pub mod job;
pub mod model;
pub mod settings;
pub mod source;
pub mod sync;
pub mod transform;

pub use body::Record;
pub use client::{Api, ApiConfig, ApiError};
pub use error::EdfiError;
pub use job::EdfiResync;
pub use model::{Resource, Standard};

ferry_plugin::export!(EdfiResync, "edfi-resync");
