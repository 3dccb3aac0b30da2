//! The report's three forms: lines for a terminal (`Display`), JSON (`Serialize`, for
//! serde_json or any serde format) and JUnit XML (`write_junit`), as `uwsgi-wire check`
//! prints and writes them.

use std::fmt;
use std::io;

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::{CaseResult, Outcome, Report};

/// How many bytes of what was sent and what came back a report shows.
const SHOW: usize = 160;

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

/// One line per case (its detail under it when it did not pass, the bytes when it
/// failed), then a summary line: what `uwsgi-wire check` prints.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?.to_string();
/// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
/// let report = uwsgi_wire::check::Checker::new().only(["vars/1"]).run(&addr).await?;
/// let text = report.to_string();
/// assert!(text.starts_with("vars/1        an empty value last  pass\n"), "{text}");
/// assert!(text.ends_with(&format!("1 cases: 1 passed, 0 failed, 0 warnings ({addr})\n")));
/// # Ok(())
/// # }
/// ```
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .results
            .iter()
            .map(|r| r.case.title.len())
            .max()
            .unwrap_or(0);
        for result in &self.results {
            let case = result.case;
            writeln!(
                f,
                "{:<13} {:<width$}  {}",
                case.id,
                case.title,
                result.outcome.as_str()
            )?;
            if result.outcome != Outcome::Pass {
                writeln!(f, "    {}", result.detail)?;
            }
            if result.outcome == Outcome::Fail {
                writeln!(f, "    sent:     \"{}\"", escape(&result.sent))?;
                writeln!(f, "    received: \"{}\"", escape(&result.received))?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "{} cases: {} passed, {} failed, {} warnings ({})",
            self.results.len(),
            self.count(Outcome::Pass),
            self.count(Outcome::Fail),
            self.count(Outcome::Warn),
            self.addr
        )
    }
}

/// One case's object in the report's JSON: the case (`id`, `section`, `number`,
/// `title`, `level`), `outcome`, `detail`, `sent` and `received` (escaped as
/// `escape_ascii` does, at most 160 bytes), `elapsed_ms`, `reference`, `source`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?.to_string();
/// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
/// let report = uwsgi_wire::check::Checker::new().only(["framing/3"]).run(&addr).await?;
/// let json = serde_json::to_value(&report.results[0])?;
/// assert_eq!(json["id"], "framing/3");
/// assert_eq!(json["level"], "MUST");
/// assert_eq!(json["sent"], r"\x00\x00\x00\x00");
/// # Ok(())
/// # }
/// ```
impl Serialize for CaseResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let case = self.case;
        let mut out = serializer.serialize_struct("CaseResult", 12)?;
        out.serialize_field("id", case.id)?;
        out.serialize_field("section", case.section)?;
        out.serialize_field("number", &case.number)?;
        out.serialize_field("title", case.title)?;
        out.serialize_field("level", case.level.as_str())?;
        out.serialize_field("outcome", self.outcome.as_str())?;
        out.serialize_field("detail", &self.detail)?;
        out.serialize_field("sent", &escape(&self.sent))?;
        out.serialize_field("received", &escape(&self.received))?;
        let elapsed_ms = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        out.serialize_field("elapsed_ms", &elapsed_ms)?;
        out.serialize_field("reference", case.reference)?;
        out.serialize_field("source", case.source)?;
        out.end()
    }
}

/// The counts of a report's JSON.
struct Counts<'a>(&'a Report);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Counts", 3)?;
        out.serialize_field("pass", &self.0.count(Outcome::Pass))?;
        out.serialize_field("fail", &self.0.count(Outcome::Fail))?;
        out.serialize_field("warn", &self.0.count(Outcome::Warn))?;
        out.end()
    }
}

/// The report's JSON, as `uwsgi-wire check --json` prints it (with
/// `serde_json::to_string_pretty`): `addr`, `strict`, `baseline_status`, `passed`,
/// `counts` (`pass`, `fail`, `warn`), `results` (one object per case, see
/// [`CaseResult`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?.to_string();
/// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
/// let report = uwsgi_wire::check::Checker::new().only(["vars"]).run(&addr).await?;
/// let json = serde_json::to_value(&report)?;
/// assert_eq!(json["passed"], true);
/// assert_eq!(json["counts"]["pass"], 5);
/// assert_eq!(json["results"][2]["id"], "vars/3");
/// # Ok(())
/// # }
/// ```
impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Report", 6)?;
        out.serialize_field("addr", &self.addr)?;
        out.serialize_field("strict", &self.strict)?;
        out.serialize_field("baseline_status", &self.baseline_status)?;
        out.serialize_field("passed", &self.passed())?;
        out.serialize_field("counts", &Counts(self))?;
        out.serialize_field("results", &self.results)?;
        out.end()
    }
}

impl Report {
    /// Writes the report as JUnit XML (`uwsgi-wire check --junit FILE`), for CI: one
    /// suite per section, one test case per case; a failure is a JUnit failure with
    /// the detail and the bytes; a warning passes, with the detail as its system-out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?.to_string();
    /// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    /// let report = uwsgi_wire::check::Checker::new().only(["framing/1"]).run(&addr).await?;
    /// let mut xml = Vec::new();
    /// report.write_junit(&mut xml)?;
    /// let xml = String::from_utf8(xml)?;
    /// assert!(xml.contains(r#"<testsuite name="framing" tests="1""#), "{xml}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn write_junit(&self, out: impl io::Write) -> io::Result<()> {
        let mut junit = JunitReport::new("uwsgi-wire check");
        let mut suites: Vec<TestSuite> = Vec::new();
        for result in &self.results {
            let section = result.case.section;
            if suites.last().map_or(true, |s| s.name.as_str() != section) {
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
            let mut case =
                TestCase::new(format!("{} {}", result.case.id, result.case.title), status);
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
        junit.serialize(out).map_err(io::Error::other)
    }
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
