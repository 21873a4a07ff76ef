//! The one-command lifecycle, for real, against a local AWS: `cargo xtask deploy --local`, then
//! `destroy --local`, checked by asking moto through the AWS SDK and the registry over its API.
//! It deploys a team's stack: a name of its own and settings from a variables file, as
//! `--var-file` passes them.
//!
//! The whole lifecycle needs the Docker engine, moto_server, docker-registry, Terraform (with
//! `TF_PLUGIN_DIR` where the provider registry is out of reach) and the images from
//! `cargo xtask image`, named by `EASEL_IMAGE`. `cargo xtask ci` provides all of that and runs
//! it with `--include-ignored`; it is ignored in a plain `cargo test` only because it needs the
//! image built first. Without `EASEL_IMAGE` it fails, it never skips.

use std::{
    collections::BTreeSet,
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecs::config::Credentials;
use base64::Engine;
use serde_json::Value;

/// The stack's name in the variables file: not the default, so nothing may assume `easel`.
const NAME: &str = "team-easel";

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// The team's variables file, with the stack pinned to `account`.
fn team_vars(account: &str) -> String {
    format!(
        "name = \"{NAME}\"\nallowed_account_ids = [\"{account}\"]\n\
         allowed_ingress_cidrs = [\"198.51.100.0/24\"]\n\
         budget_daily_usd = 3\nbudget_monthly_usd = 150\nmax_count = 4\n"
    )
}

/// Runs `cargo xtask ARGS --var-file VARS` (the binary cargo built for this test) against the
/// local AWS in `dir`, with the team's variables file there.
fn xtask(dir: &Path, args: &[&str]) -> Output {
    let vars = dir.join("team.tfvars");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--var-file")
        .arg(&vars)
        .env("EASEL_LOCAL_AWS_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("xtask runs");
    println!("$ cargo xtask {}", args.join(" "));
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The command failed, and its error says each of `reasons`.
fn fails_saying(output: &Output, reasons: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the command succeeded");
    for reason in reasons {
        assert!(stderr.contains(reason), "no `{reason}` in: {stderr}");
    }
}

fn succeeds(output: &Output) -> String {
    assert!(
        output.status.success(),
        "the command failed (its output is above)"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The local AWS's folder: fresh for each run, so the account starts empty. The guard stops
/// moto, the registry and the service containers even when an assertion fails.
struct LocalAws {
    dir: PathBuf,
}

impl LocalAws {
    fn fresh() -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lifecycle");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let local = Self { dir };
        local.pin_to(ACCOUNT);
        local
    }

    /// Writes the team's variables file with the stack pinned to `account`.
    fn pin_to(&self, account: &str) {
        std::fs::write(self.dir.join("team.tfvars"), team_vars(account)).unwrap();
    }

    /// Runs destroy with one output of the state changed to `value` (as if the state came from
    /// elsewhere): it must fail saying each of `reasons`. The state is put back afterwards.
    fn destroy_refuses_with_output(&self, name: &str, value: &str, reasons: &[&str]) {
        let state = std::fs::read_to_string(self.state()).unwrap();
        let mut changed: Value = serde_json::from_str(&state).unwrap();
        changed["outputs"][name]["value"] = Value::from(value);
        std::fs::write(self.state(), changed.to_string()).unwrap();
        fails_saying(&xtask(&self.dir, &["destroy", "--local", "--yes"]), reasons);
        std::fs::write(self.state(), state).unwrap();
    }

    fn state(&self) -> PathBuf {
        self.dir.join("terraform.tfstate")
    }

    fn recorded(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.join("local-aws.json")).expect("local-aws.json");
        serde_json::from_str(&text).unwrap()
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.recorded()["moto_port"])
    }

    fn registry(&self) -> String {
        format!("127.0.0.1:{}", self.recorded()["registry_port"])
    }

    /// An output of the local Terraform state.
    fn output_value(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.state()).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        state["outputs"][name]["value"].clone()
    }

    /// A string output of the local Terraform state.
    fn output(&self, name: &str) -> String {
        self.output_value(name)
            .as_str()
            .unwrap_or_else(|| panic!("no output {name}"))
            .to_owned()
    }

    async fn aws(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = xtask(
            &self.dir,
            &["destroy", "--local", "--yes", "--stop-local-aws"],
        );
    }
}

/// The app image `cargo xtask image` built, as `(tag, broken tag)`, with a broken twin whose
/// container exits at once: it refuses to start on a bad listen address.
fn images() -> (String, String) {
    let image = std::env::var("EASEL_IMAGE").expect(
        "EASEL_IMAGE names the app image to deploy: run `cargo xtask image` and set EASEL_IMAGE=easel:TAG as it prints (cargo xtask ci does both)",
    );
    let tag = image
        .rsplit_once(':')
        .expect("EASEL_IMAGE is easel:TAG")
        .1
        .to_owned();
    let broken = format!("{tag}-broken");
    let mut build = Command::new("docker")
        .args(["build", "--quiet", "-t", &format!("easel:{broken}"), "-"])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .spawn()
        .expect("docker runs");
    write!(
        build.stdin.take().unwrap(),
        "FROM easel:{tag}\nENV EASEL_LISTEN=bad\n"
    )
    .unwrap();
    assert!(
        build.wait().unwrap().success(),
        "docker build of the broken image"
    );
    let double = Command::new("docker")
        .args([
            "tag",
            &format!("easel-bedrock-double:{tag}"),
            &format!("easel-bedrock-double:{broken}"),
        ])
        .status()
        .unwrap();
    assert!(double.success(), "docker tag of the double's image");
    (tag, broken)
}

#[tokio::test]
#[ignore = "needs the image from `cargo xtask image` (EASEL_IMAGE); `cargo xtask ci` runs it"]
async fn deploy_smoke_and_destroy_against_a_local_aws() {
    let (tag, broken) = images();
    let local = LocalAws::fresh();

    // Destroy on an account where nothing was ever deployed.
    succeeds(&xtask(&local.dir, &["destroy", "--local", "--yes"]));

    let deployed = a_deploy_makes_the_configured_stack(&local, &tag).await;
    the_cookie_key_stays_in_secrets_manager(&local, &deployed).await;
    the_roles_may_do_only_what_the_stack_needs(&local, &deployed).await;
    a_second_deploy_changes_nothing(&local, &tag);
    a_broken_image_stops_the_deploy_before_the_push(&local, &broken).await;
    other_credentials_are_refused_before_anything_changes(&local, &tag);
    let bucket = destroy_removes_all_but_the_gallery_bucket(&local, &deployed).await;
    the_next_deploy_adopts_the_kept_bucket_until_images_are_deleted(&local, &tag, &bucket).await;

    // Twice is fine.
    succeeds(&xtask(
        &local.dir,
        &["destroy", "--local", "--yes", "--stop-local-aws"],
    ));
}

/// What a deploy made, by name, for the checks after it and after the destroy.
struct Deployed {
    vpc_id: String,
    cluster: String,
    service: String,
    log_group: String,
    secret_arn: String,
    task_definition: aws_sdk_ecs::types::TaskDefinition,
}

impl Deployed {
    fn container(&self) -> &aws_sdk_ecs::types::ContainerDefinition {
        &self.task_definition.container_definitions()[0]
    }

    fn environment(&self, name: &str) -> Option<&str> {
        self.container()
            .environment()
            .iter()
            .find(|v| v.name() == Some(name))
            .and_then(|v| v.value())
    }

    fn task_role(&self) -> String {
        role_name(
            self.task_definition
                .task_role_arn()
                .expect("the task has a role"),
        )
    }

    fn execution_role(&self) -> String {
        role_name(
            self.task_definition
                .execution_role_arn()
                .expect("the task has an execution role"),
        )
    }
}

/// The deploy smoke-tests the service; the stack runs the new tag from its own repository,
/// with the team's variables.
async fn a_deploy_makes_the_configured_stack(local: &LocalAws, tag: &str) -> Deployed {
    let deployed = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", tag]));
    assert!(
        deployed.contains("smoke test passed"),
        "the smoke test passed"
    );
    assert!(deployed.contains("==> deploy finished"));

    let aws = local.aws().await;
    let ec2 = aws_sdk_ec2::Client::new(&aws);
    let ecs = aws_sdk_ecs::Client::new(&aws);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws);
    let vpc_id = local.output("vpc_id");
    let cluster = local.output("cluster_name");
    let service = local.output("service_name");
    let target_group = local.output("target_group_arn");

    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "the VPC exists");

    let services = ecs
        .describe_services()
        .cluster(&cluster)
        .services(&service)
        .send()
        .await
        .unwrap();
    let running = services.services().first().expect("the ECS service exists");
    assert_eq!(running.status(), Some("ACTIVE"));
    let task_definition = ecs
        .describe_task_definition()
        .task_definition(running.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let deployed = Deployed {
        vpc_id,
        cluster,
        service,
        log_group: local.output("log_group"),
        secret_arn: local.output("cookie_key_secret_arn"),
        task_definition: task_definition.task_definition().unwrap().clone(),
    };
    assert_eq!(
        deployed.container().image().unwrap(),
        format!("{}/{NAME}:{tag}", local.registry()),
        "the service runs the new tag from the stack's own repository"
    );
    assert_eq!(
        deployed.environment("EASEL_BUDGET_MONTHLY_USD"),
        Some("150"),
        "the variables file reached the task"
    );

    let groups = elb
        .describe_target_groups()
        .target_group_arns(&target_group)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.target_groups().len(), 1, "the target group exists");

    let tags = registry_tags(local).await;
    assert!(
        tags.iter().any(|t| t == tag),
        "the image is in the registry: {tags:?}"
    );
    deployed
}

