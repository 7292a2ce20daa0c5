//! The API server's entry point: configuration from the environment, then serve until stopped;
//! or, as `rising-stars-api migrate`, the one-shot migration step of a deployment; or, as
//! `rising-stars-api staff …`, an operator's command on staff accounts (a one-off task on a
//! deployed stack: `cargo xtask staff … --target <stack>`).

use app::config::Settings;
use app::startup::Application;

const USAGE: &str = "usage: rising-stars-api [migrate | staff …]
  (no argument)  serve the API (configuration from the environment)
  migrate        apply the schema migrations as the database's owner, then create or update the
                 API's and the worker's roles and their grants (DATABASE_API_USER/_PASSWORD,
                 DATABASE_WORKER_USER/_PASSWORD), and exit
  staff add <email> [--reason <text>]     make an account staff (recorded in the audit log)
  staff remove <email> [--reason <text>]  take the staff role back
  staff list                              list the staff accounts";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::telemetry::init();
    match std::env::args().nth(1).as_deref() {
        None => serve().await,
        Some("migrate") => migrate().await,
        Some("staff") => staff(std::env::args().skip(2).collect()).await,
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

/// An operator's command on staff accounts; prints what it did on standard output.
async fn staff(args: Vec<String>) -> std::process::ExitCode {
    let command = match platform::staff::Command::parse(&args) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("rising-stars-api staff: {error}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = async {
        let database = platform::config::DatabaseSettings::from_env()?;
        let pool = platform::db::connect(&database).await?;
        let outcome = command.run(&pool).await?;
        pool.close().await;
        anyhow::Ok(outcome)
    };
    match result.await {
        Ok((succeeded, lines)) => {
            for line in lines {
                println!("{line}");
            }
            match succeeded {
                true => std::process::ExitCode::SUCCESS,
                false => std::process::ExitCode::FAILURE,
            }
        }
        Err(error) => {
            eprintln!("rising-stars-api staff: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
