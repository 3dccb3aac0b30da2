//! The upstreams of one location and the choice among them, as nginx's round robin
//! balancer with its defaults (`ngx_http_upstream_round_robin.c`): smooth weighted
//! round robin, `max_fails=1 fail_timeout=10s`, and `proxy_next_upstream error
//! timeout` for a connection that could not be made.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use uwsgi_wire::client::{self, ErrorKind, ResponseBody};

use crate::net::Addr;

/// How long an upstream that failed is skipped (nginx's default `fail_timeout=10s`;
/// its default `max_fails=1` makes one failure enough).
const FAIL_TIMEOUT: Duration = Duration::from_secs(10);

/// One upstream as written: `ADDR[ weight=N]`, as nginx's `server ADDR weight=N;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub addr: Addr,
    pub weight: u32,
}

/// `ADDR` or `ADDR weight=N` (N at least 1, as nginx requires).
pub fn parse_server(value: &str) -> Result<Server, String> {
    let mut words = value.split_whitespace();
    let addr = Addr::parse(words.next().unwrap_or_default())?;
    let mut weight = 1;
    for word in words {
        weight = word
            .strip_prefix("weight=")
            .and_then(|n| n.parse().ok())
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                format!("{value:?}: invalid parameter {word:?} (expected weight=N, N >= 1)")
            })?;
    }
    Ok(Server { addr, weight })
}

/// Why a request found no upstream's response.
pub enum Failed<'a> {
    /// Every upstream not tried for this request is within its fail timeout (nginx:
    /// "no live upstreams", 502).
    NoLive,
    /// The last upstream tried failed so.
    Upstream(&'a str, client::Error),
}

/// nginx's `ngx_http_upstream_rr_peer_t`, less what its defaults leave unused.
struct Peer {
    weight: i64,
    effective_weight: i64,
    current_weight: i64,
    fails: u32,
    /// When it last failed.
    accessed: Option<Instant>,
    /// When it last failed, or was chosen after its fail timeout.
    checked: Option<Instant>,
}

/// The uwsgi upstreams of one location.
pub struct Upstreams {
    /// One client per upstream: the settings, the vars and the address parsed once.
    clients: Vec<client::Client>,
    /// Each upstream as written, for the logs (shared: a response's body logs its
    /// upstream when it fails, without a copy per request).
    names: Vec<Arc<str>>,
    peers: Mutex<Vec<Peer>>,
}

impl Upstreams {
    pub fn new(servers: &[Server], builder: &client::Builder) -> Upstreams {
        let peers = servers
            .iter()
            .map(|server| Peer {
                weight: i64::from(server.weight),
                effective_weight: i64::from(server.weight),
                current_weight: 0,
                fails: 0,
                accessed: None,
                checked: None,
            })
            .collect();
        Upstreams {
            clients: servers
                .iter()
                .map(|s| builder.build(&s.addr.to_string()))
                .collect(),
            names: servers.iter().map(|s| s.addr.to_string().into()).collect(),
            peers: Mutex::new(peers),
        }
    }