/// The cookie key comes from Secrets Manager, as an ECS secret: never in the plain
/// environment, the Terraform state or the gallery.
async fn the_cookie_key_stays_in_secrets_manager(local: &LocalAws, deployed: &Deployed) {
    let container = deployed.container();
    let secret_arn = &deployed.secret_arn;
    assert!(
        container
            .environment()
            .iter()
            .all(|v| !v.name().unwrap_or_default().starts_with("EASEL_COOKIE_KEY")),
        "the key is not in the plain environment"
    );
    let secrets: Vec<(&str, &str)> = container
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    assert_eq!(secrets, [("EASEL_COOKIE_KEY", secret_arn.as_str())]);
    let key = aws_sdk_secretsmanager::Client::new(&local.aws().await)
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&key)
        .expect("the key is base64");
    assert!(decoded.len() >= 64, "the key has {} bytes", decoded.len());
    assert!(
        !std::fs::read_to_string(local.state())
            .unwrap()
            .contains(&key),
        "the key is not in the Terraform state"
    );
    let stored = Command::new("docker")
        .args(["cp", "easel-local-app:/data/_easel/cookie-key", "-"])
        .output()
        .unwrap();
    assert!(
        !stored.status.success(),
        "the service took its key from the secret, so it made none in its store"
    );
}

