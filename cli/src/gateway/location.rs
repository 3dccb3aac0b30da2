//! `--location`, `--static`, `--root` and the positional upstreams: what serves each
//! request path, matched as nginx matches its prefix locations (the longest prefix of
//! the normalized path wins).

use super::files::Files;
use super::upstream::{parse_server, Server, Upstreams};
use std::path::PathBuf;

/// `--location PREFIX=UPSTREAM[,UPSTREAM...]`, each `ADDR[ weight=N]`.
pub fn parse_location(value: &str) -> Result<(String, Vec<Server>), String> {
    let (prefix, upstreams) = split(value, "--location", "PREFIX=UPSTREAM[,UPSTREAM...]")?;
    let upstreams = upstreams
        .split(',')
        .map(|server| parse_server(server).map_err(|e| format!("--location {value:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((prefix, upstreams))
}

/// `--static PREFIX=DIR`.
pub fn parse_static(value: &str) -> Result<(String, PathBuf), String> {
    let (prefix, dir) = split(value, "--static", "PREFIX=DIR")?;
    Ok((prefix, PathBuf::from(dir)))
}

fn split<'a>(value: &'a str, flag: &str, form: &str) -> Result<(String, &'a str), String> {
    let (prefix, rest) = value
        .split_once('=')
        .ok_or_else(|| format!("{flag} {value:?}: expected {form}"))?;
    if !prefix.starts_with('/') {
        return Err(format!("{flag} {value:?}: the prefix must start with '/'"));
    }
    if rest.is_empty() {
        return Err(format!("{flag} {value:?}: expected {form}"));
    }
    Ok((prefix.to_owned(), rest))
}

/// What serves a location.
pub enum Target {
    Upstreams(Upstreams),
    Files(Files),
}

/// Every location, longest prefix first; `--root` last, as the empty prefix that every
/// path has.
pub struct Routes {
    locations: Vec<(Vec<u8>, Target)>,
}

impl Routes {
    /// Fails (a usage error's message) on a prefix given twice, or a `--root` that no
    /// request could reach (a location `/` takes every path).
    pub fn new(
        mut locations: Vec<(String, Target)>,
        root: Option<Files>,
    ) -> Result<Routes, String> {
        locations.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        if let Some(pair) = locations.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(format!("the location {} is given twice", pair[0].0));
        }
        if let Some(root) = root {
            if locations.iter().any(|(prefix, _)| prefix == "/") {
                return Err("--root: the location / (the positional upstreams, or \
                            --location /=...) takes every request, none would reach the root"
                    .to_owned());
            }
            locations.push((String::new(), Target::Files(root)));
        }
        let locations = locations
            .into_iter()
            .map(|(prefix, target)| (prefix.into_bytes(), target))
            .collect();
        Ok(Routes { locations })
    }

    /// The location for a normalized path (nginx's `$uri`): the longest matching
    /// prefix, else `--root`; `None` is nginx's 404.
    pub fn find(&self, path: &[u8]) -> Option<&Target> {
        self.locations
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map(|(_, target)| target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Addr;
    use uwsgi_wire::client;

    fn routes(prefixes: &[&str]) -> Routes {
        let builder = client::Builder::new();
        let locations = prefixes
            .iter()
            .map(|prefix| {
                let addr = Addr::parse(&format!("unix:/run/{}.sock", prefix.len())).unwrap();
                let server = Server { addr, weight: 1 };
                (
                    prefix.to_string(),
                    Target::Upstreams(Upstreams::new(&[server], &builder)),
                )
            })
            .collect();
        Routes::new(locations, None).unwrap()
    }

    /// The upstream (named by its prefix's length) that serves `path`.
    fn served_by(routes: &Routes, path: &str) -> Option<String> {
        match routes.find(path.as_bytes())? {
            Target::Upstreams(upstreams) => upstreams.names().first().map(|name| name.to_string()),
            Target::Files(_) => None,
        }
    }

    #[test]
    fn the_longest_matching_prefix_wins_as_in_nginx() {
        let routes = routes(&["/", "/main", "/main/api/", "/static/"]);
        let by = |path| served_by(&routes, path);
        assert_eq!(by("/"), Some("unix:/run/1.sock".into()));
        assert_eq!(by("/other"), Some("unix:/run/1.sock".into()));
        // A prefix, not a path segment: nginx's `location /main` takes `/mainly` too.
        assert_eq!(by("/mainly"), Some("unix:/run/5.sock".into()));
        assert_eq!(by("/main/x"), Some("unix:/run/5.sock".into()));
        assert_eq!(by("/main/api"), Some("unix:/run/5.sock".into()));
        assert_eq!(by("/main/api/v1"), Some("unix:/run/10.sock".into()));
        assert_eq!(by("/static"), Some("unix:/run/1.sock".into()));
        assert_eq!(by("/static/a.css"), Some("unix:/run/8.sock".into()));
    }

    #[test]
    fn no_location_for_a_path_is_none_and_a_prefix_given_twice_is_refused() {
        let routes = routes(&["/main"]);
        assert!(routes.find(b"/").is_none());
        assert!(routes.find(b"/mai").is_none());
        let builder = client::Builder::new();
        let twice = ["/a", "/a"]
            .iter()
            .map(|prefix| {
                (
                    prefix.to_string(),
                    Target::Upstreams(Upstreams::new(&[], &builder)),
                )
            })
            .collect();
        let err = Routes::new(twice, None).err().unwrap();
        assert_eq!(err, "the location /a is given twice");
    }

    #[test]
    fn location_and_static_values_are_checked() {
        let (prefix, upstreams) = parse_location("/main=127.0.0.1:1,unix:/run/a.sock").unwrap();
        assert_eq!(prefix, "/main");
        assert_eq!(upstreams.len(), 2);
        assert!(parse_location("main=127.0.0.1:1")
            .unwrap_err()
            .contains("must start with '/'"));
        assert!(parse_location("/main=")
            .unwrap_err()
            .contains("PREFIX=UPSTREAM"));
        assert!(parse_location("/main")
            .unwrap_err()
            .contains("PREFIX=UPSTREAM"));
        assert_eq!(
            parse_static("/s/=/srv/s").unwrap(),
            ("/s/".to_owned(), PathBuf::from("/srv/s"))
        );
    }
}
