//! The API server's entry point: configuration from the environment, then serve until stopped.

use app::config::Settings;
use app::startup::Application;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    platform::telemetry::init();
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
