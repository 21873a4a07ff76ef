//! A job: one accepted request and everything that happened to it, as stored and as shown.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    bedrock::BedrockError,
    domain::{Field, GenerateForm},
    gallery::ImageId,
    guard::{Reservation, Usd},
    identity::OwnerId,
};

/// A job's id: shaped like an image id (newest first, unguessable), and the root of its
/// pictures' ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(ImageId);

impl JobId {
    pub fn new(now: OffsetDateTime) -> Self {
        Self(ImageId::new(now))
    }

    pub fn parse(s: &str) -> Option<Self> {
        ImageId::parse(s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id of the job's `n`th picture: the same whichever attempt makes it.
    pub fn picture(&self, n: u8) -> ImageId {
        self.0.nth(n)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of one Easel process, to tell whose claims are alive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(String);

impl WorkerId {
    pub fn new_random() -> Self {
        Self(format!("{:016x}", rand::random::<u64>()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// Why some or all of a job's pictures were not made; `http::error` words each one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Problem {
    Bedrock(BedrockError),
    /// Pictures made but not stored.
    NotSaved(u8),
    /// Its process died twice while the job ran: it is not run a third time.
    Interrupted,
    /// The model or its settings are no longer in this deployment's catalogue.
    NoLongerValid(String),
}

/// One picture of a job, stored in the gallery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picture {
    pub index: u8,
    pub image: ImageId,
    pub seed: u64,
}

/// What a job makes. Stored as `"form": {...}` for a generation (as every job was before
/// edits) or `"edit": {...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    #[serde(rename = "form")]
    Generate(GenerateForm),
    Edit(EditWork),
}

/// An edit as a job keeps it: the source is a gallery picture, and a mask or style picture
/// that came with the request is stored beside the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditWork {
    pub source: ImageId,
    /// The edit form's fields, seed fixed ([`crate::domain::EditRequest::to_form`]).
    pub form: Vec<(String, String)>,
    pub operation_name: String,
    pub has_mask: bool,
    pub has_style: bool,
}

/// The names an edit's mask and style picture are stored under, beside its job.
pub const MASK: &str = "mask";
pub const STYLE: &str = "style";

impl Work {
    /// The names of the pictures stored beside the job.
    pub fn inputs(&self) -> Vec<&'static str> {
        match self {
            Work::Generate(_) => Vec::new(),
            Work::Edit(edit) => [(edit.has_mask, MASK), (edit.has_style, STYLE)]
                .into_iter()
                .filter_map(|(kept, name)| kept.then_some(name))
                .collect(),
        }
    }
}

/// A job as stored (`_easel/jobs/{id}/job.json`). Only the holder of its newest claim writes
/// it, so plain writes are enough.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub owner: OwnerId,
    /// Jobs made by one Compare share the id of the first.
    pub group: Option<JobId>,
    /// What it makes, as accepted, its seed fixed, so any process can run it the same way.
    #[serde(flatten)]
    pub work: Work,
    pub model_id: String,
    pub model_name: String,
    pub count: u8,
    /// Said on the card when a Compare changed the shape to fit the model.
    pub note: Option<String>,
    pub state: JobState,
    pub accepted_by: WorkerId,
    /// The attempt that runs (or ran) it: 0 while queued.
    pub attempt: u8,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub pictures: Vec<Picture>,
    /// The first picture index of every call that has ended, so a re-run skips them.
    pub calls_done: Vec<u8>,
    pub problems: Vec<Problem>,
    /// Bedrock throttled the job and it is waiting to try again.
    pub retrying: bool,
    pub reservation: Reservation,
    /// What it cost, once it has ended.
    pub cost: Option<Usd>,
    pub price_per_image: Usd,
}

impl Job {
    /// What the card says was asked: the prompt, or for an edit without one its operation.
    pub fn prompt(&self) -> &str {
        match &self.work {
            Work::Generate(form) => &form.prompt,
            Work::Edit(edit) => edit
                .form
                .iter()
                .find(|(name, value)| name == Field::Prompt.name() && !value.is_empty())
                .map_or(edit.operation_name.as_str(), |(_, value)| value),
        }
    }

    /// Seconds since it started running (or was accepted), up to when it ended.
    pub fn elapsed_secs(&self, now: OffsetDateTime) -> i64 {
        let from = self.started_at.unwrap_or(self.created_at);
        let to = self.finished_at.unwrap_or(now);
        (to - from).whole_seconds().max(0)
    }
}
