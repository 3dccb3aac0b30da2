//! An [`http::Request`] to vars: [`NginxParams`], nginx's `uwsgi_params`, and the
//! [`RequestParams`] of one request.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::string::ToString;
use std::vec::Vec;

use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{PathAndQuery, Scheme};
use http::{Request, Uri, Version};

use crate::wire::builder::VarsBuilder;
use crate::wire::limits::MAX_PAIRS_IN_BLOCK;

use super::{check_bytes, Error};

/// Encodes an [`http::Request`] as the vars nginx sends for it with
/// Debian's default `/etc/nginx/uwsgi_params` (nginx 1.22):
///
/// | var | value |
/// |---|---|
/// | `QUERY_STRING` | the query, or empty |
/// | `REQUEST_METHOD` | the method |
/// | `CONTENT_TYPE`, `CONTENT_LENGTH` | those headers, or empty |
/// | `REQUEST_URI` | the path and query as sent |
/// | `PATH_INFO` | nginx's `$document_uri`: the path percent-decoded, `.` and `..` resolved, repeated `/` merged |
/// | `DOCUMENT_ROOT` | [`document_root`](NginxParams::document_root), default `/var/www/html` (Debian's default site) |
/// | `SERVER_PROTOCOL` | `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0`, ... |
/// | `REQUEST_SCHEME` | the URI's scheme, or [`https`](NginxParams::https), else `http` |
/// | `HTTPS` | `on`, only for https (nginx's `if_not_empty`) |
/// | `REMOTE_ADDR`, `REMOTE_PORT` | the client's address: the request's [`RequestParams::remote_addr`], else [`remote_addr`](NginxParams::remote_addr); **only when set** |
/// | `SERVER_PORT` | [`server_port`](NginxParams::server_port), else the URI's port, else 80 or 443 |
/// | `SERVER_NAME` | [`server_name`](NginxParams::server_name), else the request's host, else `localhost` |
/// | `HTTP_HOST` | nginx's `$host`: the URI's host, else the `Host` header's, without the port and a trailing dot, lower case; else the server name |
///
/// nginx always sends `REMOTE_ADDR` and `REMOTE_PORT`, from the client connection. This
/// type has no connection, so it never makes a client address up: without
/// [`remote_addr`](NginxParams::remote_addr) (or the request's [`RequestParams`])
/// the vars are left out (an application then sees no client address, rather than a
/// false `127.0.0.1` it might trust, log or rate-limit by). Every other default is the
/// front end's own configuration, not the client's.
///
/// Then one `HTTP_NAME` var per header line, in the header map's order (`NAME` is the
/// header name upper-cased with `-` turned into `_`), skipping, as nginx does, headers
/// whose `HTTP_` name a param already sets (so `Host` never appears twice) and names
/// holding `_` (nginx's `underscores_in_headers off`; [`NginxParams::underscores`]
/// keeps them).
///
/// [`param`](NginxParams::param) overrides a var (or adds it after the defaults, as
/// an extra `uwsgi_param` would), [`add_param`](NginxParams::add_param) always adds one,
/// and [`remove_param`](NginxParams::remove_param) drops one. A request's own
/// [`RequestParams`], in its extensions, apply last: what one request sends differently
/// (the client's address, an extra param) goes with it, and these params, built once,
/// are shared by every request.
///
/// Note that [`http::HeaderMap`] groups repeated headers by name: two
/// `Cookie` lines with another header between them come out next to each other.
///
/// ```
/// use uwsgi_wire::cgi::NginxParams;
///
/// let request = http::Request::post("http://example.com/form")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .header("content-length", "11")
///     .body(())?;
/// let vars = NginxParams::new()
///     .remote_addr("10.0.0.7:40000".parse()?)
///     .param("DOCUMENT_ROOT", "/srv/app")
///     .add_param("UWSGI_SCHEME", "https")
///     .to_vars(&request)?;
/// let keys: Vec<_> = vars.vars().iter().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect();
/// assert_eq!(keys, [
///     "QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_URI",
///     "PATH_INFO", "DOCUMENT_ROOT", "SERVER_PROTOCOL", "REQUEST_SCHEME", "REMOTE_ADDR",
///     "REMOTE_PORT", "SERVER_PORT", "SERVER_NAME", "HTTP_HOST", "UWSGI_SCHEME",
///     "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH",
/// ]);
/// assert_eq!(vars.vars().get(b"DOCUMENT_ROOT"), Some(&b"/srv/app"[..]));
/// assert_eq!(vars.vars().get(b"HTTP_HOST"), Some(&b"example.com"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxParams {
    document_root: Vec<u8>,
    remote_addr: Option<SocketAddr>,
    server_port: Option<Vec<u8>>,
    server_name: Option<Vec<u8>>,
    https: Option<bool>,
    underscores: bool,
    /// In order: `(key, Some(value), replace)` sets or adds, `(key, None, _)` removes.
    edits: Vec<(Vec<u8>, Option<Vec<u8>>, bool)>,
}

