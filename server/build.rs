//! Rebuild the server when the site it embeds (target/site, written by scripts/build-site.sh)
//! changes, including files that are new since the last build.
fn main() {
    println!("cargo:rerun-if-changed=../target/site");
    println!("cargo:rerun-if-changed=build.rs");
}
