//! `uwsgi-wire check ADDR [CASE...]`: the conformance catalogue of `uwsgi_wire::check`
//! run against a uwsgi server, as h2spec runs its own: one line per case, a summary,
//! exit 1 when a required case fails; `--json` and `--junit FILE` for CI.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};
use serde_json::{json, Value};
use uwsgi_wire::check::{catalogue, CaseResult, Checker, Level, Outcome, Report};

use crate::args::parse_seconds;
use crate::failure::{fail, usage, Failure};

/// How many bytes of what was sent and what came back a failure line shows.
const SHOW: usize = 160;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The server: `host:port`, `unix:PATH`, or a Unix socket path (containing `/`).
    #[arg(required_unless_present = "list")]
    addr: Option<String>,
    /// Cases (`vars/3`) or whole sections (`vars`) to run; default: all of them.
    cases: Vec<String>,
    /// Also run the SHOULD-level cases (a failure among them fails the run too).
    #[arg(long)]
    strict: bool,
    /// Print the catalogue (id, level, title, reference) and exit.
    #[arg(long)]
    list: bool,
    /// Print the report as JSON on stdout instead of the lines.
    #[arg(long)]
    json: bool,
    /// Also write the report as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Seconds each case waits for each thing it waits on (connect, write, answer).
    #[arg(long, default_value = "5", value_parser = parse_seconds, value_name = "SECONDS")]
    timeout: Duration,
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    }
}

/// `bytes` as `escape_ascii` writes them, at most [`SHOW`] of them, then how many more
/// there were.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(SHOW) {
        // Not quite `escape_ascii`: the report has always kept `'` as is inside its
        // double quotes, and written a tab `\x09`.
        match b {
            b'\'' => out.push('\''),
            b'\t' => out.push_str("\\x09"),
            _ => out.extend(b.escape_ascii().map(char::from)),
        }
    }
    if bytes.len() > SHOW {
        out.push_str(&format!("... ({} bytes shown of {})", SHOW, bytes.len()));
    }
    out
}

pub fn run(args: &CheckArgs) -> Result<(), Failure> {
    if args.list {
        for case in catalogue() {
            println!("{}  {}  {}", case.id, level(case.level), case.title);
            println!("    {}", case.reference);
            println!("    ({})", case.source);
        }
        return Ok(());
    }
    let Some(addr) = args.addr.as_deref() else {
        return Err(usage("give the server's ADDR"));
    };
    for id in &args.cases {
        if !catalogue().iter().any(|c| c.id == id || c.section == id) {
            return Err(usage(format!(
                "no case or section {id:?}: `uwsgi-wire check --list` lists them"
            )));
        }
    }
    let checker = Checker::new()
        .timeout(args.timeout)
        .strict(args.strict)
        .only(args.cases.iter().cloned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the runtime: {e}")))?;
    let report = runtime
        .block_on(checker.run(addr))
        .map_err(|e| fail(e.to_string()))?;
    if args.json {
        let text = serde_json::to_string_pretty(&to_json(&report, args.strict))
            .map_err(|e| fail(format!("JSON: {e}")))?;
        println!("{text}");
    } else {
        print_lines(&report);
    }
    if let Some(path) = &args.junit {
        let xml = to_junit(&report)?;
        std::fs::write(path, xml).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    }
    let failed = report.count(Outcome::Fail);
    if failed > 0 {
        return Err(fail(format!(
            "{addr}: {failed} case{} failed",
            if failed == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

fn print_lines(report: &Report) {
    let width = report
        .results
        .iter()
        .map(|r| r.case.title.len())
        .max()
        .unwrap_or(0);
    for result in &report.results {
        let case = result.case;
        println!(
            "{:<13} {:<width$}  {}",
            case.id,
            case.title,
            result.outcome.as_str()
        );
        if result.outcome != Outcome::Pass {
            println!("    {}", result.detail);
        }
        if result.outcome == Outcome::Fail {
            println!("    sent:     \"{}\"", escape(&result.sent));
            println!("    received: \"{}\"", escape(&result.received));
        }
    }
    println!();
    println!(
        "{} cases: {} passed, {} failed, {} warnings ({})",
        report.results.len(),
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        report.count(Outcome::Warn),
        report.addr
    );
}

fn result_json(result: &CaseResult) -> Value {
    json!({
        "id": result.case.id,
        "section": result.case.section,
        "number": result.case.number,
        "title": result.case.title,
        "level": level(result.case.level),
        "outcome": result.outcome.as_str(),
        "detail": result.detail,
        "sent": escape(&result.sent),
        "received": escape(&result.received),
        "elapsed_ms": u64::try_from(result.elapsed.as_millis()).unwrap_or(u64::MAX),
        "reference": result.case.reference,
        "source": result.case.source,
    })
}

fn to_json(report: &Report, strict: bool) -> Value {
    json!({
        "addr": report.addr,
        "strict": strict,
        "baseline_status": report.baseline_status,
        "passed": report.passed(),
        "counts": {
            "pass": report.count(Outcome::Pass),
            "fail": report.count(Outcome::Fail),
            "warn": report.count(Outcome::Warn),
        },
        "results": report.results.iter().map(result_json).collect::<Vec<_>>(),
    })
}

/// One suite per section, one test case per case: a failure is a JUnit failure with the
/// detail and the bytes; a warning passes, with the detail as its system-out.
fn to_junit(report: &Report) -> Result<String, Failure> {
    let mut junit = JunitReport::new("uwsgi-wire check");
    let mut suites: Vec<TestSuite> = Vec::new();
    for result in &report.results {
        let section = result.case.section;
        if suites.last().is_none_or(|s| s.name.as_str() != section) {
            suites.push(TestSuite::new(section));
        }
        let status = match result.outcome {
            Outcome::Fail => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(result.detail.clone());
                status.set_description(format!(
                    "sent: \"{}\"\nreceived: \"{}\"",
                    escape(&result.sent),
                    escape(&result.received)
                ));
                status
            }
            Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(format!("{} {}", result.case.id, result.case.title), status);
        case.set_classname(format!("check.{section}"));
        case.set_time(result.elapsed);
        if result.outcome == Outcome::Warn {
            case.set_system_out(format!("warn: {}", result.detail));
        }
        if let Some(suite) = suites.last_mut() {
            suite.add_test_case(case);
        }
    }
    junit.add_test_suites(suites);
    junit
        .to_string()
        .map_err(|e| fail(format!("JUnit XML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_quotes_and_writes_tabs_in_hex() {
        assert_eq!(escape(b"a'\t\r\n\\\"\xff\x7f"), r#"a'\x09\r\n\\\"\xff\x7f"#);
        let long = escape(&[b'x'; SHOW + 2]);
        assert!(long.ends_with(&format!("... ({SHOW} bytes shown of {})", SHOW + 2)));
    }
}
