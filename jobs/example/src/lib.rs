//! Example job.
