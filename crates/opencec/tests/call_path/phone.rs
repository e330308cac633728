//! An agent's SIP phone: baresip, headless, registered to the platform as one of the demo
//! agents, playing a tone file as its microphone and recording what it hears (sndfile
//! module), answering automatically or not, hanging up on a console command.

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::{temp_dir, workspace_root};

/// baresip's own safety bound (`-t`): it quits by itself even if a test forgets it.
const LIFETIME_S: u32 = 120;

pub struct Phone {
    child: Child,
    pub log: PathBuf,
    pub recordings: PathBuf,
    console: SocketAddr,
}

/// A free loopback UDP port (for baresip's console).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Writes an 8 kHz mono 16-bit WAV of a `hz` tone lasting `seconds`.
fn tone_wav(path: &PathBuf, hz: f64, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create tone");
    for n in 0..8000 * seconds {
        let x = (2.0 * std::f64::consts::PI * hz * f64::from(n) / 8000.0).sin() * 8000.0;
        writer.write_sample(x as i16).expect("tone sample");
    }
    writer.finalize().expect("finalize tone");
}

impl Phone {
    /// Registers `user` with `password` at `registrar` over `transport` ("udp"/"tcp"),
    /// sending a `tone_hz` tone; waits for the 200 to REGISTER.
    pub fn start(
        tag: &str,
        registrar: SocketAddr,
        transport: &str,
        user: &str,
        password: &str,
        auto_answer: bool,
        tone_hz: f64,
    ) -> Phone {
        let dir = temp_dir(&format!("phone-{tag}"));
        let recordings = dir.join("snd");
        std::fs::create_dir_all(&recordings).expect("recordings dir");
        let tone = dir.join("tone.wav");
        tone_wav(&tone, tone_hz, LIFETIME_S);
        let console = SocketAddr::from(([127, 0, 0, 1], free_udp_port()));
        let base = std::fs::read_to_string(workspace_root().join("interop/baresip/agent.conf"))
            .expect("agent.conf");
        let config = base
            .replace("@TONE@", &tone.display().to_string())
            .replace("@SND@", &recordings.display().to_string())
            .replace("@CONSOLE@", &console.to_string())
            .replace("@PLAY@", &dir.join("play.wav").display().to_string());
        std::fs::write(dir.join("config"), config).expect("write config");
        let answer = if auto_answer { ";answermode=auto" } else { "" };
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:{user}@{registrar};transport={transport}>;auth_pass={password};regint=300{answer}\n"),
        )
        .expect("write accounts");
        let log = dir.join("baresip.log");
        let out = File::create(&log).expect("log");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&dir)
            .arg("-s")
            .arg("-t")
            .arg(LIFETIME_S.to_string())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("run baresip (apt-get install baresip)");
        let phone = Phone {
            child,
            log,
            recordings,
            console,
        };
        assert!(
            phone.wait_log(Duration::from_secs(15), |l| l.contains("200 OK")
                && l.contains("binding")),
            "baresip did not register:\n{}",
            phone.log_text()
        );
        phone
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_log(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_text().lines().any(&pred) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Hangs up the current call (menu command over the console module).
    pub fn hang_up(&self) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("console socket");
        socket
            .send_to(b"/hangup\n", self.console)
            .expect("console command");
    }

    /// Samples of the calls baresip heard, once their recordings hold at least `min`
    /// samples (the files are complete only once baresip closed them), or what there is
    /// after `timeout`.
    pub fn heard_at_least(&self, min: usize, timeout: Duration) -> Vec<i16> {
        let deadline = Instant::now() + timeout;
        loop {
            let heard = self.heard();
            if heard.len() >= min || Instant::now() > deadline {
                return heard;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Samples of the calls baresip heard (its `*-dec.wav` recordings), in file order.
    pub fn heard(&self) -> Vec<i16> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.recordings)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| hound::WavReader::open(p).ok())
            .flat_map(|r| {
                r.into_samples::<i16>()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