impl Default for NginxParams {
    fn default() -> Self {
        NginxParams::new()
    }
}

impl NginxParams {
    /// The defaults in the table above: no client address.
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new().to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"SERVER_NAME"), Some(&b"localhost"[..]));
    /// assert_eq!(vars.vars().get(b"REMOTE_ADDR"), None);
    /// assert_eq!(vars.vars().get(b"REMOTE_PORT"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        NginxParams {
            document_root: b"/var/www/html".to_vec(),
            remote_addr: None,
            server_port: None,
            server_name: None,
            https: None,
            underscores: false,
            edits: Vec::new(),
        }
    }

    /// `DOCUMENT_ROOT` (nginx's `root`).
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new().document_root("/srv").to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"DOCUMENT_ROOT"), Some(&b"/srv"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn document_root(mut self, value: impl AsRef<[u8]>) -> Self {
        self.document_root = value.as_ref().to_vec();
        self
    }

    /// `REMOTE_ADDR` and `REMOTE_PORT`: the client's address, as nginx's
    /// `$remote_addr` (an IPv6 address without brackets) and `$remote_port` write it.
    /// Left out unless set, here or in the request's [`RequestParams`] (which wins).
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new()
    ///     .remote_addr("[::1]:51234".parse()?)
    ///     .to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"REMOTE_ADDR"), Some(&b"::1"[..]));
    /// assert_eq!(vars.vars().get(b"REMOTE_PORT"), Some(&b"51234"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// `SERVER_PORT`: the port the front end listens on.
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new().server_port("8080").to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"SERVER_PORT"), Some(&b"8080"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_port(mut self, value: impl AsRef<[u8]>) -> Self {
        self.server_port = Some(value.as_ref().to_vec());
        self
    }

    /// `SERVER_NAME` (nginx's `$server_name`: the `server_name` of the server block).
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new().server_name("_").to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"SERVER_NAME"), Some(&b"_"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_name(mut self, value: impl AsRef<[u8]>) -> Self {
        self.server_name = Some(value.as_ref().to_vec());
        self
    }

    /// Whether the front end's connection is TLS (`REQUEST_SCHEME` and `HTTPS`), when
    /// the request's URI has no scheme to say so.
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new().https(true).to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"HTTPS"), Some(&b"on"[..]));
    /// assert_eq!(vars.vars().get(b"SERVER_PORT"), Some(&b"443"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn https(mut self, on: bool) -> Self {
        self.https = Some(on);
        self
    }

    /// Keeps headers whose names hold `_` (nginx's `underscores_in_headers on`). Off by
    /// default: `X_Forwarded_For` and `X-Forwarded-For` would both become
    /// `HTTP_X_FORWARDED_FOR`, so one could impersonate the other.
    ///
    /// ```
    /// let request = http::Request::get("/").header("x_under", "kept").body(())?;
    /// let vars = uwsgi_wire::cgi::NginxParams::new().to_vars(&request)?;
    /// assert_eq!(vars.vars().get(b"HTTP_X_UNDER"), None);
    /// let vars = uwsgi_wire::cgi::NginxParams::new().underscores(true).to_vars(&request)?;
    /// assert_eq!(vars.vars().get(b"HTTP_X_UNDER"), Some(&b"kept"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn underscores(mut self, on: bool) -> Self {
        self.underscores = on;
        self
    }

    /// Sets `key` to `value`: replaces the default var of that name where it stands
    /// (all of them, if repeated, become one), or adds it after the defaults. An
    /// `HTTP_*` key hides the header of that name, as in nginx.
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new()
    ///     .param("SCRIPT_NAME", "/app")
    ///     .param("QUERY_STRING", "forced=1")
    ///     .to_vars(&http::Request::get("/?a=1").body(())?)?;
    /// assert_eq!(vars.vars().get_first(b"QUERY_STRING"), Some(&b"forced=1"[..]));
    /// assert_eq!(vars.vars().get(b"SCRIPT_NAME"), Some(&b"/app"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn param(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.edits
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec()), true));
        self
    }

    /// Adds `key` = `value` after the defaults, even when a var of that name exists
    /// (nginx sends every repeated `uwsgi_param`).
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new()
    ///     .add_param("X_DUP", "a")
    ///     .add_param("X_DUP", "b")
    ///     .to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get_all(b"X_DUP").collect::<Vec<_>>(), [&b"a"[..], b"b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_param(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.edits
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec()), false));
        self
    }

    /// Drops every var named `key` (a default, or one added before).
    ///
    /// ```
    /// let vars = uwsgi_wire::cgi::NginxParams::new()
    ///     .remove_param("DOCUMENT_ROOT")
    ///     .to_vars(&http::Request::get("/").body(())?)?;
    /// assert_eq!(vars.vars().get(b"DOCUMENT_ROOT"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_param(mut self, key: impl AsRef<[u8]>) -> Self {
        self.edits.push((key.as_ref().to_vec(), None, false));
        self
    }

    /// The vars for `request`, in nginx's order (see the type's docs), ready to encode
    /// as a packet's block. The body is not looked at: send `CONTENT_LENGTH` body bytes
    /// after the packet.
    ///
    /// ```
    /// use uwsgi_wire::{cgi::NginxParams, Modifier1, Packet, Payload};
    /// let request = http::Request::get("/hello").body(())?;
    /// let vars = NginxParams::new().to_vars(&request)?;
    /// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
    /// assert_eq!(packet.vars().unwrap().get(b"PATH_INFO"), Some(&b"/hello"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_vars<B>(&self, request: &Request<B>) -> Result<VarsBuilder, Error> {
        self.vars_with(request, None)
    }

    /// Whether a param set by hand, shared or the request's own, names `key`: when none
    /// does, the var is the one [`vars_with`](NginxParams::vars_with) makes.
    #[cfg(feature = "client")]
    pub(crate) fn edits<B>(&self, request: &Request<B>, key: &[u8]) -> bool {
        self.edits.iter().any(|(k, _, _)| k == key)
            || request
                .extensions()
                .get::<RequestParams>()
                .is_some_and(|own| own.params.iter().any(|(k, _)| k == key))
    }

    /// [`to_vars`](NginxParams::to_vars), then `CONTENT_LENGTH` set to `content_length`
    /// when given, last: the client driver's length of a body it buffered, which no
    /// param may contradict.
    pub(crate) fn vars_with<B>(
        &self,
        request: &Request<B>,
        content_length: Option<&[u8]>,
    ) -> Result<VarsBuilder, Error> {
        let own = request.extensions().get::<RequestParams>();
        let uri = request.uri();
        let headers = request.headers();
        // The three headers the list reads, in one walk rather than a lookup each.
        let (mut content_type, mut content_length_header, mut host_header) = (None, None, None);
        for (name, value) in headers {
            let slot = if *name == header::CONTENT_TYPE {
                &mut content_type
            } else if *name == header::CONTENT_LENGTH {
                &mut content_length_header
            } else if *name == header::HOST {
                &mut host_header
            } else {
                continue;
            };
            // The first line of each, as `HeaderMap::get` reads it.
            slot.get_or_insert(value);
        }
        let https = match (self.https, uri.scheme()) {
            (Some(on), _) => on,
            (None, Some(scheme)) => *scheme == Scheme::HTTPS,
            (None, None) => false,
        };
        let request_host = host_from(uri, host_header);
        let server_name: Cow<'_, [u8]> = match (&self.server_name, &request_host) {
            (Some(name), _) => Cow::Borrowed(name),
            (None, Some(host)) => Cow::Borrowed(host),
            (None, None) => Cow::Borrowed(b"localhost"),
        };
        let server_port: Cow<'_, [u8]> = match (&self.server_port, uri.port_u16()) {
            (Some(port), _) => Cow::Borrowed(port),
            (None, Some(port)) => Cow::Owned(port.to_string().into_bytes()),
            (None, None) if https => Cow::Borrowed(b"443"),
            (None, None) => Cow::Borrowed(b"80"),
        };
        let version: &[u8] = match request.version() {
            Version::HTTP_09 => b"HTTP/0.9",
            Version::HTTP_10 => b"HTTP/1.0",
            Version::HTTP_2 => b"HTTP/2.0",
            Version::HTTP_3 => b"HTTP/3.0",
            _ => b"HTTP/1.1",
        };
        let request_uri = uri.path_and_query().map_or("/", PathAndQuery::as_str);
        let document_uri = document_uri(uri.path())?;
        let host = request_host.as_deref().unwrap_or(&server_name);

        // The client's address, written on the stack: no allocation per request.
        let (mut ip, mut port) = ([0u8; 45], itoa::Buffer::new());
        let remote = own
            .and_then(|own| own.remote_addr)
            .or(self.remote_addr)
            .map(|addr| {
                (
                    ip_bytes(&mut ip, addr.ip()),
                    port.format(addr.port()).as_bytes(),
                )
            });
        let edited = !self.edits.is_empty() || own.is_some_and(|own| !own.params.is_empty());
        let header_length = header_bytes(content_length_header);
        // nginx's `uwsgi_params` in its order, each key with its length prefix.
        let list = [
            (QUERY_STRING, uri.query().unwrap_or("").as_bytes()),
            (REQUEST_METHOD, request.method().as_str().as_bytes()),
            (CONTENT_TYPE, header_bytes(content_type)),
            // Unedited, the one length the packet may say; else set last, after the edits.
            (
                CONTENT_LENGTH,
                match content_length {
                    Some(length) if !edited => length,
                    _ => header_length,
                },
            ),
            (REQUEST_URI, request_uri.as_bytes()),
            (PATH_INFO, &document_uri),
            (DOCUMENT_ROOT, &self.document_root),
            (SERVER_PROTOCOL, version),
            (REQUEST_SCHEME, if https { b"https" } else { b"http" }),
            (HTTPS, b"on"),
            (REMOTE_ADDR, remote.map_or(&[][..], |(ip, _)| ip)),
            (REMOTE_PORT, remote.map_or(&[][..], |(_, port)| port)),
            (SERVER_PORT, &server_port),
            (SERVER_NAME, &server_name),
            (HTTP_HOST, host),
        ];
        // `HTTPS` only for https; the client's address only when known: never a
        // made-up client.
        let skip = |at: usize| match at {
            9 => !https,
            10 | 11 => remote.is_none(),
            _ => false,
        };
        // The list's pairs as they are sent, their keys without the prefix.
        let base = || {
            list.iter()
                .enumerate()
                .filter(|&(at, _)| !skip(at))
                .map(|(_, &(key, value))| (key.get(2..).unwrap_or_default(), value))
        };
        if !edited {
            if let Some(vars) = self.write_list(&list, skip, headers)? {
                return Ok(vars);
            }
            // The checked path, near a limit: the list as it is, then the headers. Its
            // one `HTTP_` var is `HTTP_HOST`: the `Host` header is the one not sent again.
            return self.write_vars(base(), headers, |name| name == b"host");
        }
        let extra = own.map_or(0, |own| own.params.len());
        let mut params: Vec<Param<'_>> = Vec::with_capacity(list.len() + self.edits.len() + extra);
        params.extend(base().map(|(key, value)| (Cow::Borrowed(key), Cow::Borrowed(value))));
        for (key, value, replace) in &self.edits {
            edit(&mut params, key, value.as_deref(), *replace);
        }
        for (key, value) in own.map(|own| &own.params[..]).unwrap_or_default() {
            edit(&mut params, key, Some(value), true);
        }
        if let Some(length) = content_length {
            edit(&mut params, b"CONTENT_LENGTH", Some(length), true);
        }
        self.write_vars(params.iter().map(param), headers, |name| {
            params.iter().any(|(k, _)| is_header_var(k, name))
        })
    }

    /// nginx's list (each key with its length prefix, [`prefixed`]) less those `skip`
    /// says by their place, then each header as `HTTP_NAME` but `Host`, written straight into the
    /// block: the bytes [`write_vars`](NginxParams::write_vars) makes, three copies a
    /// pair instead of a checked push. `None` when a limit may be near: the checked
    /// path then says which.
    fn write_list(
        &self,
        list: &[(&'static [u8], &[u8])],
        skip: impl Fn(usize) -> bool,
        headers: &HeaderMap,
    ) -> Result<Option<VarsBuilder>, Error> {
        let (mut count, mut size) = (0, 0);
        for &(key, value) in list {
            count += 1;
            size += key.len() + 2 + value.len();
        }
        for (name, value) in headers {
            count += 1;
            size += 9 + name.as_str().len() + value.len();
        }
        if count > MAX_PAIRS_IN_BLOCK || size > usize::from(u16::MAX) {
            return Ok(None);
        }
        // Room for the packet header the client driver writes in front.
        let mut block = Vec::with_capacity(size + 4);
        let mut len = 0;
        // Within 65535 bytes (`fits`): every length fits its 16 bits.
        let prefix = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes();
        for (at, &(key, value)) in list.iter().enumerate() {
            if skip(at) {
                continue;
            }
            block.extend_from_slice(key);
            block.extend_from_slice(&prefix(value.len()));
            block.extend_from_slice(value);
            len += 1;
        }
        for (name, value) in headers {
            let name = name.as_str().as_bytes();
            if name == b"host" {
                continue;
            }
            let value = value.as_bytes();
            if value.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
                return Ok(None);
            }
            let at = block.len();
            block.extend_from_slice(&prefix(5 + name.len()));
            block.extend_from_slice(b"HTTP_");
            // Copied, then mapped in place, looking for `_` on the way: one pass.
            let start = block.len();
            block.extend_from_slice(name);
            let mut underscore = false;
            for b in block.get_mut(start..).unwrap_or_default() {
                underscore |= *b == b'_';
                *b = cgi_byte(*b);
            }
            if underscore && !self.underscores {
                block.truncate(at);
                continue;
            }
            block.extend_from_slice(&prefix(value.len()));
            block.extend_from_slice(value);
            len += 1;
        }
        Ok(Some(VarsBuilder::written(block, len)))
    }

    /// The block of `pairs`, then each header as `HTTP_NAME` but those `sent` says the
    /// pairs hold already, in one allocation (and room for the packet header the
    /// client driver writes in front of it).
    fn write_vars<'a>(
        &self,
        pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
        headers: &HeaderMap,
        sent: impl Fn(&[u8]) -> bool,
    ) -> Result<VarsBuilder, Error> {
        let size = pairs
            .clone()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum::<usize>()
            + headers
                .iter()
                .map(|(name, value)| 9 + name.as_str().len() + value.len())
                .sum::<usize>();
        let mut out = VarsBuilder::default();
        out.reserve(size + 4);
        for (key, value) in pairs {
            out.push(key, value)?;
        }
        for (name, value) in headers {
            let name = name.as_str().as_bytes();
            if !self.underscores && name.contains(&b'_') {
                continue;
            }
            if sent(name) {
                continue;
            }
            let value = value.as_bytes();
            if value.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
                // The var's name made only for the error.
                let mut key = b"HTTP_".to_vec();
                key.extend(name.iter().map(|&b| cgi_byte(b)));
                check_bytes(&key, value)?;
            }
            out.push_mapped(b"HTTP_", name, cgi_byte, value)?;
        }
        Ok(out)
    }
}

