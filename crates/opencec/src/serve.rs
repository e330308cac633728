//! `opencec serve`: the one process that runs SIP, media, the API and the web pages. Today it
//! loads and validates the configuration, prepares the data directory, starts the media
//! engine, the SIP transports and the SIP driver with the interim SIP service (which uses
//! the media engine for the echo-test number), and runs until SIGINT or SIGTERM; each
//! component is wired in here as its issue lands.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::Context;
use cec_media::quality::NtpClock;
use cec_runtime::media::{IoMode, MediaConfig, MediaEngine};
use cec_runtime::sip_driver::SipDriver;
use cec_runtime::{ListenSpec, RateLimit, SipTransports, TlsFiles, TransportConfig, TransportKind};
use cec_sip::{Endpoint, EndpointConfig, TimerValues};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::info;

use crate::cli::ServeArgs;
use crate::config::{Config, MediaIo, SipTransport};
use crate::demo;
use crate::echo::{EchoService, EchoSettings};
use crate::sip_service::{SipService, Users};

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let config = Config::load(args.config.config.as_deref())?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("opencec")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, args))
}

async fn serve(config: Config, args: &ServeArgs) -> anyhow::Result<()> {
    // Handlers go in before anything announces readiness: a signal that arrives between
    // "ready" and their installation would otherwise kill the process uncleanly.
    let mut shutdown = ShutdownSignals::install()?;
    info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %args.data_dir.display(),
        sip_listeners = config.sip_listeners().len(),
        "opencec starting"
    );
    let mut config = config;
    let store = crate::store_setup::open(&config, &args.data_dir).await?;
    info!(backend = ?store.backend(), "database ready");
    crate::store_setup::bootstrap_admin_key(&store, &args.data_dir).await?;
    let mut users = Users::from_config(&config.sip);
    if args.demo {
        let credentials = demo::load_or_create(&args.data_dir, random_u64)?;
        let credentials = demo::seed(&store, &args.data_dir, credentials).await?;
        info!(
            tenant = "demo",
            access_key = credentials.access_key.as_deref().unwrap_or_default(),
            secret = credentials.secret.as_deref().unwrap_or_default(),
            "demo tenant API key"
        );
        for agent in &credentials.agents {
            // MD5 for the demo phones: the softphone a newcomer most likely has at hand
            // (Debian 12's baresip, libre 1.1) cannot answer when SHA-256 is offered too.
            users.insert_password(
                &agent.sip_user,
                &config.sip.realm,
                &agent.sip_password,
                Some(vec![cec_sip_auth::Algorithm::Md5]),
            );
            info!(user = %agent.sip_user, password = %agent.sip_password, "demo SIP phone");
        }
        if !config.sip.trunks.iter().any(|t| t.name == "demo-trunk") {
            config.sip.trunks.push(demo::demo_trunk());
        }
        for agent in &credentials.agents {
            info!(work_no = %agent.work_no, password = %agent.password, "demo agent web sign-in");
        }
        info!(
            file = %args.data_dir.join("demo-credentials.json").display(),
            "demo tenant credentials"
        );
    }
    info!(
        users = users.len(),
        trunks = config.sip.trunks.len(),
        "SIP accounts loaded"
    );
    let api_state = cec_api::ApiState::new(store.clone(), cec_api::Registry::new()).await?;
    let (outputs, records) = tokio::sync::mpsc::unbounded_channel();
    let sip = start_sip(&config, users, &store, outputs).await?;
    let writer = tokio::spawn(crate::records::run(
        store.clone(),
        api_state.clone(),
        records,
    ));
    let reloader = crate::control::Reloader::new(store.clone(), sip.tasks.clone(), sip.fingerprint);
    let api_state = api_state.with_call_control(std::sync::Arc::new(
        crate::control::SwitchControl::new(sip.tasks.clone(), reloader.clone()),
    ));
    let reloads = tokio::spawn(reloader.run_periodically(CONFIG_RELOAD, api_state.clone()));
    let http = start_http(&config, api_state.clone()).await?;
    api_state.set_sip_ready();
    info!("ready; press Ctrl-C to stop");
    shutdown.recv().await;
    info!("shutdown requested, stopping");
    reloads.abort();
    http.stop().await;
    sip.stop().await;
    // The driver is gone, so is the last sender: the writer flushes and ends.
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    store.close().await;
    Ok(())
}

