//! The one-command lifecycle, for real, against a local AWS: `cargo xtask deploy --local`, then
//! `destroy --local`, checked by asking moto through the AWS SDK and the registry over its API.
//! It deploys a team's stack: a name of its own and settings from a variables file, as
//! `--var-file` passes them, and the default edge and sign-in: CloudFront in front of the load
//! balancer, and a Cognito user pool whose people `cargo xtask users` manages.
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

    /// Where the local service answers: the load balancer's place.
    fn app_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.recorded()["app_port"])
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
    only_cloudfront_reaches_the_load_balancer(&local, &deployed).await;
    people_sign_in_through_the_stacks_user_pool(&local, &deployed).await;
    people_are_added_listed_and_removed(&local).await;
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
    /// What the deploy printed.
    printed: String,
    vpc_id: String,
    cluster: String,
    service: String,
    log_group: String,
    secret_arn: String,
    /// The SSM parameter holding the sign-in client secret.
    client_secret_arn: String,
    user_pool_id: String,
    task_definition: aws_sdk_ecs::types::TaskDefinition,
}

impl Deployed {
    fn container(&self) -> &aws_sdk_ecs::types::ContainerDefinition {
        &self.task_definition.container_definitions()[0]
    }

    /// The task's secrets, as (variable, where ECS reads it from).
    fn secrets(&self) -> Vec<(&str, &str)> {
        self.container()
            .secrets()
            .iter()
            .map(|s| (s.name(), s.value_from()))
            .collect()
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
        client_secret_arn: local.output("oidc_client_secret_parameter_arn"),
        user_pool_id: local.output("user_pool_id"),
        task_definition: task_definition.task_definition().unwrap().clone(),
        printed: deployed,
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
    assert!(
        deployed
            .secrets()
            .contains(&("EASEL_COOKIE_KEY", secret_arn.as_str())),
        "{:?}",
        deployed.secrets()
    );
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
        &deployed.client_secret_arn,
    );
}