/// Least privilege as deployed: what IAM holds, checked against what the stack configures.
async fn the_roles_may_do_only_what_the_stack_needs(local: &LocalAws, deployed: &Deployed) {
    let aws = local.aws().await;
    let iam = aws_sdk_iam::Client::new(&aws);
    let ecr = aws_sdk_ecr::Client::new(&aws);
    let bedrock_region = deployed
        .environment("EASEL_BEDROCK_REGION")
        .expect("the task definition sets EASEL_BEDROCK_REGION");
    let models = strings(&local.output_value("bedrock_models"));
    assert_task_role_least_privilege(
        &role_grants(&iam, &deployed.task_role()).await,
        &models,
        bedrock_region,
        &local.output("gallery_bucket"),
    );
    let repositories = ecr
        .describe_repositories()
        .repository_names(repository_name(&local.output("ecr_repository_url")))
        .send()
        .await
        .unwrap();
    let group_arn = log_group_arn(local, &deployed.log_group)
        .await
        .expect("the log group exists");
    assert_execution_role_least_privilege(
        &role_grants(&iam, &deployed.execution_role()).await,
        repositories.repositories()[0].repository_arn().unwrap(),
        &group_arn,
        &deployed.secret_arn,
    );
}

fn a_second_deploy_changes_nothing(local: &LocalAws, tag: &str) {
    let again = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", tag]));
    assert!(again.contains("not pushed again"));
    assert!(again.contains("Resources: 0 added, 0 changed, 0 destroyed"));
    assert!(again.contains("unchanged"));
}