/// The running HTTP API.
struct RunningHttp {
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl RunningHttp {
    async fn stop(self) {
        let _ = self.stop.send(());
        // In-flight requests get a moment to finish; long polls do not hold shutdown up.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
    }
}

async fn start_http(config: &Config, state: cec_api::ApiState) -> anyhow::Result<RunningHttp> {
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http.listen))?;
    info!(addr = %listener.local_addr()?, "HTTP listening");
    let app = cec_api::router(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(err) = result {
            tracing::error!(%err, "HTTP server failed");
        }
    });
    Ok(RunningHttp { stop, server })
}

/// How often the call path re-reads its configuration from the store (an API change for
/// an agent unknown to the call core triggers a reload at once).
const CONFIG_RELOAD: Duration = Duration::from_secs(5);

/// The running SIP side.
struct RunningSip {
    stop: tokio::sync::oneshot::Sender<()>,
    driver: tokio::task::JoinHandle<()>,
    transports: SipTransports,
    /// Work for the call service on the driver's task.
    tasks: crate::control::Tasks,
    /// The store's configuration fingerprint the call service started with.
    fingerprint: [i64; 4],
}

impl RunningSip {
    async fn stop(self) {
        drop(self.tasks);
        let _ = self.stop.send(());
        let _ = self.driver.await;
        self.transports.shutdown();
    }
}

async fn start_sip(
    config: &Config,
    users: Users,
    store: &cec_store::Store,
    outputs: tokio::sync::mpsc::UnboundedSender<cec_core::Output>,
) -> anyhow::Result<RunningSip> {
    let sip = &config.sip;
    let transport_config = TransportConfig {
        listen: config
            .sip_listeners()
            .into_iter()
            .map(|l| ListenSpec::new(runtime_transport(l.transport), l.addr))
            .collect(),
        tls: sip.tls.as_ref().map(|tls| TlsFiles {
            cert: tls.cert.clone().into(),
            key: tls.key.clone().into(),
        }),
        rate_limit: Some(RateLimit {
            per_second: sip.rate_limit_per_source,
            burst: sip.rate_limit_per_source.saturating_mul(2),
        }),
        ..TransportConfig::default()
    };
    let (transports, inbound) = SipTransports::bind(transport_config)
        .await
        .context("cannot start the SIP listeners")?;
    for (kind, addr) in transports.local_addrs() {
        info!(transport = %kind, %addr, "SIP listening");
    }
    let now = std::time::Instant::now();
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let mut service = SipService::new(sip, users, secret, now);
    let (media, media_events) = start_media(config)?;
    if !sip.echo_number.is_empty() {
        let settings = EchoSettings {
            number: sip.echo_number.clone(),
            ring: Duration::from_millis(sip.echo_ring_ms),
            max_duration: Duration::from_secs(sip.echo_max_duration_s),
            public_ip: sip.public_address.parse().ok(),
            listeners: transports.local_addrs().to_vec(),
        };
        info!(number = %settings.number, "echo test enabled");
        let echo = EchoService::new(
            settings,
            media.clone(),
            cec_sip::random::splitmix64(random_u64()),
            ntp_clock(now),
        );
        service = service.with_echo(echo);
    }
    let advertised: Option<IpAddr> = sip.public_address.parse().ok();
    let listen_ip = transports.local_addrs().first().map(|(_, a)| a.ip());
    let sip_host = advertised
        .or(listen_ip.filter(|ip| !ip.is_unspecified()))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
        .to_string();
    // Taken before the read, so a change made meanwhile still triggers the first reload.
    let fingerprint = store
        .config_fingerprint()
        .await
        .context("cannot read the call configuration")?;
    let loaded = crate::call_config::load(store)
        .await
        .context("cannot read the call configuration")?;
    let mut switch_secret = [0u8; 32];
    getrandom::getrandom(&mut switch_secret)
        .map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let settings = cec_core::Settings {
        sip_host,
        realm: sip.realm.clone(),
        digest_secret: switch_secret,
        wall: wall_clock(now),
        ntp: ntp_clock(now),
        rtp_timeout: Duration::from_secs(config.media.rtp_timeout_s),
    };
    service.apply_store(now, &loaded);
    info!(
        trunks = loaded.switch.trunks.len(),
        routes = loaded.switch.routes.len(),
        queues = loaded.switch.queues.len(),
        agents = loaded.switch.agents.len(),
        "call path configured"
    );
    let switch = cec_core::Switch::new(
        settings,
        std::sync::Arc::new(loaded.switch),
        now,
        cec_sip::random::splitmix64(random_u64()),
    );
    let mut engine_media = crate::media_control::EngineMedia::new(media, advertised, listen_ip);
    engine_media.set_prompts(std::sync::Arc::new(loaded.prompts));
    let service = crate::call_service::CallService::new(service, switch, engine_media, outputs);
    let endpoint_config = EndpointConfig {
        timers: TimerValues {
            t1: Duration::from_millis(sip.t1_ms),
            t2: Duration::from_millis(sip.t2_ms),
            t4: Duration::from_millis(sip.t4_ms),
            ..TimerValues::default()
        },
        max_server_transactions: sip.max_transactions,
        ..EndpointConfig::default()
    };
    let endpoint = Endpoint::new(
        endpoint_config,
        // Seeded from the OS: tags and branches need uniqueness and unpredictability to
        // outsiders, not a system call per message.
        cec_sip::random::splitmix64(random_u64()),
    );
    let (tasks, task_queue) = tokio::sync::mpsc::unbounded_channel();
    let driver =
        SipDriver::new(endpoint, service, &transports, inbound, advertised).with_tasks(task_queue);
    forward_media_events(media_events, tasks.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let driver = tokio::spawn(driver.run(async move {
        let _ = stopped.await;
    }));
    Ok(RunningSip {
        stop,
        driver,
        transports,
        tasks,
        fingerprint,
    })
}

/// Hands media events (RTP timeout, quality) to the Switch on the driver's task.
fn forward_media_events(
    mut events: tokio::sync::mpsc::Receiver<cec_runtime::media::MediaEvent>,
    tasks: crate::control::Tasks,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let task: cec_runtime::sip_driver::AppTask<crate::call_service::CallService> =
                Box::new(move |service, now, endpoint| {
                    service.with_switch(endpoint, |switch, env| {
                        switch.handle_media_event(now, env, event.leg.get(), &event.event);
                    });
                });
            if tasks.send(task).is_err() {
                break;
            }
        }
    });
}

