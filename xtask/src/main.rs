//! `cargo xtask`: every operation a developer or operator runs, one module per task.

mod apt;
mod aws;
mod bench;
mod cmd;
mod deploy;
mod dev;
mod flags;
mod image;
mod loadtest;
mod local_stack;
mod moto;
mod openapi;
mod postgres;
mod registry;
mod registry_server;
mod seed;
mod stack;
#[cfg(test)]
mod template_checks;
mod test;
mod venv;
mod web;
mod web_suite;
mod workload;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let flags = flags::Xtask::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("xtask: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match flags.task {
            flags::Task::Dev(args) => dev::run(args).await,
            flags::Task::Test(args) => test::run(args).await,
            flags::Task::Openapi => openapi::run(),
            flags::Task::Seed(args) => seed::run(args).await,
            flags::Task::Bench(args) => bench::run(args).await,
            flags::Task::Images(args) => image::run(args).await,
            flags::Task::Synth(args) => deploy::synth(args),
            flags::Task::Diff(args) => deploy::diff(args).await,
            flags::Task::Deploy(args) => deploy::deploy(args).await,
            flags::Task::Destroy(args) => deploy::destroy(args).await,
            flags::Task::Status(args) => deploy::status(args).await,
            flags::Task::Loadtest(args) => loadtest::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
