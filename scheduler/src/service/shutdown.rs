//! Turning SIGTERM and SIGINT into the service's two-phase shutdown.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Spawns the signal listener. The first SIGTERM or SIGINT cancels `stop` (drain: no new runs,
/// running ones may finish); the second cancels `force` (stop workers now).
///
/// # Errors
/// The signal handlers could not be installed.
pub fn shutdown_signal(stop: CancellationToken, force: CancellationToken) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        for token in [stop, force] {
            // Either signal counts; which one arrived is only logged.
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "Signal received.");
            token.cancel();
        }
    });
    Ok(())
}
