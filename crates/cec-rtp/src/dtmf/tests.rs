use std::time::{Duration, Instant};

use super::*;

/// The origin of a virtual timeline (the simulator's clock reads the real one once).
fn t0() -> Instant {
    cec_sim::VirtualClock::start().now()
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn digit_codes_map_both_ways() {
    for (code, c) in "0123456789*#ABCD".chars().enumerate() {
        assert_eq!(char_to_event(c), Some(code as u8));
        assert_eq!(event_to_char(code as u8), Some(c));
    }
    assert_eq!(char_to_event('a'), Some(12));
    assert_eq!(char_to_event('E'), None);
    assert_eq!(event_to_char(16), None);
}

#[test]
fn event_payload_layout() {
    let te = TelephoneEvent {
        event: 11,
        end: true,
        volume: 10,
        duration: 0x0320,
    };
    assert_eq!(te.to_bytes(), [11, 0x8A, 0x03, 0x20]);
    // The R bit is ignored on input.
    assert_eq!(TelephoneEvent::parse(&[11, 0xCA, 0x03, 0x20]), Ok(te));
    assert_eq!(
        TelephoneEvent::parse(&[1, 2, 3]),
        Err(DtmfError::TooShort(3))
    );
    assert_eq!(te.write(&mut [0; 3]), Err(DtmfError::BufferTooSmall));
    assert_eq!(te.digit(), Some('#'));
}

fn drain(sender: &mut DtmfSender, start: Instant, until: Duration) -> Vec<(Duration, EventPacket)> {
    let mut out = Vec::new();
    let mut t = Duration::ZERO;
    while t <= until {
        while let Some(p) = sender.poll(start + t) {
            out.push((t, p));
        }
        t += MS;
    }
    out
}

#[test]
fn sender_emits_updates_then_three_end_packets() {
    let start = t0();
    let mut s = DtmfSender::new(101, 8000, DEFAULT_PACKET_INTERVAL).unwrap();
    s.start('5', 100 * MS, start, 1000).unwrap();
    let packets = drain(&mut s, start, 500 * MS);
    let summary: Vec<_> = packets
        .iter()
        .map(|(t, p)| (t.as_millis(), p.marker, p.payload.end, p.payload.duration))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, true, false, 160),
            (20, false, false, 320),
            (40, false, false, 480),
            (60, false, false, 640),
            (80, false, true, 800),
            (100, false, true, 800),
            (120, false, true, 800),
        ]
    );
    for (_, p) in &packets {
        assert_eq!(
            (p.payload_type, p.timestamp, p.payload.event),
            (101, 1000, 5)
        );
        assert_eq!(p.payload.volume, DEFAULT_VOLUME);
    }
    assert!(!s.is_busy());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn sender_interval_and_volume_are_configurable() {
    let start = t0();
    let mut s = DtmfSender::new(96, 8000, 50 * MS).unwrap();
    s.set_volume(20).unwrap();
    assert_eq!(s.set_volume(64), Err(DtmfError::BadVolume(64)));
    s.start('#', 120 * MS, start, 0).unwrap();
    assert_eq!(s.poll_timeout(), Some(start));
    let packets = drain(&mut s, start, 400 * MS);
    let summary: Vec<_> = packets
        .iter()
        .map(|(t, p)| {
            (
                t.as_millis(),
                p.payload.end,
                p.payload.duration,
                p.payload.volume,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, false, 400, 20),
            (50, false, 800, 20),
            (100, true, 960, 20),
            (150, true, 960, 20),
            (200, true, 960, 20)
        ]
    );
}

#[test]
fn sender_rejects_bad_arguments() {
    assert_eq!(
        DtmfSender::new(101, 0, 20 * MS).unwrap_err(),
        DtmfError::ZeroClockRate
    );
    assert_eq!(
        DtmfSender::new(101, 8000, Duration::ZERO).unwrap_err(),
        DtmfError::ZeroDuration
    );
    let mut s = DtmfSender::new(101, 8000, 20 * MS).unwrap();
    let now = t0();
    assert_eq!(
        s.start('x', 100 * MS, now, 0),
        Err(DtmfError::UnknownDigit('x'))
    );
    assert_eq!(
        s.start('1', Duration::ZERO, now, 0),
        Err(DtmfError::ZeroDuration)
    );
    assert!(!s.is_busy());
}

