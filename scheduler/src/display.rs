//! Formatting of times and durations for people.
