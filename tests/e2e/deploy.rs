//! The whole deployment against emulators, run as docs/operations.md tells a person to ("Without
//! an AWS account"): `cargo xtask deploy --endpoint-url <moto> --registry <registry> --cargo-profile
//! dev` says in one line that moto has no CloudFront and deploys plain HTTP, pushes the images to
//! the test registry (logging in with the emulated ECR's token) and creates the stack in moto; the
//! result is read back through the CloudFormation, ECS and SQS APIs; a second deploy changes
//! nothing; `status` and `destroy` work.

use std::process::Stdio;

use anyhow::Context;
use end_to_end::xtask;

const STACK: &str = "e2e-deploy";

/// The emulator's endpoint, given to xtask with `--endpoint-url` as a person would.
fn endpoint() -> anyhow::Result<String> {
    std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL: run `cargo xtask test`")
}

/// Runs `xtask <args>` to completion, the AWS endpoint given only by `--endpoint-url` in `args`;
/// returns its standard output and error, failing on a non-zero exit.
async fn run_xtask(args: &[&str]) -> anyhow::Result<String> {
    let output = xtask_output(args).await?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "xtask {} failed ({}):\n{stdout}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

async fn xtask_output(args: &[&str]) -> anyhow::Result<std::process::Output> {
    xtask()?
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        // Log in to the test registry with the emulated ECR's token, as a deploy does with ECR.
        .env_remove("REGISTRY_USERNAME")
        .env_remove("REGISTRY_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run xtask")
}

/// The address the stack's verification mail comes from, and the parameter that says so.
const MAIL_SENDER: &str = "no-reply@rising-stars.example";
const MAIL_SENDER_PARAM: &str = "MailSender=no-reply@rising-stars.example";

/// The by-hand deploy of docs/operations.md, on this test's stack: only the sender's address as
/// `--param` (xtask itself leaves out the CloudFront that moto cannot create).
fn deploy_args<'a>(endpoint: &'a str, registry: &'a str) -> Vec<&'a str> {
    vec![
        "deploy",
        "--endpoint-url",
        endpoint,
        "--registry",
        registry,
        "--cargo-profile",
        "dev",
        "--stack",
        STACK,
        "--param",
        MAIL_SENDER_PARAM,
    ]
}

/// The one line a deploy to moto starts with.
const NO_CLOUDFRONT: &str = "moto has no CloudFront in CloudFormation: deploying with --param PublicEndpoint=plain-http-insecure";

#[tokio::test]
async fn a_cloudfront_deploy_to_moto_is_refused_in_one_line_before_anything_is_built()
-> anyhow::Result<()> {
    let endpoint = endpoint()?;
    let stack = "e2e-deploy-cloudfront";
    let output = xtask_output(&[
        "deploy",
        "--endpoint-url",
        &endpoint,
        "--registry",
        "http://127.0.0.1:9",
        "--stack",
        stack,
        "--param",
        "PublicEndpoint=cloudfront",
    ])
    .await?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    let error: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("xtask: error:"))
        .collect();
    assert_eq!(
        error,
        [
            "xtask: error: moto has no CloudFront in CloudFormation: --param PublicEndpoint=cloudfront \
          cannot be deployed there (leave it out, or give plain-http-insecure)"
        ],
        "{stderr}"
    );
    assert!(!stdout.contains("Building"), "nothing is built: {stdout}");
    let aws = testkit::aws_config().await?;
    let described = aws_sdk_cloudformation::Client::new(&aws)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await;
    assert!(described.is_err(), "no stack is created: {described:?}");
    Ok(())
}