/// `key` with its little-endian length in front, as a vars block holds it, made at
/// compile time; `N` is the key's length and 2 (checked there).
const fn prefixed<const N: usize>(key: &[u8]) -> [u8; N] {
    assert!(key.len() + 2 == N && key.len() <= 0xff);
    let mut out = [0u8; N];
    out[0] = key.len() as u8;
    let mut i = 0;
    while i < key.len() {
        out[i + 2] = key[i];
        i += 1;
    }
    out
}

/// nginx's `uwsgi_params` keys, each with its length prefix (see [`prefixed`]).
macro_rules! keys {
    ($($name:ident)*) => {
        $(const $name: &[u8] = &prefixed::<{ stringify!($name).len() + 2 }>(stringify!($name).as_bytes());)*
    };
}
keys!(QUERY_STRING REQUEST_METHOD CONTENT_TYPE CONTENT_LENGTH REQUEST_URI PATH_INFO
    DOCUMENT_ROOT SERVER_PROTOCOL REQUEST_SCHEME HTTPS REMOTE_ADDR REMOTE_PORT SERVER_PORT
    SERVER_NAME HTTP_HOST);

/// A header's value, or empty when there is none.
fn header_bytes(value: Option<&HeaderValue>) -> &[u8] {
    value.map(HeaderValue::as_bytes).unwrap_or_default()
}

