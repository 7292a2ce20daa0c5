//! `cargo xtask`: every operation a developer or operator runs, one module per task.

#[path = "env/apt.rs"]
mod apt;
#[path = "deploy/aws.rs"]
mod aws;
#[path = "tasks/bench.rs"]
mod bench;
mod cmd;
#[path = "tasks/deploy.rs"]
mod deploy;
#[path = "tasks/dev.rs"]
mod dev;
mod flags;
#[path = "deploy/image.rs"]
mod image;
mod loadtest;
#[path = "env/local_stack.rs"]
mod local_stack;
#[path = "env/moto.rs"]
mod moto;
#[path = "tasks/openapi.rs"]
mod openapi;
#[path = "env/postgres.rs"]
mod postgres;
#[path = "deploy/registry.rs"]
mod registry;
#[path = "env/registry_server.rs"]
mod registry_server;
#[path = "tasks/seed.rs"]
mod seed;
#[path = "deploy/stack.rs"]
mod stack;
#[cfg(test)]
#[path = "deploy/template_checks.rs"]
mod template_checks;
#[path = "tasks/test.rs"]
mod test;
#[path = "env/venv.rs"]
mod venv;
#[path = "env/web.rs"]
mod web;
#[path = "tasks/web_suite.rs"]
mod web_suite;
#[path = "loadtest/workload.rs"]
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
