//! The one-command lifecycle, for real, against a local AWS: `cargo xtask deploy --local`, then
//! `destroy --local`, checked by asking moto through the AWS SDK and the registry over its API.
//!
//! The whole lifecycle needs the Docker engine, moto_server, docker-registry, Terraform (with
//! `TF_PLUGIN_DIR` where the provider registry is out of reach) and the images from
//! `cargo xtask image`, named by `EASEL_IMAGE`. `cargo xtask ci` provides all of that and runs
//! it with `--include-ignored`; it is ignored in a plain `cargo test` only because it needs the
//! image built first. Without `EASEL_IMAGE` it fails, it never skips.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecs::config::Credentials;
use serde_json::Value;

/// Runs `cargo xtask ARGS` (the binary cargo built for this test) against the local AWS in `dir`.
fn xtask(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("EASEL_LOCAL_AWS_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("xtask runs");
    println!("$ cargo xtask {}", args.join(" "));
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
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
        Self { dir }
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
    fn output(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join("terraform.tfstate")).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        state["outputs"][name]["value"]
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
    use std::io::Write;
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

    let deployed = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", &tag]));
    assert!(
        deployed.contains("smoke test passed"),
        "the smoke test passed"
    );
    assert!(deployed.contains("==> deploy finished"));

    let aws = local.aws().await;
    let ec2 = aws_sdk_ec2::Client::new(&aws);
    let ecs = aws_sdk_ecs::Client::new(&aws);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&aws);
    let ecr = aws_sdk_ecr::Client::new(&aws);
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
    let image = task_definition
        .task_definition()
        .unwrap()
        .container_definitions()[0]
        .image()
        .unwrap();
    assert_eq!(
        image,
        format!("{}/easel:{tag}", local.registry()),
        "the service runs the new tag"
    );

    let groups = elb
        .describe_target_groups()
        .target_group_arns(&target_group)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.target_groups().len(), 1, "the target group exists");

    let tags: Value = reqwest::get(format!("http://{}/v2/easel/tags/list", local.registry()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == tag.as_str()),
        "the image is in the registry: {tags}"
    );

    // Nothing changed: nothing changes.
    let again = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", &tag]));
    assert!(again.contains("not pushed again"));
    assert!(again.contains("Resources: 0 added, 0 changed, 0 destroyed"));
    assert!(again.contains("unchanged"));

    // A broken image: the deploy fails, naming the step and what to do.
    let failed = xtask(&local.dir, &["deploy", "--local", "--tag", &broken]);
    assert!(!failed.status.success(), "deploying a broken image fails");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("`start the service and wait until it is healthy`"),
        "{stderr}"
    );
    assert!(stderr.contains("exited at once"), "{stderr}");
    assert!(
        stderr.contains("EASEL_LISTEN"),
        "its log names the bad setting: {stderr}"
    );

    let destroyed = succeeds(&xtask(&local.dir, &["destroy", "--local", "--yes"]));
    let bucket = local_bucket(&destroyed);

    // Nothing deploy created remains but the kept gallery bucket (moto keeps deleted ECS
    // clusters and services listed as INACTIVE).
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await;
    assert!(
        vpcs.map(|v| v.vpcs().is_empty()).unwrap_or(true),
        "the VPC is gone"
    );
    let clusters = ecs
        .describe_clusters()
        .clusters(&cluster)
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
        .cluster(&cluster)
        .services(&service)
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
    assert!(
        bucket.starts_with("easel-gallery-"),
        "the kept bucket is named: {bucket}"
    );
    let state = std::fs::read_to_string(local.dir.join("terraform.tfstate")).unwrap();
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
        bucket_exists(&local, &bucket).await,
        "the kept bucket exists"
    );

    // The next deploy adopts the kept bucket; destroy --delete-images removes it too.
    let adopted = succeeds(&xtask(&local.dir, &["deploy", "--local", "--tag", &tag]));
    assert!(
        adopted.contains("Adopted the gallery bucket"),
        "the kept bucket is adopted"
    );
    let deleted = succeeds(&xtask(
        &local.dir,
        &["destroy", "--local", "--yes", "--delete-images"],
    ));
    assert!(!deleted.contains("was kept"));
    assert!(
        !bucket_exists(&local, &bucket).await,
        "the bucket is gone with --delete-images"
    );

    // Twice is fine.
    succeeds(&xtask(
        &local.dir,
        &["destroy", "--local", "--yes", "--stop-local-aws"],
    ));
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