/// A header name's byte in its CGI var: upper case, `-` as `_`.
fn cgi_byte(b: u8) -> u8 {
    match b {
        b'-' => b'_',
        b => b.to_ascii_uppercase(),
    }
}

/// Whether `key` is the CGI var of the header `name` (`HTTP_` and `name` in
/// [`cgi_byte`]s), without making it.
fn is_header_var(key: &[u8], name: &[u8]) -> bool {
    key.len() == 5 + name.len()
        && key.starts_with(b"HTTP_")
        && key[5..].iter().zip(name).all(|(&k, &n)| k == cgi_byte(n))
}

/// An IP address as `Display` writes it, in `buf` (an IPv6 address takes at most 45
/// bytes), as bytes: an IPv4 one octet by octet, without the formatting machinery.
fn ip_bytes(buf: &mut [u8; 45], ip: IpAddr) -> &[u8] {
    match ip {
        IpAddr::V4(v4) => {
            let mut len = 0;
            let mut digits = itoa::Buffer::new();
            for octet in v4.octets() {
                let octet = digits.format(octet).as_bytes();
                // At most 15 bytes: "255.255.255.255".
                if let Some(slot) = buf.get_mut(len..len + octet.len() + 1) {
                    slot[..octet.len()].copy_from_slice(octet);
                    slot[octet.len()] = b'.';
                    len += octet.len() + 1;
                }
            }
            // Without the last dot.
            &buf[..len.saturating_sub(1)]
        }
        IpAddr::V6(_) => display(buf, ip),
    }
}

