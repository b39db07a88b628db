//! One path for every run: claim, worker, record, end.
