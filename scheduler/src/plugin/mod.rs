//! Loading plugin libraries (only ever inside a worker process).
