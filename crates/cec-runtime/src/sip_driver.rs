//! The SIP driver: one task that owns the sans-IO [`Endpoint`], feeds it what the transports
//! received and the passing of time, and carries its transmissions out. The application
//! (today the binary's interim SIP service, later the call core) sees endpoint events through
//! [`SipApplication`] on the same task, so no locks sit on the signalling path.

use std::time::Instant;

use cec_sip::{Endpoint, Event, Peer, Transmit};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use crate::sip_transport::{
    ConnectionId, Inbound, SendError, SipTransports, Target, TransportKind, TransportSender,
};

/// Most queued messages handled in one turn before timers and shutdown get a look.
const BATCH: usize = 64;

/// Received messages waiting for the driver above which the application is told it is
/// overloaded (it should refuse new work cheaply, e.g. new INVITEs with 503), and below
/// which it is told it is not any more. At 20-40 µs per message, 8,000 waiting messages are
/// a few hundred milliseconds of delay for every answer: shedding starts before the peers'
/// retransmissions (500 ms) would multiply the load, and not on short bursts.
const OVERLOAD_ON: usize = 8_000;
const OVERLOAD_OFF: usize = 1_000;

/// What runs on top of the endpoint, on the driver's task.
pub trait SipApplication: Send + 'static {
    /// An endpoint event (a request to answer, a response, a timeout...).
    fn handle_event(&mut self, now: Instant, endpoint: &mut Endpoint, event: Event);

    /// The application's own next deadline (registration expiry, probes).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Called at or after [`SipApplication::poll_timeout`].
    fn handle_timeout(&mut self, _now: Instant, _endpoint: &mut Endpoint) {}

    /// The driver is behind (see [`OVERLOAD_ON`]) or caught up again.
    fn set_overloaded(&mut self, _overloaded: bool) {}
}

/// The next application task, or never when there is no task channel.
async fn next_task<A>(
    tasks: &mut Option<mpsc::UnboundedReceiver<AppTask<A>>>,
) -> Option<AppTask<A>> {
    match tasks {
        Some(tasks) => tasks.recv().await,
        None => std::future::pending().await,
    }
}

fn peer(kind: TransportKind, addr: std::net::SocketAddr, connection: Option<ConnectionId>) -> Peer {
    Peer {
        transport: kind,
        addr,
        connection: connection.map(ConnectionId::as_u64),
    }
}

fn target(to: &Peer) -> Target {
    Target {
        kind: to.transport,
        addr: to.addr,
        connection: to.connection.map(ConnectionId::new),
        server_name: None,
    }
}

/// Work for the application from other tasks (API commands, media events), run on the
/// driver's task with the endpoint at hand; its transmissions go out at once.
pub type AppTask<A> = Box<dyn FnOnce(&mut A, Instant, &mut Endpoint) + Send>;

/// Drives one endpoint over the transports until `shutdown` resolves.
pub struct SipDriver<A> {
    endpoint: Endpoint,
    app: A,
    sender: TransportSender,
    inbound: mpsc::Receiver<Inbound>,
    tasks: Option<mpsc::UnboundedReceiver<AppTask<A>>>,
    overloaded: bool,
}

impl<A: SipApplication> SipDriver<A> {
    /// Wires `endpoint` and `app` to bound transports. The endpoint learns our listening
    /// addresses for Via and Contact, unless `advertised` overrides the IP (NAT).
    pub fn new(
        mut endpoint: Endpoint,
        app: A,
        transports: &SipTransports,
        inbound: mpsc::Receiver<Inbound>,
        advertised: Option<std::net::IpAddr>,
    ) -> Self {
        for (kind, addr) in transports.local_addrs() {
            let mut addr = *addr;
            if let Some(ip) = advertised {
                addr.set_ip(ip);
            } else if addr.ip().is_unspecified() {
                // 0.0.0.0 is not an address a peer can reach; loopback is the honest
                // fallback until the operator sets sip.public_address.
                addr.set_ip(std::net::IpAddr::from([127, 0, 0, 1]));
            }
            endpoint.set_local_address(*kind, addr);
        }
        SipDriver {
            endpoint,
            app,
            sender: transports.sender(),
            inbound,
            tasks: None,
            overloaded: false,
        }
    }

