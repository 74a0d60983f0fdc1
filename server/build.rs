//! Rebuild the server when the browser bundle changes, since release builds embed it.

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let pkg = std::path::Path::new(&manifest_dir).join("../target/site/pkg");
    // Watching a folder that does not exist would rebuild on every build; make sure it exists.
    let _ = std::fs::create_dir_all(&pkg);
    println!("cargo:rerun-if-changed={}", pkg.display());
}
