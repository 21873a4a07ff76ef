//! Every sentence Easel shows people when something was refused or went wrong: the web pages'
//! errors and the job cards' problems alike.

use time::OffsetDateTime;

use super::{Problem, Refusal};
use crate::{bedrock::BedrockError, guard::OverBudget};

/// A title and a sentence for a page that explains a failure.
#[derive(Debug)]
pub struct Explained {
    pub title: &'static str,
    pub message: &'static str,
}

pub const CROSS_SITE: Explained = Explained {
    title: "Refused: this request came from another site",
    message: "Another web site tried to act in Easel on your behalf. Nothing was done and nothing was spent. To use Easel, open it directly.",
};

pub const NO_IDENTITY: Explained = Explained {
    title: "Reload the page first",
    message: "This browser has not opened Easel yet (or its cookie is gone), so nothing was done. Open the studio page and try again.",
};

pub const NOT_FOUND: Explained = Explained {
    title: "Not found",
    message: "There is no such page or image here. Images are only visible in the browser that made them.",
};

pub const LINK_EXPIRED: Explained = Explained {
    title: "This link has expired",
    message: "The person who shared this picture gave the link an end, and it has passed. Ask them for a new link.",
};

pub const BAD_SHARE: Explained = Explained {
    title: "No link was made",
    message: "Choose how long the link lives: a day, a week or for ever.",
};

pub const VIEWER_NOT_ALLOWED: Explained = Explained {
    title: "Not open to your network",
    message: "This studio only takes visitors from the networks its operator listed. Ask them to add yours.",
};

pub const STORE_UNAVAILABLE: Explained = Explained {
    title: "Storage unavailable",
    message: "Easel could not reach its image store. Nothing was lost; try again in a moment.",
};

pub const SIGNED_OUT: Explained = Explained {
    title: "Sign in first",
    message: "You are not signed in (or your session ended), so nothing was done. Sign in, then try again.",
};

pub const SIGN_IN_FAILED: Explained = Explained {
    title: "Sign-in did not work",
    message: "This sign-in could not be checked, so you are not signed in: it may have taken too long, been used already, or not come from your own sign-in. Sign in again.",
};

pub const SIGN_IN_REFUSED: Explained = Explained {
    title: "Sign-in refused",
    message: "The sign-in provider did not sign you in. Sign in again, or ask the studio's operator for access.",
};

pub const PROVIDER_UNREACHABLE: Explained = Explained {
    title: "Sign-in unavailable",
    message: "Easel could not reach the sign-in provider, so nobody can sign in right now. Try again in a moment.",
};

/// The title of a page that says why a request was not accepted.
pub const NOT_ACCEPTED: &str = "Not accepted";

/// Said if a decoder gave up in a way it should not have.
pub const UNREADABLE: &str = "Easel could not read this picture. Choose another.";

pub const CHOOSE_OPERATION: &str = "Choose one of the listed operations.";

pub const CHOOSE_UPLOAD: &str = "Choose a PNG, JPEG or WebP picture to upload.";

pub const NO_RECIPE: &str = "This picture holds no recipe Easel can read. To edit it instead, upload it with \"Edit a picture of your own\".";

/// For a job whose model the catalogue no longer lists.
pub const MODEL_GONE: &str = "This model is no longer offered here.";

/// A model the live list knows to be gone, `reason` completing "… is {reason}", and the model
/// to pick instead, when there is one.
pub fn unusable(name: &str, reason: &str, instead: Option<&str>) -> String {
    match instead {
        Some(other) if other != name => format!("{name} is {reason}. Pick {other} instead."),
        _ => format!("{name} is {reason}."),
    }
}