/// `value` as `Display` writes it, in `buf` (which must be large enough: an IP
/// address in 45 bytes, a port in 5), as bytes.
fn display(buf: &mut [u8], value: impl core::fmt::Display) -> &[u8] {
    use std::io::Write;
    let total = buf.len();
    let mut rest = &mut buf[..];
    // Never fails for the values this is called with; a short write would only
    // shorten the value, never panic.
    let _ = write!(rest, "{value}");
    let written = total - rest.len();
    &buf[..written]
}

/// One var of the params list: key and value, borrowed or built.
type Param<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A var of the params list as two slices.
fn param<'a>((key, value): &'a Param<'_>) -> (&'a [u8], &'a [u8]) {
    (key, value)
}

/// One edit of the params list: `Some(value)` replaces every var named `key` with one
/// where the first stood (`replace`), or adds it at the end; `None` removes them all.
fn edit<'a>(params: &mut Vec<Param<'a>>, key: &'a [u8], value: Option<&'a [u8]>, replace: bool) {
    let Some(value) = value else {
        params.retain(|(k, _)| **k != *key);
        return;
    };
    let first = params.iter().position(|(k, _)| **k == *key);
    match first.filter(|_| replace) {
        Some(at) => {
            if let Some(slot) = params.get_mut(at) {
                slot.1 = Cow::Borrowed(value);
            }
            let mut index = 0;
            params.retain(|(k, _)| {
                index += 1;
                index - 1 == at || **k != *key
            });
        }
        None => params.push((Cow::Borrowed(key), Cow::Borrowed(value))),
    }
}

