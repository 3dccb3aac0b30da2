//! The CGI environ of a request, for a WSGI (or any CGI-style) host: [`environ`].

use crate::wire::vars::Vars;

/// The pairs of a request's CGI environ, from its vars as uWSGI 2.0's Python plugin
/// builds a WSGI environ: every var in the order it came, key and value untouched (a key
/// sent twice comes twice, so a dict built from the pairs keeps the last, as uWSGI's
/// and [`Vars::get`] do), with two differences that make it the environ PEP 3333
/// requires (`wsgiref.validate` checks both):
///
/// - `HTTP_CONTENT_TYPE` and `HTTP_CONTENT_LENGTH` are left out;
/// - `SCRIPT_NAME` is added, empty, when the front end sends none (nginx's
///   `uwsgi_params` has none): CGI requires it, empty for an application at the root.
///
/// nginx sends the first two besides `CONTENT_TYPE` and `CONTENT_LENGTH` (one `HTTP_*` var
/// per header line); CGI (RFC 3875 §4.1.18) lets a server leave out the header vars
/// other vars already carry, and PEP 3333 (`wsgiref.validate`) forbids them. The URL
/// scheme a host adds (`wsgi.url_scheme`) is
/// [`Request::scheme`](crate::message::Request::scheme).
///
/// A value is bytes: a WSGI host decodes it as latin-1 (PEP 3333's native strings).
///
/// ```
/// use uwsgi_wire::cgi::environ;
/// use uwsgi_wire::{BlockKind, Limits, Packet, Status};
///
/// let wire = std::fs::read("tests/vectors/nginx-post.bin")?; // captured from nginx 1.22
/// let Status::Complete((packet, _)) = Packet::parse_as(&wire, BlockKind::Vars, &Limits::new())?
/// else { unreachable!() };
/// let vars = packet.vars().unwrap();
/// let env: Vec<_> = environ(&vars).collect();
/// assert!(env.contains(&(&b"CONTENT_TYPE"[..], &b"application/x-www-form-urlencoded"[..])));
/// assert!(env.iter().all(|(key, _)| !key.starts_with(b"HTTP_CONTENT_")));
/// assert_eq!(env.last(), Some(&(&b"SCRIPT_NAME"[..], &b""[..])));
/// assert_eq!(env.len(), vars.iter().count() - 2 + 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn environ<'a>(vars: &Vars<'a>) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
    let script_name = vars
        .get(b"SCRIPT_NAME")
        .is_none()
        .then_some((&b"SCRIPT_NAME"[..], &b""[..]));
    vars.iter()
        .filter(|(key, _)| !matches!(*key, b"HTTP_CONTENT_TYPE" | b"HTTP_CONTENT_LENGTH"))
        .chain(script_name)
}
