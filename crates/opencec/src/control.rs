//! The API's way into the call core: commands run as tasks on the SIP driver's task (where
//! the Switch lives) and answer through a oneshot; and the configuration reloader that
//! keeps the Switch's snapshot and the registrar's phone credentials in step with the
//! store.

use std::sync::Arc;
use std::time::Duration;

use cec_acd::Phase;
use cec_api::{
    AgentCommand, AgentPhase, AgentStatus, CallControl, ControlError, ControlFuture, LiveCall,
    WorkState,
};
use cec_core::{Command, CommandError, CommandReply, RequestedState};
use cec_runtime::sip_driver::AppTask;
use cec_store::Store;
use tokio::sync::{Mutex, mpsc, oneshot};
use tracing::{debug, warn};

use crate::call_service::CallService;

/// Sends work to the SIP driver's task.
pub type Tasks = mpsc::UnboundedSender<AppTask<CallService>>;

/// Loads the call-path configuration from the store and hands it to the Switch.
pub struct Reloader {
    store: Store,
    tasks: Tasks,
    /// The store's configuration fingerprint of the snapshot last applied; the lock also
    /// makes reloads (periodic and on demand) run one at a time.
    applied: Mutex<[i64; 4]>,
}

impl Reloader {
    /// A reloader for a call service started on the snapshot of `applied`.
    pub fn new(store: Store, tasks: Tasks, applied: [i64; 4]) -> Arc<Reloader> {
        Arc::new(Reloader {
            store,
            tasks,
            applied: Mutex::new(applied),
        })
    }

    /// Reloads now; returns once the Switch runs on the new snapshot.
    pub async fn reload(&self) -> Result<(), cec_store::StoreError> {
        let mut applied = self.applied.lock().await;
        // Reading every tenant's objects costs database work on the same two cores as the
        // calls; skip it when nothing changed since the last reload.
        let fingerprint = self.store.config_fingerprint().await?;
        if *applied == fingerprint {
            return Ok(());
        }
        let loaded = crate::call_config::load(&self.store).await?;
        let (done, done_rx) = oneshot::channel();
        let task: AppTask<CallService> = Box::new(move |service, now, endpoint| {
            service.sip.apply_store(now, &loaded);
            service.apply_config(now, endpoint, loaded.switch, loaded.prompts);
            let _ = done.send(());
        });
        if self.tasks.send(task).is_ok() && done_rx.await.is_ok() {
            *applied = fingerprint;
        }
        Ok(())
    }

    /// Reloads every `period`, and soon after each configuration change made through
    /// `api`, until the process stops.
    pub async fn run_periodically(self: Arc<Self>, period: Duration, api: cec_api::ApiState) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                () = api.config_changed() => {
                    // A script making many changes in a row gets one reload for the lot.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            if let Err(error) = self.reload().await {
                warn!(%error, "call configuration not reloaded");
            }
        }
    }
}

/// [`CallControl`] for the API.
pub struct SwitchControl {
    tasks: Tasks,
    reloader: Arc<Reloader>,
}

impl SwitchControl {
    pub fn new(tasks: Tasks, reloader: Arc<Reloader>) -> SwitchControl {
        SwitchControl { tasks, reloader }
    }
}

async fn run(tasks: &Tasks, command: Command) -> Result<CommandReply, ControlError> {
    let (reply, answer) = oneshot::channel();
    let task: AppTask<CallService> = Box::new(move |service, now, endpoint| {
        let result = service.with_switch(endpoint, |switch, env| {
            switch.handle_command(now, env, command)
        });
        let _ = reply.send(result);
    });
    tasks
        .send(task)
        .map_err(|_| ControlError::Unavailable("the call core is stopping".into()))?;
    let result = answer
        .await
        .map_err(|_| ControlError::Unavailable("the call core is stopping".into()))?;
    result.map_err(|error| match error {
        CommandError::NotFound(what) => ControlError::NotFound(what),
        other => ControlError::InvalidTransition(other.to_string()),
    })
}