/// The deploy stops before the push, naming the step, with the image's log.
async fn a_broken_image_stops_the_deploy_before_the_push(local: &LocalAws, broken: &str) {
    fails_saying(
        &xtask(&local.dir, &["deploy", "--local", "--tag", broken]),
        &[
            "`check that the image starts and answers /healthz`",
            "EASEL_LISTEN",
        ],
    );
    assert!(
        !registry_tags(local).await.iter().any(|t| t == broken),
        "the broken image was not pushed"
    );
}

/// Credentials for another account or region than the state's, or for an account the
/// variables do not allow; and another machine's empty state.
fn other_credentials_are_refused_before_anything_changes(local: &LocalAws, tag: &str) {
    assert_eq!(local.output("account_id"), ACCOUNT);
    local.destroy_refuses_with_output(
        "account_id",
        "111111111111",
        &["account 111111111111", "nothing was changed"],
    );
    local.destroy_refuses_with_output(
        "region",
        "eu-north-1",
        &["region eu-north-1", "nothing was changed"],
    );
    local.pin_to("111111111111");
    let refused = xtask(&local.dir, &["deploy", "--local", "--tag", tag]);
    fails_saying(
        &refused,
        &[
            "`check the account and region`",
            "allowed_account_ids (111111111111)",
            "nothing was changed",
        ],
    );
    assert!(
        !String::from_utf8_lossy(&refused.stdout).contains("build the image"),
        "refused before the image step"
    );
    local.pin_to(ACCOUNT);

    // Another machine's empty state: destroy refuses, naming what exists.
    std::fs::rename(local.state(), local.dir.join("elsewhere.tfstate")).unwrap();
    fails_saying(
        &xtask(&local.dir, &["destroy", "--local", "--yes"]),
        &[&format!("tagged Stack={NAME}"), "nothing was changed"],
    );
    std::fs::rename(local.dir.join("elsewhere.tfstate"), local.state()).unwrap();
}

