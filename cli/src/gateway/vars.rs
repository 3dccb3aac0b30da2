//! `--param NAME=VALUE` with nginx's variables in VALUE (`$remote_addr`, `${host}`,
//! ...): each value compiled once into literal and variable parts, rendered per
//! request as nginx 1.22 computes each variable.

use std::net::SocketAddr;

use http::header::HeaderMap;
use http::Request;
use uwsgi_wire::cgi::request_host;

/// One variable of nginx's that a value may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Host,
    RemoteAddr,
    RemotePort,
    ProxyAddXForwardedFor,
    Scheme,
    /// `on` over TLS, else empty.
    Https,
    RequestUri,
    ServerName,
    ServerPort,
    /// `$http_NAME`: NAME lower case, `_` for `-`.
    Http(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Var),
}

/// A param's value: text and variables, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What the variables are computed from besides the request.
pub struct Context<'a> {
    pub peer: SocketAddr,
    /// The connection is TLS (`--tls-cert`).
    pub https: bool,
    pub server_name: &'a str,
    pub server_port: u16,
}

impl Template {
    /// Compiles `value`: `$name` (letters, digits, `_`) or `${name}`. An unknown
    /// variable, a `$` with no name or an unclosed `${` is an error naming it (nginx
    /// refuses such a configuration too).
    pub fn parse(value: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = value;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("{value:?}: the variable ${{ is not closed"))?;
                (&braced[..end], &braced[end + 1..])
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if name.is_empty() {
                return Err(format!("{value:?}: a '$' without a variable name"));
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var(var(name).ok_or_else(|| {
                format!(
                    "{value:?}: unknown variable ${name} (known: $host, $remote_addr, \
                     $remote_port, $proxy_add_x_forwarded_for, $http_NAME, $scheme, $https, \
                     $request_uri, $server_name, $server_port)"
                )
            })?));
            rest = tail;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The value itself when it holds no variable.
    pub fn literal(&self) -> Option<&str> {
        match &self.parts[..] {
            [] => Some(""),
            [Part::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// The value for one request.
    pub fn render<B>(&self, context: &Context<'_>, request: &Request<B>) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Part::Var(var) => value(var, context, request, &mut out),
            }
        }
        out
    }
}

fn var(name: &str) -> Option<Var> {
    Some(match name {
        "host" => Var::Host,
        "remote_addr" => Var::RemoteAddr,
        "remote_port" => Var::RemotePort,
        "proxy_add_x_forwarded_for" => Var::ProxyAddXForwardedFor,
        "scheme" => Var::Scheme,
        "https" => Var::Https,
        "request_uri" => Var::RequestUri,
        "server_name" => Var::ServerName,
        "server_port" => Var::ServerPort,
        _ => match name.strip_prefix("http_") {
            Some(header) if !header.is_empty() => Var::Http(header.to_ascii_lowercase()),
            _ => return None,
        },
    })
}

/// Appends one variable's value, as nginx 1.22 computes it.
fn value<B>(var: &Var, context: &Context<'_>, request: &Request<B>, out: &mut Vec<u8>) {
    match var {
        Var::Host => out.extend_from_slice(&host(request, context.server_name)),
        Var::RemoteAddr => out.extend_from_slice(context.peer.ip().to_string().as_bytes()),
        Var::RemotePort => out.extend_from_slice(context.peer.port().to_string().as_bytes()),
        Var::ProxyAddXForwardedFor => {
            if header(request.headers(), "x_forwarded_for", out) {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(context.peer.ip().to_string().as_bytes());
        }
        Var::Scheme if context.https => out.extend_from_slice(b"https"),
        Var::Scheme => out.extend_from_slice(b"http"),
        Var::Https if context.https => out.extend_from_slice(b"on"),
        Var::Https => {}
        Var::RequestUri => {
            let uri = request.uri();
            out.extend_from_slice(
                uri.path_and_query()
                    .map_or("/", |pq| pq.as_str())
                    .as_bytes(),
            );
        }
        Var::ServerName => out.extend_from_slice(context.server_name.as_bytes()),
        Var::ServerPort => out.extend_from_slice(context.server_port.to_string().as_bytes()),
        Var::Http(name) => {
            header(request.headers(), name, out);
        }
    }
}

/// nginx's `$host`: the request's ([`request_host`]), else the server name.
fn host<B>(request: &Request<B>, server_name: &str) -> Vec<u8> {
    request_host(request).unwrap_or_else(|| server_name.as_bytes().to_vec())
}

/// `$http_NAME` (NAME lower case, `_` for `-`): nginx 1.22 joins the lines of
/// `Cookie` with `; ` and of `X-Forwarded-For` with `, `, and takes the first line of
/// any other header. Headers whose names hold `_` are not there (nginx's
/// `underscores_in_headers off` drops them). Whether any line was found.
fn header(headers: &HeaderMap, name: &str, out: &mut Vec<u8>) -> bool {
    let separator: &[u8] = match name {
        "cookie" => b"; ",
        "x_forwarded_for" => b", ",
        _ => b"",
    };
    let mut found = false;
    for (key, value) in headers {
        let key = key.as_str();
        if key.contains('_') || key.len() != name.len() {
            continue;
        }
        let same = key
            .bytes()
            .zip(name.bytes())
            .all(|(k, n)| k == n || (k == b'-' && n == b'_'));
        if !same {
            continue;
        }
        if found {
            if separator.is_empty() {
                break;
            }
            out.extend_from_slice(separator);
        }
        out.extend_from_slice(value.as_bytes());
        found = true;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(value: &str, request: &Request<()>) -> String {
        render_over(false, value, request)
    }

    fn render_over(https: bool, value: &str, request: &Request<()>) -> String {
        let context = Context {
            peer: "[2001:db8::7]:40000".parse().unwrap(),
            https,
            server_name: "myapp.example.com",
            server_port: 8080,
        };
        let template = Template::parse(value).unwrap();
        String::from_utf8(template.render(&context, request)).unwrap()
    }

    #[test]
    fn each_variable_is_computed_as_nginx_computes_it() {
        let request = Request::get("/main/a%20b?x=1")
            .header("Host", "WWW.Example.COM.:8000")
            .header("X-Forwarded-For", "198.51.100.1")
            .header("x-forwarded-for", "198.51.100.2")
            .header("X-Forwarded-Proto", "https")
            .header("Cookie", "a=1")
            .header("Cookie", "b=2")
            .header("Accept", "text/html")
            .header("Accept", "*/*")
            .header("X_Forwarded_Proto", "spoofed")
            .body(())
            .unwrap();
        let cases = [
            ("$host", "www.example.com"),
            ("$remote_addr", "2001:db8::7"),
            ("$remote_port", "40000"),
            (
                "$proxy_add_x_forwarded_for",
                "198.51.100.1, 198.51.100.2, 2001:db8::7",
            ),
            ("$http_x_forwarded_proto", "https"),
            ("$http_X_Forwarded_Proto", "https"),
            ("$http_cookie", "a=1; b=2"),
            ("$http_accept", "text/html"),
            ("$http_x_missing", ""),
            ("$scheme", "http"),
            ("$https", ""),
            ("$request_uri", "/main/a%20b?x=1"),
            ("$server_name", "myapp.example.com"),
            ("$server_port", "8080"),
            (
                "${scheme}://${host}:$server_port$request_uri",
                "http://www.example.com:8080/main/a%20b?x=1",
            ),
            ("for=$remote_addr;", "for=2001:db8::7;"),
            ("no variable", "no variable"),
        ];
        for (value, expected) in cases {
            assert_eq!(render(value, &request), expected, "{value}");
        }
    }

    #[test]
    fn scheme_and_https_over_tls() {
        let request = Request::get("/").body(()).unwrap();
        assert_eq!(render_over(true, "$scheme|$https", &request), "https|on");
        assert_eq!(render_over(false, "$scheme|$https", &request), "http|");
    }

    #[test]
    fn host_falls_back_to_the_request_line_then_the_server_name() {
        let absolute = Request::get("http://Abs.Example/x")
            .header("Host", "other")
            .body(())
            .unwrap();
        assert_eq!(render("$host", &absolute), "abs.example");
        let v6 = Request::get("/")
            .header("Host", "[::1]:8080")
            .body(())
            .unwrap();
        assert_eq!(render("$host", &v6), "[::1]");
        let none = Request::get("/").body(()).unwrap();
        assert_eq!(render("$host", &none), "myapp.example.com");
        assert_eq!(render("$proxy_add_x_forwarded_for", &none), "2001:db8::7");
    }

    #[test]
    fn an_unknown_or_malformed_variable_is_refused_naming_it() {
        let err = Template::parse("$remote_user").unwrap_err();
        assert!(err.contains("unknown variable $remote_user"), "{err}");
        let err = Template::parse("a ${nope} b").unwrap_err();
        assert!(err.contains("unknown variable $nope"), "{err}");
        assert!(Template::parse("${host")
            .unwrap_err()
            .contains("not closed"));
        assert!(Template::parse("cost: $")
            .unwrap_err()
            .contains("without a variable name"));
        assert!(Template::parse("$http_")
            .unwrap_err()
            .contains("unknown variable $http_"));
        assert_eq!(Template::parse("plain").unwrap().literal(), Some("plain"));
        assert_eq!(Template::parse("").unwrap().literal(), Some(""));
        assert_eq!(Template::parse("$host").unwrap().literal(), None);
    }
}
