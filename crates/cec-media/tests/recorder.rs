//! The call recorder: a 10 s simulated call lands as 10 s of two-channel audio with the
//! caller's 400 Hz on channel 0 and the agent's 1 kHz on channel 1; loss and gaps become
//! silence without shifting the sides; pause modes; limits stop with an event; a writer
//! dropped without `finish` still leaves a readable file.

mod common;

use std::io::Cursor;
use std::time::Duration;

use cec_media::{
    JitterConfig, PauseMode, Recorder, RecorderConfig, RecorderEvent, SILENCE, Side, StopReason,
};
use common::{at, has_tone, lacks_tone, origin, sine_frame};

fn config() -> RecorderConfig {
    RecorderConfig {
        jitter: JitterConfig {
            depth: 3,
            capacity: 16,
        },
        ..RecorderConfig::default()
    }
}

/// Reads back a WAV image: (channel 0, channel 1).
fn channels(bytes: &[u8]) -> (Vec<i16>, Vec<i16>) {
    let reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (left, right)
}

#[test]
fn ten_second_call_has_caller_left_and_agent_right() {
    let t0 = origin();
    let mut recorder = Recorder::new(t0, Cursor::new(Vec::new()), config()).unwrap();
    // Both sides send every 20 ms; every 10th pair of agent packets arrives swapped.
    for n in 0..500u64 {
        recorder.push(Side::Caller, 100 + n as u16, sine_frame(400.0, 8000.0, n));
        let agent = match n % 10 {
            3 => n + 1,
            4 => n - 1,
            _ => n,
        };
        // Agent sequence numbers wrap during the call.
        let agent_seq = 65_400u16.wrapping_add(agent as u16);
        recorder.push(Side::Agent, agent_seq, sine_frame(1000.0, 8000.0, agent));
        recorder.handle_timeout(at(t0, n * 20 + 7)).unwrap();
    }
    recorder.handle_timeout(at(t0, 10_000)).unwrap();
    assert_eq!(recorder.duration(), Duration::from_secs(10));
    let bytes = recorder.finish().unwrap().into_inner();
    let (left, right) = channels(&bytes);
    assert_eq!(left.len(), 80_000, "10 s at 8 kHz");
    // Skip the jitter-buffer start-up; check each second separately.
    for second in 0..9 {
        let range = 800 + second * 8000..800 + (second + 1) * 8000;
        assert!(has_tone(&left[range.clone()], 400.0), "second {second}");
        assert!(lacks_tone(&left[range.clone()], 1000.0), "second {second}");
        assert!(has_tone(&right[range.clone()], 1000.0), "second {second}");
        assert!(lacks_tone(&right[range], 400.0), "second {second}");
    }
    // Aligned: both sides start after the same jitter-buffer delay.
    let first_sound = |s: &[i16]| s.iter().position(|x| *x != 0).unwrap() / 160;
    assert_eq!(first_sound(&left), first_sound(&right));
}

#[test]
fn lost_packets_become_silence_in_place() {
    let t0 = origin();
    let mut recorder = Recorder::new(t0, Cursor::new(Vec::new()), config()).unwrap();
    for n in 0..20u64 {
        if n != 5 {
            recorder.push(Side::Caller, n as u16, [1000; 160]);
        }
        recorder.push(Side::Agent, n as u16, [-1000; 160]);
        recorder.handle_timeout(at(t0, n * 20 + 1)).unwrap();
    }
    let (left, right) = channels(&recorder.finish().unwrap().into_inner());
    let frame_value = |s: &[i16], f: usize| s[f * 160];
    // Start-up delay of two frames, then frame 5 of the caller is missing.
    assert_eq!(frame_value(&left, 1), 0);
    assert_eq!(frame_value(&left, 2 + 4), 1000);
    assert_eq!(frame_value(&left, 2 + 5), 0, "lost frame is silence");
    assert_eq!(frame_value(&left, 2 + 6), 1000, "no shift after the loss");
    assert_eq!(frame_value(&right, 2 + 5), -1000);
    assert!(left[(2 + 5) * 160..(2 + 6) * 160].iter().all(|s| *s == 0));
}