/// Nothing deploy created remains but the kept gallery bucket (moto keeps deleted ECS
/// clusters and services listed as INACTIVE). Returns the bucket's name.
async fn destroy_removes_all_but_the_gallery_bucket(
    local: &LocalAws,
    deployed: &Deployed,
) -> String {
    let destroyed = succeeds(&xtask(&local.dir, &["destroy", "--local", "--yes"]));
    let bucket = local_bucket(&destroyed);
    let aws = local.aws().await;
    let ec2 = aws_sdk_ec2::Client::new(&aws);
    let ecs = aws_sdk_ecs::Client::new(&aws);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws);
    let ecr = aws_sdk_ecr::Client::new(&aws);
    let iam = aws_sdk_iam::Client::new(&aws);
    let (vpc_id, cluster, service) = (&deployed.vpc_id, &deployed.cluster, &deployed.service);
    let (log_group, secret_arn) = (&deployed.log_group, &deployed.secret_arn);
    let vpcs = ec2.describe_vpcs().vpc_ids(vpc_id).send().await;
    assert!(
        vpcs.map(|v| v.vpcs().is_empty()).unwrap_or(true),
        "the VPC is gone"
    );
    let clusters = ecs
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .unwrap();
    assert!(
        clusters
            .clusters()
            .iter()
            .all(|c| c.status() != Some("ACTIVE")),
        "the cluster is gone"
    );
    let services = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await;
    assert!(
        services
            .map(|s| s.services().iter().all(|s| s.status() != Some("ACTIVE")))
            .unwrap_or(true),
        "the service is gone"
    );
    let balancers = elb.describe_load_balancers().send().await.unwrap();
    assert!(
        balancers.load_balancers().is_empty(),
        "the load balancer is gone"
    );
    let groups = elb.describe_target_groups().send().await.unwrap();
    assert!(
        groups.target_groups().is_empty(),
        "the target group is gone"
    );
    let repositories = ecr.describe_repositories().send().await.unwrap();
    assert!(
        repositories.repositories().is_empty(),
        "the ECR repository is gone"
    );
    for role in [deployed.task_role(), deployed.execution_role()] {
        let Err(error) = iam.get_role().role_name(&role).send().await else {
            panic!("the role {role} is still there");
        };
        assert!(
            error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()),
            "the role {role} is gone: {error:?}"
        );
    }
    assert!(
        log_group_arn(local, log_group).await.is_none(),
        "the log group is gone"
    );
    let secret = aws_sdk_secretsmanager::Client::new(&aws)
        .describe_secret()
        .secret_id(secret_arn)
        .send()
        .await;
    assert!(
        secret.is_err_and(|e| e
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())),
        "the cookie key's secret is gone"
    );
    assert!(
        bucket.starts_with(&format!("{NAME}-gallery-")),
        "the kept bucket is named: {bucket}"
    );
    let state = std::fs::read_to_string(local.state()).unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    assert!(
        state["resources"].as_array().is_none_or(|r| r.is_empty()),
        "the state is empty"
    );
    let containers = Command::new("docker")
        .args(["ps", "--all", "--quiet", "--filter", "name=easel-local-"])
        .output()
        .unwrap();
    assert!(
        containers.stdout.is_empty(),
        "the local service containers are gone"
    );

    assert!(
        bucket_exists(local, &bucket).await,
        "the kept bucket exists"
    );
    bucket
}

/// The next deploy adopts the kept bucket, and destroy keeps it again; destroy
/// --delete-images then deletes it with no deploy in between.
async fn the_next_deploy_adopts_the_kept_bucket_until_images_are_deleted(
    local: &LocalAws,
    tag: &str,
    bucket: &str,
) {
    let adopted = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", tag]));
    assert!(
        adopted.contains("Adopted the gallery bucket"),
        "the kept bucket is adopted"
    );
    let kept = succeeds(&xtask(&local.dir, &["destroy", "--local", "--yes"]));
    assert_eq!(local_bucket(&kept), bucket, "the same bucket is kept");
    let deleted = succeeds(&xtask(
        &local.dir,
        &["destroy", "--local", "--yes", "--delete-images"],
    ));
    assert!(!deleted.contains("was kept"));
    assert!(
        !bucket_exists(local, bucket).await,
        "the kept bucket is gone with --delete-images"
    );
}