/// What one request sends differently from the [`NginxParams`] every request shares:
/// the client's address (`REMOTE_ADDR`, `REMOTE_PORT`) and params set over the shared
/// ones, each as [`NginxParams::param`] sets it (replaced where it stands, or added).
/// Put it in the request's extensions; [`NginxParams::to_vars`] (and so the client
/// driver's `Client`) applies it last. A gateway inserts one
/// per request, with the address of the connection it came on, and builds its params
/// once.
///
/// ```
/// use uwsgi_wire::cgi::{NginxParams, RequestParams};
///
/// let shared = NginxParams::new().param("X_TIER", "web").param("X_TENANT", "none");
/// let mut request = http::Request::get("/").body(())?;
/// request.extensions_mut().insert(
///     RequestParams::new()
///         .remote_addr("[2001:db8::7]:40000".parse()?)
///         .param("X_TENANT", "acme"),
/// );
/// let vars = shared.to_vars(&request)?;
/// assert_eq!(vars.vars().get(b"REMOTE_ADDR"), Some(&b"2001:db8::7"[..]));
/// assert_eq!(vars.vars().get(b"REMOTE_PORT"), Some(&b"40000"[..]));
/// assert_eq!(vars.vars().get(b"X_TIER"), Some(&b"web"[..]));
/// assert_eq!(vars.vars().get(b"X_TENANT"), Some(&b"acme"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParams {
    remote_addr: Option<SocketAddr>,
    params: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RequestParams {
    /// Nothing different: the shared params alone.
    ///
    /// ```
    /// let params = uwsgi_wire::cgi::RequestParams::new();
    /// # let _ = params;
    /// ```
    pub fn new() -> Self {
        RequestParams::default()
    }

    /// The client's address: `REMOTE_ADDR` and `REMOTE_PORT`, over the shared
    /// [`NginxParams::remote_addr`].
    ///
    /// ```
    /// let params = uwsgi_wire::cgi::RequestParams::new().remote_addr("192.0.2.7:40000".parse()?);
    /// # let _ = params;
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// Sets `key` to `value` for this request, after the shared params: replaces the
    /// var of that name where it stands, or adds it.
    ///
    /// ```
    /// let params = uwsgi_wire::cgi::RequestParams::new().param("UWSGI_SCHEME", "https");
    /// # let _ = params;
    /// ```
    pub fn param(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.params
            .push((key.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }
}

/// A `Host` header's host: `[v6]` or the part before `:`.
fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        let end = host
            .iter()
            .position(|&b| b == b']')
            .map_or(host.len(), |i| i + 1);
        return host.get(..end).unwrap_or(host);
    }
    let end = host.iter().position(|&b| b == b':').unwrap_or(host.len());
    host.get(..end).unwrap_or(host)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// nginx's `$host` as the request gives it (the `HTTP_HOST` that [`NginxParams`]
/// sends): the request line's host, else the `Host` header's without its port, lower
/// case, without one trailing dot; `None` when neither names one (nginx then uses its
/// `server_name`).
///
/// ```
/// use uwsgi_wire::cgi::request_host;
///
/// let request = http::Request::get("/").header("host", "Example.COM.:8080").body(())?;
/// assert_eq!(request_host(&request).as_deref(), Some(&b"example.com"[..]));
/// assert_eq!(request_host(&http::Request::get("/").body(())?), None);
/// # Ok::<(), http::Error>(())
/// ```
pub fn request_host<B>(request: &Request<B>) -> Option<Vec<u8>> {
    host(request).map(Cow::into_owned)
}

/// [`request_host`], borrowed from the request when it is lower case already.
fn host<B>(request: &Request<B>) -> Option<Cow<'_, [u8]>> {
    host_from(request.uri(), request.headers().get(header::HOST))
}

