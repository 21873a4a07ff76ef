//! Sequential generations as jobs: each one is timed from sending `POST /generate` until the
//! job's event stream says `end`, alternating with the same call sent straight to the double.
//! The difference is what Easel adds: accepting, persisting, queueing, running and storing.

use std::{
    io::Read,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use reqwest::{
    StatusCode,
    blocking::{Client, Response},
    header,
};

use super::{Latencies, MODEL, PROMPT, SEED};
use crate::processes::Running;

pub const WARM_UP: u32 = 10;
/// The memory target is for the process after this many generations.
const RSS_AFTER_GENERATIONS: u32 = 100;

/// Timed generations through Easel, and timed calls straight to the double for comparison.
pub struct Generations<'a> {
    /// A browser that has loaded `/` already, so it holds its identity cookie.
    pub client: &'a Client,
    pub easel: &'a Running,
    /// `http://ADDR` of Easel.
    pub app: String,
    pub double_url: String,
}

pub struct Timed {
    /// Sending POST /generate to the end of the job's stream.
    pub app: Latencies,
    /// Sending POST /generate to its whole answer (202): the job card, or the ended job.
    pub accepted: Latencies,
    /// Generations whose answer brought the job ended, so no stream was opened.
    pub ended_in_answer: u32,
    pub double: Latencies,
    pub rss_after_100: u64,
    pub rss_at_end: u64,
    pub generations: u32,
}

impl Timed {
    /// What Easel adds to the double's time, at the median.
    pub fn overhead_median_ms(&self) -> f64 {
        super::ms(self.app.median()) - super::ms(self.double.median())
    }

    /// What Easel adds to the double's time, at the 99th percentile.
    pub fn overhead_p99_ms(&self) -> f64 {
        super::ms(self.app.percentile(99.0)) - super::ms(self.double.percentile(99.0))
    }
}

impl Generations<'_> {
    pub fn measure(&self, n: u32) -> Result<Timed> {
        let direct_body = serde_json::json!({
            "taskType": "TEXT_IMAGE",
            "textToImageParams": { "text": PROMPT },
            "imageGenerationConfig": {
                "numberOfImages": 1,
                "seed": SEED,
                "width": 1024,
                "height": 1024,
                "cfgScale": 8.0,
                "quality": "standard",
            },
        })
        .to_string();
        let mut generations = 0;
        let mut rss_after_100 = None;
        let mut generate = || -> Result<Generated> {
            let took = self.generate()?;
            generations += 1;
            if generations == RSS_AFTER_GENERATIONS {
                rss_after_100 = Some(self.easel.rss_bytes()?);
            }
            Ok(took)
        };

        for _ in 0..WARM_UP {
            generate()?;
            self.invoke_double(&direct_body)?;
        }
        let mut app = Vec::with_capacity(n as usize);
        let mut accepted = Vec::with_capacity(n as usize);
        let mut double = Vec::with_capacity(n as usize);
        let mut ended_in_answer = 0;
        // Alternating keeps both series under the same conditions as the gallery grows.
        for _ in 0..n {
            let generated = generate()?;
            accepted.push(generated.answered);
            app.push(generated.ended);
            ended_in_answer += u32::from(generated.ended == generated.answered);
            double.push(self.invoke_double(&direct_body)?);
        }
        Ok(Timed {
            app: Latencies::new(app),
            accepted: Latencies::new(accepted),
            ended_in_answer,
            double: Latencies::new(double),
            rss_after_100: rss_after_100.context("fewer than 100 generations ran")?,
            rss_at_end: self.easel.rss_bytes()?,
            generations,
        })
    }

    /// One htmx generation, as the page's form sends it, then the job's event stream, as the
    /// job card opens it, unless the answer brought the job ended; timed until the answer has
    /// come (202) and until the job has ended.
    fn generate(&self) -> Result<Generated> {
        let form = [
            ("model", MODEL),
            ("prompt", PROMPT),
            ("size", "1024x1024"),
            ("count", "1"),
            ("seed_mode", "fixed"),
            ("seed", &SEED.to_string()),
        ];
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/generate", self.app))
            .header("HX-Request", "true")
            // The card is read for its job id, so it comes uncompressed.
            .header(header::ACCEPT_ENCODING, "identity")
            .form(&form)
            .send()
            .context("POST /generate")?;
        let status = response.status();
        let card = response.text().context("reading POST /generate")?;
        let answered = started.elapsed();
        ensure!(
            status == StatusCode::ACCEPTED,
            "POST /generate answered {status}: {}",
            excerpt(&card)
        );
        let id = job_id(&card).with_context(|| format!("no job card in {}", excerpt(&card)))?;
        if !card.contains("sse-connect=") {
            ensure!(
                card.contains("data-state=\"done\""),
                "job {id} ended without being done: {}",
                excerpt(&card)
            );
            return Ok(Generated {
                answered,
                ended: answered,
            });
        }
        let events = self
            .client
            .get(format!("{}/jobs/{id}/events", self.app))
            .header(header::ACCEPT, "text/event-stream")
            .header("HX-Request", "true")
            .send()
            .and_then(Response::error_for_status)
            .with_context(|| format!("GET /jobs/{id}/events"))?;
        let stream = read_until_end(events).with_context(|| format!("job {id}'s events"))?;
        let took = started.elapsed();
        ensure!(
            stream.contains("data-state=\"done\""),
            "job {id} ended without being done: {}",
            excerpt(&stream)
        );
        Ok(Generated {
            answered,
            ended: took,
        })
    }

    /// The call Easel makes for the same generation, sent to the double directly.
    fn invoke_double(&self, body: &str) -> Result<Duration> {
        let started = Instant::now();
        let response = self
            .client
            .post(&self.double_url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(body.to_owned())
            .send()
            .context("calling the double directly")?;
        let status = response.status();
        let answer = response.bytes().context("reading the double's answer")?;
        let took = started.elapsed();
        ensure!(
            status == StatusCode::OK && answer.starts_with(b"{\"images\""),
            "the double answered {status}: {}",
            excerpt(&String::from_utf8_lossy(&answer))
        );
        Ok(took)
    }
}

