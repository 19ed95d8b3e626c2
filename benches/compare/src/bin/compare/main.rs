//! The comparison driver: prepares the images and build contexts, runs the suites of this crate
//! under nextest in alternating rounds, through a request-counting proxy, times cold builds of a
//! one-test crate using each tool, and prints a table of figures. It asserts nothing: timings on a
//! shared machine are for reading, not for failing builds. A suite that fails is shown as failed,
//! with its output kept in `generated/logs/`.
//!
//! Run from `benches/compare`: `cargo run -- [--rounds N] [--only a,b,c,d,e]` (see BENCHMARKS.md).

mod cold;
mod cpu;
mod daemon;
mod prepare;
mod suite;

use std::time::Duration;

use suite::{Outcome, Runner};

struct Args {
    rounds: usize,
    only: Vec<char>,
}

fn args() -> Args {
    let mut args = Args {
        rounds: 3,
        only: "abcde".chars().collect(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match (arg.as_str(), given.next()) {
            ("--rounds", Some(n)) => args.rounds = n.parse().expect("--rounds takes a number"),
            ("--only", Some(parts)) => args.only = parts.chars().filter(|c| *c != ',').collect(),
            _ => panic!("usage: compare [--rounds N] [--only a,b,c,d,e]"),
        }
    }
    args
}

fn main() {
    let args = args();
    let wants = |part: char| args.only.contains(&part);
    let daemon = daemon::Daemon::connect();
    let prepared = prepare::prepare(&daemon, wants('d'));
    let runner = Runner::new(&prepared);
    let mut table = Table::default();
    table.note(format!(
        "{} rounds, tools in rotating order; medians of the rounds; API version cap {}",
        args.rounds, prepared.api_version
    ));

    if wants('a') {
        let suites = ["warm_dockside", "warm_testcontainers", "warm_bollard"];
        let runs = runner.rounds(&suites, args.rounds, |_| Vec::new());
        table.section("(a) 8-test warm suite under nextest (wall time)");
        for (name, outcome) in suites.iter().zip(&runs) {
            table.row(name, outcome.describe());
        }
        table.ratio(
            "dockside / testcontainers-rs",
            &runs[0],
            &runs[1],
            "<= 0.80",
        );
        table.ratio("dockside / bollard", &runs[0], &runs[2], "<= 0.85");
    }
    if wants('b') {
        let suites = ["fresh_dockside", "fresh_testcontainers", "fresh_bollard"];
        let runs = runner.rounds(&suites, args.rounds, |_| prepare::fresh_round());
        table.section("(b) 12 processes needing one fresh Dockerfile");
        for (name, outcome) in suites.iter().zip(&runs) {
            table.row(
                name,
                format!(
                    "{}; build requests {}",
                    outcome.describe(),
                    outcome.count_text("POST", "/build?")
                ),
            );
        }
        table.ratio(
            "wall time dockside / testcontainers-rs",
            &runs[0],
            &runs[1],
            "-",
        );
        table.ratio("wall time dockside / bollard", &runs[0], &runs[2], "-");
        daemon.remove_labelled(prepare::ROUND_LABEL);
    }
    if wants('c') {
        table.section("(c) 16 tests: one shared container against one container each");
        let suites = ["shared_dockside", "each_dockside", "each_testcontainers"];
        let runs = runner.rounds(&suites, args.rounds, |_| Vec::new());
        for (name, outcome) in suites.iter().zip(&runs) {
            table.row(
                name,
                format!(
                    "{}; containers created {}",
                    outcome.describe(),
                    outcome.count_text("POST", "/containers/create")
                ),
            );
        }
        table.ratio("shared / each (dockside)", &runs[0], &runs[1], "<= 0.5");
    }
    if wants('d') {
        let suites = ["context_big", "context_small"];
        let runs = runner.rounds(&suites, args.rounds, |_| Vec::new());
        table.section(&format!(
            "(d) 8 tests, present image, context of {} against 2 files",
            prepared.big_context
        ));
        for (name, outcome) in suites.iter().zip(&runs) {
            table.row(name, outcome.describe());
        }
        table.ratio("big / small", &runs[0], &runs[1], "<= 1.2");
    }
    prepared.clean_up(&daemon);
    if wants('e') {
        table.section("(e) cold `cargo build --tests` of a one-test crate");
        for tool in &cold::TOOLS {
            table.row(tool.name, cold::build(tool).describe());
        }
        table
            .section("(e) dockside's dependency subtrees (crates only reachable through it / all)");
        for (dependency, only, all) in cold::subtrees() {
            table.row(&dependency, format!("{only} / {all}"));
        }
    }
    table.print();
}

/// The figures, printed at the end so a long run's output stays together.
#[derive(Default)]
struct Table {
    lines: Vec<String>,
}

impl Table {
    fn note(&mut self, text: String) {
        self.lines.push(text);
    }

    fn section(&mut self, title: &str) {
        self.lines.push(String::new());
        self.lines.push(title.to_owned());
    }

    fn row(&mut self, what: &str, figure: String) {
        self.lines.push(format!("  {what:<44} {figure}"));
    }

    /// The ratio of the median wall times, of the tests' own times summed and of the machine's
    /// busy CPU time.
    fn ratio(&mut self, what: &str, top: &Outcome, bottom: &Outcome, target: &str) {
        let ratio = |top: Option<Duration>, bottom: Option<Duration>| {
            Some(top?.as_secs_f64() / bottom?.as_secs_f64())
        };
        let machine = |outcome: &Outcome| outcome.median_cpu().map(|(machine, _)| machine);
        let figure = match (
            ratio(top.median(), bottom.median()),
            ratio(top.median_test_sum(), bottom.median_test_sum()),
            ratio(machine(top), machine(bottom)),
        ) {
            (Some(wall), Some(sums), Some(cpu)) => format!(
                "{wall:.2} (target {target}); tests' own times: {sums:.2}; CPU busy: {cpu:.2}"
            ),
            _ => "- (a suite failed)".to_owned(),
        };
        self.row(what, figure);
    }

    fn print(&self) {
        println!("\n{}", self.lines.join("\n"));
    }
}

/// `12.3 s` style.
fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}
