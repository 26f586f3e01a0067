//! Runs the validation requests: each distinct secret once (by key, its fingerprint), from the
//! cache when it holds a fresh verdict, else by a bounded pool of workers, each request with
//! the transport's timeout; an answer of 429 is retried after the provider's `Retry-After`
//! (capped) or a short exponential backoff, then reported as rate-limited.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::answer::{self, Answer};
use super::cache::Cache;
use super::code;
use super::http::Transport;
use super::request::{https_host, PreparedRequest, Verdict};
use super::spec::{How, Validator};

/// Retries after a 429 before the verdict is "rate-limited".
const RETRIES: u32 = 2;
/// Longest wait honoured from a `Retry-After`.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// One secret to validate.
pub struct Job<'a> {
    /// Its fingerprint (with the companion's, for a pair): the dedupe and cache key.
    pub key: String,
    pub validator: &'a Validator,
    pub secret: String,
    pub companion: Option<String>,
}

/// How the runner works.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The first backoff after a 429 (doubled each retry) when no `Retry-After` says.
    pub backoff: Duration,
}

/// The verdict for each job's key, each key asked at most once.
pub fn run(
    jobs: Vec<Job>,
    transport: &dyn Transport,
    cache: Option<&Cache>,
    limits: &Limits,
) -> HashMap<String, Verdict> {
    let mut verdicts = HashMap::new();
    let mut todo = Vec::new();
    for job in jobs {
        if verdicts.contains_key(&job.key) || todo.iter().any(|j: &Job| j.key == job.key) {
            continue;
        }
        match cache.and_then(|c| c.get(&job.key)) {
            Some(verdict) => {
                verdicts.insert(job.key, verdict);
            }
            None => todo.push(job),
        }
    }
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(todo.len()));
    let workers = limits.concurrency.clamp(1, todo.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = todo.get(i) else { break };
                let verdict = validate(job, transport, limits);
                if let Some(cache) = cache {
                    cache.put(&job.key, &verdict);
                }
                done.lock().unwrap().push((job.key.clone(), verdict));
            });
        }
    });
    verdicts.extend(done.into_inner().unwrap());
    verdicts
}

/// One job's verdict, with the secret and its companion taken out of any text in it: a
/// network error may quote the URL, a provider may echo the token.
fn validate(job: &Job, transport: &dyn Transport, limits: &Limits) -> Verdict {
    let hidden: Vec<&str> = std::iter::once(job.secret.as_str())
        .chain(job.companion.as_deref())
        .collect();
    match ask(job, transport, limits) {
        Verdict::Live { identity } => Verdict::Live {
            identity: identity.map(|text| scrub(&text, &hidden)),
        },
        Verdict::Unknown { reason } => Verdict::Unknown {
            reason: scrub(&reason, &hidden),
        },
        Verdict::Invalid => Verdict::Invalid,
    }
}

/// `text` with each of `secrets` (as is or percent-encoded) replaced by `[secret]`.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for form in [secret.to_string(), super::place::percent_encode(secret)] {
            text = text.replace(&form, "[secret]");
        }
    }
    text
}

/// Prepare, send (retrying 429s), read.
fn ask(job: &Job, transport: &dyn Transport, limits: &Limits) -> Verdict {
    let request = match &job.validator.how {
        How::Declared(d) => d.prepare(&job.secret, job.companion.as_deref()),
        How::Code(name) => code::prepare(
            name,
            &job.secret,
            job.companion.as_deref(),
            SystemTime::now(),
        ),
    };
    let request = match request {
        Ok(request) => request,
        Err(reason) => return Verdict::Unknown { reason },
    };
    // The declaration was checked when the rule loaded; this is the last line of defence.
    let host = job.validator.host();
    if https_host(&request.url).as_deref() != Some(host.as_str()) {
        return Verdict::Unknown {
            reason: format!("refused: the request is not to {host} over HTTPS"),
        };
    }
    let answer = match send(&request, transport, limits) {
        Ok(answer) => answer,
        Err(reason) => return Verdict::Unknown { reason },
    };
    match &job.validator.how {
        How::Declared(d) => answer::read(d, &answer),
        How::Code(name) => answer::common(&answer)
            .unwrap_or_else(|| code::verdict(name, answer.status, &answer.body, &job.secret)),
    }
}

fn send(
    request: &PreparedRequest,
    transport: &dyn Transport,
    limits: &Limits,
) -> Result<Answer, String> {
    let mut wait = limits.backoff;
    let mut tries = 0;
    loop {
        let answer = transport.send(request)?;
        if answer.status != 429 || tries == RETRIES {
            return Ok(answer);
        }
        tries += 1;
        let asked = answer
            .header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        std::thread::sleep(asked.unwrap_or(wait).min(MAX_WAIT));
        wait *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn secrets_never_stay_in_reasons_or_identities() {
        assert_eq!(
            scrub("GET https://h/x?key=a%2Fb failed for a/b", &["a/b"]),
            "GET https://h/x?key=[secret] failed for [secret]"
        );
    }
}