#[test]
fn short_digit_marks_only_the_first_of_its_end_packets() {
    let start = t0();
    let mut s = DtmfSender::new(101, 8000, 20 * MS).unwrap();
    s.start('1', 10 * MS, start, 5).unwrap();
    let packets = drain(&mut s, start, 100 * MS);
    let flags: Vec<_> = packets
        .iter()
        .map(|(_, p)| (p.marker, p.payload.end, p.payload.duration))
        .collect();
    assert_eq!(
        flags,
        vec![(true, true, 80), (false, true, 80), (false, true, 80)]
    );
}

#[test]
fn sender_stop_ends_early() {
    let start = t0();
    let mut s = DtmfSender::new(101, 8000, 20 * MS).unwrap();
    s.start('9', Duration::from_secs(5), start, 0).unwrap();
    let first = drain(&mut s, start, 30 * MS);
    assert_eq!(first.len(), 2);
    s.stop(start + 50 * MS);
    let rest = drain(&mut s, start + 31 * MS, 200 * MS);
    assert!(
        rest.iter()
            .all(|(_, p)| p.payload.end && p.payload.duration == 400)
    );
    assert_eq!(rest.len(), 3);
}

#[test]
fn long_event_is_split_into_segments() {
    // 10 s at 8 kHz is 80000 samples: one segment of 0xFFFF, then 14465 more.
    let start = t0();
    let mut s = DtmfSender::new(101, 8000, 20 * MS).unwrap();
    s.start('0', Duration::from_secs(10), start, 100).unwrap();
    let mut packets = Vec::new();
    let mut t = start;
    while s.is_busy() {
        while let Some(p) = s.poll(t) {
            packets.push(p);
        }
        t += 20 * MS;
    }
    let first_segment: Vec<_> = packets.iter().filter(|p| p.timestamp == 100).collect();
    let second: Vec<_> = packets
        .iter()
        .filter(|p| p.timestamp == 100 + 0xFFFF)
        .collect();
    assert_eq!(first_segment.len() + second.len(), packets.len());
    assert_eq!(first_segment.last().unwrap().payload.duration, 0xFFFF);
    assert!(first_segment.iter().all(|p| !p.payload.end));
    assert!(second.iter().all(|p| !p.marker));
    let ends: Vec<_> = second.iter().filter(|p| p.payload.end).collect();
    assert_eq!(ends.len(), 3);
    assert!(
        ends.iter()
            .all(|p| u32::from(p.payload.duration) == 80000 - 0xFFFF)
    );
    // Durations never decrease within a segment.
    assert!(
        second
            .windows(2)
            .all(|w| w[0].payload.duration <= w[1].payload.duration)
    );

    let mut r = DtmfReceiver::new();
    for (seq, p) in packets.iter().enumerate() {
        r.handle(seq as u16, p.timestamp, &p.payload.to_bytes(), start)
            .unwrap();
    }
    let digit = r.poll_event().unwrap();
    assert_eq!(
        (
            digit.digit,
            digit.timestamp,
            digit.duration_samples,
            digit.end_lost
        ),
        ('0', 100, 80000, false)
    );
    assert_eq!(r.poll_event(), None);
}

