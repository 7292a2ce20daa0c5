//! `cargo xtask openapi`: rewrites docs/openapi.json through the test that guards it, so the
//! document is produced by exactly the code the server runs.

use crate::cmd::{self, cargo};
use crate::console;

pub fn run() -> anyhow::Result<()> {
    console::step("Regenerating docs/openapi.json");
    cmd::run(
        cargo()
            .args([
                "nextest",
                "run",
                // The test lives in the app; the tests crate, whose client is generated from the
                // document, may not build until the document is regenerated.
                "--package",
                "app",
                "--no-tests=fail",
                "-E",
                "test(the_committed_openapi_document_is_current)",
            ])
            .env("UPDATE_OPENAPI", "1"),
    )?;
    console::note("written: docs/openapi.json");
    Ok(())
}
