//! Prompt audio files (8 kHz mono 16-bit WAV, converted by the caller) under the data dir,
//! and publishing IVR flow drafts.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::db::now_ms;
use crate::model::{FlowSpec, PromptAudio, PromptSpec, PublishedFlow};
use crate::resource::Stored;
use crate::{Actor, Store, StoreError};

fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::File {
        path: path.display().to_string(),
        source,
    }
}

impl Store {
    /// Where a prompt's audio is kept.
    pub fn prompt_audio_path(&self, tenant_id: &str, prompt_id: &str) -> PathBuf {
        self.data_dir
            .join("prompts")
            .join(tenant_id)
            .join(format!("{prompt_id}.wav"))
    }

    /// Stores a prompt's audio (already converted to 8 kHz mono 16-bit WAV) durably — written
    /// to a temporary file, synced, renamed — and records it on the prompt.
    pub async fn put_prompt_audio(
        &self,
        actor: &Actor,
        tenant_id: &str,
        key: &str,
        wav: Vec<u8>,
        duration_ms: u64,
        source_format: String,
    ) -> Result<Stored<PromptSpec>, StoreError> {
        let prompt: Stored<PromptSpec> = self.get(tenant_id, key).await?;
        let path = self.prompt_audio_path(tenant_id, &prompt.id);
        let sha256: String = Sha256::digest(&wav)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let bytes = wav.len() as u64;
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_durably(&target, &wav))
            .await
            .map_err(|e| StoreError::File {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            })??;
        let audio = PromptAudio {
            duration_ms,
            sha256,
            bytes,
            source_format,
            uploaded_ms: now_ms(),
        };
        self.modify(
            actor,
            tenant_id,
            &prompt.id,
            None,
            move |previous: &PromptSpec| {
                let mut next = previous.clone();
                next.audio = Some(audio);
                Ok((next, None))
            },
        )
        .await
    }

    /// Reads a prompt's stored audio file.
    pub async fn prompt_audio(&self, tenant_id: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let prompt: Stored<PromptSpec> = self.get(tenant_id, key).await?;
        if prompt.spec.audio.is_none() {
            return Err(StoreError::NotFound {
                kind: "prompt audio",
                key: key.to_owned(),
            });
        }
        let path = self.prompt_audio_path(tenant_id, &prompt.id);
        tokio::fs::read(&path).await.map_err(io_error(&path))
    }

    /// Publishes a flow's draft as its next version.
    pub async fn publish_flow(
        &self,
        actor: &Actor,
        tenant_id: &str,
        key: &str,
        expected_version: Option<i64>,
    ) -> Result<Stored<FlowSpec>, StoreError> {
        self.modify(
            actor,
            tenant_id,
            key,
            expected_version,
            |previous: &FlowSpec| {
                let mut next = previous.clone();
                let version = previous.published.as_ref().map_or(1, |p| p.version + 1);
                next.published = Some(PublishedFlow {
                    version,
                    document: previous.draft.clone(),
                    published_ms: now_ms(),
                });
                Ok((next, None))
            },
        )
        .await
    }
}

fn write_durably(path: &std::path::Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(path);
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let temp = path.with_extension("wav.partial");
    let mut file = std::fs::File::create(&temp).map_err(io_error(&temp))?;
    file.write_all(bytes).map_err(io_error(&temp))?;
    file.sync_all().map_err(io_error(&temp))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io_error(path))?;
    // The rename is durable once the directory entry is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))?;
    Ok(())
}