    /// Runs the closures sent on `tasks` on the driver's task (see [`AppTask`]).
    #[must_use]
    pub fn with_tasks(mut self, tasks: mpsc::UnboundedReceiver<AppTask<A>>) -> Self {
        self.tasks = Some(tasks);
        self
    }

    /// Runs until `shutdown` completes or the transports close.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.flush(Instant::now());
            let deadline = [self.endpoint.poll_timeout(), self.app.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let sleep = async {
                match deadline {
                    Some(at) => sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                received = self.inbound.recv() => {
                    let Some(inbound) = received else { break };
                    let now = Instant::now();
                    self.check_overload();
                    if deadline.is_some_and(|d| d <= now) {
                        // Overdue timers first (retransmissions, 100 Trying, expiries).
                        self.endpoint.handle_timeout(now);
                        self.app.handle_timeout(now, &mut self.endpoint);
                    }
                    self.feed(now, inbound);
                    // Take a bounded batch of what is already queued, then go back to the
                    // select: timers and shutdown must not starve under a flood.
                    for _ in 0..BATCH {
                        let Ok(more) = self.inbound.try_recv() else { break };
                        self.feed(now, more);
                        self.flush(now);
                    }
                }
                () = sleep => {
                    let now = Instant::now();
                    self.endpoint.handle_timeout(now);
                    self.app.handle_timeout(now, &mut self.endpoint);
                }
                task = next_task(&mut self.tasks) => {
                    let Some(task) = task else {
                        self.tasks = None;
                        continue;
                    };
                    let now = Instant::now();
                    task(&mut self.app, now, &mut self.endpoint);
                    for _ in 0..BATCH {
                        let Some(Ok(more)) = self.tasks.as_mut().map(mpsc::UnboundedReceiver::try_recv) else { break };
                        more(&mut self.app, now, &mut self.endpoint);
                        self.flush(now);
                    }
                }
            }
        }
        self.flush(Instant::now());
    }

    /// Tells the application when the backlog crosses [`OVERLOAD_ON`] / [`OVERLOAD_OFF`].
    fn check_overload(&mut self) {
        let backlog = self.inbound.len();
        let overloaded = if self.overloaded {
            backlog > OVERLOAD_OFF
        } else {
            backlog > OVERLOAD_ON
        };
        if overloaded != self.overloaded {
            self.overloaded = overloaded;
            if overloaded {
                tracing::warn!(
                    backlog,
                    "SIP driver overloaded: new calls are refused with 503"
                );
            } else {
                tracing::info!(backlog, "SIP driver caught up: new calls accepted again");
            }
            self.app.set_overloaded(overloaded);
        }
    }

    fn feed(&mut self, now: Instant, inbound: Inbound) {
        match inbound {
            Inbound::Message(received) => {
                let from = peer(received.kind, received.source, received.connection);
                self.endpoint.handle_message(now, received.message, from);
            }
            Inbound::Malformed {
                bytes,
                error,
                source,
                kind,
                connection,
                ..
            } => {
                let from = peer(kind, source, connection);
                self.endpoint.handle_malformed(&bytes, &error, from);
            }
        }
    }

    /// Hands events to the application and transmissions to the transports until both are
    /// drained (the application's answers produce more transmissions).
    fn flush(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(event) = self.endpoint.poll_event() {
                self.app.handle_event(now, &mut self.endpoint, event);
                progressed = true;
            }
            while let Some(transmit) = self.endpoint.poll_transmit() {
                self.send(transmit);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    fn send(&self, transmit: Transmit) {
        let target = target(&transmit.to);
        match self.sender.try_send(&target, transmit.bytes.clone()) {
            Ok(()) => {}
            // Connecting, or a full queue: finish on a task so the signalling loop never waits.
            Err(SendError::NotConnected | SendError::QueueFull | SendError::WouldBlock) => {
                let sender = self.sender.clone();
                tokio::spawn(async move {
                    if let Err(error) = sender.send(target, transmit.bytes).await {
                        tracing::warn!(%error, dest = %transmit.to.addr, "SIP send failed");
                    }
                });
            }
            Err(error) => tracing::warn!(%error, dest = %transmit.to.addr, "SIP send failed"),
        }
    }
}
