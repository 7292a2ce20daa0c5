//! The whole deployment against emulators: `cargo xtask deploy` pushes the images to the test
//! registry (logging in with the emulated ECR's token) and creates the stack in moto; the result
//! is read back through the CloudFormation, ECS and SQS APIs; a second deploy changes nothing;
//! `status` and `destroy` work.

use std::process::Stdio;

use anyhow::Context;
use end_to_end::xtask;

const STACK: &str = "e2e-deploy";

/// Runs `xtask <args>` to completion; returns its standard output, failing on a non-zero exit.
async fn run_xtask(args: &[&str]) -> anyhow::Result<String> {
    let output = xtask()?
        .args(args)
        // Log in to the test registry with the emulated ECR's token, as a deploy does with ECR.
        .env_remove("REGISTRY_USERNAME")
        .env_remove("REGISTRY_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .await
        .context("cannot run xtask")?;
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

fn deploy_args(registry: &str) -> Vec<&str> {
    vec![
        "deploy",
        "--stack",
        STACK,
        "--cargo-profile",
        "dev",
        "--registry",
        registry,
        "--param",
        "WorkerMinTasks=0",
        // moto has no CloudFormation support for CloudFront distributions (templates/README.md).
        "--param",
        "PublicEndpoint=plain-http-insecure",
    ]
}

#[tokio::test]
async fn deploy_to_the_emulators_then_redeploy_nothing_then_destroy() -> anyhow::Result<()> {
    let registry = std::env::var("REGISTRY_URL").context("REGISTRY_URL: run `cargo xtask test`")?;
    let aws = testkit::aws_config().await?;
    let cloudformation = aws_sdk_cloudformation::Client::new(&aws);

    let before = run_xtask(&["diff", "--stack", STACK]).await?;
    assert!(before.contains("does not exist"), "{before}");
    assert!(before.contains("AWS::ECS::Service"), "{before}");

    let first = run_xtask(&deploy_args(&registry)).await?;
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
        let image = definition
            .task_definition()
            .and_then(|task| task.container_definitions().first())
            .and_then(|container| container.image())
            .unwrap_or_default()
            .to_owned();
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
    let scale_out = {
        let ecs = ecs.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            ecs.update_service()
                .cluster(cluster)
                .service(web)
                .desired_count(3)
                .send()
                .await
        })
    };
    let results = tempfile::tempdir()?;
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

    // Nothing changed: nothing is pushed and the stack is left alone.
    let second = run_xtask(&deploy_args(&registry)).await?;
    assert!(second.contains("no changes"), "{second}");
    assert!(!second.contains("uploading"), "{second}");

    let unchanged = run_xtask(&["diff", "--stack", STACK]).await?;
    assert!(unchanged.contains("no changes"), "{unchanged}");

    let status = run_xtask(&["status", "--stack", STACK]).await?;
    for expected in [
        "desired",
        "running",
        "visible",
        "dead letter",
        "Latest stack events",
    ] {
        assert!(status.contains(expected), "{expected}: {status}");
    }

    run_xtask(&["destroy", "--stack", STACK]).await?;
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
