//! `synth`, `diff`, `deploy`, `destroy` and `status`: the stack of `templates/` on AWS (or on an
//! emulator given by `--endpoint-url`).

use std::collections::BTreeMap;

use anyhow::Context;

use crate::console;
use crate::deploy::change_set::{self, Change, Plan};
use crate::deploy::template::{self, Rendered};
use crate::deploy::{aws, emulator, events, image, origin, registry, resources, stack};
use crate::flags::{AwsArgs, DeployArgs, DiffArgs, SynthArgs};

/// Parses repeated `--param Name=Value` flags.
fn parameters(given: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    given
        .iter()
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .with_context(|| format!("--param {pair}: expected Name=Value"))?;
            Ok((name.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

/// The parameters given with `--param`, fitted to an emulator behind the endpoint (one line says
/// what it cannot do; a parameter it cannot deploy is refused before anything is built).
async fn parameters_for(
    config: &aws_config::SdkConfig,
    given: &[String],
    doing: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut parameters = parameters(given)?;
    if let Some(emulator) = emulator::detect(config).await
        && let Some(line) = emulator::accommodate(emulator, &mut parameters, doing)?
    {
        console::step(line);
    }
    Ok(parameters)
}

/// Builds the images and, with `push`, pushes them; returns the `WebImage` and `WorkerImage`
/// parameters, each pinned by digest (a task definition then names exactly what was built).
async fn image_parameters(
    stack_name: &str,
    config: &aws_config::SdkConfig,
    registry: Option<&str>,
    cargo_profile: &str,
    push: bool,
) -> anyhow::Result<BTreeMap<String, String>> {
    let images = image::build(cargo_profile)?;
    let registry = registry::connect(config, registry).await?;
    let mut references: Vec<(&str, String)> = Vec::new();
    if push {
        for pushed in registry::push_images(&registry, stack_name, &images).await? {
            references.push((pushed.name, pushed.digest_reference));
        }
    } else {
        for image in &images {
            let repository = registry::repository(stack_name, image.name);
            references.push((
                image.name,
                format!("{}/{repository}@{}", registry.host(), image.manifest_digest),
            ));
        }
    }
    references
        .into_iter()
        .map(|(name, reference)| match name {
            "api" => Ok(("WebImage".to_owned(), reference)),
            "worker" => Ok(("WorkerImage".to_owned(), reference)),
            other => anyhow::bail!("an image named {other} has no template parameter"),
        })
        .collect()
}

/// `cargo xtask synth`: renders the template and its parameters into the target folder and lints
/// what would be deployed.
pub fn synth(args: SynthArgs) -> anyhow::Result<()> {
    console::step(format!("Rendering {}", template::TEMPLATE));
    let mut given = parameters(&args.params)?;
    // Images are pushed by `deploy`; synth stands in placeholders so the result is lintable, and
    // so for the one other parameter without a default, the sender's address.
    for name in ["WebImage", "WorkerImage"] {
        given
            .entry(name.to_owned())
            .or_insert_with(|| format!("example.invalid/{}:synth", name.to_lowercase()));
    }
    given
        .entry("MailSender".to_owned())
        .or_insert_with(|| "no-reply@example.invalid".to_owned());
    let rendered = template::render(&given, false)?;
    let dir = template::write(&rendered, &args.stack)?;
    console::note(format!(
        "{} resources, {} parameters, {} bytes → {}",
        rendered.template["Resources"]
            .as_object()
            .map_or(0, serde_json::Map::len),
        rendered.parameters.len(),
        rendered.body.len(),
        dir.display()
    ));
    if args.no_lint {
        return Ok(());
    }
    template::lint(&dir.join("template.json"))
}

/// `cargo xtask diff`: what a deploy would change, as a table.
pub async fn diff(args: DiffArgs) -> anyhow::Result<()> {
    let config = aws::sdk_config(&args.aws).await;
    let cf = aws_sdk_cloudformation::Client::new(&config);
    let stack_name = &args.aws.stack;
    let mut given = parameters_for(&config, &args.params, "planning").await?;
    let existing = stack::describe(&cf, stack_name).await?;
    if args.images {
        given.extend(
            image_parameters(
                &args.aws.stack,
                &config,
                args.registry.as_deref(),
                &args.cargo_profile,
                false,
            )
            .await?,
        );
    }
    let rendered = template::render(&given, true)?;
    let Some(existing) = existing else {
        console::step(format!(
            "Stack {stack_name} does not exist: a deploy creates it"
        ));
        let additions: Vec<Change> = rendered.template["Resources"]
            .as_object()
            .map(|resources| {
                resources
                    .iter()
                    .map(|(id, resource)| Change {
                        action: "Add".to_owned(),
                        logical_id: id.clone(),
                        resource_type: resource["Type"].as_str().unwrap_or("").to_owned(),
                        replacement: String::new(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        console::block(change_set::change_table(&additions));
        return Ok(());
    };
    console::step(format!(
        "Change set against {stack_name} ({})",
        existing.status
    ));
    match change_set::plan(&cf, stack_name, &rendered, Some(&existing)).await? {
        Plan::NoChanges => console::note("no changes"),
        Plan::Ready { name, changes } => {
            console::block(change_set::change_table(&changes));
            cf.delete_change_set()
                .stack_name(stack_name)
                .change_set_name(&name)
                .send()
                .await
                .context("deleting the review change set")?;
        }
    }
    Ok(())
}

/// `cargo xtask deploy`: images → push → change set → execute with live events → outputs.
pub async fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let config = aws::sdk_config(&args.aws).await;
    let cf = aws_sdk_cloudformation::Client::new(&config);
    let stack_name = &args.aws.stack;
    let mut given = parameters_for(&config, &args.params, "deploying").await?;
    let existing = stack::describe(&cf, stack_name).await?;
    if args.rotate_origin_secret {
        rotation_possible(stack_name, existing.as_ref(), &given)?;
    }
    given.extend(
        image_parameters(
            stack_name,
            &config,
            args.registry.as_deref(),
            &args.cargo_profile,
            true,
        )
        .await?,
    );
    if let Some(state) = &existing
        && state.status == "ROLLBACK_COMPLETE"
    {
        anyhow::bail!(
            "stack {stack_name} is in ROLLBACK_COMPLETE (its creation failed) and cannot be updated: \
             run `cargo xtask destroy --stack {stack_name}` first"
        );
    }
    let rotation = match args.rotate_origin_secret {
        true => Some(rotate_origin_secret(&config, &cf, stack_name).await?),
        false => None,
    };
    if let Some(state) = &existing {
        let origin = origin::parameters(rotation.as_ref(), &state.values);
        if rotation.is_none()
            && let Some(previous) = state.values.get(origin::PREVIOUS)
            && origin.contains_key(origin::PREVIOUS)
        {
            console::note(format!(
                "the origin secret's previous version {previous} is no longer accepted"
            ));
        }
        given.extend(origin);
    }
    let rendered: Rendered = template::render(&given, existing.is_some())?;
    template::write(&rendered, stack_name)?;
    console::step(format!(
        "Change set for stack {stack_name} ({})",
        existing
            .as_ref()
            .map_or("new stack", |state| state.status.as_str())
    ));
    match change_set::plan(&cf, stack_name, &rendered, existing.as_ref()).await? {
        Plan::NoChanges => console::note("no changes"),
        Plan::Ready { name, changes } => {
            console::block(change_set::change_table(&changes));
            console::step(format!("Executing {name}"));
            change_set::execute(&cf, stack_name, &name).await?;
            change_set::fill_missing_outputs(&cf, stack_name, &rendered).await?;
        }
    }
    let state = stack::describe(&cf, stack_name)
        .await?
        .with_context(|| format!("stack {stack_name} is gone"))?;
    console::step("Outputs");
    let rows: Vec<[&str; 2]> = state
        .outputs
        .iter()
        .map(|(key, value)| [key.as_str(), value.as_str()])
        .collect();
    console::block(console::table(&["output", "value"], &rows));
    if let Ok(url) = state.output("ApiUrl") {
        console::step(format!("API: {url}"));
    }
    Ok(())
}

/// Refuses `--rotate-origin-secret` in one line, before anything is built, where there is no
/// origin secret: no stack yet (its creation generates one), or a public endpoint other than
/// CloudFront (given, else deployed).
fn rotation_possible(
    stack_name: &str,
    existing: Option<&stack::StackState>,
    given: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let Some(state) = existing else {
        anyhow::bail!(
            "--rotate-origin-secret: stack {stack_name} does not exist yet; its creation generates \
             the origin secret"
        );
    };
    let endpoint = given
        .get("PublicEndpoint")
        .or_else(|| state.values.get("PublicEndpoint"))
        .map_or("cloudfront", String::as_str);
    anyhow::ensure!(
        endpoint == "cloudfront",
        "--rotate-origin-secret: PublicEndpoint is {endpoint}; only cloudfront has an origin secret"
    );
    Ok(())
}

/// Puts a new value in the stack's origin secret; says which versions the load balancer accepts.
async fn rotate_origin_secret(
    config: &aws_config::SdkConfig,
    cf: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> anyhow::Result<origin::Rotation> {
    let resource = cf
        .describe_stack_resource()
        .stack_name(stack_name)
        .logical_resource_id(origin::SECRET)
        .send()
        .await
        .with_context(|| format!("finding {} in stack {stack_name}", origin::SECRET))?;
    let secret = resource
        .stack_resource_detail()
        .and_then(|detail| detail.physical_resource_id())
        .with_context(|| format!("stack {stack_name} has no {}", origin::SECRET))?;
    console::step("Rotating the origin secret");
    let rotation = origin::rotate(&aws_sdk_secretsmanager::Client::new(config), secret).await?;
    console::note(format!(
        "CloudFront will send version {}; the load balancer accepts it and {} until the next deploy",
        rotation.current, rotation.previous
    ));
    Ok(rotation)
}

/// `cargo xtask destroy`: empties the bucket (every version), deletes the stack and waits.
pub async fn destroy(args: AwsArgs) -> anyhow::Result<()> {
    let config = aws::sdk_config(&args).await;
    let cf = aws_sdk_cloudformation::Client::new(&config);
    let Some(state) = stack::describe(&cf, &args.stack).await? else {
        console::note(format!(
            "stack {} does not exist: nothing to destroy",
            args.stack
        ));
        return Ok(());
    };
    if let Ok(bucket) = state.output("BucketName") {
        console::step(format!("Emptying bucket {bucket}"));
        let removed = resources::empty_bucket(&aws::s3(&config, &args), bucket).await?;
        console::note(format!("{removed} objects and versions removed"));
    }
    console::step(format!("Deleting stack {}", args.stack));
    let mut seen = events::recent_events(&cf, &args.stack, 100)
        .await?
        .iter()
        .filter_map(|event| event.event_id().map(str::to_owned))
        .collect();
    if let Err(error) = cf.delete_stack().stack_name(&args.stack).send().await {
        // Real CloudFormation deletes in the background and reports failures as events; the moto
        // emulator answers some deletions with an error yet drops the stack all the same.
        if stack::describe(&cf, &args.stack).await?.is_some() {
            return Err(anyhow::Error::new(error).context("deleting the stack"));
        }
        console::note(format!(
            "the endpoint answered {}, but the stack is gone",
            aws_sdk_cloudformation::error::DisplayErrorContext(&error)
        ));
    }
    events::follow(&cf, &args.stack, &mut seen).await?;
    console::note(format!("stack {} deleted", args.stack));
    Ok(())
}

/// `cargo xtask status`: tasks per service, queue depths, the latest stack events.
pub async fn status(args: AwsArgs) -> anyhow::Result<()> {
    let config = aws::sdk_config(&args).await;
    let cf = aws_sdk_cloudformation::Client::new(&config);
    let Some(state) = stack::describe(&cf, &args.stack).await? else {
        anyhow::bail!("stack {} does not exist", args.stack);
    };
    console::step(format!("Stack {}: {}", args.stack, state.status));
    if let Ok(url) = state.output("ApiUrl") {
        console::note(format!("API: {url}"));
    }

    let services = resources::service_counts(&aws_sdk_ecs::Client::new(&config), &state).await?;
    console::step("Services");
    let rows: Vec<[String; 4]> = services
        .iter()
        .map(|(name, counts)| {
            [
                name.clone(),
                counts.desired.to_string(),
                counts.running.to_string(),
                counts.pending.to_string(),
            ]
        })
        .collect();
    console::block(console::table(
        &["service", "desired", "running", "pending"],
        &rows,
    ));

    let depths = resources::queue_depths(&aws_sdk_sqs::Client::new(&config), &state).await?;
    console::step("Queue");
    let rows = [[
        depths.visible.to_string(),
        depths.in_flight.to_string(),
        depths.dead_letter.to_string(),
    ]];
    console::block(console::table(
        &["visible", "in flight", "dead letter"],
        &rows,
    ));

    console::step("Latest stack events");
    let events = events::recent_events(&cf, &args.stack, 10).await?;
    let rows: Vec<[String; 4]> = events
        .iter()
        .map(|event| {
            [
                event
                    .timestamp()
                    .map(|time| time.to_string())
                    .unwrap_or_default(),
                event
                    .resource_status()
                    .map(|status| status.as_str().to_owned())
                    .unwrap_or_default(),
                event.logical_resource_id().unwrap_or_default().to_owned(),
                event
                    .resource_status_reason()
                    .unwrap_or_default()
                    .to_owned(),
            ]
        })
        .collect();
    console::block(console::table(
        &["time", "status", "resource", "reason"],
        &rows,
    ));
    Ok(())
}
