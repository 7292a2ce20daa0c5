//! `cargo xtask staff add|remove|list`: staff accounts of the jury's desk. Locally it changes the
//! dev database (`cargo xtask dev`'s) or `--database-url`; with `--target <stack>` it runs
//! `rising-stars-api staff …` as a one-off ECS task of the stack's API image
//! (`deploy::one_off`) and prints what the task printed. Either way the change is recorded in the
//! audit log, and the same code (`platform::staff`) does it.

use anyhow::bail;

use crate::console;
use crate::deploy::{aws, one_off};
use crate::env::postgres::Postgres;
use crate::env::product::DEV_DATABASE;
use crate::flags::{AwsArgs, StaffArgs};

pub async fn run(args: StaffArgs) -> anyhow::Result<()> {
    let words = args.command_words();
    let command = match platform::staff::Command::parse(&words) {
        Ok(command) => command,
        Err(error) => bail!("{error}"),
    };
    if let Some(stack) = &args.target {
        let aws_args = AwsArgs {
            stack: stack.clone(),
            connection: args.connection.clone(),
        };
        console::step(format!(
            "staff {} on stack {stack} (a one-off task of its API image)",
            words.join(" ")
        ));
        let config = aws::sdk_config(&aws_args).await;
        let mut command_line = vec!["staff".to_owned()];
        command_line.extend(words);
        let ran = one_off::run_api_command(&config, &aws_args, command_line).await?;
        for line in &ran.output {
            console::note(line);
        }
        if ran.exit_code != Some(0) {
            bail!(
                "the task {} stopped with exit code {:?} ({})",
                ran.task_arn,
                ran.exit_code,
                ran.stopped_reason
            );
        }
        return Ok(());
    }
    // Held until the end: a private cluster started here stops when it is dropped.
    let mut _postgres = None;
    let pool = match &args.database_url {
        Some(url) => {
            console::step("staff on the database given");
            let pool = sqlx::PgPool::connect(url).await?;
            platform::db::migrate(&pool).await?;
            pool
        }
        None => {
            let postgres = _postgres.insert(Postgres::ensure().await?);
            console::step(format!("staff on the dev database {DEV_DATABASE}"));
            postgres.migrated(DEV_DATABASE).await?
        }
    };
    let (succeeded, lines) = command.run(&pool).await?;
    pool.close().await;
    for line in lines {
        console::note(line);
    }
    if !succeeded {
        bail!("nothing changed");
    }
    Ok(())
}