/// [`host`] of the request's URI and its (first) `Host` header.
fn host_from<'a>(uri: &'a Uri, header: Option<&'a HeaderValue>) -> Option<Cow<'a, [u8]>> {
    let host_header = header
        .map(HeaderValue::as_bytes)
        .map(strip_port)
        .filter(|host| !host.is_empty());
    uri.host()
        .map(str::as_bytes)
        .or(host_header)
        // nginx's `$host` drops one trailing dot (`example.com.` is `example.com`).
        .map(|host| host.strip_suffix(b".").unwrap_or(host))
        .filter(|host| !host.is_empty())
        .map(|host| {
            if host.iter().any(u8::is_ascii_uppercase) {
                Cow::Owned(host.to_ascii_lowercase())
            } else {
                Cow::Borrowed(host)
            }
        })
}

/// nginx's `$document_uri` for a request path (the `PATH_INFO` that
/// [`NginxParams`] sends): percent-decoded (`%2F` and `%2e` too, as nginx decodes
/// them before it resolves segments), `.` and `..` segments resolved, repeated
/// slashes merged. A path that does not start with `/` (`*`) is kept as it is. This
/// is the path nginx matches its `location`s against, and maps to a file under
/// `root`/`alias`; a `..` above the root or a bad `%` escape is an error (nginx
/// answers 400).
///
/// ```
/// use uwsgi_wire::cgi::{document_uri, Error};
///
/// assert_eq!(&*document_uri("/static//css/../a%20b.css")?, b"/static/a b.css");
/// assert_eq!(&*document_uri("/static/%2e%2e%2fsecret")?, b"/secret");
/// assert!(matches!(document_uri("/%2e%2e/etc/passwd"), Err(Error::PathAboveRoot)));
/// # Ok::<(), Error>(())
/// ```
pub fn document_uri(path: &str) -> Result<Cow<'_, [u8]>, Error> {
    let path = path.as_bytes();
    if path.first() != Some(&b'/') {
        return Ok(Cow::Borrowed(path));
    }
    if is_normal(path) {
        return Ok(Cow::Borrowed(path));
    }
    let mut decoded = Vec::with_capacity(path.len());
    let mut bytes = path.iter().enumerate();
    while let Some((index, &b)) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(|(_, &b)| hex(b));
            let lo = bytes.next().and_then(|(_, &b)| hex(b));
            match (hi, lo) {
                (Some(hi), Some(lo)) => decoded.push(hi << 4 | lo),
                _ => return Err(Error::PercentEscape { index }),
            }
        } else {
            decoded.push(b);
        }
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in decoded.split(|&b| b == b'/').skip(1) {
        trailing_slash = true;
        match segment {
            b"" | b"." => {}
            b".." => {
                if segments.pop().is_none() {
                    return Err(Error::PathAboveRoot);
                }
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(decoded.len());
    for segment in &segments {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    Ok(Cow::Owned(out))
}

/// Whether a path starting with `/` is already what [`document_uri`] makes of it, as
/// most are: nothing to decode, no `.`, `..` or empty segment (but a trailing slash's).
/// One pass over the bytes (splitting it into segments first was a fifth of a static
/// file's path handling).
fn is_normal(path: &[u8]) -> bool {
    let mut start = 1;
    for (i, &b) in path.iter().enumerate().skip(1) {
        match b {
            b'%' => return false,
            b'/' => {
                if matches!(&path[start..i], b"" | b"." | b"..") {
                    return false;
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    !matches!(path.get(start..), Some(b"." | b".."))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::NginxParams;

    /// The unedited list's fast path writes the block the checked path writes (a
    /// param removed that is not there takes the checked path, changing nothing).
    #[test]
    fn the_fast_path_writes_the_checked_paths_block() {
        let requests = [
            http::Request::get("/").body(()).unwrap(),
            http::Request::post("https://Example.COM:8443/a/../b%20c?x=1&y")
                .version(http::Version::HTTP_10)
                .header("content-type", "text/plain")
                .header("content-length", "5")
                .header("x_under", "dropped or kept")
                .header("x-forwarded-for", "198.51.100.1")
                .header("x-forwarded-for", "198.51.100.2")
                .header("Host", "ignored.example")
                .body(())
                .unwrap(),
            http::Request::get("/h")
                .header("host", "Www.Example.org.:80")
                .header("user-agent", "ApacheBench/2.3")
                .header("accept", "*/*")
                .header("connection", "Keep-Alive")
                .body(())
                .unwrap(),
        ];
        let shared = [
            NginxParams::new(),
            NginxParams::new()
                .https(true)
                .server_name("myapp")
                .server_port("8080")
                .document_root("/srv"),
            NginxParams::new()
                .https(false)
                .underscores(true)
                .remote_addr("[2001:db8::7]:40000".parse().unwrap()),
            NginxParams::new().remote_addr("10.0.0.7:51234".parse().unwrap()),
        ];
        for params in &shared {
            let checked = params.clone().remove_param("NOT_THERE");
            for request in &requests {
                for length in [None, Some(&b"12"[..])] {
                    let fast = params.vars_with(request, length).unwrap();
                    let slow = checked.vars_with(request, length).unwrap();
                    assert_eq!(fast.vars().as_bytes(), slow.vars().as_bytes());
                    assert_eq!(fast.vars().len(), slow.vars().len());
                }
            }
        }
    }

    #[test]
    fn an_ip_is_written_as_display_writes_it() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.0.12.1",
            "127.0.0.1",
            "192.168.100.200",
            "255.255.255.255",
            "::1",
            "2001:db8::7",
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut buf = [0u8; 45];
            assert_eq!(super::ip_bytes(&mut buf, ip), ip.to_string().as_bytes());
        }
    }
}
