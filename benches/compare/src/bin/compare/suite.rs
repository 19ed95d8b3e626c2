//! Running one suite (a test binary of this crate) under nextest, timed, with the requests that
//! reached the daemon counted by the proxy.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use dockside_compare::generated;

use crate::cpu::{Sample, Spent};
use crate::prepare::Prepared;

pub struct Runner<'a> {
    prepared: &'a Prepared,
}

/// The rounds of one suite.
#[derive(Default)]
pub struct Outcome {
    /// Wall time of each passing round.
    times: Vec<Duration>,
    /// The sum of the test times nextest reported, of each passing round: the suite's work
    /// without the parallel scheduling, less sensitive to a loaded machine's stalls.
    test_sums: Vec<Duration>,
    /// CPU time of each passing round: the machine's and the suite's own processes'.
    cpu: Vec<Spent>,
    /// The requests of each round, as (method, unversioned path).
    requests: Vec<Vec<(String, String)>>,
    /// Rounds that failed, with the log that shows why.
    failed: Vec<String>,
}

impl<'a> Runner<'a> {
    pub fn new(prepared: &'a Prepared) -> Runner<'a> {
        Runner { prepared }
    }

    /// Runs each suite once per round, the order rotating from round to round so no suite always
    /// runs first (or right after the same one). `before` gives a run its extra environment.
    pub fn rounds(
        &self,
        suites: &[&str],
        rounds: usize,
        mut before: impl FnMut(&str) -> Vec<(String, String)>,
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = suites.iter().map(|_| Outcome::default()).collect();
        for round in 0..rounds {
            for k in 0..suites.len() {
                let index = (round + k) % suites.len();
                let env = before(suites[index]);
                self.run(suites[index], round, &env, &mut outcomes[index]);
            }
        }
        outcomes
    }

    fn run(&self, suite: &str, round: usize, env: &[(String, String)], outcome: &mut Outcome) {
        let proxy = &self.prepared.proxy;
        proxy.reset();
        let logs = generated("logs");
        let _ = fs::create_dir_all(&logs);
        let log = logs.join(format!("{suite}-{round}.log"));
        let mut command = Command::new(env!("CARGO"));
        command
            .current_dir(dockside_compare::crate_dir())
            .args(["nextest", "run", "--no-fail-fast"])
            .arg("--binaries-metadata")
            .arg(&self.prepared.binaries)
            .arg("--cargo-metadata")
            .arg(&self.prepared.cargo_metadata)
            .args(["-E", &format!("binary(={suite})")])
            .env("DOCKER_HOST", proxy.docker_host())
            .envs(env.iter().map(|(k, v)| (k, v)));
        let (started, cpu_before) = (Instant::now(), Sample::now());
        let output = command.output();
        let elapsed = started.elapsed();
        let cpu = Sample::now().since(&cpu_before);
        eprintln!("compare: {suite} round {round}: {elapsed:.2?}");
        let mut test_sum = Duration::ZERO;
        let passed = match &output {
            Ok(out) => {
                let mut text = out.stdout.clone();
                text.extend_from_slice(&out.stderr);
                test_sum = test_times(&String::from_utf8_lossy(&text));
                let _ = fs::write(&log, text);
                out.status.success()
            }
            Err(e) => {
                let _ = fs::write(&log, format!("could not run {command:?}: {e}"));
                false
            }
        };
        outcome.requests.push(proxy.requests());
        if passed {
            outcome.times.push(elapsed);
            outcome.test_sums.push(test_sum);
            outcome.cpu.push(cpu);
        } else {
            outcome.failed.push(log.display().to_string());
        }
    }
}

impl Outcome {
    /// The median wall time of the passing rounds, when every round passed.
    pub fn median(&self) -> Option<Duration> {
        (self.failed.is_empty() && !self.times.is_empty()).then(|| middle(&self.times))
    }

    /// The median of the tests' own times summed, when every round passed.
    pub fn median_test_sum(&self) -> Option<Duration> {
        self.median().map(|_| middle(&self.test_sums))
    }

    /// The medians of the machine's busy CPU time and of the suite's own processes' CPU time,
    /// when every round passed.
    pub fn median_cpu(&self) -> Option<(Duration, Duration)> {
        self.median().map(|_| {
            let machine: Vec<Duration> = self.cpu.iter().map(|spent| spent.machine).collect();
            let suite: Vec<Duration> = self.cpu.iter().map(|spent| spent.suite).collect();
            (middle(&machine), middle(&suite))
        })
    }

    pub fn describe(&self) -> String {
        match self.median() {
            Some(median) => {
                let all: Vec<String> = self.times.iter().map(|t| crate::seconds(*t)).collect();
                let (machine, suite) = self.median_cpu().unwrap_or_default();
                format!(
                    "{} (rounds: {}); tests' own times summed {}; CPU busy {} (the suite's \
                     processes {}); requests per run {}",
                    crate::seconds(median),
                    all.join(", "),
                    crate::seconds(middle(&self.test_sums)),
                    crate::seconds(machine),
                    crate::seconds(suite),
                    self.requests
                        .iter()
                        .map(|r| r.len().to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                )
            }
            None => format!(
                "FAILED {} of {} rounds (logs: {})",
                self.failed.len(),
                self.failed.len() + self.times.len(),
                self.failed.join(", ")
            ),
        }
    }

    /// How many requests of each round had this method and path prefix: `1/1/1`.
    pub fn count_text(&self, method: &str, prefix: &str) -> String {
        self.requests
            .iter()
            .map(|requests| {
                requests
                    .iter()
                    .filter(|(m, path)| m == method && path.starts_with(prefix))
                    .count()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The median of `samples` (not empty).
fn middle(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// The sum of the times of nextest's `PASS [   0.812s] ...` lines.
fn test_times(output: &str) -> Duration {
    output
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("PASS ["))
        .filter_map(|rest| rest.split_once("s]"))
        .filter_map(|(seconds, _)| seconds.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .sum()
}
