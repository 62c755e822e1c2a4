//! Writes the JSON Schema of `report.json` to `crates/rollout/schema/report.schema.json`.
//!
//! Run after changing the report model: `cargo run -p rollout --example write-schema`.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    std::fs::write(&path, rollout::report::schema_text())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
