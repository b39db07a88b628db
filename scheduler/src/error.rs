//! How a command ends: the one place exit codes are decided.

use std::process::ExitCode;

/// The outcome of a CLI command, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done; for `ferry run`, the run succeeded or succeeded with warnings.
    Ok,
    /// 1: the run failed, timed out or was cancelled.
    RunFailed,
    /// 2: usage or configuration error (also: store unreachable, unknown job or run).
    Usage,
    /// 3: refused, because the job is already running.
    Refused,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::RunFailed => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
