//! The table of open TCP/TLS connections: lookup by id and by remote
//! address (connection reuse, RFC 3261 §18.1 and §18.2.2), and the caps that
//! keep a flood of idle connections from starving everyone else.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::types::{ConnectionId, TransportKind, canonical};

/// Connection caps (from the configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub half_open_per_ip: usize,
    pub half_open: usize,
    pub connections: usize,
}

/// Why an accepted connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    HalfOpenPerIp,
    HalfOpenTotal,
    Connections,
}

impl Rejection {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Rejection::HalfOpenPerIp => "half-open connections from this address",
            Rejection::HalfOpenTotal => "half-open connections in total",
            Rejection::Connections => "connections in total",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub kind: TransportKind,
    pub remote: SocketAddr,
    pub tx: mpsc::Sender<Bytes>,
    /// Accepted, and no complete SIP message yet.
    half_open: bool,
    /// Closing after a framing error: not offered for reuse by address.
    retired: bool,
}

#[derive(Debug)]
pub(crate) struct ConnTable {
    caps: Caps,
    next_id: u64,
    by_id: HashMap<ConnectionId, Entry>,
    by_remote: HashMap<(TransportKind, SocketAddr), ConnectionId>,
    half_open_by_ip: HashMap<IpAddr, usize>,
    half_open: usize,
}

impl ConnTable {
    pub(crate) fn new(caps: Caps) -> ConnTable {
        ConnTable {
            caps,
            next_id: 1,
            by_id: HashMap::new(),
            by_remote: HashMap::new(),
            half_open_by_ip: HashMap::new(),
            half_open: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    fn insert(&mut self, entry: Entry) -> ConnectionId {
        let id = ConnectionId::new(self.next_id);
        self.next_id += 1;
        self.by_remote.insert((entry.kind, entry.remote), id);
        self.by_id.insert(id, entry);
        id
    }

    /// Registers an accepted connection as half-open, or says which cap
    /// forbids it.
    pub(crate) fn admit_inbound(
        &mut self,
        kind: TransportKind,
        remote: SocketAddr,
        tx: mpsc::Sender<Bytes>,
    ) -> Result<ConnectionId, Rejection> {
        let remote = canonical(remote);
        let ip = remote.ip();
        if self.by_id.len() >= self.caps.connections {
            return Err(Rejection::Connections);
        }
        if self.half_open >= self.caps.half_open {
            return Err(Rejection::HalfOpenTotal);
        }
        let per_ip = self.half_open_by_ip.entry(ip).or_insert(0);
        if *per_ip >= self.caps.half_open_per_ip {
            return Err(Rejection::HalfOpenPerIp);
        }
        *per_ip += 1;
        self.half_open += 1;
        Ok(self.insert(Entry {
            kind,
            remote,
            tx,
            half_open: true,
            retired: false,
        }))
    }

    /// Registers an outbound connection (never half-open).
    pub(crate) fn add_outbound(
        &mut self,
        kind: TransportKind,
        remote: SocketAddr,
        tx: mpsc::Sender<Bytes>,
    ) -> Result<ConnectionId, Rejection> {
        if self.by_id.len() >= self.caps.connections {
            return Err(Rejection::Connections);
        }
        Ok(self.insert(Entry {
            kind,
            remote: canonical(remote),
            tx,
            half_open: false,
            retired: false,
        }))
    }

    /// Whether another outbound connection would fit.
    pub(crate) fn has_room(&self) -> bool {
        self.by_id.len() < self.caps.connections
    }

    /// The connection delivered a complete message: it no longer counts as
    /// half-open.
    pub(crate) fn mark_established(&mut self, id: ConnectionId) {
        if let Some(entry) = self.by_id.get_mut(&id)
            && entry.half_open
        {
            entry.half_open = false;
            let ip = entry.remote.ip();
            self.release_half_open(ip);
        }
    }

    fn release_half_open(&mut self, ip: IpAddr) {
        self.half_open = self.half_open.saturating_sub(1);
        if let Some(n) = self.half_open_by_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.half_open_by_ip.remove(&ip);
            }
        }
    }

    /// Stops offering the connection for reuse by address (it is closing).
    pub(crate) fn retire(&mut self, id: ConnectionId) {
        if let Some(entry) = self.by_id.get_mut(&id) {
            entry.retired = true;
            let key = (entry.kind, entry.remote);
            if self.by_remote.get(&key) == Some(&id) {
                self.by_remote.remove(&key);
            }
        }
    }

    pub(crate) fn remove(&mut self, id: ConnectionId) {
        let Some(entry) = self.by_id.remove(&id) else {
            return;
        };
        let key = (entry.kind, entry.remote);
        if self.by_remote.get(&key) == Some(&id) {
            self.by_remote.remove(&key);
        }
        if entry.half_open {
            self.release_half_open(entry.remote.ip());
        }
    }

