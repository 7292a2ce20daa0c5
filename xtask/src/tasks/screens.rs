//! `cargo xtask screens`: the README's screens (`docs/ui`), taken in Chromium from a private
//! product holding the demo data set, so they show the product as a visitor meets it.

use crate::cmd;
use crate::console;
use crate::env::postgres::Postgres;
use crate::env::product::{Options, Product, fresh_run_dirs};
use crate::env::web;
use crate::tasks::demo;

/// The screens' own database, made anew each run.
const DATABASE: &str = "rising_stars_screens";

pub async fn run() -> anyhow::Result<()> {
    let build = web::ensure_built()?;
    web::ensure_browser()?;
    let postgres = Postgres::ensure().await?;
    postgres.drop_database(DATABASE).await?;
    let dirs = fresh_run_dirs("screens")?;
    let lowres = demo::lowres_clip()?;
    let product = Product::start(&Options {
        port: cmd::free_port()?,
        database: DATABASE.to_owned(),
        storage: Some(dirs.storage),
        mail: Some(dirs.mail.clone()),
        cargo_profile: "dev".to_owned(),
        api: true,
        api_env: vec![("WEB_DIR".to_owned(), build.display().to_string())],
        worker_env: vec![("WORKER_POLL_WAIT_SECONDS".to_owned(), "1".to_owned())],
        log_dir: Some(dirs.logs),
    })
    .await?;
    let outcome = async {
        demo::seed(&product.base_url, &dirs.mail, &product.pool).await?;
        let out = cmd::workspace_root().join("docs").join("ui");
        console::step(format!("Screens in Chromium into {}", out.display()));
        cmd::run(
            web::npm()
                .args(["exec", "--", "node", "scripts/screens.mjs"])
                .env("WEB_BASE_URL", &product.base_url)
                .env("OUT_DIR", &out)
                .env("DEMO_EMAIL", demo::first_player_email())
                .env("DEMO_PASSWORD", demo::DEMO_PASSWORD)
                .env("LOWRES_CLIP", &lowres),
        )
    }
    .await;
    product.stop().await;
    postgres.drop_database(DATABASE).await?;
    outcome
}
