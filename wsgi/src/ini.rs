//! `--ini FILE`: uWSGI's INI configuration, read as uWSGI 2.0's `core/ini.c` reads it,
//! and turned into the command-line options it stands for, in place of the `--ini`.
//!
//! One `key = value` a line (both trimmed, no quoting); `;` and `#` start a comment
//! line; only the lines of the `[uwsgi]` section (or the one `FILE:SECTION` names) count.
//! A key is an option's long name; a flag takes `true`/`false` (`false`, `off`, `no` and
//! `0` are false, as uWSGI's `uwsgi_opt_true` reads them); a repeatable option is
//! repeated. The file's magic variables (`%d`, `%p`, `%s`, `%n`, `%e`, `%c`, `%x`, `%o`,
//! `%%`) are expanded as uWSGI expands them; the others, and `%(name)` placeholders,
//! are refused by name rather than expanded to nothing.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use clap::{ArgAction, CommandFactory};

use crate::options::Options;

/// How deep `ini = other.ini` may nest (a file that names itself would loop).
const MAX_DEPTH: usize = 8;
/// The largest INI file read, in bytes.
const MAX_LEN: u64 = 1 << 20;

/// `args` (the program's name first) with every `--ini FILE` replaced by the options
/// its section holds, so that the options after it override them, as with uWSGI.
pub fn expand(args: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>, String> {
    let mut args = args.into_iter();
    let mut out: Vec<OsString> = args.next().into_iter().collect();
    let rest: Vec<OsString> = args.collect();
    expand_into(&rest, &mut out, 0)?;
    Ok(out)
}

fn expand_into(args: &[OsString], out: &mut Vec<OsString>, depth: usize) -> Result<(), String> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        let file = if bytes == b"--ini" {
            match args.next() {
                Some(file) => file.clone(),
                // Left to clap, which says that the value is missing.
                None => {
                    out.push(arg.clone());
                    continue;
                }
            }
        } else if let Some(file) = bytes.strip_prefix(b"--ini=") {
            OsStr::from_bytes(file).to_owned()
        } else {
            out.push(arg.clone());
            if bytes == b"--" {
                out.extend(args.cloned());
                return Ok(());
            }
            continue;
        };
        if depth >= MAX_DEPTH {
            return Err(format!(
                "--ini {}: included more than {MAX_DEPTH} deep",
                Path::new(&file).display()
            ));
        }
        let options = read(Path::new(&file))?;
        expand_into(&options, out, depth + 1)?;
    }
    Ok(())
}

/// The options the section of `spec` (`FILE` or `FILE:SECTION`) holds, as arguments.
fn read(spec: &Path) -> Result<Vec<OsString>, String> {
    let bytes = spec.as_os_str().as_bytes();
    // As uWSGI: the last `:` starts the section's name (`FILE:` is the `uwsgi` one).
    let (file, section) = match bytes.iter().rposition(|&b| b == b':') {
        Some(0) => return Err(format!("--ini {}: no file named", spec.display())),
        Some(colon) => (
            Path::new(OsStr::from_bytes(&bytes[..colon])),
            std::str::from_utf8(&bytes[colon + 1..]).unwrap_or("uwsgi"),
        ),
        None => (spec, "uwsgi"),
    };
    let section = if section.is_empty() { "uwsgi" } else { section };
    let fail = |why: String| format!("--ini {}: {why}", file.display());
    let len = std::fs::metadata(file)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > MAX_LEN {
        return Err(fail(format!("larger than {MAX_LEN} bytes")));
    }
    let text = std::fs::read_to_string(file).map_err(|e| fail(e.to_string()))?;
    let text = magic(&text, file, section).map_err(fail)?;
    let pairs =
        section_pairs(&text, section).ok_or_else(|| fail(format!("no [{section}] section")))?;
    pairs
        .into_iter()
        .filter_map(|(key, value)| argument(key, value).transpose())
        .collect::<Result<_, _>>()
        .map_err(fail)
}

/// The `key = value` pairs of `section`, `None` when it has none (uWSGI warns and goes
/// on without them; a file that configures nothing is refused here).
fn section_pairs<'a>(text: &'a str, section: &str) -> Option<Vec<(&'a str, &'a str)>> {
    let blank: &[char] = &[' ', '\t', '\r'];
    let mut current = "";
    let mut pairs = Vec::new();
    let mut found = false;
    for line in text.split('\n') {
        let line = line.trim_matches(blank);
        if let Some(name) = line.strip_prefix('[') {
            // uWSGI drops the last character, whatever it is.
            current = name.get(..name.len().saturating_sub(1)).unwrap_or("");
        } else if line.is_empty() || line.starts_with([';', '#']) {
        } else if current == section {
            found = true;
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            pairs.push((key.trim_matches(blank), value.trim_matches(blank)));
        }
    }
    found.then_some(pairs)
}

/// The argument `key = value` stands for: `--key=value`, `--key` for a true flag, none
/// for a false one. An empty value is a value (`chmod-socket =` is refused, as uWSGI
/// refuses it), and a key that is no option goes through as `--key=value`, for the
/// parser to refuse by name.
fn argument(key: &str, value: &str) -> Result<Option<OsString>, String> {
    let command = Options::command();
    let arg = command.get_arguments().find(|arg| {
        arg.get_long() == Some(key)
            || arg
                .get_all_aliases()
                .is_some_and(|aliases| aliases.contains(&key))
    });
    let flag = arg.is_some_and(|arg| matches!(arg.get_action(), ArgAction::SetTrue));
    let false_ = ["false", "off", "no"]
        .iter()
        .any(|word| value.eq_ignore_ascii_case(word))
        || value == "0";
    if key.is_empty() {
        return Err(format!("a line with no key: `= {value}`"));
    }
    Ok(if flag && false_ {
        None
    } else if flag {
        Some(format!("--{key}").into())
    } else {
        Some(format!("--{key}={value}").into())
    })
}

