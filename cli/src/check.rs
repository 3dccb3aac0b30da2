//! `uwsgi-wire check ADDR [CASE...]`: the conformance catalogue of `uwsgi_wire::check`
//! run against a uwsgi server, as h2spec runs its own: one line per case, a summary,
//! exit 1 when a required case fails; `--json` and `--junit FILE` for CI.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use uwsgi_wire::check::{catalogue, Checker, Outcome};

use crate::args::parse_seconds;
use crate::failure::{fail, usage, Failure};

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

pub fn run(args: &CheckArgs) -> Result<(), Failure> {
    if args.list {
        for case in catalogue() {
            println!("{}  {}  {}", case.id, case.level.as_str(), case.title);
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
        let text = serde_json::to_string_pretty(&report).map_err(|e| fail(format!("JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{report}");
    }
    if let Some(path) = &args.junit {
        let mut xml = Vec::new();
        report
            .write_junit(&mut xml)
            .map_err(|e| fail(format!("JUnit XML: {e}")))?;
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