#[test]
fn a_gap_in_time_is_filled_with_silence() {
    let t0 = origin();
    let mut recorder = Recorder::new(t0, Cursor::new(Vec::new()), config()).unwrap();
    recorder.write_frame(Some(&[7; 160]), None).unwrap();
    // Nothing arrives for 1 s of wall-clock time.
    recorder.handle_timeout(at(t0, 1000)).unwrap();
    assert_eq!(recorder.duration(), Duration::from_millis(1020));
    let (left, right) = channels(&recorder.finish().unwrap().into_inner());
    assert_eq!(left.len(), 51 * 160);
    assert!(left[..160].iter().all(|s| *s == 7));
    assert!(left[160..].iter().chain(&right).all(|s| *s == 0));
}

#[test]
fn pause_with_silence_keeps_the_timeline_and_cut_drops_it() {
    for (mode, expected_frames) in [(PauseMode::Silence, 30), (PauseMode::Cut, 20)] {
        let cfg = RecorderConfig {
            pause_mode: mode,
            ..config()
        };
        let mut recorder = Recorder::new(origin(), Cursor::new(Vec::new()), cfg).unwrap();
        for n in 0..30 {
            if n == 10 {
                recorder.pause();
                assert!(recorder.is_paused());
            }
            if n == 20 {
                recorder.resume();
            }
            recorder
                .write_frame(Some(&[1; 160]), Some(&[2; 160]))
                .unwrap();
        }
        let (left, right) = channels(&recorder.finish().unwrap().into_inner());
        assert_eq!(left.len(), expected_frames * 160, "{mode:?}");
        let paused_silence = left.iter().chain(&right).filter(|s| **s == 0).count();
        let expected_silence = if mode == PauseMode::Silence {
            2 * 10 * 160
        } else {
            0
        };
        assert_eq!(paused_silence, expected_silence, "{mode:?}");
    }
}

#[test]
fn duration_limit_stops_with_an_event() {
    let cfg = RecorderConfig {
        max_duration: Some(Duration::from_secs(2)),
        ..config()
    };
    let t0 = origin();
    let mut recorder = Recorder::new(t0, Cursor::new(Vec::new()), cfg).unwrap();
    recorder.handle_timeout(at(t0, 5000)).unwrap();
    assert_eq!(
        recorder.poll_event(),
        Some(RecorderEvent::Stopped {
            reason: StopReason::DurationLimit
        })
    );
    assert!(recorder.is_stopped());
    assert_eq!(recorder.poll_timeout(), None);
    assert_eq!(recorder.poll_event(), None, "reported once");
    let (left, _) = channels(&recorder.finish().unwrap().into_inner());
    assert_eq!(left.len(), 2 * 8000);
}

#[test]
fn size_limit_stops_before_exceeding_it() {
    let max_bytes = 44 + 10 * 640 + 100;
    let cfg = RecorderConfig {
        max_bytes: Some(max_bytes),
        ..config()
    };
    let mut recorder = Recorder::new(origin(), Cursor::new(Vec::new()), cfg).unwrap();
    for _ in 0..20 {
        recorder.write_frame(Some(&[3; 160]), None).unwrap();
    }
    assert_eq!(
        recorder.poll_event(),
        Some(RecorderEvent::Stopped {
            reason: StopReason::SizeLimit
        })
    );
    let bytes = recorder.finish().unwrap().into_inner();
    assert_eq!(bytes.len() as u64, 44 + 10 * 640);
}

#[test]
fn dropped_writer_leaves_a_readable_file_missing_at_most_one_second() {
    let t0 = origin();
    let mut file = Cursor::new(Vec::new());
    {
        let mut recorder = Recorder::new(t0, &mut file, config()).unwrap();
        for n in 0..175u64 {
            recorder
                .write_frame(Some(&sine_frame(400.0, 8000.0, n)), Some(&SILENCE))
                .unwrap();
        }
        // Dropped here without finish(): simulates a crash.
    }
    let bytes = file.into_inner();
    let (left, _) = channels(&bytes);
    // 3.5 s written; flushed every second, so 3 s must be there.
    assert_eq!(left.len(), 3 * 8000);
    assert!(has_tone(&left[8000..16000], 400.0));
    // The header sizes describe exactly what is on disk.
    let riff = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let data = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
    assert_eq!((riff + 8, data + 44), (bytes.len(), bytes.len()));
}

#[test]
fn an_empty_recording_is_a_valid_wav() {
    let recorder = Recorder::new(origin(), Cursor::new(Vec::new()), config()).unwrap();
    let (left, right) = channels(&recorder.finish().unwrap().into_inner());
    assert!(left.is_empty() && right.is_empty());
}
