//! One-off tasks on a deployed stack: the web service's task definition run once with the API
//! container's command replaced (`rising-stars-api staff …`), in the service's own network
//! placement, waited for until it stops. The task starts like any web task (the migration step
//! first), so it needs nothing the service does not already have: the API's database role, its
//! secrets, its subnets and security group.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_config::SdkConfig;
use aws_sdk_ecs::types::{ContainerOverride, LaunchType, TaskOverride};

use super::stack;
use crate::console;
use crate::flags::AwsArgs;

/// The API's container in the web task definition (`templates/rising-stars.yaml`).
pub const API_CONTAINER: &str = "web";
/// Who started the task, as ECS shows it.
pub const STARTED_BY: &str = "xtask-one-off";
/// The longest a one-off task may take, start-up (image pull, migration step) included.
const DEADLINE: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(3);

/// How a one-off task ended.
#[derive(Debug, Clone)]
pub struct Ran {
    pub task_arn: String,
    /// The API container's exit code (`None` if it never ran to an end).
    pub exit_code: Option<i32>,
    pub stopped_reason: String,
    /// Where its output is, and what it printed when that can be read.
    pub output: Vec<String>,
}

/// Runs the stack's API image once with `command` (the arguments of `rising-stars-api`), waits
/// for it to stop, and says how it ended.
pub async fn run_api_command(
    config: &SdkConfig,
    args: &AwsArgs,
    command: Vec<String>,
) -> anyhow::Result<Ran> {
    let cf = aws_sdk_cloudformation::Client::new(config);
    let Some(state) = stack::describe(&cf, &args.stack).await? else {
        bail!("stack {} does not exist", args.stack);
    };
    let cluster = state.output("ClusterName")?.to_owned();
    let service_name = state.output("WebServiceName")?;
    let ecs = aws_sdk_ecs::Client::new(config);
    let services = ecs
        .describe_services()
        .cluster(&cluster)
        .services(service_name)
        .send()
        .await
        .with_context(|| format!("describing the web service {service_name}"))?;
    let service = services
        .services()
        .first()
        .with_context(|| format!("no service {service_name} in cluster {cluster}"))?;
    let task_definition = service
        .task_definition()
        .context("the web service has no task definition")?
        .to_owned();
    let network = service
        .network_configuration()
        .cloned()
        .filter(|network| network.awsvpc_configuration().is_some())
        .context("the web service has no awsvpc network configuration (subnets, security group)")?;
    let log_group = log_group(&ecs, &task_definition).await?;
    let started = ecs
        .run_task()
        .cluster(&cluster)
        .task_definition(&task_definition)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .started_by(STARTED_BY)
        .overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(API_CONTAINER)
                        .set_command(Some(command))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .context("starting the one-off task")?;
    if let Some(failure) = started.failures().first() {
        bail!(
            "ECS did not start the task: {} {}",
            failure.reason().unwrap_or_default(),
            failure.detail().unwrap_or_default()
        );
    }
    let task_arn = started
        .tasks()
        .first()
        .and_then(|task| task.task_arn())
        .context("ECS started no task")?
        .to_owned();
    console::note(format!("task {task_arn} started; waiting for it to stop"));
    let began = Instant::now();
    loop {
        let described = ecs
            .describe_tasks()
            .cluster(&cluster)
            .tasks(&task_arn)
            .send()
            .await
            .context("describing the one-off task")?;
        let task = described
            .tasks()
            .first()
            .with_context(|| format!("the task {task_arn} is gone"))?;
        if task.last_status() == Some("STOPPED") {
            let exit_code = task
                .containers()
                .iter()
                .find(|container| container.name() == Some(API_CONTAINER))
                .and_then(|container| container.exit_code());
            let task_id = task_arn.rsplit('/').next().unwrap_or_default();
            let output = vec![format!(
                "its output: CloudWatch Logs group {log_group}, stream {API_CONTAINER}/{API_CONTAINER}/{task_id}"
            )];
            return Ok(Ran {
                exit_code,
                stopped_reason: task.stopped_reason().unwrap_or_default().to_owned(),
                task_arn,
                output,
            });
        }
        if began.elapsed() > DEADLINE {
            bail!(
                "the task {task_arn} has not stopped within {} s (last status {:?}); stop it with \
                 `aws ecs stop-task --cluster {cluster} --task {task_arn}`",
                DEADLINE.as_secs(),
                task.last_status().unwrap_or_default()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The log group the API container writes to.
async fn log_group(ecs: &aws_sdk_ecs::Client, task_definition: &str) -> anyhow::Result<String> {
    let described = ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .with_context(|| format!("describing the task definition {task_definition}"))?;
    let group = described
        .task_definition()
        .map(|definition| definition.container_definitions())
        .unwrap_or_default()
        .iter()
        .find(|container| container.name() == Some(API_CONTAINER))
        .and_then(|container| container.log_configuration())
        .and_then(|logs| logs.options())
        .and_then(|options| options.get("awslogs-group"))
        .cloned();
    Ok(group.unwrap_or_else(|| "(none configured)".to_owned()))
}
