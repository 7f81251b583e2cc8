//! Deployment size: each release binary zipped as Lambda takes it (`bootstrap` in
//! `bootstrap.zip`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The zip's size in bytes, or why there is none.
pub fn bootstrap_zip(binary: &Path, work: &Path) -> Result<u64, String> {
    let dir = work.join(binary.file_name().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let bootstrap = dir.join("bootstrap");
    std::fs::copy(binary, &bootstrap).map_err(|e| format!("{}: {e}", binary.display()))?;
    let zip = dir.join("bootstrap.zip");
    let status = Command::new("zip")
        .args(["-q", "-9", "-j", "-X"])
        .arg(&zip)
        .arg(&bootstrap)
        .status()
        .map_err(|e| format!("zip: {e} (install zip)"))?;
    if !status.success() {
        return Err(format!("zip failed: {status}"));
    }
    std::fs::metadata(&zip)
        .map(|m| m.len())
        .map_err(|e| e.to_string())
}

/// arm64 builds from `cargo lambda build --release --arm64` (`make bench ARM64=1` and
/// deploys build in target/deploy), if any.
pub fn arm64_binary(root: &Path, name: &str) -> Option<PathBuf> {
    [
        root.join("target/deploy/lambda")
            .join(name)
            .join("bootstrap"),
        root.join("target/lambda").join(name).join("bootstrap"),
        root.join("target/aarch64-unknown-linux-gnu/release")
            .join(name),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