/// Runs `command`; an agent the Switch does not know yet (created through the API since
/// the last reload) gets one reload and a second try.
async fn run_fresh(
    tasks: &Tasks,
    reloader: &Reloader,
    command: Command,
) -> Result<CommandReply, ControlError> {
    match run(tasks, command.clone()).await {
        Err(ControlError::NotFound(what)) => {
            debug!(%what, "not in the call configuration yet; reloading");
            if let Err(error) = reloader.reload().await {
                warn!(%error, "call configuration not reloaded");
            }
            run(tasks, command).await
        }
        other => other,
    }
}

fn requested(state: WorkState, reason: Option<u32>, duration_s: Option<u32>) -> RequestedState {
    match state {
        WorkState::Idle => RequestedState::Idle,
        WorkState::Busy => RequestedState::Busy { reason },
        WorkState::Rest => RequestedState::Rest {
            reason,
            duration: duration_s.map(|s| Duration::from_secs(u64::from(s))),
        },
        WorkState::Work => RequestedState::Work,
    }
}

fn phase(phase: Phase) -> AgentPhase {
    match phase {
        Phase::SignedOut => AgentPhase::SignedOut,
        Phase::Idle => AgentPhase::Idle,
        Phase::Busy { .. } => AgentPhase::Busy,
        Phase::Rest { .. } => AgentPhase::Rest,
        Phase::Work => AgentPhase::Work,
        Phase::Ringing { .. } => AgentPhase::Ringing,
        Phase::Talking { .. } => AgentPhase::Talking,
        Phase::WrapUp { .. } => AgentPhase::WrapUp,
    }
}

fn status(reply: CommandReply) -> Result<AgentStatus, ControlError> {
    match reply {
        CommandReply::Agent(s) => Ok(AgentStatus {
            work_no: s.work_no,
            phase: phase(s.phase),
            reason: s.reason,
            since_ms: s.since_ms,
            phone: s.phone,
            call_id: s.call_id,
            queues: s.queues,
        }),
        _ => Err(ControlError::Unavailable("unexpected reply".into())),
    }
}

impl CallControl for SwitchControl {
    fn agent(
        &self,
        tenant: &str,
        work_no: &str,
        command: AgentCommand,
    ) -> ControlFuture<AgentStatus> {
        let (tenant, work_no) = (tenant.to_owned(), work_no.to_owned());
        let command = match command {
            AgentCommand::SignIn(sign_in) => Command::SignIn {
                tenant,
                work_no,
                phone: sign_in.phone,
                state: sign_in.state.map(|s| requested(s, None, None)),
                auto_answer: sign_in.auto_answer,
            },
            AgentCommand::SignOut => Command::SignOut { tenant, work_no },
            AgentCommand::SetState(change) => Command::SetState {
                tenant,
                work_no,
                state: requested(change.state, change.reason, change.duration_s),
            },
            AgentCommand::Get => Command::AgentStatus { tenant, work_no },
        };
        let (tasks, reloader) = (self.tasks.clone(), self.reloader.clone());
        Box::pin(async move { status(run_fresh(&tasks, &reloader, command).await?) })
    }

    fn live_calls(&self, tenant: &str) -> ControlFuture<Vec<LiveCall>> {
        let command = Command::LiveCalls {
            tenant: tenant.to_owned(),
        };
        let tasks = self.tasks.clone();
        Box::pin(async move {
            match run(&tasks, command).await? {
                CommandReply::Calls(calls) => Ok(calls
                    .into_iter()
                    .map(|c| LiveCall {
                        call_id: c.call_id,
                        state: c.state.to_owned(),
                        caller: c.caller,
                        called: c.called,
                        queue: c.queue,
                        agent: c.agent,
                        arrived_ms: c.arrived_ms,
                        answered_ms: c.answered_ms,
                    })
                    .collect()),
                _ => Err(ControlError::Unavailable("unexpected reply".into())),
            }
        })
    }

    fn release_call(&self, tenant: &str, call_id: &str) -> ControlFuture<()> {
        let command = Command::Release {
            tenant: tenant.to_owned(),
            call_id: call_id.to_owned(),
        };
        let tasks = self.tasks.clone();
        Box::pin(async move { run(&tasks, command).await.map(|_| ()) })
    }
}
