//! `sqlx::migrate!` embeds the migration files at compile time; without this, a file added by
//! `new_revision` would not be picked up until something else triggered a rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
