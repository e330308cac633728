//! Prompt audio: a 44.1 kHz stereo WAV made by sox is stored as 8 kHz mono 16-bit with its
//! duration on the prompt; the download is such a WAV; text is refused with a problem that
//! says why, and the wrong content type with 415.

use std::process::Command;

use serde_json::json;

use crate::{Backend, Running, id_of};

/// A one-second 1 kHz tone, 44.1 kHz stereo 16-bit, made by sox.
fn tone_wav(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("tone.wav");
    let status = Command::new("sox")
        .args(["-n", "-r", "44100", "-c", "2", "-b", "16"])
        .arg(&path)
        .args(["synth", "1", "sine", "1000"])
        .status()
        .unwrap_or_else(|e| panic!("cannot run sox (scripts/install-deps installs it): {e}"));
    assert!(status.success(), "sox failed: {status}");
    let bytes = std::fs::read(&path).expect("read sox output");
    let _ = std::fs::remove_dir_all(dir);
    bytes
}

fn le_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The `fmt ` fields (format, channels, rate, bits) and the `data` size of a RIFF WAV.
fn wav_header(bytes: &[u8]) -> (u16, u16, u32, u16, u32) {
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let mut at = 12;
    let mut fmt = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = le_u32(bytes, at + 4);
        let body = at + 8;
        if id == b"fmt " {
            fmt = Some((
                le_u16(bytes, body),
                le_u16(bytes, body + 2),
                le_u32(bytes, body + 4),
                le_u16(bytes, body + 14),
            ));
        } else if id == b"data" {
            let (format, channels, rate, bits) = fmt.expect("fmt before data");
            return (format, channels, rate, bits, size);
        }
        at = body + size as usize + (size as usize & 1);
    }
    panic!("no data chunk");
}

#[test]
fn prompt_audio_upload_and_download() {
    let running = Running::start("api-prompts", Backend::Sqlite, false);
    let (access_key, secret) = running.tenant_with_admin_key("voice");
    let api = running.login(&access_key, &secret);
    let prompt = api
        .post(
            "/api/v1/tenants/voice/prompts",
            &json!({"name": "welcome", "language": "de-CH"}),
        )
        .expect(201);
    assert!(prompt["audio"].is_null(), "no audio before the upload");
    let audio_path = format!("/api/v1/tenants/voice/prompts/{}/audio", id_of(&prompt));
    api.get(&audio_path).problem(404);

    let source = tone_wav(&common_dir());
    let uploaded = api
        .send("PUT", &audio_path, Some("audio/wav"), &source)
        .expect(200);
    let duration = uploaded["audio"]["duration_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("no audio.duration_ms: {uploaded}"));
    assert!(
        duration.abs_diff(1000) <= 10,
        "duration {duration} ms for one second"
    );
    assert_eq!(uploaded["version"], 2, "the upload is an update");
    assert_eq!(
        uploaded["language"], "de-CH",
        "the upload keeps the other fields"
    );
    let source_format = uploaded["audio"]["source_format"]
        .as_str()
        .unwrap_or_default();
    assert!(
        source_format.contains("44100"),
        "source format {source_format:?}"
    );

    let download = api.get(&audio_path);
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(download.header("content-type"), Some("audio/wav"));
    let (format, channels, rate, bits, data) = wav_header(&download.body);
    assert_eq!((format, channels, rate, bits), (1, 1, 8000, 16));
    assert!(
        data.abs_diff(16_000) <= 160,
        "one second at 8 kHz 16-bit is 16000 bytes, got {data}"
    );
    assert_eq!(uploaded["audio"]["bytes"], download.body.len());
    // A replace that sends back what it read keeps the audio.
    let prompt_path = format!("/api/v1/tenants/voice/prompts/{}", id_of(&prompt));
    let mut read = api.get(&prompt_path).expect(200);
    assert_eq!(read["audio"], uploaded["audio"]);
    read["description"] = json!("Greeting");
    let replaced = api.put(&prompt_path, &read).expect(200);
    assert_eq!(replaced["audio"], uploaded["audio"]);

    let text = api.send(
        "PUT",
        &audio_path,
        Some("audio/wav"),
        b"this is not a WAV file, just text",
    );
    let problem = text.problem(400);
    let reason = problem["errors"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        !reason.is_empty(),
        "the problem says what is wrong: {problem}"
    );
    api.send("PUT", &audio_path, Some("text/plain"), &source)
        .problem(415);
    // The refused uploads left the stored audio alone.
    let again = api.get(&audio_path);
    assert_eq!(again.body, download.body);
    running.finish();
}

fn common_dir() -> std::path::PathBuf {
    crate::common::temp_dir("api-prompts-sox")
}