/// The sentence for a request the studio did not accept.
pub fn refusal(refused: &Refusal) -> String {
    match refused {
        Refusal::ShuttingDown => {
            "Easel is restarting. Nothing was queued or charged; try again in a few seconds.".into()
        }
        Refusal::RateLimited => "You have started a lot of jobs or uploads in the last minute. Wait a moment and try again.".into(),
        Refusal::TooManyJobs { limit } => format!("You already have {limit} jobs queued or running, the most one browser may have. Wait for one to finish, or cancel one."),
        Refusal::QueueFull { model, waiting, wait_secs } => format!(
            "The queue for {model} is full: {}. Nothing was charged. Try again in about {}.",
            match waiting {
                0 => "every slot is busy and no job may wait".to_owned(),
                1 => "1 job is waiting".to_owned(),
                n => format!("{n} jobs are waiting"),
            },
            in_words(*wait_secs)
        ),
        Refusal::ReadingPictures => "Easel is reading other pictures right now, so this one was not read. Nothing was charged; try again in a few seconds.".into(),
        Refusal::OverBudget(over) => over_budget(over),
        Refusal::OverQuota(over) => format!("Your pictures here have reached this Easel's quota of {} MB, so this one was not kept. Delete some to upload more.", over.megabytes),
        Refusal::Storage(_) | Refusal::Gallery(_) => "Easel could not reach its store, so nothing was accepted and nothing was charged. Try again in a moment.".into(),
    }
}

fn over_budget(over: &OverBudget) -> String {
    let now = OffsetDateTime::now_utc();
    match over {
        OverBudget::Daily {
            committed,
            cap,
            asked,
            resets_at,
        } => format!(
            "This would go over this browser's daily budget of {cap}: {committed} is already spent or held by running jobs today, and this request may cost up to {asked}. The budget resets at midnight UTC, in {}.",
            in_words((*resets_at - now).whole_seconds().max(0) as u64)
        ),
        OverBudget::Monthly { resets_at } => format!(
            "This Easel's monthly budget, shared by everyone who uses it, has been reached. It resets on {} {} (UTC), in {}.",
            resets_at.day(),
            resets_at.month(),
            in_words((*resets_at - now).whole_seconds().max(0) as u64)
        ),
    }
}

