//! `cargo xtask dev`: the product on this machine, on its embedded defaults, until Ctrl-C.

use crate::cmd;
use crate::flags::DevArgs;
use crate::local_stack::{LocalStack, Options};

/// The database the dev stack uses (the app's default `DATABASE_URL` names it too).
const DATABASE: &str = "rising_stars";

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let mut stack = LocalStack::start(&Options {
        port: args.port,
        database: DATABASE.to_owned(),
        storage: None,
        cargo_profile: "dev".to_owned(),
        api: true,
        api_env: Vec::new(),
        // Short long-polls: the worker checks for Ctrl-C between polls, so it stops at once
        // instead of after up to 20 s (the production default, where ECS waits 120 s).
        worker_env: vec![("WORKER_POLL_WAIT_SECONDS".to_owned(), "2".to_owned())],
        log_dir: None,
    })
    .await?;
    let base_url = stack.base_url.clone();
    cmd::step("Rising Stars is running");
    cmd::note(format!("API:          {base_url}"));
    cmd::note(format!("API docs:     {base_url}/docs"));
    cmd::note(format!("OpenAPI:      {base_url}/openapi.json"));
    cmd::note(format!(
        "Storage:      {}",
        cmd::workspace_root().join("target/dev/storage").display()
    ));
    cmd::note(format!("Database:     {}", stack.database_url));
    cmd::note("Queue:        PostgreSQL table queue_messages; one worker processing jobs");
    cmd::note("Press Ctrl-C to stop.");

    let outcome = match &mut stack.api {
        Some(api) => tokio::select! {
            _ = tokio::signal::ctrl_c() => Ok(()),
            status = api.wait() => Err(format!("the API stopped on its own ({})", status?)),
            status = stack.worker.wait() => Err(format!("the worker stopped on its own ({})", status?)),
        },
        None => Ok(()),
    };
    cmd::step("Stopping");
    stack.stop().await;
    outcome.map_err(anyhow::Error::msg)
}
