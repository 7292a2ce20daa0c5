//! Properties of the rendered template that must hold whatever else changes in it: the database
//! is private, no secret travels in plain environment, logs expire, the worker scales on backlog
//! per task, deployments roll back, mail goes only from the sender's SES identity; each service
//! connects as its own database role and only the migration step holds the master credentials;
//! no task has a public IP and egress is HTTPS and PostgreSQL only; the worker writes only
//! processed outputs; the origin secret rotates with the previous value accepted for one deploy.

use serde_json::{Map, Value};

use crate::deploy::template;

fn resources() -> Map<String, Value> {
    let template = template::load_template().unwrap();
    template["Resources"].as_object().unwrap().clone()
}

fn of_type<'a>(resources: &'a Map<String, Value>, kind: &str) -> Vec<(&'a String, &'a Value)> {
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .collect()
}

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, …]}` points at.
fn target(value: &Value) -> Option<&str> {
    value["Ref"]
        .as_str()
        .or_else(|| value["Fn::GetAtt"][0].as_str())
}

#[test]
fn the_template_renders_within_the_inline_size_limit() {
    let given = [
        ("WebImage", "a"),
        ("WorkerImage", "b"),
        ("MailSender", "no-reply@example.com"),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .into();
    let rendered = template::render(&given, false).unwrap();
    assert!(rendered.parameters.contains_key("WorkerBacklogPerTask"));
    // CloudFormation's inline limit; past it a deploy would need the template in S3.
    assert!(
        rendered.body.len() <= 51_200,
        "{} bytes",
        rendered.body.len()
    );
}

#[test]
fn the_database_is_private_encrypted_and_has_no_route_to_the_internet() {
    let resources = resources();
    let databases = of_type(&resources, "AWS::RDS::DBInstance");
    assert!(!databases.is_empty());
    for (id, database) in databases {
        let properties = &database["Properties"];
        assert_eq!(properties["PubliclyAccessible"], false, "{id}");
        assert_eq!(properties["StorageEncrypted"], true, "{id}");
        assert_eq!(database["DeletionPolicy"], "Snapshot", "{id}");
        assert_eq!(database["UpdateReplacePolicy"], "Snapshot", "{id}");
        // The password is never in the template: RDS manages it, or it is resolved from Secrets
        // Manager at deploy time.
        let password = serde_json::to_string(&properties["MasterUserPassword"]).unwrap();
        assert!(
            properties["MasterUserPassword"].is_null()
                || password.contains("{{resolve:secretsmanager:"),
            "{id}: {password}"
        );
        let group = target(&properties["DBSubnetGroupName"]).unwrap();
        let subnets: Vec<&str> = resources[group]["Properties"]["SubnetIds"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(target)
            .collect();
        assert_eq!(subnets.len(), 2, "two AZs");
        for subnet in subnets {
            assert_ne!(
                resources[subnet]["Properties"]["MapPublicIpOnLaunch"], true,
                "{subnet}"
            );
            let tables: Vec<&str> = of_type(&resources, "AWS::EC2::SubnetRouteTableAssociation")
                .into_iter()
                .filter(|(_, association)| {
                    target(&association["Properties"]["SubnetId"]) == Some(subnet)
                })
                .filter_map(|(_, association)| target(&association["Properties"]["RouteTableId"]))
                .collect();
            assert_eq!(tables.len(), 1, "{subnet} has one route table");
            let routes_out = of_type(&resources, "AWS::EC2::Route")
                .into_iter()
                .filter(|(_, route)| {
                    target(&route["Properties"]["RouteTableId"]) == Some(tables[0])
                })
                .count();
            assert_eq!(routes_out, 0, "{subnet}: no route beyond the VPC");
        }
    }
}

#[test]
fn no_task_definition_carries_a_secret_in_plain_environment() {
    let resources = resources();
    let definitions = of_type(&resources, "AWS::ECS::TaskDefinition");
    assert_eq!(definitions.len(), 2);
    for (id, definition) in definitions {
        for container in definition["Properties"]["ContainerDefinitions"]
            .as_array()
            .unwrap()
        {
            for variable in container["Environment"].as_array().into_iter().flatten() {
                let name = variable["Name"].as_str().unwrap();
                for word in ["SECRET", "PASSWORD", "TOKEN", "KEY"] {
                    assert!(!name.contains(word), "{id}: {name} must come from Secrets");
                }
            }
            let secrets: Vec<&str> = container["Secrets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|secret| secret["Name"].as_str().unwrap())
                .collect();
            assert!(secrets.contains(&"DATABASE_PASSWORD"), "{id}: {secrets:?}");
        }
    }
    let web = &resources["WebTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    assert!(
        web["Secrets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|secret| secret["Name"] == "JWT_SECRET")
    );
}

#[test]
fn every_log_group_has_a_retention() {
    let resources = resources();
    let groups = of_type(&resources, "AWS::Logs::LogGroup");
    assert!(groups.len() >= 2);
    for (id, group) in groups {
        assert!(
            !group["Properties"]["RetentionInDays"].is_null(),
            "{id} keeps logs forever"
        );
    }
}

#[test]
fn the_worker_scales_on_backlog_per_task_and_stops_in_120_seconds() {
    let resources = resources();
    let worker = &resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    assert_eq!(worker["StopTimeout"], 120);
    let policies: Vec<&Value> = of_type(&resources, "AWS::ApplicationAutoScaling::ScalingPolicy")
        .into_iter()
        .filter(|(_, policy)| {
            target(&policy["Properties"]["ScalingTargetId"]) == Some("WorkerScalableTarget")
        })
        .map(|(_, policy)| policy)
        .collect();
    let backlog = policies
        .iter()
        .find_map(|policy| {
            policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
                ["CustomizedMetricSpecification"]["Metrics"]
                .as_array()
        })
        .expect("a target-tracking policy on a metric-math expression");
    let metric_of = |name: &str| {
        backlog.iter().find_map(|query| {
            (query["MetricStat"]["Metric"]["MetricName"] == name)
                .then(|| query["Id"].as_str().unwrap())
        })
    };
    let visible = metric_of("ApproximateNumberOfMessagesVisible").expect("queue depth metric");
    let tasks = metric_of("RunningTaskCount").expect("running tasks metric");
    let expression = backlog
        .iter()
        .find_map(|query| query["Expression"].as_str())
        .expect("an expression");
    assert!(
        expression.contains(&format!("{visible} /")) && expression.contains(tasks),
        "backlog per task is visible ÷ running tasks: {expression}"
    );
}

#[test]
fn services_roll_back_failed_deployments_and_leave_the_count_to_the_autoscaler() {
    let resources = resources();
    let services = of_type(&resources, "AWS::ECS::Service");
    assert_eq!(services.len(), 2);
    for (id, service) in services {
        let breaker = &service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"];
        assert_eq!(breaker["Enable"], true, "{id}");
        assert_eq!(breaker["Rollback"], true, "{id}");
        assert!(
            service["Properties"].get("DesiredCount").is_none(),
            "{id}: a fixed DesiredCount would reset the autoscaler on every deploy"
        );
    }
}

/// `max_connections` of RDS PostgreSQL on the default instance class (db.t4g.micro, 1 GiB):
/// LEAST(DBInstanceClassMemory / 9531392, 5000), less the connections reserved for superusers
/// and RDS itself, less a few for an operator and migrations.
const DEFAULT_CLASS_CONNECTION_BUDGET: u64 = 100;

#[test]
fn a_deploy_at_the_most_tasks_fits_the_database_connections() {
    let template = template::load_template().unwrap();
    let resources = template["Resources"].as_object().unwrap();
    let parameters = &template["Parameters"];
    assert_eq!(
        parameters["DatabaseInstanceClass"]["Default"],
        "db.t4g.micro"
    );
    let pool = |definition: &str| -> u64 {
        resources[definition]["Properties"]["ContainerDefinitions"][0]["Environment"]
            .as_array()
            .unwrap()
            .iter()
            .find(|variable| variable["Name"] == "DATABASE_MAX_CONNECTIONS")
            .and_then(|variable| variable["Value"].as_str())
            .unwrap_or_else(|| panic!("{definition} sets no DATABASE_MAX_CONNECTIONS"))
            .parse()
            .unwrap()
    };
    let most = |parameter: &str| parameters[parameter]["Default"].as_u64().unwrap();
    // MaximumPercent 200: during a deploy the old and the new tasks are up together.
    for service in ["WebService", "WorkerService"] {
        assert_eq!(
            resources[service]["Properties"]["DeploymentConfiguration"]["MaximumPercent"],
            200
        );
    }
    let peak = 2 * most("WebMaxTasks") * pool("WebTaskDefinition")
        + 2 * most("WorkerMaxTasks") * pool("WorkerTaskDefinition");
    assert!(
        peak <= DEFAULT_CLASS_CONNECTION_BUDGET,
        "{peak} connections at the peak of a deploy"
    );
}

#[test]
fn both_programs_verify_the_database_certificate_against_the_bundle_in_their_image() {
    let resources = resources();
    for (id, container) in containers(&resources) {
        let environment = container["Environment"].as_array().unwrap();
        let value = |name: &str| {
            environment
                .iter()
                .find(|variable| variable["Name"] == name)
                .and_then(|variable| variable["Value"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(value("DATABASE_SSLMODE"), "verify-full", "{id}");
        assert_eq!(
            value("DATABASE_SSLROOTCERT"),
            crate::deploy::image::RDS_CA_BUNDLE,
            "{id}"
        );
    }
}

#[test]
fn the_public_endpoint_is_https_unless_cleartext_is_asked_for_by_name() {
    let template = template::load_template().unwrap();
    let endpoint = &template["Parameters"]["PublicEndpoint"];
    assert_eq!(endpoint["Default"], "cloudfront");
    let choices: Vec<&str> = endpoint["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    assert_eq!(
        choices,
        ["cloudfront", "load-balancer-https", "plain-http-insecure"]
    );
    let resources = template["Resources"].as_object().unwrap();
    // CloudFront: HTTPS for viewers, HTTP redirected, HSTS from the security headers policy.
    let distribution = &resources["Distribution"];
    assert_eq!(distribution["Condition"], "UseCloudFront");
    let behavior = &distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"];
    assert_eq!(behavior["ViewerProtocolPolicy"], "redirect-to-https");
    assert_eq!(
        behavior["ResponseHeadersPolicyId"],
        "67f7725c-6f97-4210-82d7-5512b31e9d03"
    );
    // The load balancer's HTTP listener serves the API to everyone only in the cleartext mode:
    // it redirects with a certificate and turns away whoever is not CloudFront.
    let action = &resources["HttpListener"]["Properties"]["DefaultActions"][0]["Fn::If"];
    assert_eq!(action[0], "HasCertificate");
    assert_eq!(action[1]["Type"], "redirect");
    let otherwise = &action[2]["Fn::If"];
    assert_eq!(otherwise[0], "UseCloudFront");
    assert_eq!(otherwise[1]["Type"], "fixed-response");
    assert_eq!(otherwise[1]["FixedResponseConfig"]["StatusCode"], "403");
    let rule = &resources["CloudFrontOriginRule"]["Properties"];
    assert_eq!(
        rule["Conditions"][0]["HttpHeaderConfig"]["HttpHeaderName"],
        "X-Origin-Verify"
    );
    assert_eq!(
        distribution["Properties"]["DistributionConfig"]["Origins"][0]["OriginCustomHeaders"][0]["HeaderName"],
        "X-Origin-Verify"
    );
}

/// The value of the web container's environment variable `name`.
fn web_environment(resources: &Map<String, Value>, name: &str) -> Value {
    resources["WebTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|variable| variable["Name"] == name)
        .map(|variable| variable["Value"].clone())
        .unwrap_or_else(|| panic!("the web container sets no {name}"))
}

#[test]
fn the_api_mails_through_ses_from_the_sender_identity_only() {
    let template = template::load_template().unwrap();
    // No default: a deploy names the address it sends from (a verified SES identity).
    let sender = &template["Parameters"]["MailSender"];
    assert!(sender["Default"].is_null(), "{sender}");
    let resources = template["Resources"].as_object().unwrap();
    assert_eq!(
        web_environment(resources, "MAIL_URL"),
        serde_json::json!({"Fn::Sub": "ses:${MailSender}"})
    );
    // Verification is on (the product's default): the template never turns it off.
    for (id, definition) in of_type(resources, "AWS::ECS::TaskDefinition") {
        let environment = &definition["Properties"]["ContainerDefinitions"][0]["Environment"];
        let names = serde_json::to_string(environment).unwrap();
        assert!(!names.contains("EMAIL_VERIFICATION"), "{id}: {names}");
    }
    // Links point at the public address: the one given, else the stack's own.
    let public = web_environment(resources, "PUBLIC_BASE_URL");
    assert_eq!(public["Fn::If"][0], "HasPublicUrl");
    assert_eq!(public["Fn::If"][1]["Ref"], "PublicUrl");
    let own = serde_json::to_string(&public["Fn::If"][2]).unwrap();
    assert!(
        own.contains("Distribution.DomainName") && own.contains("LoadBalancer.DNSName"),
        "{own}"
    );

    // Exactly one statement in the whole template grants SES: the web role's, SendEmail only,
    // on the sender's identity and its domain's, never on `*`.
    let mut granted = Vec::new();
    for (id, role) in of_type(resources, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                let actions = serde_json::to_string(&statement["Action"]).unwrap();
                if actions.contains("ses:") {
                    granted.push((id.as_str(), statement));
                }
            }
        }
    }
    assert_eq!(granted.len(), 1, "{granted:?}");
    let (role, statement) = granted[0];
    assert_eq!(role, "WebTaskRole");
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "ses:SendEmail");
    assert!(statement.get("NotResource").is_none());
    let identities: Vec<&str> = statement["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| {
            resource["Fn::Sub"]
                .as_str()
                .or_else(|| resource["Fn::Sub"][0].as_str())
                .unwrap()
        })
        .collect();
    let prefix = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/";
    assert_eq!(
        identities,
        [
            format!("{prefix}${{MailSender}}"),
            format!("{prefix}${{Domain}}")
        ]
    );
    assert_eq!(
        statement["Resource"][1]["Fn::Sub"][1]["Domain"],
        serde_json::json!({"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "MailSender"}]}]})
    );
}

/// Every container of every task definition, with its task definition's logical id.
fn containers(resources: &Map<String, Value>) -> Vec<(String, &Value)> {
    of_type(resources, "AWS::ECS::TaskDefinition")
        .into_iter()
        .flat_map(|(id, definition)| {
            definition["Properties"]["ContainerDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |container| {
                    (
                        format!("{id}/{}", container["Name"].as_str().unwrap()),
                        container,
                    )
                })
        })
        .collect()
}

/// The plain value of a container's environment variable `name`, if set.
fn environment_of<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["Environment"]
        .as_array()?
        .iter()
        .find(|variable| variable["Name"] == name)
        .map(|variable| &variable["Value"])
}

/// The secret logical ids a container's `Secrets` read (`{"Fn::Sub": "${Id}:key::"}` or a Ref).
fn secrets_read(container: &Value) -> Vec<(String, String)> {
    container["Secrets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|secret| {
            let from = &secret["ValueFrom"];
            let id = from["Ref"].as_str().map(str::to_owned).unwrap_or_else(|| {
                let sub = from["Fn::Sub"].as_str().unwrap();
                sub.trim_start_matches("${")
                    .split('}')
                    .next()
                    .unwrap()
                    .to_owned()
            });
            (secret["Name"].as_str().unwrap().to_owned(), id)
        })
        .collect()
}

#[test]
fn each_service_connects_as_its_own_role_and_only_the_migration_holds_the_master_secret() {
    let resources = resources();
    let all = containers(&resources);
    let find = |name: &str| {
        all.iter()
            .find(|(id, _)| id == name)
            .map(|(_, container)| *container)
            .unwrap_or_else(|| panic!("no container {name}"))
    };
    let master_user = resources["Database"]["Properties"]["MasterUsername"]
        .as_str()
        .unwrap();
    let web = find("WebTaskDefinition/web");
    let worker = find("WorkerTaskDefinition/worker");
    let migrate = find("WebTaskDefinition/migrate");
    let user = |container: &Value| {
        environment_of(container, "DATABASE_USER")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(user(web), "rising_stars_api");
    assert_eq!(user(worker), "rising_stars_worker");
    assert_eq!(user(migrate), master_user);
    // The roles the migration step creates are the ones the services log in as.
    assert_eq!(
        environment_of(migrate, "DATABASE_API_USER").unwrap(),
        "rising_stars_api"
    );
    assert_eq!(
        environment_of(migrate, "DATABASE_WORKER_USER").unwrap(),
        "rising_stars_worker"
    );
    // The services never migrate: their roles have no DDL rights.
    for service in [web, worker] {
        assert_eq!(
            environment_of(service, "DATABASE_MIGRATE").unwrap(),
            "check"
        );
    }
    assert_eq!(migrate["Command"], serde_json::json!(["migrate"]));
    assert_eq!(migrate["Essential"], false);
    assert_eq!(migrate["Image"], web["Image"]);
    // The API starts only after the migration step succeeded.
    assert_eq!(
        web["DependsOn"],
        serde_json::json!([{"ContainerName": "migrate", "Condition": "SUCCESS"}])
    );
    // Each password comes from its own secret; the master one reaches only the migration step.
    let password_of = |container: &Value| {
        secrets_read(container)
            .into_iter()
            .find(|(name, _)| name == "DATABASE_PASSWORD")
            .map(|(_, id)| id)
            .unwrap()
    };
    assert_eq!(password_of(web), "ApiDatabaseSecret");
    assert_eq!(password_of(worker), "WorkerDatabaseSecret");
    assert_eq!(password_of(migrate), "DatabaseSecret");
    for (id, container) in &all {
        let reads_master = secrets_read(container)
            .iter()
            .any(|(_, secret)| secret == "DatabaseSecret");
        assert_eq!(reads_master, id == "WebTaskDefinition/migrate", "{id}");
        assert!(
            !serde_json::to_string(container)
                .unwrap()
                .contains("${DatabaseSecret}")
                || id == "WebTaskDefinition/migrate",
            "{id}"
        );
    }
    // The worker's tasks start after the web service (whose tasks created the worker's role).
    assert_eq!(resources["WorkerService"]["DependsOn"], "WebService");
    for secret in ["ApiDatabaseSecret", "WorkerDatabaseSecret"] {
        assert_eq!(resources[secret]["Type"], "AWS::SecretsManager::Secret");
        assert!(
            resources[secret]["Properties"]["GenerateSecretString"].is_object(),
            "{secret}"
        );
    }
}

#[test]
fn no_task_has_a_public_ip_and_task_egress_is_https_and_the_database_only() {
    let resources = resources();
    let services = of_type(&resources, "AWS::ECS::Service");
    assert_eq!(services.len(), 2);
    let mut groups = Vec::new();
    for (id, service) in services {
        let network = &service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(network["AssignPublicIp"], "DISABLED", "{id}");
        // Subnets whose only way out is the NAT gateway.
        for subnet in network["Subnets"].as_array().unwrap() {
            let subnet = target(subnet).unwrap();
            assert!(
                resources[subnet].get("Condition").is_none(),
                "{subnet} always exists"
            );
            let table = of_type(&resources, "AWS::EC2::SubnetRouteTableAssociation")
                .into_iter()
                .find(|(_, association)| {
                    target(&association["Properties"]["SubnetId"]) == Some(subnet)
                })
                .and_then(|(_, association)| target(&association["Properties"]["RouteTableId"]))
                .unwrap();
            for (_, route) in of_type(&resources, "AWS::EC2::Route") {
                if target(&route["Properties"]["RouteTableId"]) == Some(table) {
                    assert!(
                        route["Properties"]["GatewayId"].is_null(),
                        "{subnet}: no internet gateway"
                    );
                    assert_eq!(
                        target(&route["Properties"]["NatGatewayId"]),
                        Some("NatGateway")
                    );
                }
            }
        }
        for group in network["SecurityGroups"].as_array().unwrap() {
            groups.push(target(group).unwrap().to_owned());
        }
    }
    assert!(resources["NatGateway"].get("Condition").is_none());
    assert!(resources["S3GatewayEndpoint"].get("Condition").is_none());
    let database_group = "DatabaseSecurityGroup";
    for group in &groups {
        let inline = resources[group.as_str()]["Properties"]["SecurityGroupEgress"]
            .as_array()
            .unwrap_or_else(|| panic!("{group} keeps the default allow-all egress"));
        let separate: Vec<&Value> = of_type(&resources, "AWS::EC2::SecurityGroupEgress")
            .into_iter()
            .filter(|(_, rule)| target(&rule["Properties"]["GroupId"]) == Some(group.as_str()))
            .map(|(_, rule)| &rule["Properties"])
            .collect();
        let mut database = 0;
        for rule in inline.iter().chain(separate) {
            assert_ne!(rule["IpProtocol"], "-1", "{group}: all protocols");
            let (from, to) = (
                rule["FromPort"].as_u64().unwrap(),
                rule["ToPort"].as_u64().unwrap(),
            );
            assert_eq!(from, to, "{group}: one port per rule");
            match from {
                443 => assert_eq!(rule["CidrIp"], "0.0.0.0/0", "{group}"),
                5432 => {
                    assert_eq!(
                        target(&rule["DestinationSecurityGroupId"]),
                        Some(database_group),
                        "{group}"
                    );
                    database += 1;
                }
                other => panic!("{group}: egress on port {other}"),
            }
            assert!(rule["Description"].is_string(), "{group}");
        }
        assert_eq!(database, 1, "{group} reaches the database");
    }
}

#[test]
fn the_worker_reads_originals_and_writes_only_processed_outputs() {
    let resources = resources();
    let statements =
        resources["WorkerTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
    let mut writable = Vec::new();
    for statement in statements {
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(action) => vec![action.as_str()],
            other => other
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect(),
        };
        let resources_of: Vec<String> = match &statement["Resource"] {
            Value::Array(list) => list
                .iter()
                .map(|r| serde_json::to_string(r).unwrap())
                .collect(),
            one => vec![serde_json::to_string(one).unwrap()],
        };
        for action in &actions {
            assert!(!action.contains('*'), "{action}");
            if action.starts_with("s3:") && *action != "s3:ListBucket" {
                for resource in &resources_of {
                    assert!(
                        resource.contains("${MediaBucket.Arn}/media/videos/"),
                        "{action} on {resource}"
                    );
                }
            }
            if *action == "s3:PutObject" {
                writable.extend(resources_of.iter().cloned());
            }
        }
    }
    let outputs =
        |name: &str| format!("{{\"Fn::Sub\":\"${{MediaBucket.Arn}}/media/videos/*/*/{name}\"}}");
    assert_eq!(writable, [outputs("processed.mp4"), outputs("poster.jpg")]);
    // The keys the worker writes are the ones the platform builds (videos/<id>/<token>/...).
    let keys = platform::videos::VideoKeys::of(uuid::Uuid::nil());
    let token = uuid::Uuid::new_v4();
    for (key, name) in [
        (keys.clip(token), "processed.mp4"),
        (keys.poster(token), "poster.jpg"),
    ] {
        assert_eq!(
            key.as_str(),
            format!("videos/{}/{token}/{name}", uuid::Uuid::nil())
        );
    }
    assert!(!keys.original().as_str().ends_with("processed.mp4"));
}

#[test]
fn the_origin_secret_rotates_with_the_previous_value_accepted_for_one_deploy() {
    let template = template::load_template().unwrap();
    let parameters = &template["Parameters"];
    for name in [
        crate::deploy::origin::CURRENT,
        crate::deploy::origin::PREVIOUS,
    ] {
        assert_eq!(parameters[name]["Default"], "", "{name}");
    }
    let resources = template["Resources"].as_object().unwrap();
    let pinned = |parameter: &str| {
        serde_json::json!({"Fn::Sub": format!(
            "{{{{resolve:secretsmanager:${{OriginVerifySecret}}:SecretString:::${{{parameter}}}}}}}"
        )})
    };
    let unpinned =
        serde_json::json!({"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}}}"});
    let current = serde_json::json!({"Fn::If": ["HasOriginVersion", pinned("OriginVerifyVersion"), unpinned]});
    // CloudFront sends the current version; the rule accepts it and, for one deploy, the previous.
    let sent = &resources["Distribution"]["Properties"]["DistributionConfig"]["Origins"][0]["OriginCustomHeaders"]
        [0];
    assert_eq!(sent["HeaderName"], "X-Origin-Verify");
    assert_eq!(sent["HeaderValue"], current);
    let values = &resources["CloudFrontOriginRule"]["Properties"]["Conditions"][0]["HttpHeaderConfig"]
        ["Values"];
    assert_eq!(values[0], current);
    assert_eq!(
        values[1],
        serde_json::json!({"Fn::If": ["HasPreviousOriginVersion", pinned("OriginVerifyPreviousVersion"), {"Ref": "AWS::NoValue"}]})
    );
    assert_eq!(values.as_array().unwrap().len(), 2);
    // The rule is updated before the distribution starts sending a new value.
    assert_eq!(
        resources["Distribution"]["DependsOn"],
        "CloudFrontOriginRule"
    );
    let conditions = &template["Conditions"];
    assert_eq!(
        conditions["HasPreviousOriginVersion"],
        serde_json::json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "OriginVerifyPreviousVersion"}, ""]}]})
    );
}
