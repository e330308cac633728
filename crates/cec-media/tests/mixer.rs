//! Mixer modes pinned by distinct tones per participant: each participant's output must
//! contain exactly the tones of those it may hear (listen / whisper / barge / three-party),
//! and full-scale inputs must saturate rather than wrap.

mod common;

use cec_media::{JitterConfig, Mixer, MixerError, Role, SILENCE, SupervisorMode};
use common::{has_tone, lacks_tone, sine_frame};

const CUSTOMER: u32 = 1;
const AGENT: u32 = 2;
const SUPERVISOR: u32 = 3;
const FREQS: [(u32, f64); 3] = [(CUSTOMER, 400.0), (AGENT, 1000.0), (SUPERVISOR, 1700.0)];

fn quick_jitter() -> JitterConfig {
    JitterConfig {
        depth: 2,
        capacity: 16,
    }
}

/// Feeds 30 ticks of each participant's tone and returns the last 20 ticks of each output.
fn run(supervisor: Role) -> Vec<(u32, Vec<i16>)> {
    let mut mixer = Mixer::new(quick_jitter());
    mixer.add(CUSTOMER, Role::Party).unwrap();
    mixer.add(AGENT, Role::Party).unwrap();
    mixer.add(SUPERVISOR, supervisor).unwrap();
    let mut outputs: Vec<(u32, Vec<i16>)> = FREQS.iter().map(|(id, _)| (*id, vec![])).collect();
    for tick in 0..30u16 {
        for (id, freq) in FREQS {
            mixer
                .push(id, 1000 + tick, sine_frame(freq, 8000.0, u64::from(tick)))
                .unwrap();
        }
        mixer.tick();
        if tick >= 10 {
            for (id, out) in &mut outputs {
                out.extend_from_slice(mixer.output(*id).unwrap());
            }
        }
    }
    outputs
}

fn assert_hears(outputs: &[(u32, Vec<i16>)], listener: u32, heard: &[u32]) {
    let (_, samples) = outputs.iter().find(|(id, _)| *id == listener).unwrap();
    for (speaker, freq) in FREQS {
        if heard.contains(&speaker) {
            assert!(has_tone(samples, freq), "{listener} should hear {speaker}");
        } else {
            assert!(
                lacks_tone(samples, freq),
                "{listener} must not hear {speaker}"
            );
        }
    }
}

#[test]
fn listen_supervisor_hears_both_and_is_heard_by_nobody() {
    let out = run(Role::Supervisor(SupervisorMode::Listen));
    assert_hears(&out, CUSTOMER, &[AGENT]);
    assert_hears(&out, AGENT, &[CUSTOMER]);
    assert_hears(&out, SUPERVISOR, &[CUSTOMER, AGENT]);
}

#[test]
fn whisper_reaches_the_agent_only() {
    let out = run(Role::Supervisor(SupervisorMode::Whisper { to: AGENT }));
    assert_hears(&out, CUSTOMER, &[AGENT]);
    assert_hears(&out, AGENT, &[CUSTOMER, SUPERVISOR]);
    assert_hears(&out, SUPERVISOR, &[CUSTOMER, AGENT]);
}

#[test]
fn barge_makes_everyone_hear_everyone_but_themselves() {
    let out = run(Role::Supervisor(SupervisorMode::Barge));
    assert_hears(&out, CUSTOMER, &[AGENT, SUPERVISOR]);
    assert_hears(&out, AGENT, &[CUSTOMER, SUPERVISOR]);
    assert_hears(&out, SUPERVISOR, &[CUSTOMER, AGENT]);
}

#[test]
fn three_party_call_hears_the_other_two() {
    let out = run(Role::Party);
    assert_hears(&out, CUSTOMER, &[AGENT, SUPERVISOR]);
    assert_hears(&out, AGENT, &[CUSTOMER, SUPERVISOR]);
    assert_hears(&out, SUPERVISOR, &[CUSTOMER, AGENT]);
}

#[test]
fn changing_role_takes_effect_on_the_next_tick() {
    let mut mixer = Mixer::new(quick_jitter());
    mixer.add(CUSTOMER, Role::Party).unwrap();
    mixer
        .add(SUPERVISOR, Role::Supervisor(SupervisorMode::Listen))
        .unwrap();
    let loud = [5000i16; 160];
    for seq in 0..4u16 {
        mixer.push(SUPERVISOR, seq, loud).unwrap();
        mixer.push(CUSTOMER, seq, SILENCE).unwrap();
    }
    mixer.tick();
    mixer.tick();
    assert_eq!(mixer.output(CUSTOMER).unwrap(), &SILENCE);
    mixer
        .set_role(SUPERVISOR, Role::Supervisor(SupervisorMode::Barge))
        .unwrap();
    mixer.tick();
    assert_eq!(mixer.output(CUSTOMER).unwrap(), &loud);
    assert_eq!(
        mixer.role(SUPERVISOR),
        Some(Role::Supervisor(SupervisorMode::Barge))
    );
}

#[test]
fn full_scale_inputs_saturate_instead_of_wrapping() {
    let mut mixer = Mixer::new(quick_jitter());
    for id in 1..=3 {
        mixer.add(id, Role::Party).unwrap();
    }
    let mut high = [i16::MAX; 160];
    high[0] = i16::MIN; // negative peaks must clamp too
    for seq in 0..3u16 {
        mixer.push(1, seq, high).unwrap();
        mixer.push(2, seq, high).unwrap();
        mixer.push(3, seq, SILENCE).unwrap();
    }
    mixer.tick();
    mixer.tick();
    let out = mixer.output(3).unwrap();
    assert_eq!(out[0], i16::MIN);
    assert!(
        out[1..].iter().all(|s| *s == i16::MAX),
        "wrapped: {:?}",
        &out[..4]
    );
    // Each of the two loud parties hears only the other: exact copy, no clipping needed.
    assert_eq!(mixer.output(1).unwrap(), &high);
}

#[test]
fn lost_input_plays_as_silence_and_ids_are_checked() {
    let mut mixer = Mixer::new(quick_jitter());
    mixer.add(1, Role::Party).unwrap();
    mixer.add(2, Role::Party).unwrap();
    assert_eq!(mixer.add(1, Role::Party), Err(MixerError::Duplicate(1)));
    assert_eq!(mixer.push(9, 0, SILENCE), Err(MixerError::Unknown(9)));
    for seq in [0u16, 1, 3] {
        mixer.push(1, seq, [100; 160]).unwrap();
    }
    mixer.tick(); // buffering
    let heard: Vec<i16> = (0..4)
        .map(|_| {
            mixer.tick();
            mixer.output(2).unwrap()[0]
        })
        .collect();
    assert_eq!(heard, [100, 100, 0, 100]);
    mixer.remove(1).unwrap();
    assert_eq!(mixer.remove(1), Err(MixerError::Unknown(1)));
}

#[test]
fn timer_ticks_every_20_ms() {
    let start = common::origin();
    let mut mixer = Mixer::new(quick_jitter());
    assert_eq!(mixer.poll_timeout(), None);
    mixer.start(start);
    assert!(mixer.handle_timeout(start));
    assert!(!mixer.handle_timeout(start + std::time::Duration::from_millis(19)));
    assert_eq!(
        mixer.poll_timeout(),
        Some(start + std::time::Duration::from_millis(20))
    );
}