    /// The upstreams as written.
    #[cfg(test)]
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// Sends `request` to the next upstream; when it cannot be connected to (refused,
    /// timed out), before any byte of the request is sent, to the next one not tried
    /// yet, as nginx does. The upstream that answered, or why none did.
    pub async fn send(
        &self,
        mut request: Request<Incoming>,
    ) -> Result<(Arc<str>, Response<ResponseBody>), Failed<'_>> {
        // On the stack for the usual few upstreams: no allocation per request.
        let mut few = [false; 8];
        let mut many = Vec::new();
        let tried: &mut [bool] = match few.get_mut(..self.names.len()) {
            Some(few) => few,
            None => {
                many.resize(self.names.len(), false);
                &mut many
            }
        };
        let mut tries = self.names.len();
        loop {
            let Some(at) = self.get(tried) else {
                return Err(Failed::NoLive);
            };
            let name = &*self.names[at];
            let mut err = match self.clients[at].try_send(request).await {
                Ok(response) => {
                    self.free(at, false);
                    return Ok((self.names[at].clone(), response));
                }
                Err(err) => err,
            };
            // Given back: the connection could not be made, nothing was sent.
            if let Some(back) = err.take_message() {
                self.free(at, true);
                tries -= 1;
                if tries == 0 {
                    return Err(Failed::Upstream(name, err.into_error()));
                }
                tracing::error!(upstream = name, "upstream: {err}, trying the next one");
                request = back;
                continue;
            }
            let err = err.into_error();
            // A request the client got wrong says nothing of the upstream.
            let failed = !matches!(err.kind(), ErrorKind::RequestBody | ErrorKind::Request);
            self.free(at, failed);
            return Err(Failed::Upstream(name, err));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// nginx's `ngx_http_upstream_get_round_robin_peer`: a single upstream is always
    /// tried; of several, the one with the highest current weight among those neither
    /// tried for this request nor within their fail timeout.
    fn get(&self, tried: &mut [bool]) -> Option<usize> {
        let mut peers = self.lock();
        if peers.len() == 1 {
            return (!tried[0]).then(|| {
                tried[0] = true;
                0
            });
        }
        let now = Instant::now();
        let mut total = 0;
        let mut best: Option<(usize, i64)> = None;
        for (at, peer) in peers.iter_mut().enumerate() {
            if tried[at] {
                continue;
            }
            let failed = peer.fails >= 1
                && peer
                    .checked
                    .is_some_and(|checked| now.duration_since(checked) <= FAIL_TIMEOUT);
            if failed {
                continue;
            }
            peer.current_weight += peer.effective_weight;
            total += peer.effective_weight;
            if peer.effective_weight < peer.weight {
                peer.effective_weight += 1;
            }
            if best.is_none_or(|(_, weight)| peer.current_weight > weight) {
                best = Some((at, peer.current_weight));
            }
        }
        let (at, _) = best?;
        let best = &mut peers[at];
        best.current_weight -= total;
        tried[at] = true;
        if best
            .checked
            .is_none_or(|checked| now.duration_since(checked) > FAIL_TIMEOUT)
        {
            best.checked = Some(now);
        }
        Some(at)
    }

    /// nginx's `ngx_http_upstream_free_round_robin_peer`: a failure disables the
    /// upstream for the fail timeout and zeroes its effective weight; a success after
    /// it was checked again makes it live.
    fn free(&self, at: usize, failed: bool) {
        let mut peers = self.lock();
        if peers.len() == 1 {
            return;
        }
        let peer = &mut peers[at];
        if failed {
            let now = Instant::now();
            peer.fails += 1;
            peer.accessed = Some(now);
            peer.checked = Some(now);
            // max_fails=1: weight / max_fails is the whole weight.
            peer.effective_weight = 0;
            tracing::warn!(
                upstream = &*self.names[at],
                "upstream server temporarily disabled"
            );
        } else if peer.accessed < peer.checked {
            peer.fails = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstreams(servers: &[&str]) -> Upstreams {
        let servers: Vec<Server> = servers.iter().map(|s| parse_server(s).unwrap()).collect();
        Upstreams::new(&servers, &client::Builder::new())
    }

    /// The upstreams chosen for `n` requests that each succeed at the first.
    fn order(upstreams: &Upstreams, n: usize) -> String {
        (0..n)
            .map(|_| {
                let at = upstreams
                    .get(&mut vec![false; upstreams.names.len()])
                    .unwrap();
                upstreams.free(at, false);
                char::from(b'a' + u8::try_from(at).unwrap())
            })
            .collect()
    }

    #[test]
    fn weights_are_served_in_nginx_smooth_order() {
        // The order nginx gives weights 5, 1, 1: { a, a, b, a, c, a, a }.
        let u = upstreams(&["127.0.0.1:1 weight=5", "127.0.0.1:2", "127.0.0.1:3"]);
        assert_eq!(order(&u, 7), "aabacaa");
        let u = upstreams(&["127.0.0.1:1 weight=3", "127.0.0.1:2"]);
        assert_eq!(order(&u, 8), "aabaaaba");
        let u = upstreams(&["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(order(&u, 4), "abab");
    }

    #[test]
    fn a_failed_upstream_is_skipped_and_none_left_is_no_live() {
        let u = upstreams(&["127.0.0.1:1", "127.0.0.1:2"]);
        let mut tried = vec![false; 2];
        assert_eq!(u.get(&mut tried), Some(0));
        u.free(0, true);
        // The same request goes on to the next; the failed one is out for 10 s.
        assert_eq!(u.get(&mut tried), Some(1));
        assert_eq!(u.get(&mut tried), None);
        u.free(1, false);
        assert_eq!(order(&u, 3), "bbb");
        u.free(1, true);
        assert_eq!(u.get(&mut [false; 2]), None);
        // A single upstream is always tried, as nginx's `peers->single`.
        let single = upstreams(&["127.0.0.1:1"]);
        single.free(0, true);
        assert_eq!(single.get(&mut [false]), Some(0));
    }

    #[test]
    fn weights_are_checked() {
        assert_eq!(parse_server("127.0.0.1:1").unwrap().weight, 1);
        assert_eq!(parse_server("127.0.0.1:1  weight=7").unwrap().weight, 7);
        for bad in [
            "127.0.0.1:1 weight=0",
            "127.0.0.1:1 weight=x",
            "127.0.0.1:1 max_fails=2",
        ] {
            assert!(
                parse_server(bad).unwrap_err().contains("invalid parameter"),
                "{bad}"
            );
        }
        assert!(parse_server("").is_err());
    }
}
