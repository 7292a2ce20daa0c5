//! `cargo xtask`: every operation a developer or operator runs, one module per task.

mod apt;
mod bench;
mod cmd;
mod dev;
mod flags;
mod moto;
mod openapi;
mod postgres;
mod seed;
mod test;

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
