//! Rebuilds the binary when the dashboard's built files change (`npm run build` in web/), so
//! the embedded copy is never stale: file names change with their content.

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