/// Deploy names the studio's CloudFront address; the load balancer takes only CloudFront's
/// origin-facing addresses, and forwards only what carries the origin secret. (That nothing
/// else gets through is proven on the plan, `the_planned_*`: moto enforces neither security
/// groups nor listener rules.)
async fn only_cloudfront_reaches_the_load_balancer(local: &LocalAws, deployed: &Deployed) {
    let url = local.output("url");
    assert!(
        url.starts_with("https://") && url.ends_with(".cloudfront.net"),
        "the studio's address is CloudFront's: {url}"
    );
    assert!(
        deployed.printed.contains(&format!("is deployed at {url}")),
        "deploy names the CloudFront address"
    );

    let aws = local.aws().await;
    let ec2 = aws_sdk_ec2::Client::new(&aws);
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&deployed.vpc_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut prefix_lists = BTreeSet::new();
    for group in groups.security_groups() {
        for rule in group.ip_permissions() {
            assert!(
                rule.ip_ranges()
                    .iter()
                    .all(|r| r.cidr_ip() != Some("0.0.0.0/0"))
                    && rule
                        .ipv6_ranges()
                        .iter()
                        .all(|r| r.cidr_ipv6() != Some("::/0")),
                "{:?} takes traffic from anywhere: {rule:?}",
                group.group_name()
            );
            prefix_lists.extend(
                rule.prefix_list_ids()
                    .iter()
                    .filter_map(|p| p.prefix_list_id()),
            );
        }
    }
    let cloudfront = ec2
        .describe_managed_prefix_lists()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("prefix-list-name")
                .values("com.amazonaws.global.cloudfront.origin-facing")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cloudfront = cloudfront.prefix_lists()[0].prefix_list_id().unwrap();
    assert_eq!(
        prefix_lists,
        BTreeSet::from([cloudfront]),
        "only CloudFront's origin-facing addresses may reach the load balancer"
    );

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws);
    let balancer = elb
        .describe_load_balancers()
        .names(NAME)
        .send()
        .await
        .unwrap();
    let balancer = balancer.load_balancers()[0].load_balancer_arn().unwrap();
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(balancer)
        .send()
        .await
        .unwrap();
    let rules = elb
        .describe_rules()
        .listener_arn(listeners.listeners()[0].listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let forwarding: Vec<_> = rules
        .rules()
        .iter()
        .filter(|r| {
            r.actions()
                .iter()
                .any(|a| a.r#type().map(|t| t.as_str()) == Some("forward"))
        })
        .collect();
    assert_eq!(
        forwarding.len(),
        1,
        "one rule forwards: {:?}",
        rules.rules()
    );
    let header = forwarding[0]
        .conditions()
        .iter()
        .find_map(|c| c.http_header_config())
        .expect("the forwarding rule checks a header");
    assert_eq!(header.http_header_name(), Some("X-Easel-Origin-Verify"));
    assert!(
        header.values().iter().all(|v| v.len() >= 32),
        "the origin secret is long: {:?}",
        header.values().len()
    );
    assert!(
        !deployed.printed.contains(&header.values()[0]),
        "deploy does not print the origin secret"
    );
}

/// With the default `auth = "cognito"`, the stack makes a user pool, its sign-in domain and an
/// app client called back at the CloudFront address; the task, and the local service like it,
/// run with sign-in on, and an anonymous visitor is sent to sign in and can make nothing.
async fn people_sign_in_through_the_stacks_user_pool(local: &LocalAws, deployed: &Deployed) {
    assert_eq!(local.output("auth"), "cognito");
    let url = local.output("url");
    let pool = local.output("user_pool_id");
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&local.aws().await);
    let setting = |name| {
        deployed
            .environment(name)
            .unwrap_or_else(|| panic!("the task has no {name}"))
    };
    assert_eq!(setting("EASEL_AUTH"), "oidc");
    assert_eq!(setting("EASEL_PUBLIC_URL"), url);
    assert_eq!(
        setting("EASEL_OIDC_ISSUER"),
        format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}"),
        "the pool is the issuer"
    );
    assert!(
        deployed.secrets().contains(&(
            "EASEL_OIDC_CLIENT_SECRET",
            deployed.client_secret_arn.as_str()
        )),
        "the client secret is an ECS secret: {:?}",
        deployed.secrets()
    );

    let client_id = setting("EASEL_OIDC_CLIENT_ID");
    let client = cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(client_id)
        .send()
        .await
        .unwrap();
    let client = client.user_pool_client().expect("the app client exists");
    assert_eq!(client.callback_urls(), [format!("{url}/auth/callback")]);
    let client_secret = client.client_secret().expect("the app client has a secret");

    // Cognito's own logout endpoint, on the pool's sign-in domain.
    let logout = setting("EASEL_OIDC_LOGOUT_URL");
    let domain = logout
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once(".auth.us-east-1.amazoncognito.com/logout"))
        .map(|(domain, _)| domain)
        .unwrap_or_else(|| panic!("not Cognito's logout endpoint: {logout}"));
    let described = cognito
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .domain_description()
            .and_then(|d| d.user_pool_id()),
        Some(pool.as_str()),
        "the sign-in domain is the pool's"
    );

    // The local service got what the task gets, the client secret from its parameter.
    let running = container_environment("easel-local-app");
    for name in [
        "EASEL_AUTH",
        "EASEL_PUBLIC_URL",
        "EASEL_OIDC_ISSUER",
        "EASEL_OIDC_CLIENT_ID",
        "EASEL_OIDC_LOGOUT_URL",
    ] {
        assert!(
            running.contains(&format!("{name}={}", setting(name))),
            "the local service lacks the task's {name}"
        );
    }
    assert!(
        running.contains(&format!("EASEL_OIDC_CLIENT_SECRET={client_secret}")),
        "the local service has the client secret"
    );

    assert!(
        deployed
            .printed
            .contains("leads an anonymous visitor to /auth/sign-in"),
        "the smoke test was sent to sign in"
    );
    let studio = local.app_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let front = http.get(format!("{studio}/")).send().await.unwrap();
    assert!(front.status().is_redirection(), "{}", front.status());
    assert!(
        front.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/sign-in"),
        "an anonymous visitor is sent to sign in: {:?}",
        front.headers()["location"]
    );
    // As a browser on the CloudFront address posts the form.
    let post = http
        .post(format!("{studio}/generate"))
        .header("Origin", &url)
        .form(&[("prompt", "a lighthouse on a cliff at dawn")])
        .send()
        .await
        .unwrap();
    let status = post.status();
    let body = post.text().await.unwrap();
    assert!(
        status.is_client_error() && !body.contains("class=\"job"),
        "a post without a session makes nothing: {status}"
    );
}

