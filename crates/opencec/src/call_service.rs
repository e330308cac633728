//! The SIP application of `opencec serve`: the call core ([`Switch`]) for calls from
//! trunks, next to the [`SipService`] (registrar, OPTIONS, trunk probes, the echo test).
//! New INVITEs go to the echo test when they dial its number and to the Switch otherwise;
//! every other endpoint event goes to the Switch first, and what it does not claim to the
//! service. Records and events the Switch produces leave through a channel to the batch
//! writer ([`crate::records`]).

use std::sync::Arc;
use std::time::Instant;

use cec_core::{Contact, Env, Locations, Output, Switch, SwitchConfig};
use cec_runtime::sip_driver::SipApplication;
use cec_sip::{Endpoint, Event, Peer, TransportKind};
use cec_sip_auth::Registrar;
use cec_sip_msg::Method;
use tokio::sync::mpsc;

use crate::media_control::{EngineMedia, PromptMap};
use crate::sip_service::SipService;

/// Registered phones from the registrar.
struct RegistrarLocations<'a>(&'a Registrar);

impl Locations for RegistrarLocations<'_> {
    fn contacts(&self, now: Instant, sip_user: &str) -> Vec<Contact> {
        self.0
            .lookup(now, sip_user)
            .into_iter()
            .map(|binding| Contact {
                uri: binding.uri,
                peer: Peer {
                    transport: match binding.source.transport.as_str() {
                        "TCP" | "tcp" => TransportKind::Tcp,
                        "TLS" | "tls" => TransportKind::Tls,
                        _ => TransportKind::Udp,
                    },
                    addr: binding.source.addr,
                    connection: binding.source.connection,
                },
            })
            .collect()
    }
}

/// The Switch, its media and the interim service, on the SIP driver's task.
pub struct CallService {
    pub sip: SipService,
    pub switch: Switch,
    pub media: EngineMedia,
    outputs: mpsc::UnboundedSender<Output>,
}

impl CallService {
    pub fn new(
        sip: SipService,
        switch: Switch,
        media: EngineMedia,
        outputs: mpsc::UnboundedSender<Output>,
    ) -> CallService {
        CallService {
            sip,
            switch,
            media,
            outputs,
        }
    }

    /// Runs `f` with the Switch and its environment, then ships its outputs.
    pub fn with_switch<T>(
        &mut self,
        endpoint: &mut Endpoint,
        f: impl FnOnce(&mut Switch, &mut Env<'_>) -> T,
    ) -> T {
        let locations = RegistrarLocations(self.sip.registrar());
        let mut env = Env {
            endpoint,
            media: &mut self.media,
            locations: &locations,
        };
        let result = f(&mut self.switch, &mut env);
        while let Some(output) = self.switch.poll_output() {
            // The writer lives as long as the process; if it is gone we are shutting down.
            let _ = self.outputs.send(output);
        }
        result
    }

    /// A new configuration snapshot from the store.
    pub fn apply_config(
        &mut self,
        now: Instant,
        endpoint: &mut Endpoint,
        config: SwitchConfig,
        prompts: PromptMap,
    ) {
        self.media.set_prompts(Arc::new(prompts));
        self.with_switch(endpoint, |switch, env| {
            switch.set_config(now, env, Arc::new(config));
        });
    }
}

impl SipApplication for CallService {
    fn handle_event(&mut self, now: Instant, endpoint: &mut Endpoint, event: Event) {
        match event {
            Event::Request {
                tx,
                request,
                source,
                core,
            } if request.method() == Some(&Method::Invite) && !self.sip.is_echo_call(&request) => {
                drop(core);
                self.with_switch(endpoint, |switch, env| {
                    switch.on_invite(now, env, tx, &request, source);
                });
            }
            event @ Event::Request { .. } => {
                let register = matches!(&event, Event::Request { request, .. } if request.method() == Some(&Method::Register));
                self.sip.handle_event(now, endpoint, event);
                if register {
                    // A phone that just registered may be the agent a queued call waits for.
                    self.with_switch(endpoint, |switch, env| {
                        switch.handle_registration_change(now, env);
                    });
                }
            }
            event => {
                let unclaimed = self.with_switch(endpoint, |switch, env| {
                    switch.handle_sip_event(now, env, event)
                });
                if let Some(event) = unclaimed {
                    self.sip.handle_event(now, endpoint, event);
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.sip.poll_timeout(), self.switch.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn set_overloaded(&mut self, overloaded: bool) {
        self.switch.set_overloaded(overloaded);
    }

    fn handle_timeout(&mut self, now: Instant, endpoint: &mut Endpoint) {
        self.sip.handle_timeout(now, endpoint);
        if self.switch.poll_timeout().is_some_and(|at| at <= now) {
            self.with_switch(endpoint, |switch, env| switch.handle_timeout(now, env));
        }
    }
}