/// The file's text with uWSGI's magic variables expanded (`config_magic_table_fill`).
fn magic(text: &str, file: &Path, section: &str) -> Result<String, String> {
    let full = if file.is_absolute() {
        file.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(file)
    };
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let dir: PathBuf = full.parent().map(Path::to_owned).unwrap_or_default();
    let s = name(&full);
    let (n, e) = match s.rsplit_once('.') {
        Some((n, e)) => (n.to_owned(), e.to_owned()),
        None => (s.clone(), String::new()),
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{}/", dir.display()).replace("//", "/")),
            Some('p') => out.push_str(&full.display().to_string()),
            Some('s') => out.push_str(&s),
            Some('n') => out.push_str(&n),
            Some('e') => out.push_str(&e),
            Some('c') => out.push_str(&name(&dir)),
            Some('o') => out.push_str(&file.display().to_string()),
            Some('x') if section != "uwsgi" => out.push_str(section),
            Some('x') => {}
            Some('%') => out.push('%'),
            Some('(') => {
                return Err("%(name) placeholders are not supported; write the value".into())
            }
            Some(other) => return Err(format!("the magic variable %{other} is not supported")),
            None => out.push('%'),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_strs(args: &[&str]) -> Result<Vec<String>, String> {
        expand(
            std::iter::once("uwsgi-wire-wsgi")
                .chain(args.iter().copied())
                .map(OsString::from),
        )
        .map(|v| {
            v.into_iter()
                .skip(1)
                .map(|a| a.into_string().unwrap())
                .collect()
        })
    }

    #[test]
    fn a_section_becomes_options_in_place() {
        let dir = std::env::temp_dir().join(format!("wsgi-ini-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Checked against `uwsgi --ini FILE --show-config` (uWSGI 2.0.21).
        let file = dir.join("site.ini");
        std::fs::write(
            &file,
            "[other]\nprocesses = 9\n\n[uwsgi]\n; a comment\n# another\n  socket = 127.0.0.1:1 \r\n\
             socket=/tmp/%n.sock\nmaster = true\nvacuum = off\ndie-on-term = 0\nchmod-socket = 660\n\
             chdir = %d\nenv = A=B=C\n[after]\nthreads = 3\n",
        )
        .unwrap();
        let spec = file.display().to_string();
        let d = format!("{}/", dir.display());
        assert_eq!(
            expand_strs(&["--threads=2", "--ini", &spec, "--processes", "4"]).unwrap(),
            [
                "--threads=2",
                "--socket=127.0.0.1:1",
                "--socket=/tmp/site.sock",
                "--master",
                "--chmod-socket=660",
                &format!("--chdir={d}"),
                "--env=A=B=C",
                "--processes",
                "4"
            ]
        );
        assert_eq!(
            expand_strs(&[&format!("--ini={spec}:other")]).unwrap(),
            ["--processes=9"]
        );
        let err = expand_strs(&["--ini", &format!("{spec}:nowhere")]).unwrap_err();
        assert!(err.ends_with("no [nowhere] section"), "{err}");
        std::fs::write(&file, "[uwsgi]\nsocket = %(base)/a.sock\n").unwrap();
        let err = expand_strs(&["--ini", &spec]).unwrap_err();
        assert!(err.contains("%(name) placeholders"), "{err}");
        std::fs::write(&file, format!("[uwsgi]\nini = {spec}\n")).unwrap();
        let err = expand_strs(&["--ini", &spec]).unwrap_err();
        assert!(err.contains("deep"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The values `uwsgi --ini conf/my.app.ini --show-config` (uWSGI 2.0.21) printed for
    /// `x = %s|%e|%c|%p|%o|%x|%%`, run from /tmp/w.
    #[test]
    fn magic_variables_as_uwsgi_expands_them() {
        let file = Path::new("/tmp/w/conf/my.app.ini");
        assert_eq!(
            magic("%s|%e|%c|%p|%x|%%|%d|%n", file, "uwsgi").unwrap(),
            "my.app.ini|ini|conf|/tmp/w/conf/my.app.ini||%|/tmp/w/conf/|my.app"
        );
        assert_eq!(
            magic("%o %x", file, "other").unwrap(),
            "/tmp/w/conf/my.app.ini other"
        );
        assert!(magic("%b", file, "uwsgi").unwrap_err().contains("%b"));
    }

    #[test]
    fn later_options_override_and_unknown_keys_are_refused_by_the_parser() {
        use clap::Parser;
        let dir = std::env::temp_dir().join(format!("wsgi-ini-unit2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.ini");
        std::fs::write(
            &file,
            "[uwsgi]\nsocket = :1\nmodule = m\nprocesses = 2\nmax_requests = 5\n",
        )
        .unwrap();
        let args = expand_strs(&["--ini", &file.display().to_string()]).unwrap();
        let err = Options::try_parse_from(std::iter::once("x".to_owned()).chain(args)).unwrap_err();
        assert!(err.to_string().contains("--max_requests"), "{err}");
        std::fs::write(&file, "[uwsgi]\nsocket = :1\nmodule = m\nprocesses = 2\n").unwrap();
        let mut args = expand_strs(&["--ini", &file.display().to_string()]).unwrap();
        args.push("--processes=3".into());
        let o = Options::try_parse_from(std::iter::once("x".to_owned()).chain(args)).unwrap();
        assert_eq!(o.processes, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
