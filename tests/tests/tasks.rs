//! Real `easel` processes sharing one store: jobs outlive SIGTERM and kill -9, are run exactly
//! once when queued, at most twice when their process died mid-call, and no number of tasks
//! spends past the monthly cap.

use std::{collections::HashMap, path::Path, process::Command, time::Duration};

use easel_tests::{
    BedrockDouble, Browser, PATIENCE,
    process::{Running, easel_against, free_port, start_s3, wait_until_up},
    wait_until,
};

const BUCKET: &str = "easel-jobs";

/// Each test here runs a local S3 and two Easel processes: one at a time, so that on a small
/// machine they do not starve each other (and the single-threaded S3) of CPU.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One Easel task: its address and the process.
struct Task {
    address: String,
    _process: Running,
}

/// Settings every task in these tests shares: one job of a model at a time, and a short lease
/// so that a dead task's jobs are taken over within seconds.
fn task_command(storage: &str, bedrock: &BedrockDouble) -> Command {
    let mut command = easel_against(bedrock);
    command
        .env("EASEL_STORAGE", storage)
        .env("EASEL_MODEL_CONCURRENCY", "1")
        .env("EASEL_JOB_LEASE_SECS", "2")
        .env("EASEL_JOB_SCAN_SECS", "1");
    command
}

async fn start_task(mut command: Command) -> Task {
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let process = Running::spawn_logged(command.env("EASEL_LISTEN", format!("127.0.0.1:{port}")));
    wait_until_up(&format!("{address}/readyz")).await;
    Task {
        address,
        _process: process,
    }
}

fn on_s3(s3: &str, bedrock: &BedrockDouble) -> Command {
    let mut command = task_command(&format!("s3://{BUCKET}/easel"), bedrock);
    command.env("AWS_ENDPOINT_URL", s3);
    command
}

/// How many model calls the double received for each prompt.
fn calls_per_prompt(bedrock: &BedrockDouble) -> HashMap<String, usize> {
    let mut calls = HashMap::new();
    for call in bedrock.received() {
        let prompt = call.body["prompt"].as_str().unwrap_or_default().to_owned();
        *calls.entry(prompt).or_default() += 1;
    }
    calls
}

async fn submit_jobs(browser: &Browser, prompts: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for prompt in prompts {
        let card = browser.submit(&[("prompt", prompt)]).await;
        assert_eq!(card.status, 202, "{}", card.html);
        ids.push(card.job_ids()[0].clone());
    }
    ids
}

#[tokio::test]
async fn a_killed_tasks_jobs_are_finished_by_the_other_each_exactly_once() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_s3, s3) = start_s3(BUCKET).await;
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_secs(2));
    let doomed = start_task(on_s3(&s3, &bedrock)).await;
    let survivor = start_task(on_s3(&s3, &bedrock)).await;

    let browser = Browser::new(&doomed.address);
    let prompts = ["mid-call", "queued one", "queued two"];
    let ids = submit_jobs(&browser, &prompts).await;
    // kill -9 while the first job's model call is under way.
    first_call_under_way(&bedrock).await;
    drop(doomed);

    // The same browser, now answered by the other task (as the load balancer would).
    let browser = browser.clone_for(&survivor.address);
    for id in &ids {
        let ended = browser.wait_for_job(id).await;
        assert_eq!(ended.job_states(), ["done"], "{}", ended.text());
        assert_eq!(ended.image_ids().len(), 1, "{}", ended.text());
    }
    let calls = calls_per_prompt(&bedrock);
    assert_eq!(calls["queued one"], 1, "a queued job runs exactly once");
    assert_eq!(calls["queued two"], 1, "a queued job runs exactly once");
    assert_eq!(
        calls["mid-call"], 2,
        "the job that was mid-call when its task died runs once more (docs/jobs.md)"
    );
    assert_eq!(
        browser.gallery().await.gallery_ids().len(),
        3,
        "no picture twice"
    );
}