/// "45 seconds", "3 minutes", "5 hours", "2 days".
fn in_words(secs: u64) -> String {
    let (n, unit) = match secs {
        0..=89 => (secs.max(1), "second"),
        90..=5399 => (secs.div_ceil(60), "minute"),
        5400..=172_799 => (secs.div_ceil(3600), "hour"),
        _ => (secs.div_ceil(86_400), "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A plain sentence for each reason a job made fewer pictures than asked.
pub fn problem(problem: &Problem, name: &str, region: &str, instead: Option<&str>) -> String {
    match problem {
        Problem::Bedrock(error) => call_failed(error, name, region, instead),
        Problem::NotSaved(n) => format!("{n} picture(s) were made but could not be saved to the gallery. Try again in a moment."),
        Problem::Interrupted => "Easel stopped twice while this job was running (a restart or a crash), so it was not tried a third time. Pictures that were saved are kept; start it again to make the rest.".into(),
        Problem::NoLongerValid(why) => format!("This job can no longer run as asked: {why}"),
    }
}

/// A plain sentence for each way a model (or edit operation) call can fail, `name` naming
/// it. `instead` names a model to pick when this one cannot be used.
pub fn call_failed(
    error: &BedrockError,
    name: &str,
    region: &str,
    instead: Option<&str>,
) -> String {
    let pick = match instead {
        Some(other) => format!(" Pick {other} instead."),
        None => " Pick another model.".to_owned(),
    };
    match error {
        BedrockError::InputFiltered => "Bedrock's content filter blocked this prompt. Rephrase it and try again.".into(),
        BedrockError::InputImageFiltered => "Bedrock's content filter blocked the picture sent to be edited. Edit another picture.".into(),
        BedrockError::OutputFiltered => "Bedrock's content filter blocked the picture the model made. Try another prompt or seed.".into(),
        BedrockError::Throttled => format!("Bedrock is getting too many requests for {name} right now and asked Easel to slow down. Wait a moment and try again."),
        BedrockError::AccessDenied => format!("Easel's AWS identity is not allowed to call {name} in {region}: its IAM policy lacks bedrock:InvokeModel on this model. The operator must allow it (docs/bedrock-access.md has the policy), then try again."),
        BedrockError::NotSubscribed => format!("This AWS account's AWS Marketplace subscription to {name} is missing or still being set up. If it was started in the last 15 minutes, try again in a few minutes; otherwise the operator must subscribe the account (cargo xtask deploy --accept-model-agreements), or allow Easel's AWS identity the aws-marketplace:Subscribe, Unsubscribe and ViewSubscriptions actions."),
        BedrockError::Retired => format!("{name} has reached the end of its life on Bedrock and no longer makes pictures.{pick}"),
        BedrockError::Legacy => format!("{name} is a Legacy model that this AWS account may no longer use.{pick}"),
        BedrockError::NotOffered => format!("{name} is not offered by Bedrock in {region}.{pick}"),
        BedrockError::NeedsProfile => format!("{name} can only be called through an inference profile, and Easel found none in {region}.{pick}"),
        BedrockError::Timeout => format!("{name} did not answer in time. Try again; fewer or smaller pictures are quicker."),
        BedrockError::ModelFailed(_) => format!("{name} failed while making the picture. Try again."),
        BedrockError::Malformed(_) => format!("{name} sent back an answer Easel could not read, so nothing was saved. Try again."),
        BedrockError::Unavailable => "Bedrock is unavailable right now. Try again in a minute.".into(),
        BedrockError::Unreachable(_) => "Easel could not reach Bedrock. Try again later; if it persists, the operator should check the network.".into(),
        BedrockError::Rejected(message) => format!("Bedrock refused the request: {message}"),
    }
}

/// What a script is told when its token opens nothing (OpenAI's clients show the message).
pub mod api {
    pub const NO_TOKEN: &str = "No token was given. Send a personal access token from /tokens as `Authorization: Bearer esl_pat_...`.";
    pub const MALFORMED_TOKEN: &str = "The Authorization header holds no Easel token. Send `Authorization: Bearer esl_pat_...` with a token from /tokens.";
    pub const UNKNOWN_TOKEN: &str =
        "This token is unknown, expired or revoked. Make a new one at /tokens.";
    pub const NO_SUCH_ROUTE: &str = "There is no such API route here.";
    pub const STILL_RUNNING: &str = "The picture is taking longer than this answer may wait. The job goes on: it will be in your gallery when it is done.";
    pub const RESPONSE_FORMAT: &str = "response_format must be \"b64_json\" or \"url\".";
    pub const SIZE: &str = "size must be \"auto\" or a size like \"1024x1024\".";
    pub const QUALITY: &str =
        "quality must be one of \"standard\", \"hd\", \"low\", \"medium\", \"high\" or \"auto\".";
    pub const NO_PICTURE: &str = "The job ended without a picture.";

    pub fn model_not_found(model: &str) -> String {
        format!("There is no model {model:?} here. GET /v1/models lists the ones you can use.")
    }

    /// A field of the wrong JSON type.
    pub fn wrong_type(param: &str, wanted: &str) -> String {
        format!("{param} must be {wanted}.")
    }
    pub const NO_SUCH_METHOD: &str =
        "This route does not take that method. docs/api.md lists what each route takes.";
    pub const NO_SUCH_PICTURE: &str = "There is no such picture among yours.";
    pub const NO_SUCH_JOB: &str = "There is no such job among yours.";
    pub const BAD_CURSOR: &str =
        "The cursor is not one Easel gave. Start without one, then pass each `next_cursor` back.";
    pub const STORE_UNAVAILABLE: &str =
        "Easel could not reach its store. Nothing was lost; try again in a moment.";
}
