//! Turning a job's `fetch` and `upload` steps into what the worker performs: each step's
//! connection with its credentials resolved here, in the host, so plugins never see them.
//! Every other configured connection is resolved too, for the plugin's file host calls.

use crate::config::{
    AfterFetch, Config, ConnectionKind, ConnectionSpec, JobSpec, resolve_connection_secrets,
};
use crate::worker::protocol::{ConnectionOrder, EndpointOrder, FetchOrder, Secret, UploadOrder};
use std::collections::BTreeMap;

/// The transfer steps of one run and every secret they carry (for the run's redactor).
#[derive(Debug, Default)]
pub(super) struct TransferOrders {
    pub(super) fetch: Vec<FetchOrder>,
    pub(super) upload: Vec<UploadOrder>,
    /// Every configured connection whose credentials could be read, for the plugin's host calls.
    pub(super) connections: Vec<ConnectionOrder>,
    pub(super) secrets: Vec<String>,
}

/// Resolves the job's steps.
///
/// # Errors
/// A step names a connection the configuration lacks (validation prevents it), or a
/// connection's secret cannot be read; the message names the connection and the variable or
/// file, never a value.
pub(super) fn orders(config: &Config, job: &JobSpec) -> Result<TransferOrders, String> {
    let mut resolved: BTreeMap<&str, ConnectionOrder> = BTreeMap::new();
    let mut out = TransferOrders::default();
    let names = job
        .fetch
        .iter()
        .map(|f| f.connection.as_str())
        .chain(job.upload.iter().map(|u| u.connection.as_str()));
    for name in names {
        if resolved.contains_key(name) {
            continue;
        }
        let spec = config
            .connections
            .get(name)
            .ok_or_else(|| format!("job {} uses unknown connection {name:?}", job.name))?;
        let (order, secrets) = connection_order(spec)?;
        out.secrets.extend(secrets);
        resolved.insert(name, order);
    }
    // The plugin may use any configured connection through its host calls. One whose secret
    // cannot be read is left out (the plugin's call then fails naming it as unknown) rather
    // than failing a run that may never use it.
    for (name, spec) in &config.connections {
        if let Some(order) = resolved.get(name.as_str()) {
            out.connections.push(order.clone());
            continue;
        }
        match connection_order(spec) {
            Ok((order, secrets)) => {
                out.secrets.extend(secrets);
                out.connections.push(order);
            }
            Err(error) => tracing::warn!(
                job = %job.name,
                connection = %name,
                %error,
                "Connection left out of the run: its credentials cannot be read."
            ),
        }
    }
    let connection = |name: &str| resolved[name].clone();
    out.fetch = job
        .fetch
        .iter()
        .map(|step| FetchOrder {
            connection: connection(&step.connection),
            remote_dir: step.remote_dir.clone(),
            pattern: step.pattern.as_str().to_owned(),
            required: step
                .required
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            settle_ms: u64::try_from(step.settle.as_millis()).unwrap_or(u64::MAX),
            after: match &step.after {
                AfterFetch::Keep => "keep".to_owned(),
                AfterFetch::Delete => "delete".to_owned(),
                AfterFetch::Archive(dir) => format!("archive:{dir}"),
            },
        })
        .collect();
    out.upload = job
        .upload
        .iter()
        .map(|step| UploadOrder {
            connection: connection(&step.connection),
            remote_dir: step.remote_dir.clone(),
            pattern: step.pattern.as_str().to_owned(),
        })
        .collect();
    Ok(out)
}

/// One connection with its credentials, and those credentials for redaction.
///
/// # Errors
/// A secret cannot be read (the message names where it was looked for).
pub fn connection_order(spec: &ConnectionSpec) -> Result<(ConnectionOrder, Vec<String>), String> {
    let credentials = resolve_connection_secrets(spec).map_err(|e| e.to_string())?;
    let secrets: Vec<String> = credentials
        .password
        .iter()
        .chain(credentials.passphrase.iter())
        .cloned()
        .collect();
    let secret = |s: &Option<String>| s.clone().map(Secret);
    let endpoint = match &spec.kind {
        ConnectionKind::Sftp {
            host,
            port,
            user,
            private_key,
            known_hosts,
            ..
        } => EndpointOrder::Sftp {
            host: host.clone(),
            port: *port,
            user: user.clone(),
            private_key: private_key.clone(),
            passphrase: secret(&credentials.passphrase),
            password: secret(&credentials.password),
            known_hosts: known_hosts.clone(),
        },
        ConnectionKind::Ftp {
            host,
            port,
            user,
            passive,
            tls,
            ca_file,
            ..
        } => EndpointOrder::Ftp {
            host: host.clone(),
            port: *port,
            user: user.clone(),
            password: secret(&credentials.password),
            tls: *tls,
            ca_file: ca_file.clone(),
            passive: *passive,
        },
        ConnectionKind::Local { path } => EndpointOrder::Local { root: path.clone() },
    };
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Ok((
        ConnectionOrder {
            name: spec.name.clone(),
            endpoint,
            connect_timeout_ms: millis(spec.connect_timeout),
            io_timeout_ms: millis(spec.io_timeout),
            attempts: spec.retries.saturating_add(1),
            retry_backoff_ms: millis(spec.retry_backoff),
        },
        secrets,
    ))
}
