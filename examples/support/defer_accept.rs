//! `TCP_DEFER_ACCEPT` for the examples' TCP listeners (`#[path]`-included): no safe API
//! for this socket option exists in std (unstable `tcp_deferaccept`), tokio or socket2,
//! so the examples set it with `libc`, and the library leaves it to its user.

use std::io;

use tokio::net::TcpSocket;

/// `TCP_DEFER_ACCEPT`, 4 s as uWSGI sets it: the kernel completes `accept` only once
/// the first bytes of the request are in, so the first read finds them.
pub fn defer_accept(socket: &TcpSocket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let seconds: libc::c_int = 4;
    // SAFETY: a valid socket fd, and a pointer to a c_int with its exact size, as
    // setsockopt(2) requires for TCP_DEFER_ACCEPT.
    let status = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
