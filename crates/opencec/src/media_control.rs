//! The call core's media operations on the runtime's media engine. Every command is queued
//! to the leg's shard when called, in call order, so the SIP task never waits for media;
//! outcomes are only logged (a leg the core knows about cannot be unknown to the engine,
//! short of a bug worth a log line).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;

use cec_core::{AllocatedLeg, LegNo, MediaControl, Playback};
use cec_media::{LegConfig, PlayItem, Playlist, Prompt, Renegotiation, Repeat};
use cec_runtime::media::{LegId, MediaEngine, MediaError};
use tracing::{debug, warn};

/// Prompts by (tenant name, prompt reference as configured).
pub type PromptMap = HashMap<(String, String), Prompt>;

/// [`MediaControl`] over a [`MediaEngine`].
pub struct EngineMedia {
    engine: MediaEngine,
    /// `sip.public_address`, written in SDP when set.
    public_ip: Option<IpAddr>,
    /// The SIP listeners' IP when specific.
    listen_ip: Option<IpAddr>,
    /// Local address towards each peer, for wildcard listeners.
    routes: HashMap<IpAddr, IpAddr>,
    prompts: Arc<PromptMap>,
}

impl EngineMedia {
    pub fn new(
        engine: MediaEngine,
        public_ip: Option<IpAddr>,
        listen_ip: Option<IpAddr>,
    ) -> EngineMedia {
        EngineMedia {
            engine,
            public_ip,
            listen_ip: listen_ip.filter(|ip| !ip.is_unspecified()),
            routes: HashMap::new(),
            prompts: Arc::default(),
        }
    }

    /// Replaces the loaded prompts (configuration reload).
    pub fn set_prompts(&mut self, prompts: Arc<PromptMap>) {
        self.prompts = prompts;
    }

    fn playlist(&self, playback: &Playback) -> Playlist {
        let prompt =
            |tenant: &str, name: &str| self.prompts.get(&(tenant.to_owned(), name.to_owned()));
        match playback {
            Playback::Hold {
                tenant,
                music,
                announcement,
            } => {
                let music_items = match music.as_deref().map(|m| (m, prompt(tenant, m))) {
                    Some((_, Some(music))) => vec![PlayItem::Prompt(music.clone())],
                    Some((name, None)) => {
                        warn!(%tenant, prompt = %name, "hold music not loaded; default pattern");
                        Playlist::hold_pattern().items
                    }
                    None => Playlist::hold_pattern().items,
                };
                let announcement = announcement
                    .as_ref()
                    .and_then(|(name, every)| prompt(tenant, name).map(|p| (p.clone(), *every)));
                hold_playlist(music_items, announcement)
            }
            Playback::Prompt {
                tenant,
                prompt: name,
            } => match prompt(tenant, name) {
                Some(found) => Playlist::once(PlayItem::Prompt(found.clone())),
                None => {
                    warn!(%tenant, prompt = %name, "announcement not loaded; skipped");
                    Playlist::once(PlayItem::Silence(std::time::Duration::from_millis(200)))
                }
            },
        }
    }
}

/// Hold music looped, with `announcement` played after about every `interval` of music
/// (the music is repeated whole until it covers the interval, so the announcement comes at
/// the end of a pass, never cutting the music off).
fn hold_playlist(
    music: Vec<PlayItem>,
    announcement: Option<(Prompt, std::time::Duration)>,
) -> Playlist {
    let Some((announcement, interval)) = announcement else {
        return Playlist {
            items: music,
            repeat: Repeat::Forever,
            barge_in: false,
        };
    };
    let pass: std::time::Duration = music.iter().map(item_duration).sum();
    let passes = if pass.is_zero() {
        1
    } else {
        (interval.as_millis() / pass.as_millis().max(1)).clamp(1, 1000) as usize
    };
    let mut items = Vec::with_capacity(music.len() * passes + 1);
    for _ in 0..passes {
        items.extend(music.iter().cloned());
    }
    items.push(PlayItem::Prompt(announcement));
    Playlist {
        items,
        repeat: Repeat::Forever,
        barge_in: false,
    }
}

fn item_duration(item: &PlayItem) -> std::time::Duration {
    match item {
        PlayItem::Prompt(prompt) => prompt.duration(),
        PlayItem::Tone { duration, .. } => *duration,
        PlayItem::Silence(duration) => *duration,
    }
}

/// Logs a failed media command without holding up the SIP task.
fn report(
    what: &'static str,
    leg: LegNo,
    outcome: impl Future<Output = Result<(), MediaError>> + Send + 'static,
) {
    tokio::spawn(async move {
        if let Err(error) = outcome.await {
            debug!(what, leg, %error, "media command failed");
        }
    });
}

impl MediaControl for EngineMedia {
    fn allocate(&mut self, config: LegConfig) -> Option<AllocatedLeg> {
        match self.engine.allocate_leg(config) {
            Ok(handle) => Some(AllocatedLeg {
                leg: handle.id.get(),
                port: handle.local_rtp.port(),
            }),
            Err(error) => {
                warn!(%error, "no media leg");
                None
            }
        }
    }

    fn sdp_address(&mut self, toward: SocketAddr) -> IpAddr {
        if let Some(ip) = self.public_ip.or(self.listen_ip) {
            return ip;
        }
        *self
            .routes
            .entry(toward.ip())
            .or_insert_with(|| route_towards(toward).unwrap_or(IpAddr::from([127, 0, 0, 1])))
    }

    fn renegotiate(&mut self, leg: LegNo, update: Renegotiation) {
        report(
            "renegotiate",
            leg,
            self.engine.renegotiate(LegId::from_raw(leg), update),
        );
    }

    fn bridge(&mut self, a: LegNo, b: LegNo) {
        report(
            "bridge",
            a,
            self.engine.bridge(LegId::from_raw(a), LegId::from_raw(b)),
        );
    }

    fn unbridge(&mut self, leg: LegNo) {
        report("unbridge", leg, self.engine.unbridge(LegId::from_raw(leg)));
    }

    fn play(&mut self, leg: LegNo, playback: Playback) {
        let playlist = self.playlist(&playback);
        report(
            "play",
            leg,
            self.engine.play(LegId::from_raw(leg), playlist),
        );
    }

    fn release(&mut self, leg: LegNo) {
        self.engine.release(LegId::from_raw(leg));
    }
}

/// The local address the system would send from towards `peer` (no packet is sent).
pub fn route_towards(peer: SocketAddr) -> Option<IpAddr> {
    let unspecified: SocketAddr = if peer.is_ipv4() {
        (IpAddr::from([0, 0, 0, 0]), 0).into()
    } else {
        (IpAddr::from([0u16; 8]), 0).into()
    };
    let socket = UdpSocket::bind(unspecified).ok()?;
    socket.connect(peer).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn announcements_come_after_whole_passes_of_music() {
        let music = Playlist::hold_pattern().items; // one 5 s pass
        let announcement = Prompt::from_samples(vec![0; 8000]);
        let list = hold_playlist(
            music.clone(),
            Some((announcement.clone(), Duration::from_secs(30))),
        );
        assert_eq!(list.repeat, Repeat::Forever);
        assert_eq!(list.items.len(), music.len() * 6 + 1);
        assert_eq!(
            list.items.last(),
            Some(&PlayItem::Prompt(announcement.clone()))
        );
        // An interval shorter than one pass still plays the music once in between.
        let short = hold_playlist(music.clone(), Some((announcement, Duration::from_secs(1))));
        assert_eq!(short.items.len(), music.len() + 1);
        // Without an announcement: the music alone.
        assert_eq!(hold_playlist(music.clone(), None).items, music);
    }
}