    /// The queue of the connection for a target: by id if it is still open
    /// and of the right kind, else by remote address.
    pub(crate) fn find(
        &self,
        kind: TransportKind,
        addr: SocketAddr,
        id: Option<ConnectionId>,
    ) -> Option<&Entry> {
        let by_id = id
            .and_then(|id| self.by_id.get(&id))
            .filter(|e| e.kind == kind && !e.tx.is_closed());
        by_id.or_else(|| {
            let id = self.by_remote.get(&(kind, canonical(addr)))?;
            self.by_id
                .get(id)
                .filter(|e| !e.retired && !e.tx.is_closed())
        })
    }

    #[cfg(test)]
    fn half_open_counts(&self, ip: IpAddr) -> (usize, usize) {
        (
            self.half_open_by_ip.get(&ip).copied().unwrap_or(0),
            self.half_open,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: TransportKind = TransportKind::Tcp;

    fn table(per_ip: usize, half_open: usize, connections: usize) -> ConnTable {
        ConnTable::new(Caps {
            half_open_per_ip: per_ip,
            half_open,
            connections,
        })
    }

    fn queue() -> mpsc::Sender<Bytes> {
        // The receiver is dropped: tests that look connections up keep it.
        mpsc::channel(1).0
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn half_open_caps_per_ip_and_total() {
        let mut t = table(2, 3, 100);
        let a = |p: u16| SocketAddr::new([10, 0, 0, 1].into(), p);
        let b = |p: u16| SocketAddr::new([10, 0, 0, 2].into(), p);
        let first = t.admit_inbound(TCP, a(1), queue()).unwrap();
        t.admit_inbound(TCP, a(2), queue()).unwrap();
        assert_eq!(
            t.admit_inbound(TCP, a(3), queue()),
            Err(Rejection::HalfOpenPerIp)
        );
        t.admit_inbound(TCP, b(1), queue()).unwrap();
        assert_eq!(
            t.admit_inbound(TCP, b(2), queue()),
            Err(Rejection::HalfOpenTotal)
        );
        // A connection that delivered a message frees its half-open slot.
        t.mark_established(first);
        t.mark_established(first);
        assert_eq!(t.half_open_counts(a(0).ip()), (1, 2));
        t.admit_inbound(TCP, a(4), queue()).unwrap();
        assert_eq!(t.half_open_counts(a(0).ip()), (2, 3));
        t.remove(first);
        assert_eq!(t.half_open_counts(a(0).ip()), (2, 3));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn removing_a_half_open_connection_releases_its_slot() {
        let mut t = table(1, 10, 100);
        let id = t.admit_inbound(TCP, addr("10.0.0.1:1"), queue()).unwrap();
        t.remove(id);
        t.remove(id);
        assert_eq!(t.half_open_counts(addr("10.0.0.1:1").ip()), (0, 0));
        assert!(t.admit_inbound(TCP, addr("10.0.0.1:2"), queue()).is_ok());
    }

    #[test]
    fn total_cap_covers_inbound_and_outbound() {
        let mut t = table(10, 10, 2);
        t.add_outbound(TCP, addr("10.0.0.1:5060"), queue()).unwrap();
        let id = t.admit_inbound(TCP, addr("10.0.0.2:1"), queue()).unwrap();
        t.mark_established(id);
        assert!(!t.has_room());
        assert_eq!(
            t.admit_inbound(TCP, addr("10.0.0.3:1"), queue()),
            Err(Rejection::Connections)
        );
        assert_eq!(
            t.add_outbound(TCP, addr("10.0.0.3:1"), queue()),
            Err(Rejection::Connections)
        );
    }

    #[test]
    fn lookup_by_id_then_address_skips_retired_and_wrong_kind() {
        let mut t = table(10, 10, 10);
        let (tx, _rx) = mpsc::channel(1);
        let remote = addr("10.0.0.1:40000");
        let id = t.admit_inbound(TCP, remote, tx).unwrap();
        assert!(t.find(TCP, addr("10.0.0.9:1"), Some(id)).is_some());
        assert!(t.find(TCP, remote, None).is_some());
        assert!(t.find(TransportKind::Tls, remote, Some(id)).is_none());
        t.retire(id);
        assert!(t.find(TCP, remote, None).is_none());
        // The id still works for the answer to the bad message.
        assert!(t.find(TCP, remote, Some(id)).is_some());
        t.remove(id);
        assert!(t.find(TCP, remote, Some(id)).is_none());
    }

    #[test]
    fn ipv4_mapped_peers_are_the_same_peer() {
        let mut t = table(1, 10, 10);
        let (tx, _rx) = mpsc::channel(1);
        t.admit_inbound(TCP, addr("[::ffff:10.0.0.1]:40000"), tx)
            .unwrap();
        assert!(t.find(TCP, addr("10.0.0.1:40000"), None).is_some());
        assert_eq!(
            t.admit_inbound(TCP, addr("10.0.0.1:40001"), queue()),
            Err(Rejection::HalfOpenPerIp)
        );
    }

    #[test]
    fn closed_queues_are_not_offered() {
        let mut t = table(10, 10, 10);
        let remote = addr("10.0.0.1:40000");
        let id = t.add_outbound(TCP, remote, queue()).unwrap();
        assert!(t.find(TCP, remote, Some(id)).is_none());
    }
}