/// How long one generation took to be answered, and to end.
struct Generated {
    answered: Duration,
    ended: Duration,
}

/// The id of the first job card in an htmx answer: `<article class="job" id="job-{ID}" ...>`.
pub fn job_id(html: &str) -> Option<&str> {
    let start = html.find("id=\"job-")? + "id=\"job-".len();
    let rest = &html[start..];
    let id = &rest[..rest.find('"')?];
    (!id.is_empty()).then_some(id)
}

/// Reads a server-sent event stream until its `end` event, and returns what came.
fn read_until_end(mut events: Response) -> Result<String> {
    let mut stream = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = events.read(&mut chunk).context("reading the stream")?;
        if n == 0 {
            bail!(
                "the stream closed before `end`: {}",
                excerpt(&String::from_utf8_lossy(&stream))
            );
        }
        stream.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&stream);
        if has_ended(&text) {
            return Ok(text.into_owned());
        }
    }
}

/// Whether a complete `end` event is in the stream so far.
fn has_ended(stream: &str) -> bool {
    let stream = stream.replace("\r\n", "\n");
    stream.rsplit("\n\n").skip(1).any(|event| {
        event
            .lines()
            .any(|line| line.strip_prefix("event:").map(str::trim) == Some("end"))
    })
}

pub fn excerpt(text: &str) -> String {
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_id_is_read_from_the_card() {
        let card = r#"<div class="job-live" hx-ext="sse" sse-connect="/jobs/01J/events">
            <article class="job" id="job-01JABC" data-state="queued">"#;
        assert_eq!(job_id(card), Some("01JABC"));
        assert_eq!(job_id("<p>busy</p>"), None);
    }

    #[test]
    fn the_stream_ends_with_a_whole_end_event() {
        let job = "event: job\ndata: <article class=\"job\"\ndata: data-state=\"done\">\n\n";
        assert!(!has_ended(job));
        assert!(!has_ended(&format!("{job}event: end\ndata: ended\n")));
        assert!(has_ended(&format!("{job}event: end\ndata: ended\n\n")));
        assert!(has_ended("event:end\r\ndata:ended\r\n\r\n"));
        assert!(!has_ended("event: job\ndata: the end\n\n"));
    }
}
