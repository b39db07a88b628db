//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the migration folders
//! at compile time but only tracks the files that already existed.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
