//! Properties of the rendered template that must hold whatever else changes in it: the database
//! is private, no secret travels in plain environment, logs expire, the worker scales on backlog
//! per task, deployments roll back.

use serde_json::{Map, Value};

use crate::stack;

fn resources() -> Map<String, Value> {
    let template = stack::load_template().unwrap();
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
    let given = [("WebImage", "a"), ("WorkerImage", "b")]
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .into();
    let rendered = stack::render(&given, false).unwrap();
    assert!(rendered.parameters.contains_key("WorkerBacklogPerTask"));
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
