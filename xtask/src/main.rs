//! `cargo xtask`: every operation a developer or operator runs. This file and `flags.rs` are the
//! front door: the command line is declared in `flags.rs`, and each task is dispatched from here
//! to `tasks/` (or `loadtest/`), which build on the layers in `deploy/` and `env/`.

mod cmd;
mod console;
mod deploy;
mod env;
mod flags;
mod loadtest;
mod tasks;
#[cfg(test)]
mod tidy;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let flags = flags::Xtask::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            console::error(format!("cannot start the async runtime: {error}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match flags.task {
            flags::Task::Dev(args) => tasks::dev::run(args).await,
            flags::Task::Test(args) => tasks::test::run(args).await,
            flags::Task::Openapi => tasks::openapi::run(),
            flags::Task::Seed(args) => tasks::seed::run(args).await,
            flags::Task::Screens => tasks::screens::run().await,
            flags::Task::Bench(args) => tasks::bench::run(args).await,
            flags::Task::Images(args) => tasks::images::run(args).await,
            flags::Task::Synth(args) => tasks::deploy::synth(args),
            flags::Task::Diff(args) => tasks::deploy::diff(args).await,
            flags::Task::Deploy(args) => tasks::deploy::deploy(args).await,
            flags::Task::Destroy(args) => tasks::deploy::destroy(args).await,
            flags::Task::Status(args) => tasks::deploy::status(args).await,
            flags::Task::Loadtest(args) => loadtest::run(args).await,
            flags::Task::Staff(args) => tasks::staff::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            console::error(format!("error: {error:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}
