//! The player's timing (sequences and loops produce exactly the right number of frames at
//! the right times), DTMF barge-in (stops on the digit and reports it) and prompt format
//! checking (a WAV at the wrong rate is a clear error, not noise).

mod common;

use std::io::Cursor;
use std::time::Duration;

use cec_media::{PlayItem, Player, PlayerEvent, Playlist, Prompt, PromptError, Repeat, Tone};
use common::{at, has_tone, origin};

fn wav(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for s in samples {
        writer.write_sample(*s).unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// Polls every 20 ms from `t0` for `frames` ticks; returns the frames produced.
fn drive(player: &mut Player, t0: std::time::Instant, frames: u64) -> Vec<[i16; 160]> {
    (0..frames)
        .filter_map(|n| player.poll_frame(at(t0, n * 20)))
        .collect()
}

#[test]
fn wav_prompt_round_trips() {
    let samples: Vec<i16> = (0..400).map(|n| (n * 37 % 2000) as i16 - 1000).collect();
    let prompt = Prompt::from_wav(Cursor::new(wav(8000, 1, &samples))).unwrap();
    assert_eq!(prompt.samples(), &samples[..]);
    assert_eq!(prompt.duration(), Duration::from_millis(50));
}

#[test]
fn wav_with_the_wrong_rate_or_channels_is_a_clear_error() {
    let err = Prompt::from_wav(Cursor::new(wav(16000, 1, &[0; 10]))).unwrap_err();
    assert!(matches!(
        err,
        PromptError::UnsupportedFormat {
            sample_rate: 16000,
            ..
        }
    ));
    let message = err.to_string();
    assert!(message.contains("8000 Hz mono 16-bit PCM"), "{message}");
    assert!(message.contains("got 16000 Hz"), "{message}");
    let err = Prompt::from_wav(Cursor::new(wav(8000, 2, &[0; 10]))).unwrap_err();
    assert!(matches!(
        err,
        PromptError::UnsupportedFormat { channels: 2, .. }
    ));
    let err = Prompt::from_wav(Cursor::new(b"RIFF0000WAVEjunk".to_vec())).unwrap_err();
    assert!(matches!(err, PromptError::Wav(_)));
}

#[test]
fn sequence_plays_items_back_to_back_then_finishes() {
    let t0 = origin();
    let mut player = Player::new();
    // 300 ms prompt of 1s, 200 ms of 1 kHz beep, 100 ms silence: 30 frames in all.
    let prompt = Prompt::from_samples(vec![1; 2400]);
    player.play(
        t0,
        Playlist {
            items: vec![
                PlayItem::Prompt(prompt),
                PlayItem::Tone {
                    tone: Tone::beep(),
                    duration: Duration::from_millis(200),
                },
                PlayItem::Silence(Duration::from_millis(100)),
            ],
            repeat: Repeat::Once,
            barge_in: false,
        },
    );
    assert!(player.is_playing());
    let frames = drive(&mut player, t0, 50);
    assert_eq!(frames.len(), 30);
    assert!(frames[..15].iter().all(|f| f.iter().all(|s| *s == 1)));
    let beep: Vec<i16> = frames[15..25].concat();
    assert!(has_tone(&beep, 1000.0));
    assert!(frames[25..].iter().all(|f| f.iter().all(|s| *s == 0)));
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
    assert!(!player.is_playing());
    assert_eq!(player.poll_timeout(), None);
}

#[test]
fn frames_are_paced_by_now() {
    let t0 = origin();
    let mut player = Player::new();
    player.play(
        t0,
        Playlist::once(PlayItem::Silence(Duration::from_secs(1))),
    );
    assert!(player.poll_frame(t0).is_some());
    assert!(
        player.poll_frame(at(t0, 19)).is_none(),
        "next frame not due yet"
    );
    assert_eq!(player.poll_timeout(), Some(at(t0, 20)));
    assert!(player.poll_frame(at(t0, 25)).is_some());
    assert_eq!(
        player.poll_timeout(),
        Some(at(t0, 40)),
        "no drift from a late poll"
    );
}

#[test]
fn partial_frames_join_items_and_loops_sample_exactly() {
    let t0 = origin();
    let mut player = Player::new();
    // 100 samples per pass, three passes: 300 samples = 1.875 frames -> 2 frames.
    let prompt = Prompt::from_samples((1..=100).collect());
    player.play(
        t0,
        Playlist {
            items: vec![PlayItem::Prompt(prompt)],
            repeat: Repeat::Times(3),
            barge_in: false,
        },
    );
    let frames = drive(&mut player, t0, 10);
    assert_eq!(frames.len(), 2);
    let samples = frames.concat();
    assert_eq!(&samples[95..105], &[96, 97, 98, 99, 100, 1, 2, 3, 4, 5]);
    assert_eq!(samples[299], 100);
    assert!(
        samples[300..].iter().all(|s| *s == 0),
        "padded with silence"
    );
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
}

#[test]
fn hold_music_loops_until_stopped() {
    let t0 = origin();
    let mut player = Player::new();
    let music = Prompt::from_samples((0..1600).map(|n| (n / 160) as i16 + 1).collect());
    player.play(
        t0,
        Playlist {
            items: vec![PlayItem::Prompt(music)],
            repeat: Repeat::Forever,
            barge_in: false,
        },
    );
    let frames = drive(&mut player, t0, 35); // 3.5 passes of 10 frames
    assert_eq!(frames.len(), 35);
    let first_values: Vec<i16> = frames.iter().map(|f| f[0]).collect();
    assert_eq!(&first_values[..12], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2]);
    assert_eq!(first_values[34], 5);
    assert_eq!(player.poll_event(), None, "a loop never finishes by itself");
    player.stop();
    assert_eq!(player.poll_event(), Some(PlayerEvent::Stopped));
    assert!(player.poll_frame(at(t0, 2000)).is_none());
}

#[test]
fn the_default_hold_pattern_is_a_soft_chime_every_five_seconds_forever() {
    let t0 = origin();
    let mut player = Player::new();
    let pattern = Playlist::hold_pattern();
    assert_eq!(pattern.repeat, Repeat::Forever);
    player.play(t0, pattern);
    // Two and a half periods of 250 frames.
    let frames = drive(&mut player, t0, 625);
    assert_eq!(frames.len(), 625);
    for period in 0..3 {
        let start = period * 250;
        let ding: Vec<i16> = frames[start..start + 12].concat();
        let dong: Vec<i16> = frames[start + 12..start + 32].concat();
        assert!(
            has_tone(&ding, 650.0) && !has_tone(&ding, 520.0),
            "period {period}"
        );
        assert!(
            has_tone(&dong, 520.0) && !has_tone(&dong, 650.0),
            "period {period}"
        );
        if start + 250 <= frames.len() {
            let pause = &frames[start + 32..start + 250];
            assert!(
                pause.iter().all(|f| f.iter().all(|s| *s == 0)),
                "period {period}"
            );
        }
    }
    // Soft: well below the call-progress tones' 6000 peak, and no click at the note ends.
    let peak = frames.iter().flatten().map(|s| s.unsigned_abs()).max();
    assert!(
        peak.is_some_and(|p| (3_000..=4_000).contains(&p)),
        "{peak:?}"
    );
    // Each note holds whole cycles: its last sample is one step before a zero crossing.
    for (end, frequency) in [(11, 650.0), (31, 520.0)] {
        let step = -4_000.0 * (std::f64::consts::TAU * frequency / 8_000.0).sin();
        let last = f64::from(frames[end][159]);
        assert!(
            (last - step).abs() < 2.0,
            "{frequency} Hz ends at {last}, not {step}"
        );
    }
    assert_eq!(player.poll_event(), None, "hold never finishes by itself");
}

#[test]
fn dtmf_barges_in_and_reports_the_digit() {
    let t0 = origin();
    let mut player = Player::new();
    player.play(
        t0,
        Playlist {
            items: vec![PlayItem::Tone {
                tone: Tone::ringback_europe(),
                duration: Duration::from_secs(5),
            }],
            repeat: Repeat::Once,
            barge_in: true,
        },
    );
    assert_eq!(drive(&mut player, t0, 10).len(), 10);
    assert!(player.handle_dtmf('7'));
    assert_eq!(
        player.poll_event(),
        Some(PlayerEvent::BargeIn { digit: '7' })
    );
    assert!(!player.is_playing());
    assert!(
        player.poll_frame(at(t0, 220)).is_none(),
        "stops on the digit"
    );
    assert!(!player.handle_dtmf('8'), "nothing left to interrupt");
    assert_eq!(player.poll_event(), None);
}

#[test]
fn dtmf_does_not_interrupt_a_non_barge_in_prompt() {
    let t0 = origin();
    let mut player = Player::new();
    player.play(
        t0,
        Playlist::once(PlayItem::Silence(Duration::from_millis(100))),
    );
    assert!(!player.handle_dtmf('1'));
    assert_eq!(drive(&mut player, t0, 10).len(), 5);
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
}

#[test]
fn empty_playlists_finish_at_once_even_when_looping() {
    let t0 = origin();
    let mut player = Player::new();
    player.play(
        t0,
        Playlist {
            items: vec![],
            repeat: Repeat::Forever,
            barge_in: false,
        },
    );
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
    player.play(
        t0,
        Playlist {
            items: vec![PlayItem::Silence(Duration::ZERO)],
            repeat: Repeat::Forever,
            barge_in: false,
        },
    );
    assert!(drive(&mut player, t0, 3).len() <= 1);
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
}