/// `cargo xtask users` adds people to the pool (Cognito mails them a first password), lists
/// them and removes them.
async fn people_are_added_listed_and_removed(local: &LocalAws) {
    let person = "ana@example.com";
    let added = succeeds(&xtask(
        &local.dir,
        &["users", "add", "Ana@Example.com", "--local"],
    ));
    assert!(added.contains(&format!("Added {person}")), "{added}");
    let again = succeeds(&xtask(&local.dir, &["users", "add", person, "--local"]));
    assert!(again.contains("already in the user pool"), "{again}");

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&local.aws().await);
    let user = cognito
        .admin_get_user()
        .user_pool_id(local.output("user_pool_id"))
        .username(person)
        .send()
        .await
        .expect("the person is in the pool");
    assert!(
        user.user_attributes()
            .iter()
            .any(|a| a.name() == "email" && a.value() == Some(person)),
        "{:?}",
        user.user_attributes()
    );

    let listed = succeeds(&xtask(&local.dir, &["users", "list", "--local"]));
    assert!(listed.contains(person), "{listed}");
    assert!(listed.contains("1 people in the user pool"), "{listed}");

    let removed = succeeds(&xtask(&local.dir, &["users", "remove", person, "--local"]));
    assert!(removed.contains(&format!("Removed {person}")), "{removed}");
    let listed = succeeds(&xtask(&local.dir, &["users", "list", "--local"]));
    assert!(!listed.contains(person), "{listed}");
    assert!(listed.contains("0 people in the user pool"), "{listed}");
}

/// A container's environment, one `NAME=value` a line.
fn container_environment(name: &str) -> String {
    let inspected = Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            name,
        ])
        .output()
        .unwrap();
    assert!(inspected.status.success(), "docker inspect {name}");
    String::from_utf8(inspected.stdout).unwrap()
}

/// Nothing is pushed, applied or restarted again. moto alone answers a distribution with CloudFront's
/// default certificate with `SSLSupportMethod` set (and empty certificate ids, which make the
/// provider read it back), where AWS leaves it out: that one attribute is set back to null on
/// every apply here, and nothing else may change.
fn a_second_deploy_changes_nothing(local: &LocalAws, tag: &str) {
    let again = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", tag]));
    assert!(again.contains("not pushed again"));
    assert!(again.contains("unchanged"));
    let again = without_colours(&again);
    if again.contains("Resources: 0 added, 0 changed, 0 destroyed") {
        return;
    }
    assert!(
        again.contains("Resources: 0 added, 1 changed, 0 destroyed")
            && again.contains("# aws_cloudfront_distribution.this will be updated in-place"),
        "a second deploy changed the stack"
    );
    let changes: Vec<&str> = again.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(
        changes
            .iter()
            .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        ["- ssl_support_method = \"sni-only\""],
        "a second deploy changed more than moto's default: {changes:?}"
    );
}

/// Terraform's output without its colour codes.
fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('\x1b') {
        plain.push_str(&rest[..start]);
        let code = &rest[start..];
        rest = code.find('m').map_or("", |end| &code[end + 1..]);
    }
    plain.push_str(rest);
    plain
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
    let pools = aws_sdk_cognitoidentityprovider::Client::new(&aws)
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .unwrap();
    assert!(
        pools
            .user_pools()
            .iter()
            .all(|p| p.id() != Some(deployed.user_pool_id.as_str())),
        "the user pool is gone"
    );
    let parameter = aws_sdk_ssm::Client::new(&aws)
        .get_parameter()
        .name(&deployed.client_secret_arn)
        .send()
        .await;
    assert!(
        parameter.is_err_and(|e| e
            .as_service_error()
            .is_some_and(|e| e.is_parameter_not_found())),
        "the client secret's parameter is gone"
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
/// only to the stack's log group and read only the cookie key's secret and the sign-in client
/// secret's parameter.
fn assert_execution_role_least_privilege(
    grants: &[Grant],
    repository_arn: &str,
    log_group_arn: &str,
    secret_arn: &str,
    client_secret_arn: &str,
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
            "ssm:GetParameters",
        ],
    );
    assert_eq!(
        resources_where(grants, |a| of_service(a, "secretsmanager")),
        BTreeSet::from([secret_arn.to_owned()]),
        "the execution role may read only the cookie key"
    );
    assert_eq!(
        resources_where(grants, |a| of_service(a, "ssm")),
        BTreeSet::from([client_secret_arn.to_owned()]),
        "the execution role may read only the client secret's parameter"
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

/// A studio without sign-in is refused before anything is touched when no one can be asked:
/// no AWS call is made (the endpoint here is closed) and no emulator is started.
#[test]
fn a_studio_open_to_everyone_is_not_deployed_without_consent() {
    let dir = tempfile::tempdir().unwrap();
    let vars = dir.path().join("open.tfvars");
    std::fs::write(&vars, "auth = \"none\"\n").unwrap();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["deploy", "--var-file"])
        .arg(&vars)
        .env("AWS_ENDPOINT_URL", format!("http://{closed}"))
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fails_saying(
        &output,
        &[
            "open to everyone",
            "--open-to-everyone",
            "Nothing was changed",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("check AWS access"),
        "refused before any AWS call: {stderr}"
    );
}