#[tokio::test]
async fn deploy_to_the_emulators_then_redeploy_nothing_then_destroy() -> anyhow::Result<()> {
    let registry = std::env::var("REGISTRY_URL").context("REGISTRY_URL: run `cargo xtask test`")?;
    let endpoint = endpoint()?;
    let aws = testkit::aws_config().await?;
    let cloudformation = aws_sdk_cloudformation::Client::new(&aws);

    let before = run_xtask(&["diff", "--endpoint-url", &endpoint, "--stack", STACK]).await?;
    assert!(before.contains("does not exist"), "{before}");
    assert!(before.contains("AWS::ECS::Service"), "{before}");

    let first = run_xtask(&deploy_args(&endpoint, &registry)).await?;
    assert!(first.contains(NO_CLOUDFRONT), "{first}");
    assert!(first.contains("Add"), "the first deploy creates: {first}");
    assert!(first.contains("API: http://"), "{first}");

    let stacks = cloudformation
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await?;
    let stack = &stacks.stacks()[0];
    let status = stack.stack_status().map(|s| s.as_str()).unwrap_or_default();
    assert!(
        status.ends_with("_COMPLETE") && !status.contains("ROLLBACK"),
        "{status}"
    );
    let output = |name: &str| {
        stack
            .outputs()
            .iter()
            .find(|output| output.output_key() == Some(name))
            .and_then(|output| output.output_value())
            .map(str::to_owned)
            .with_context(|| format!("no output {name}"))
    };

    // The services exist, and their task definitions name the pushed images by digest.
    let ecs = aws_sdk_ecs::Client::new(&aws);
    let services = ecs
        .describe_services()
        .cluster(output("ClusterName")?)
        .services(output("WebServiceName")?)
        .services(output("WorkerServiceName")?)
        .send()
        .await?;
    assert_eq!(services.services().len(), 2, "{services:?}");
    let host = registry.trim_start_matches("http://");
    for service in services.services() {
        assert_eq!(service.status(), Some("ACTIVE"));
        let definition = ecs
            .describe_task_definition()
            .task_definition(service.task_definition().unwrap_or_default())
            .send()
            .await?;
        let container = definition
            .task_definition()
            .and_then(|task| task.container_definitions().first());
        let image = container
            .and_then(|container| container.image())
            .unwrap_or_default()
            .to_owned();
        // The API mails through SES from the given sender, with links to the stack's address.
        let environment: std::collections::HashMap<&str, &str> = container
            .map(|container| container.environment())
            .unwrap_or_default()
            .iter()
            .filter_map(|pair| Some((pair.name()?, pair.value()?)))
            .collect();
        // Each service logs in as its own database role; only the migrate container, first in
        // each web task, is given the master user.
        let containers = definition
            .task_definition()
            .map(|task| task.container_definitions())
            .unwrap_or_default();
        let users: Vec<(&str, &str)> = containers
            .iter()
            .filter_map(|container| {
                let user = container
                    .environment()
                    .iter()
                    .find(|pair| pair.name() == Some("DATABASE_USER"))?
                    .value()?;
                Some((container.name()?, user))
            })
            .collect();
        match container.and_then(|container| container.name()) {
            Some("web") => assert_eq!(
                users,
                [("web", "rising_stars_api"), ("migrate", "rising_stars")]
            ),
            _ => assert_eq!(users, [("worker", "rising_stars_worker")]),
        }
        if container.and_then(|container| container.name()) == Some("web") {
            assert_eq!(
                environment.get("MAIL_URL").copied(),
                Some(format!("ses:{MAIL_SENDER}").as_str()),
                "{environment:?}"
            );
            assert!(
                environment
                    .get("PUBLIC_BASE_URL")
                    .is_some_and(|url| url.starts_with("http://")),
                "{environment:?}"
            );
        }
        assert!(
            image.starts_with(&format!("{host}/{STACK}/")) && image.contains("@sha256:"),
            "{image}"
        );
        // The registry has exactly that manifest.
        let (repository, digest) = image
            .trim_start_matches(&format!("{host}/"))
            .split_once('@')
            .context("no digest")?;
        let manifest = reqwest::Client::new()
            .head(format!("{registry}/v2/{repository}/manifests/{digest}"))
            .basic_auth(
                std::env::var("REGISTRY_USERNAME")?,
                std::env::var("REGISTRY_PASSWORD").ok(),
            )
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
            .await?;
        assert_eq!(manifest.status(), 200, "{image}");
    }

    // An operator's staff command on the stack (docs/operations.md, "Staff accounts") is a
    // one-off ECS task of the web task definition in the web service's network. moto cannot run
    // one, for three reasons met here (moto 5): its CloudFormation drops the service's
    // `NetworkConfiguration` (the service reads back with none); given one by `UpdateService`,
    // its `RunTask` for a Fargate task definition sums each container's `memory` (which Fargate
    // leaves to the task) and fails with `TypeError: unsupported operand type(s) for +=: 'int'
    // and 'NoneType'` (an HTML 500); given container memory too, it fails building the task's
    // network interface (`AttributeError: 'NetworkInterface' object has no attribute
    // 'private_dns_name'`). What it can check: xtask finds the stack's cluster and web service
    // and refuses in one line, before starting anything, when the service has no subnets to run
    // the task in.
    let staff = xtask_output(&[
        "staff",
        "add",
        "ana@federacion.co",
        "--target",
        STACK,
        "--endpoint-url",
        &endpoint,
    ])
    .await?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&staff.stdout),
        String::from_utf8_lossy(&staff.stderr)
    );
    assert!(!staff.status.success(), "{printed}");
    assert!(
        printed.contains("staff add ana@federacion.co on stack e2e-deploy")
            && printed.contains("the web service has no awsvpc network configuration"),
        "{printed}"
    );
    let started = ecs
        .list_tasks()
        .cluster(output("ClusterName")?)
        .started_by("xtask-one-off")
        .send()
        .await?;
    assert!(started.task_arns().is_empty(), "{started:?}");

    // The jobs queue dead-letters after three receives and outlasts a job's visibility cycle.
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(output("QueueUrl")?)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await?;
    let attributes = attributes.attributes().context("no attributes")?;
    let redrive = &attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
    assert!(
        redrive.contains("\"maxReceiveCount\":3") || redrive.contains("\"maxReceiveCount\": 3"),
        "{redrive}"
    );
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        "180"
    );

    // The load-test sampler reads the emulated ECS and SQS APIs: a desired count changed through
    // the ECS API during a run shows in the timeline as a scale-out (moto scales nothing itself).
    let local = crate::local_backends().await?;
    let api = end_to_end::RunningApi::start(&local.env).await?;
    let (cluster, web) = (output("ClusterName")?, output("WebServiceName")?);
    let results = tempfile::tempdir()?;
    // The scale-out must fall after the run's first sample (taken just before k6 starts, when
    // `k6.log` appears), or the timeline starts at 3 tasks and shows no change: a fixed delay from
    // here lost that race on a loaded machine, where starting the load test took longer.
    let scale_out = {
        let ecs = ecs.clone();
        let out = results.path().to_path_buf();
        tokio::spawn(async move {
            let started = |out: &std::path::Path| {
                std::fs::read_dir(out)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|entry| entry.path().join("k6.log").exists())
            };
            while !started(&out) {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            ecs.update_service()
                .cluster(cluster)
                .service(web)
                .desired_count(3)
                .send()
                .await
        })
    };
    let folder = crate::loadtest::loadtest(
        &[
            "--scenario",
            "web",
            "--url",
            &api.base_url,
            "--target",
            STACK,
            "--vus",
            "2",
            "--duration",
            "12s",
            "--interval",
            "2",
        ],
        results.path(),
    )
    .await?;
    scale_out.await??;
    let summary = crate::loadtest::checked_results(&folder)?;
    let markers = summary["markers"].to_string();
    assert!(markers.contains("web scale-out"), "{summary}");
    let rows = crate::loadtest::timeline(&folder)?;
    assert!(rows.iter().any(|row| row["web_desired"] == "3"), "{rows:?}");
    assert!(rows.iter().all(|row| row["dead_letter"] == "0"), "{rows:?}");

    // No origin secret to rotate on a plain-HTTP stack: refused before anything is built.
    let mut rotate = deploy_args(&endpoint, &registry);
    rotate.push("--rotate-origin-secret");
    let refused = xtask_output(&rotate).await?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "--rotate-origin-secret: PublicEndpoint is plain-http-insecure; only cloudfront has an origin secret"
        ),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&refused.stdout).contains("Building"));

    // Nothing changed: nothing is pushed and the stack is left alone.
    let second = run_xtask(&deploy_args(&endpoint, &registry)).await?;
    assert!(second.contains("no changes"), "{second}");
    assert!(!second.contains("uploading"), "{second}");

    let unchanged = run_xtask(&["diff", "--endpoint-url", &endpoint, "--stack", STACK]).await?;
    assert!(unchanged.contains("no changes"), "{unchanged}");

    let status = run_xtask(&["status", "--endpoint-url", &endpoint, "--stack", STACK]).await?;
    for expected in [
        "desired",
        "running",
        "visible",
        "dead letter",
        "Latest stack events",
    ] {
        assert!(status.contains(expected), "{expected}: {status}");
    }

    run_xtask(&["destroy", "--endpoint-url", &endpoint, "--stack", STACK]).await?;
    let gone = cloudformation
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await;
    let deleted = match gone {
        Err(_) => true,
        Ok(answer) => answer
            .stacks()
            .iter()
            .all(|stack| stack.stack_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE")),
    };
    assert!(deleted, "the stack is still there");
    Ok(())
}