/// The tags of the stack's repository in the local registry.
async fn registry_tags(local: &LocalAws) -> Vec<String> {
    let tags: Value = reqwest::get(format!("http://{}/v2/{NAME}/tags/list", local.registry()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    strings(&tags["tags"])
}

/// Whether moto knows the bucket (S3's HeadBucket: 404 when there is none).
async fn bucket_exists(local: &LocalAws, bucket: &str) -> bool {
    let answer = reqwest::Client::new()
        .head(format!("{}/{bucket}", local.endpoint()))
        .send()
        .await
        .unwrap();
    answer.status() != 404
}

/// The ARN of the log group named `name`, if moto has it (CloudWatch Logs' JSON protocol,
/// which moto answers unsigned).
async fn log_group_arn(local: &LocalAws, name: &str) -> Option<String> {
    let answer: Value = reqwest::Client::new()
        .post(local.endpoint())
        .header("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(serde_json::json!({ "logGroupNamePrefix": name }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["logGroups"]
        .as_array()?
        .iter()
        .find(|group| group["logGroupName"] == name)
        .and_then(|group| group["logGroupArn"].as_str())
        .map(str::to_owned)
}

/// An Allow statement of an IAM policy.
struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
}

/// What a role may do: the Allow statements of its inline policies, as IAM holds them. It has
/// no managed policies, whose grants these would not show.
async fn role_grants(iam: &aws_sdk_iam::Client, role: &str) -> Vec<Grant> {
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    assert!(
        attached.attached_policies().is_empty(),
        "{role} has managed policies: {:?}",
        attached.attached_policies()
    );
    let names = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let mut grants = vec![];
    for name in names.policy_names() {
        let policy = iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .unwrap();
        // IAM answers the document URL-encoded, and the SDK leaves it so.
        let document = percent_encoding::percent_decode_str(policy.policy_document())
            .decode_utf8()
            .unwrap();
        let document: Value = serde_json::from_str(&document)
            .unwrap_or_else(|e| panic!("{role}'s policy {name} is not JSON ({e}): {document}"));
        let statements = match &document["Statement"] {
            Value::Array(statements) => statements.clone(),
            statement => vec![statement.clone()],
        };
        for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
            assert!(
                statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
                "{role}'s policy {name} allows all but what it names: {statement}"
            );
            grants.push(Grant {
                actions: strings(&statement["Action"]),
                resources: strings(&statement["Resource"]),
            });
        }
    }
    assert!(!grants.is_empty(), "{role} may do nothing");
    grants
}

/// The resources the grants allow an action that `is_action` picks on.
fn resources_where(grants: &[Grant], is_action: impl Fn(&str) -> bool) -> BTreeSet<String> {
    grants
        .iter()
        .filter(|g| g.actions.iter().any(|a| is_action(a)))
        .flat_map(|g| g.resources.iter().cloned())
        .collect()
}

/// Whether an IAM action pattern covers `action` (IAM actions ignore case; a pattern may end
/// in `*`, as `bedrock:*` or `*` do).
fn covers(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_lowercase(), action.to_lowercase());
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

/// Whether an IAM action pattern names an action of `service` (`*` names them all).
fn of_service(pattern: &str, service: &str) -> bool {
    pattern == "*"
        || pattern
            .split_once(':')
            .is_some_and(|(s, _)| s.eq_ignore_ascii_case(service))
}

/// The app may invoke only the catalogue's models and inference profiles (the `bedrock_models`
/// output), each named without a wildcard, and use only its gallery bucket. That it may invoke
/// every one of them is proven on the plan (`cargo xtask ci`, the catalogue check).
fn assert_task_role_least_privilege(
    grants: &[Grant],
    models: &[String],
    bedrock_region: &str,
    bucket: &str,
) {
    assert_actions(
        grants,
        &[
            "bedrock:InvokeModel",
            "bedrock:ListFoundationModels",
            "bedrock:ListInferenceProfiles",
            "bedrock:GetFoundationModel",
            "bedrock:GetFoundationModelAvailability",
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ],
    );
    let invoke = resources_where(grants, |a| covers(a, "bedrock:InvokeModel"));
    // A profile id is `us.<model id>`: its model may be invoked too, through it.
    let named: BTreeSet<&str> = models
        .iter()
        .flat_map(|m| {
            [
                m.as_str(),
                m.split_once('.').map_or(m.as_str(), |(_, rest)| rest),
            ]
        })
        .collect();
    for resource in &invoke {
        assert!(
            !resource.contains('*'),
            "the task role may invoke the wildcard {resource}"
        );
        let model = resource
            .strip_prefix("arn:aws:bedrock:")
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, id)| id)
            .unwrap_or_default();
        assert!(
            named.contains(model),
            "the task role may invoke {resource}, which is not in the catalogue"
        );
    }
    for model in models {
        assert!(
            invoke.iter().any(
                |r| r.starts_with(&format!("arn:aws:bedrock:{bedrock_region}:"))
                    && r.ends_with(&format!("/{model}"))
            ),
            "the task role may not invoke {model} in {bedrock_region}"
        );
    }

    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let s3 = resources_where(grants, |a| of_service(a, "s3"));
    assert!(!s3.is_empty(), "the task role may use its gallery bucket");
    for resource in &s3 {
        assert!(
            *resource == bucket_arn || resource.starts_with(&format!("{bucket_arn}/")),
            "the task role may use {resource}, beyond the gallery bucket {bucket} and its objects"
        );
    }
}

