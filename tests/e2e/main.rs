//! Ferry's end-to-end tests: the real `ferry` binary, real plugins, real SQLite and PostgreSQL.
//! One binary, one module per user-visible area.

// `ferry run`: output, history rows, exit codes, parameters, secrets.
mod run_now;
// Plugins that panic, abort, segfault, exit, hang or speak another ABI.
mod broken_plugins;
// Overlap: refusing and queueing runs of a busy job.
mod overlap;
// `ferry check`: configuration errors with file:line:col, next fires.
mod check;
// `ferry serve`: fires, misfires, abandoned runs, two schedulers, shutdown.
mod serve;
// jobs, history, logs, check and plugins as read commands.
mod read_commands;
// Repository rules: module docs, twin migrations, where unsafe may live.
mod tidy;
// Fetch and upload steps through a local connection.
mod transfers;
// Jobs against the real sshd and FTP/FTPS servers.
mod remote_servers;
// `ferry serve` running jobs when new files arrive in a watched folder.
mod arrival;
// `ferry notices list | show | resend` and the notices `ferry show` lists.
mod notices_cli;
// Input problems (rejected rows) recorded per run, with secrets redacted.
mod problems;
// Result notices delivered to real SMTP servers, retried, refused, never holding a secret.
mod notices;
// The florida-peer import on SQLite and PostgreSQL SIS databases: rules, dry runs, bad files.
mod florida_peer;
// The ises-upload job: the spec's example uploaded byte for byte, sequence numbers, failures.
mod ises_upload;
// The ises-upload job judged by the state's answer (the ISES emulator over the real sshd).
mod ises_answer;
// The edfacts-fs163 job: all three formats delivered byte for byte, derivation, validation failures.
mod edfacts_fs163;
// The edfi-resync job against the Ed-Fi API emulator: order, deltas, re-keys, retries, refusals.
mod edfi_resync;
