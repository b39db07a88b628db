//! The `ferry serve` service loop.
