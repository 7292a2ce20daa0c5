//! The API server's entry point: configuration from the environment, then serve until stopped;
//! or, as `rising-stars-api migrate`, the one-shot migration step of a deployment.

use app::config::Settings;
use app::startup::Application;

const USAGE: &str = "usage: rising-stars-api [migrate]
  (no argument)  serve the API (configuration from the environment)
  migrate        apply the schema migrations as the database's owner, then create or update the
                 API's and the worker's roles and their grants (DATABASE_API_USER/_PASSWORD,
                 DATABASE_WORKER_USER/_PASSWORD), and exit";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::telemetry::init();
    match std::env::args().nth(1).as_deref() {
        None => serve().await,
        Some("migrate") => migrate().await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            std::process::ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("rising-stars-api: unknown command {other:?}\n{USAGE}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve() -> std::process::ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("rising-stars-api: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("rising-stars-api: {error:#}");
            return std::process::ExitCode::from(2);
        }
    };
    match application.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rising-stars-api: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The migration step: the only program that holds the master credentials (in the stack, a
/// container that runs before the API's in each web task and exits).
async fn migrate() -> std::process::ExitCode {
    match app::migrate::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rising-stars-api migrate: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
