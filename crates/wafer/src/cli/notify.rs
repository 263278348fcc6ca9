//! Telling systemd how the service is doing (`Type=notify`): one datagram
//! to `$NOTIFY_SOCKET` per state. Written here rather than taken from a
//! crate: it is one `send_to` of a line of text (sd_notify(3)), and the crates
//! for it bring FFI or unsafe code the workspace forbids.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (`READY=1`, `STOPPING=1`, `STATUS=...`) when run by systemd;
/// does nothing otherwise, or when the socket cannot be reached (the service
/// runs the same; systemd then times the start out and says so).
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = match bytes.strip_prefix(b"@") {
        // An abstract socket (Linux): `@name`.
        #[cfg(target_os = "linux")]
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
        }
        _ => sock.send_to(state.as_bytes(), &path),
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "cannot notify systemd");
    }
}
