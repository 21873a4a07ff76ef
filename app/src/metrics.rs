//! Counters for operators, served as Prometheus text on a listen address of their own
//! (`EASEL_METRICS_LISTEN`), never on the public port.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

use crate::storage::{Operation, StoreRequests};

/// Upper bounds of the Bedrock call latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// (model, outcome) -> calls.
    calls: BTreeMap<(String, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
    pictures: BTreeMap<String, u64>,
    /// Jobs that reached each final state in this process.
    jobs_ended: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<Counters>>,
    store: StoreRequests,
}

/// Gauges read at scrape time from the parts that own them.
#[derive(Debug, Default)]
pub struct Gauges {
    /// (model, state) -> jobs this process holds.
    pub jobs: BTreeMap<(String, &'static str), usize>,
    /// model -> jobs waiting for a slot in this process.
    pub queue_depth: BTreeMap<String, usize>,
    /// (cap, spent + held, limit if any) in USD.
    pub spend: Vec<(&'static str, f64, Option<f64>)>,
}

impl Metrics {
    /// Metrics that also report the requests counted by the store's `requests`.
    pub fn with_store(store: StoreRequests) -> Self {
        Self {
            store,
            ..Self::default()
        }
    }

    pub fn call(&self, model: &str, outcome: &'static str, seconds: f64) {
        let mut c = self.lock();
        *c.calls.entry((model.to_owned(), outcome)).or_default() += 1;
        let histogram = c.latency.entry(model.to_owned()).or_default();
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    pub fn pictures(&self, model: &str, n: usize) {
        *self.lock().pictures.entry(model.to_owned()).or_default() += n as u64;
    }

    pub fn job_ended(&self, state: &'static str) {
        *self.lock().jobs_ended.entry(state).or_default() += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self, gauges: &Gauges) -> String {
        let c = self.lock();
        let mut out = String::new();
        let name = family(
            &mut out,
            "easel_jobs",
            "gauge",
            "Jobs this process holds, by model and state.",
        );
        for ((model, state), n) in &gauges.jobs {
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\",state=\"{state}\"}} {n}",
                escape(model)
            );
        }
        let name = family(
            &mut out,
            "easel_jobs_ended_total",
            "counter",
            "Jobs that ended in this process, by final state.",
        );
        for (state, n) in &c.jobs_ended {
            let _ = writeln!(out, "{name}{{state=\"{state}\"}} {n}");
        }
        let name = family(
            &mut out,
            "easel_queue_depth",
            "gauge",
            "Jobs waiting for a free model slot in this process.",
        );
        for (model, n) in &gauges.queue_depth {
            let _ = writeln!(out, "{name}{{model=\"{}\"}} {n}", escape(model));
        }
        let name = family(
            &mut out,
            "easel_bedrock_calls_total",
            "counter",
            "Bedrock model calls, by model and outcome.",
        );
        for ((model, outcome), n) in &c.calls {
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(model)
            );
        }
        let name = family(
            &mut out,
            "easel_bedrock_call_seconds",
            "histogram",
            "How long Bedrock model calls took.",
        );
        for (model, h) in &c.latency {
            let model = escape(model);
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{model=\"{model}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{model=\"{model}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{name}_sum{{model=\"{model}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{model=\"{model}\"}} {}", h.count);
        }
        let name = family(
            &mut out,
            "easel_pictures_total",
            "counter",
            "Pictures made and stored, by model.",
        );
        for (model, n) in &c.pictures {
            let _ = writeln!(out, "{name}{{model=\"{}\"}} {n}", escape(model));
        }
        let name = family(
            &mut out,
            "easel_store_requests_total",
            "counter",
            "Requests this process made to the object store, by operation (S3 bills each one).",
        );
        for operation in Operation::ALL {
            let n = self.store.count(operation);
            let _ = writeln!(out, "{name}{{operation=\"{}\"}} {n}", operation.as_str());
        }
        let name = family(
            &mut out,
            "easel_spend_usd",
            "gauge",
            "Money spent or held by running jobs, per cap period.",
        );
        for (cap, spent, _) in &gauges.spend {
            let _ = writeln!(out, "{name}{{cap=\"{cap}\"}} {spent}");
        }
        let name = family(
            &mut out,
            "easel_budget_cap_usd",
            "gauge",
            "The budget cap (absent when there is none).",
        );
        for (cap, _, limit) in &gauges.spend {
            if let Some(limit) = limit {
                let _ = writeln!(out, "{name}{{cap=\"{cap}\"}} {limit}");
            }
        }
        out
    }
}

/// Writes a metric family's header and returns its name.
fn family<'a>(out: &mut String, name: &'a str, kind: &str, help: &str) -> &'a str {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
