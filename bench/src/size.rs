//! Deployment size: each release binary zipped as Lambda takes it (`bootstrap` in
//! `bootstrap.zip`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::coldstart;
use crate::stats::{f2, pass, Section};

/// The zip's size in bytes, or why there is none.
fn bootstrap_zip(binary: &Path, work: &Path) -> Result<u64, String> {
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
fn arm64_binary(root: &Path, name: &str) -> Option<PathBuf> {
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

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The size section: every function's binary in `bin_dir` (only the webhook's when `quick`)
/// and the floor's, zipped, beside its arm64 and speed-optimised builds when there are any.
pub fn run(root: &Path, bin_dir: &Path, speed_bin_dir: Option<&Path>, quick: bool) -> Section {
    let work = std::env::temp_dir().join(format!("edubot-bench-zip-{}", std::process::id()));
    let mut names = coldstart::function_names(root);
    if quick {
        // Debug binaries are large and slow to zip: prove the path on two.
        names.retain(|n| n == "webhook");
    }
    names.push("bench-floor".into());
    let mut section = Section::new(
        "Size",
        &format!(
            "Each binary of `{}` copied as `bootstrap` and zipped (`zip -9`), as `cargo lambda` packages it. \
             This machine builds x86_64; the arm64 build Lambda runs (`cargo lambda build --release --arm64`, \
             `make bench ARM64=1` or a deploy) is shown when present, and the speed-optimised profile \
             (`release-speed`, opt-level 3) with `make bench SPEED=1`. Goal: the arm64 bootstrap.zip ≤ 4 MB.",
            bin_dir.display()
        ),
        &["function", "binary MB", "bootstrap.zip MB", "arm64 zip MB", "opt-level 3 zip MB"],
    );
    for n in &names {
        let bin = bin_dir.join(n);
        if !bin.is_file() {
            section.row(
                vec![
                    n.clone(),
                    "no binary".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ],
                None,
            );
            continue;
        }
        let raw_size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        let zip = bootstrap_zip(&bin, &work);
        let arm_zip = arm64_binary(root, n).map(|b| bootstrap_zip(&b, &work.join("arm64")));
        let arm = match &arm_zip {
            Some(Ok(z)) => f2(mb(*z)),
            Some(Err(e)) => e.clone(),
            None => "—".into(),
        };
        let speed = speed_bin_dir
            .map(|d| d.join(n))
            .filter(|b| b.is_file())
            .map(|b| {
                bootstrap_zip(&b, &work.join("speed"))
                    .map(|z| f2(mb(z)))
                    .unwrap_or_else(|e| e)
            })
            .unwrap_or_else(|| "—".into());
        match zip {
            Ok(z) => section.row(
                vec![n.clone(), f2(mb(raw_size)), f2(mb(z)), arm, speed],
                // The goal is the deployed (arm64) zip's; x86_64's stands in without one.
                Some(match arm_zip {
                    Some(Ok(a)) => format!("arm64 {} ≤4 MB", pass(a <= 4 * 1024 * 1024)),
                    _ => format!("x86_64 {} ≤4 MB", pass(z <= 4 * 1024 * 1024)),
                }),
            ),
            Err(e) => section.row(vec![n.clone(), f2(mb(raw_size)), e, arm, speed], None),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    section
}