/// Maps instants to epoch milliseconds for call records and events.
fn wall_clock(origin: std::time::Instant) -> cec_core::WallClock {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    cec_core::WallClock {
        origin,
        origin_ms: i64::try_from(unix.as_millis()).unwrap_or(i64::MAX),
    }
}

/// Starts the media engine on `media.rtp_ports`. The RTP sockets bind to the SIP listeners'
/// IP when they all share one specific address, else to every IPv4 address.
fn start_media(
    config: &Config,
) -> anyhow::Result<(
    MediaEngine,
    tokio::sync::mpsc::Receiver<cec_runtime::media::MediaEvent>,
)> {
    let listeners = config.sip_listeners();
    let bind_ip = match listeners.first().map(|l| l.addr.ip()) {
        Some(ip) if !ip.is_unspecified() && listeners.iter().all(|l| l.addr.ip() == ip) => ip,
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let media_config = MediaConfig {
        bind_ip,
        rtp_ports: config.media.rtp_ports.parse().context("media.rtp_ports")?,
        io: match config.media.io {
            MediaIo::Auto => IoMode::Auto,
            MediaIo::IoUring => IoMode::Uring,
            MediaIo::Epoll => IoMode::Mmsg,
        },
        ..MediaConfig::default()
    };
    let (media, events) = MediaEngine::start(media_config).context("cannot start media")?;
    let io = match media.io_mode() {
        IoMode::Uring => "io_uring",
        IoMode::Mmsg | IoMode::Auto => "epoll",
    };
    info!(%bind_ip, rtp_ports = %config.media.rtp_ports, io, "media engine started");
    Ok((media, events))
}

/// Maps instants to NTP time for RTCP sender reports.
fn ntp_clock(origin: std::time::Instant) -> NtpClock {
    // Seconds from 1900 (NTP era 0) to 1970 (Unix epoch).
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let fraction = (u64::from(unix.subsec_nanos()) << 32) / 1_000_000_000;
    NtpClock {
        origin,
        ntp_at_origin: ((unix.as_secs() + NTP_UNIX_OFFSET) << 32) | fraction,
    }
}

fn runtime_transport(transport: SipTransport) -> TransportKind {
    match transport {
        SipTransport::Udp => TransportKind::Udp,
        SipTransport::Tcp => TransportKind::Tcp,
        SipTransport::Tls => TransportKind::Tls,
    }
}

/// One OS-random value (passwords, seeds).
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // getrandom only fails on platforms without an entropy source, which we do not run on.
    let _ = getrandom::getrandom(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// SIGINT (Ctrl-C) and SIGTERM (service managers, `kill`), registered at once.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())
                .context("cannot install the SIGINT handler")?,
            terminate: signal(SignalKind::terminate())
                .context("cannot install the SIGTERM handler")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENCEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests) is harmless; ignore the error.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