/// ECS may pull only from the stack's repository (the login token has no resource), write
/// only to the stack's log group and read only the cookie key's secret.
fn assert_execution_role_least_privilege(
    grants: &[Grant],
    repository_arn: &str,
    log_group_arn: &str,
    secret_arn: &str,
) {
    assert_actions(
        grants,
        &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "secretsmanager:GetSecretValue",
        ],
    );
    assert_eq!(
        resources_where(grants, |a| of_service(a, "secretsmanager")),
        BTreeSet::from([secret_arn.to_owned()]),
        "the execution role may read only the cookie key"
    );
    let pull = resources_where(grants, |a| {
        of_service(a, "ecr") && !a.eq_ignore_ascii_case("ecr:GetAuthorizationToken")
    });
    assert_eq!(
        pull,
        BTreeSet::from([repository_arn.to_owned()]),
        "the execution role may use only the stack's repository"
    );
    let logs = resources_where(grants, |a| of_service(a, "logs"));
    assert_eq!(
        logs,
        BTreeSet::from([format!("{log_group_arn}:*")]),
        "the execution role may write only to the stack's log group (its streams)"
    );
}

/// The role may do exactly these actions, named one by one (no wildcard, nothing else).
fn assert_actions(grants: &[Grant], expected: &[&str]) {
    let granted: BTreeSet<&str> = grants
        .iter()
        .flat_map(|g| g.actions.iter().map(String::as_str))
        .collect();
    assert_eq!(
        granted,
        expected.iter().copied().collect(),
        "the role may do exactly what the app or ECS needs"
    );
}

/// A policy element that is one string or a list of them.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a list of strings").to_owned())
            .collect(),
        _ => panic!("a string or a list of strings: {value}"),
    }
}

/// A role's name, from its ARN (`arn:aws:iam::ACCOUNT:role/PATH/NAME`).
fn role_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap().to_owned()
}

/// A repository's name, from its URL (`HOST/NAME`).
fn repository_name(url: &str) -> &str {
    url.split_once('/').expect("a repository URL").1
}

/// The bucket destroy says it kept.
fn local_bucket(destroyed: &str) -> String {
    destroyed
        .lines()
        .find(|line| line.starts_with("Destroyed"))
        .expect("destroy says what it did")
        .split_whitespace()
        .skip_while(|word| *word != "bucket")
        .nth(1)
        .expect("destroy names the kept bucket")
        .to_owned()
}

#[test]
fn an_unreachable_endpoint_fails_fast_and_is_named() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{closed}");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["deploy"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("`check AWS access`"), "{stderr}");
    assert!(
        stderr.contains(&endpoint),
        "the endpoint is named: {stderr}"
    );
}
