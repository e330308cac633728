//! N-party mixer for three-party calls and supervisor listen / whisper / barge.
//!
//! Each tick pops one frame from every participant's jitter buffer and gives each
//! participant the sum of the others it may hear (never itself), accumulated in `i32`
//! and clamped so loud inputs saturate instead of wrapping.

use std::time::Instant;

use crate::frame::{FRAME_DURATION, FRAME_SAMPLES, Frame, SILENCE};
use crate::jitter::{JitterBuffer, JitterConfig, Playout};

/// Identifies a participant (the owner's choice, e.g. a leg index).
pub type ParticipantId = u32;

/// What a supervisor does in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupervisorMode {
    /// Hears everyone, heard by nobody.
    Listen,
    /// Hears everyone, heard only by this participant (the agent).
    Whisper {
        /// Who hears the supervisor.
        to: ParticipantId,
    },
    /// Hears everyone, heard by everyone.
    Barge,
}

/// A participant's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Customer, agent or third party: hears and is heard by every other party.
    Party,
    /// A supervisor in the given mode.
    Supervisor(SupervisorMode),
}

/// A mixer failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MixerError {
    /// The id is already in the mix.
    #[error("participant {0} is already in the mix")]
    Duplicate(ParticipantId),
    /// The id is not in the mix.
    #[error("participant {0} is not in the mix")]
    Unknown(ParticipantId),
}

#[derive(Debug, Clone)]
struct Participant {
    id: ParticipantId,
    role: Role,
    input: JitterBuffer<Frame>,
    /// This tick's input (silence when lost or buffering).
    current: Frame,
    output: Frame,
}

/// Whether `listener` hears `speaker`.
pub fn hears(listener: ParticipantId, speaker: ParticipantId, speaker_role: Role) -> bool {
    if listener == speaker {
        return false;
    }
    match speaker_role {
        Role::Party | Role::Supervisor(SupervisorMode::Barge) => true,
        Role::Supervisor(SupervisorMode::Listen) => false,
        Role::Supervisor(SupervisorMode::Whisper { to }) => to == listener,
    }
}

/// The conference mixer.
#[derive(Debug, Clone)]
pub struct Mixer {
    jitter: JitterConfig,
    participants: Vec<Participant>,
    next_tick: Option<Instant>,
}

impl Mixer {
    /// An empty mixer; every input gets a jitter buffer with `jitter`.
    pub fn new(jitter: JitterConfig) -> Self {
        Self {
            jitter,
            participants: Vec::new(),
            next_tick: None,
        }
    }

    /// Adds a participant.
    pub fn add(&mut self, id: ParticipantId, role: Role) -> Result<(), MixerError> {
        if self.participants.iter().any(|p| p.id == id) {
            return Err(MixerError::Duplicate(id));
        }
        self.participants.push(Participant {
            id,
            role,
            input: JitterBuffer::new(self.jitter),
            current: SILENCE,
            output: SILENCE,
        });
        Ok(())
    }

    /// Removes a participant.
    pub fn remove(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        let before = self.participants.len();
        self.participants.retain(|p| p.id != id);
        if self.participants.len() == before {
            return Err(MixerError::Unknown(id));
        }
        Ok(())
    }

    /// Changes a participant's role (e.g. a supervisor going from listen to barge).
    pub fn set_role(&mut self, id: ParticipantId, role: Role) -> Result<(), MixerError> {
        let participant = self.find(id)?;
        participant.role = role;
        Ok(())
    }

    /// A participant's role.
    pub fn role(&self, id: ParticipantId) -> Option<Role> {
        self.participants
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.role)
    }

    /// Offers a received frame from a participant.
    pub fn push(&mut self, id: ParticipantId, seq: u16, frame: Frame) -> Result<(), MixerError> {
        self.find(id)?.input.push(seq, frame);
        Ok(())
    }

    /// Mixes one 20 ms tick.
    pub fn tick(&mut self) {
        for p in &mut self.participants {
            p.current = match p.input.pop() {
                Playout::Item { item, .. } => item,
                Playout::Lost { .. } | Playout::Buffering => SILENCE,
            };
        }
        let mut acc = [0i32; FRAME_SAMPLES];
        for index in 0..self.participants.len() {
            let Some(listener) = self.participants.get(index).map(|p| p.id) else {
                continue;
            };
            acc.fill(0);
            for speaker in &self.participants {
                if hears(listener, speaker.id, speaker.role) {
                    acc.iter_mut()
                        .zip(&speaker.current)
                        .for_each(|(a, s)| *a += i32::from(*s));
                }
            }
            if let Some(p) = self.participants.get_mut(index) {
                p.output
                    .iter_mut()
                    .zip(&acc)
                    .for_each(|(o, a)| *o = saturate(*a));
            }
        }
    }

    /// What `id` hears after the last tick.
    pub fn output(&self, id: ParticipantId) -> Option<&Frame> {
        self.participants
            .iter()
            .find(|p| p.id == id)
            .map(|p| &p.output)
    }

    /// Starts ticking at `now` (first tick due immediately).
    pub fn start(&mut self, now: Instant) {
        self.next_tick = Some(now);
    }

    /// When the next tick is due, once started.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick
    }

    /// Runs one tick if due; returns whether it did (read the outputs, then call again).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.next_tick {
            Some(due) if due <= now => {
                self.next_tick = Some(due + FRAME_DURATION);
                self.tick();
                true
            }
            _ => false,
        }
    }

    fn find(&mut self, id: ParticipantId) -> Result<&mut Participant, MixerError> {
        self.participants
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or(MixerError::Unknown(id))
    }
}

/// Clamps a mixed sample into the 16-bit range.
pub fn saturate(sample: i32) -> i16 {
    sample.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}
