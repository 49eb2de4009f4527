//! Writes the packet captures of the shipped scenarios into `scenarios/captures/`.
//!
//! ```text
//! cargo run -p safecare-cli --example scenario_captures            # the repository's folder
//! cargo run -p safecare-cli --example scenario_captures -- /tmp/x  # another folder
//! ```
//!
//! The captures are generated packet by packet by `safecare_cli::captures`; a test checks
//! that the committed files are byte for byte what this writes.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let folder = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../scenarios/captures"
            ))
        });
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("could not create {}", folder.display()))?;

    for (name, generate) in safecare_cli::captures::GENERATED {
        let path = folder.join(name);
        let bytes = generate();
        std::fs::write(&path, &bytes)
            .with_context(|| format!("could not write {}", path.display()))?;
        println!("{}: {} bytes", path.display(), bytes.len());
    }
    Ok(())
}