fn te(event: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

#[test]
fn receiver_reports_once_despite_lost_start_and_duplicate_ends() {
    let now = t0();
    let mut r = DtmfReceiver::new();
    // Start packets (seq 1, 2) lost; an update, then the end three times, then a late update.
    r.handle(3, 800, &te(7, false, 480), now).unwrap();
    assert_eq!(r.current_digit(), Some('7'));
    assert_eq!(r.poll_event(), None);
    for seq in 4..7 {
        r.handle(seq, 800, &te(7, true, 800), now).unwrap();
    }
    r.handle(2, 800, &te(7, false, 320), now).unwrap();
    let d = r.poll_event().unwrap();
    assert_eq!(
        (d.digit, d.timestamp, d.duration_samples, d.end_lost),
        ('7', 800, 800, false)
    );
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn receiver_times_out_an_event_whose_ends_are_lost() {
    let now = t0();
    let mut r = DtmfReceiver::new().with_end_timeout(200 * MS);
    r.handle(1, 0, &te(1, false, 160), now).unwrap();
    r.handle(2, 0, &te(1, false, 320), now + 20 * MS).unwrap();
    assert_eq!(r.poll_timeout(), Some(now + 220 * MS));
    r.handle_timeout(now + 219 * MS);
    assert_eq!(r.poll_event(), None);
    r.handle_timeout(now + 220 * MS);
    let d = r.poll_event().unwrap();
    assert_eq!((d.digit, d.duration_samples, d.end_lost), ('1', 320, true));
    // The end packets arriving after the timeout do not report the digit again.
    r.handle(3, 0, &te(1, true, 800), now + 300 * MS).unwrap();
    assert_eq!(r.poll_event(), None);
}

#[test]
fn same_digit_twice_is_two_digits_and_a_newer_event_ends_the_old() {
    let now = t0();
    let mut r = DtmfReceiver::new();
    r.handle(1, 1000, &te(4, false, 160), now).unwrap();
    // The first press's end packets are lost; the second press has a later timestamp.
    r.handle(5, 3000, &te(4, false, 160), now).unwrap();
    let first = r.poll_event().unwrap();
    assert_eq!(
        (first.digit, first.timestamp, first.end_lost),
        ('4', 1000, true)
    );
    r.handle(6, 3000, &te(4, true, 640), now).unwrap();
    let second = r.poll_event().unwrap();
    assert_eq!(
        (second.digit, second.timestamp, second.end_lost),
        ('4', 3000, false)
    );
    // A late packet of the first press (reordered) is stale now.
    r.handle(2, 1000, &te(4, true, 800), now).unwrap();
    assert_eq!(r.poll_event(), None);
}

#[test]
fn receiver_ignores_zero_durations_and_non_dtmf_events() {
    let now = t0();
    let mut r = DtmfReceiver::new();
    r.handle(1, 0, &te(16, true, 800), now).unwrap();
    r.handle(2, 160, &te(3, true, 0), now).unwrap();
    assert_eq!(r.poll_event(), None);
    assert_eq!(r.handle(3, 0, &[1, 2], now), Err(DtmfError::TooShort(2)));
}

#[test]
fn handle_names_the_digit_on_the_first_packet_seen_of_each_event() {
    let now = t0();
    let mut r = DtmfReceiver::new();
    // Start lost: the first update starts the event; updates, ends and duplicates do not.
    assert_eq!(r.handle(3, 800, &te(7, false, 480), now), Ok(Some('7')));
    assert_eq!(r.handle(4, 800, &te(7, false, 640), now), Ok(None));
    assert_eq!(r.handle(5, 800, &te(7, true, 800), now), Ok(None));
    assert_eq!(r.handle(6, 800, &te(7, true, 800), now), Ok(None));
    // A reordered start after the end is stale.
    assert_eq!(r.handle(1, 800, &te(7, false, 160), now), Ok(None));
    // The same digit pressed again is a new event.
    assert_eq!(r.handle(7, 4000, &te(7, true, 800), now), Ok(Some('7')));
    // Non-DTMF events start nothing the caller could act on.
    assert_eq!(r.handle(8, 9000, &te(16, false, 160), now), Ok(None));
}

#[test]
fn continuation_segments_of_a_long_event_are_not_new_digits() {
    let now = t0();
    let mut r = DtmfReceiver::new();
    assert_eq!(r.handle(1, 100, &te(0, false, 0xFFFF), now), Ok(Some('0')));
    // The next segment starts 0xFFFF later (RFC 4733 §2.5.1.3): the same press.
    assert_eq!(r.handle(2, 100 + 0xFFFF, &te(0, true, 800), now), Ok(None));
    let d = r.poll_event().unwrap();
    assert_eq!((d.digit, d.duration_samples), ('0', 0xFFFF + 800));
    assert_eq!(r.poll_event(), None);
}

#[test]
fn a_timestamp_far_behind_is_a_restarted_clock_not_a_late_packet() {
    let now = t0();
    let mut r = DtmfReceiver::new();
    assert_eq!(r.handle(1, 500_000, &te(1, true, 800), now), Ok(Some('1')));
    // 1 s behind: a late packet of some older event, dropped.
    assert_eq!(r.handle(2, 492_000, &te(2, true, 800), now), Ok(None));
    // 60 s behind: the sender restarted its timestamps; a real new digit.
    assert_eq!(r.handle(3, 20_000, &te(3, true, 800), now), Ok(Some('3')));
    let digits: Vec<char> = std::iter::from_fn(|| r.poll_event())
        .map(|d| d.digit)
        .collect();
    assert_eq!(digits, ['1', '3']);
}