#[tokio::test]
async fn a_stopping_task_keeps_its_running_job_and_hands_over_its_queued_ones() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_s3, s3) = start_s3(BUCKET).await;
    let bedrock = BedrockDouble::start().await;
    // Longer than the lease: a stopping task must go on saying it is alive.
    bedrock.will_answer_after(Duration::from_secs(5));
    let stopping = start_task(on_s3(&s3, &bedrock)).await;
    let staying = start_task(on_s3(&s3, &bedrock)).await;
    let browser = Browser::new(&stopping.address);
    let ids = submit_jobs(&browser, &["long call", "handed over"]).await;
    first_call_under_way(&bedrock).await;

    let stopped = tokio::task::spawn_blocking(move || stop(stopping));
    let browser = browser.clone_for(&staying.address);
    for id in &ids {
        assert_eq!(browser.wait_for_job(id).await.job_states(), ["done"]);
    }
    stopped.await.unwrap();
    let calls = calls_per_prompt(&bedrock);
    assert_eq!(calls["long call"], 1, "finished by the stopping task alone");
    assert_eq!(calls["handed over"], 1, "run once, by the task that stays");
}

#[tokio::test]
async fn queued_jobs_survive_sigterm_and_finish_after_a_restart() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let folder = tempfile::tempdir().unwrap();
    let storage = folder.path().to_str().unwrap().to_owned();
    let bedrock = BedrockDouble::start().await;
    bedrock.will_answer_after(Duration::from_millis(1500));
    let task = start_task(task_command(&storage, &bedrock)).await;
    let browser = Browser::new(&task.address);
    let ids = submit_jobs(&browser, &["running", "waiting one", "waiting two"]).await;
    first_call_under_way(&bedrock).await;

    stop(task);
    assert_eq!(
        calls_per_prompt(&bedrock).get("running"),
        Some(&1),
        "the running call finished within the grace period"
    );
    assert!(
        !calls_per_prompt(&bedrock).contains_key("waiting one"),
        "a stopping task starts nothing new"
    );

    let restarted = start_task(task_command(&storage, &bedrock)).await;
    let browser = browser.clone_for(&restarted.address);
    for id in &ids {
        assert_eq!(browser.wait_for_job(id).await.job_states(), ["done"]);
    }
    let calls = calls_per_prompt(&bedrock);
    for prompt in ["running", "waiting one", "waiting two"] {
        assert_eq!(calls[prompt], 1, "{prompt}");
    }
    assert!(Path::new(&storage).exists());
}

#[tokio::test]
async fn many_browsers_on_two_tasks_never_spend_past_the_monthly_cap() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (_s3, s3) = start_s3(BUCKET).await;
    let bedrock = BedrockDouble::start().await;
    let capped = |s3: &str| {
        let mut command = on_s3(s3, &bedrock);
        // Five pictures of Stable Image Core.
        command
            .env("EASEL_BUDGET_MONTHLY_USD", "0.20")
            .env("EASEL_MODEL_CONCURRENCY", "8");
        command
    };
    let tasks = [start_task(capped(&s3)).await, start_task(capped(&s3)).await];
    let browsers: Vec<Browser> = (0..24)
        .map(|n| Browser::new(&tasks[n % 2].address))
        .collect();
    for browser in &browsers {
        browser.home().await;
    }
    let answers =
        futures::future::join_all(browsers.iter().enumerate().map(|(n, b)| async move {
            (b, b.submit(&[("prompt", &format!("picture {n}"))]).await)
        }))
        .await;
    let mut accepted = Vec::new();
    for (browser, answer) in &answers {
        match answer.status.as_u16() {
            202 => accepted.push((browser, answer.job_ids()[0].clone())),
            402 => assert!(
                answer
                    .messages()
                    .join(" ")
                    .contains("monthly budget, shared by everyone"),
                "{:?}",
                answer.messages()
            ),
            other => panic!("{other}: {}", answer.html),
        }
    }
    assert_eq!(accepted.len(), 5, "exactly what the cap allows is accepted");
    for (browser, id) in &accepted {
        assert_eq!(browser.wait_for_job(id).await.job_costs(), ["Cost $0.04"]);
    }
    assert_eq!(bedrock.received().len(), 5);
}

/// Waits until the double has received the first job's model call.
async fn first_call_under_way(bedrock: &BedrockDouble) {
    wait_until("the first model call", PATIENCE, || async {
        match bedrock.received().is_empty() {
            true => Err("no call yet"),
            false => Ok(()),
        }
    })
    .await;
}

/// SIGTERM, as ECS sends it, and wait for the task to exit.
fn stop(task: Task) {
    let output = task._process.stop();
    assert!(output.status.success(), "{output:?}");
}
