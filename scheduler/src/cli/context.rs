//! What most commands start with: the validated configuration, the store, a runner.

use crate::config::Config;
use crate::run::Runner;
use crate::store::Store;
use anyhow::Context as _;
use chrono_tz::Tz;
use std::path::Path;
use std::sync::Arc;

/// The loaded configuration and an open store.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
}

impl Context {
    /// Loads and validates the configuration (without plugins), then opens the store.
    pub(crate) async fn open(config_path: &Path) -> anyhow::Result<Context> {
        let config = load_config(config_path)?;
        let store = Store::open(&config.scheduler.database)
            .await
            .with_context(|| format!("could not open the store {}", store_label(&config)))?;
        Ok(Context {
            config: Arc::new(config),
            store,
        })
    }

    /// The zone times are shown in.
    pub(crate) fn tz(&self) -> Tz {
        self.config.scheduler.timezone
    }

    /// A runner that starts workers from this executable.
    pub(crate) fn runner(&self) -> anyhow::Result<Runner> {
        let exe = std::env::current_exe().context("could not find the ferry executable")?;
        Ok(Runner::new(
            Arc::clone(&self.config),
            self.store.clone(),
            exe,
        ))
    }
}

/// Loads the configuration; every error is in the message, one per line.
pub(crate) fn load_config(path: &Path) -> anyhow::Result<Config> {
    crate::config::load(path).map_err(|diagnostics| anyhow::anyhow!("{diagnostics}"))
}

/// The store URL without any password, for messages.
pub(crate) fn store_label(config: &Config) -> String {
    let url = &config.scheduler.database;
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…{}", &url[..scheme], &url[at..])
        }
        _ => url.clone(),
    }
}
