//! `cargo xtask dev`: the product on this machine, on its embedded defaults, until Ctrl-C; the
//! verification links it mails are printed as they arrive.

use crate::cmd;
use crate::console;
use crate::env::mail;
use crate::env::product::{DEV_DATABASE, Options, Product, dev_mail_dir};
use crate::env::web;
use crate::flags::DevArgs;
use crate::tasks::demo;

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    let web_build = web::ensure_built()?;
    let mail_dir = dev_mail_dir();
    let mut product = Product::start(&Options {
        port: args.port,
        database: DEV_DATABASE.to_owned(),
        storage: None,
        mail: Some(mail_dir.clone()),
        cargo_profile: "dev".to_owned(),
        api: true,
        api_env: vec![("WEB_DIR".to_owned(), web_build.display().to_string())],
        // Short long-polls: the worker checks for Ctrl-C between polls, so it stops at once
        // instead of after up to 20 s (the production default, where ECS waits 120 s).
        worker_env: vec![("WORKER_POLL_WAIT_SECONDS".to_owned(), "2".to_owned())],
        log_dir: None,
    })
    .await?;
    let base_url = product.base_url.clone();
    let mut vite = match args.web {
        true => Some(start_vite(&base_url)?),
        false => None,
    };
    console::step("Rising Stars is running");
    console::note(format!("Web app:      {base_url}/"));
    if vite.is_some() {
        console::note(format!(
            "Web (live):   http://127.0.0.1:{VITE_PORT}/ (Vite, hot reload; API calls go to {base_url})"
        ));
    }
    console::note(format!("API:          {base_url}/api"));
    console::note(format!("API docs:     {base_url}/docs"));
    console::note(format!("OpenAPI:      {base_url}/openapi.json"));
    console::note(format!(
        "Storage:      {}",
        cmd::workspace_root().join("target/dev/storage").display()
    ));
    console::note(format!("Database:     {}", product.database_url));
    console::note("Queue:        PostgreSQL table queue_messages; one worker processing jobs");
    console::note(format!(
        "Mail:         {} (one .eml file per message; each verification link is printed below as it arrives)",
        mail_dir.display()
    ));
    console::note("Press Ctrl-C to stop.");
    let mail_watch = mail::watch(mail_dir.clone(), demo::is_demo_address);

    // An empty showcase gets the demo data set, made through the API while it runs.
    let mut demo = (!args.no_demo).then(|| {
        let base_url = base_url.clone();
        let mail_dir = mail_dir.clone();
        let pool = product.pool.clone();
        tokio::spawn(async move { demo::seed(&base_url, &mail_dir, &pool).await })
    });
    let outcome = match &mut product.api {
        Some(api) => loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break Ok(()),
                status = api.wait() => break Err(format!("the API stopped on its own ({})", status?)),
                status = product.worker.wait() => break Err(format!("the worker stopped on its own ({})", status?)),
                seeded = async {
                    match demo.as_mut() {
                        Some(task) => task.await,
                        None => std::future::pending().await,
                    }
                } => {
                    demo = None;
                    match seeded {
                        Ok(Ok(())) => console::note("Demo data ready: Ctrl-C to stop"),
                        Ok(Err(error)) => console::note(format!("Demo data not added: {error:#}")),
                        Err(error) => console::note(format!("Demo data not added: {error}")),
                    }
                }
            }
        },
        None => Ok(()),
    };
    if let Some(demo) = demo {
        demo.abort();
    }
    mail_watch.abort();
    console::step("Stopping");
    if let Some(vite) = &mut vite {
        cmd::terminate(vite, "Vite").await;
    }
    product.stop().await;
    outcome.map_err(anyhow::Error::msg)
}

/// Vite's port (`web/vite.config.ts` says the same).
const VITE_PORT: u16 = 5173;

/// Vite's dev server on the web sources, proxying the API's paths to `api_url`.
fn start_vite(api_url: &str) -> anyhow::Result<tokio::process::Child> {
    console::step("Starting Vite's dev server (npm run dev)");
    cmd::spawn(
        tokio::process::Command::new("npm")
            .args(["run", "dev"])
            .current_dir(web::dir())
            .env("API_URL", api_url)
            .stdin(std::process::Stdio::null())
            // Its own process group: npm does not pass a signal on to Vite, so `cmd::terminate`
            // stops the whole group.
            .process_group(0),
    )
}
