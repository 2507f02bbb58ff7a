//! Long-running operations: 202 + `Location`/`Operation-Location` polling, and waiting out a
//! resource busy with another operation (409 `OperationNotStartable`).

use crate::error::{ClientError, redact_url};
use crate::retry::retry_after;
use crate::transport::{Request, Response, Transport, check_follow};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// Where an operation stands, read from a poll answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OpState {
    Running,
    Succeeded,
    Failed(String, String),
}

fn state_of(status: u16, body: &[u8]) -> OpState {
    if status == 202 {
        return OpState::Running;
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    // BAP lifecycle ops: `state.id`; Azure-style async ops: `status`; ARM: provisioningState.
    let state = v
        .pointer("/state/id")
        .or_else(|| v.get("state"))
        .or_else(|| v.get("status"))
        .or_else(|| v.pointer("/properties/provisioningState"))
        .and_then(Value::as_str)
        .unwrap_or("Succeeded");
    match state.to_ascii_lowercase().as_str() {
        "succeeded" | "success" | "completed" | "ready" => OpState::Succeeded,
        "failed" | "canceled" | "cancelled" | "error" => {
            let msg = v
                .pointer("/error/message")
                .or_else(|| v.pointer("/errors/0/message"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            OpState::Failed(state.to_owned(), msg)
        }
        _ => OpState::Running,
    }
}

impl Transport {
    /// Sends a write; on 409 `OperationNotStartable` waits (honouring `Retry-After`) and tries
    /// again, a bounded number of times. A 409 proves the write was not started, so repeating
    /// it is safe.
    pub async fn send_when_free(&self, req: Request) -> Result<Response, ClientError> {
        let cfg = self.config().lifecycle.clone();
        let started = Instant::now();
        let mut tries = 0u32;
        loop {
            match self.send(req.clone()).await {
                Err(ClientError::Http {
                    status: 409,
                    ref code,
                    ..
                }) if code.as_deref() == Some("OperationNotStartable")
                    && tries < cfg.conflict_attempts =>
                {
                    tries += 1;
                    if started.elapsed() >= cfg.max_wait {
                        break;
                    }
                    tracing::info!(url = %redact_url(&req.url), attempt = tries, "resource busy with another operation; waiting");
                    self.wait(cfg.conflict_delay).await;
                }
                other => return other,
            }
        }
        Err(ClientError::LifecycleTimeout {
            url: redact_url(&req.url),
            waited_s: started.elapsed().as_secs(),
        })
    }

    /// Sends a write (waiting out 409s) and, if the service answers 202 with `Location` or
    /// `Operation-Location`, polls that URL until the operation succeeds (404 on the operation
    /// counts as done), fails, or the configured bound passes. Returns the last answer.
    pub async fn send_and_wait(&self, req: Request) -> Result<Response, ClientError> {
        let resp = self.send_when_free(req.clone()).await?;
        if resp.status != 202 {
            return Ok(resp);
        }
        let loc = resp
            .header("Operation-Location")
            .or_else(|| resp.header("Location"))
            .map(str::to_owned);
        let Some(loc) = loc else { return Ok(resp) };
        let op_url = resp
            .url
            .join(&loc)
            .map_err(|e| ClientError::InvalidRequest(format!("operation location: {e}")))?;
        check_follow(&req.url, &op_url)?;
        let first = retry_after(&resp.headers).map(|d| d.min(self.config().retry.max_delay));
        Ok(self
            .poll_operation(op_url, &req.scope, first)
            .await?
            .unwrap_or(resp))
    }

    /// Polls an operation URL until done. `Ok(None)` when the operation is gone (404), which the
    /// services use for "finished and cleaned up".
    pub async fn poll_operation(
        &self,
        op_url: Url,
        scope: &str,
        first_delay: Option<Duration>,
    ) -> Result<Option<Response>, ClientError> {
        let cfg = self.config().lifecycle.clone();
        let started = Instant::now();
        let mut delay = first_delay.unwrap_or(cfg.poll_interval);
        loop {
            let remaining = cfg.max_wait.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(ClientError::LifecycleTimeout {
                    url: redact_url(&op_url),
                    waited_s: started.elapsed().as_secs(),
                });
            }
            self.wait(delay.min(remaining)).await;
            let resp = match self.send(Request::get(op_url.clone(), scope)).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            };
            match state_of(resp.status, &resp.body) {
                OpState::Succeeded => return Ok(Some(resp)),
                OpState::Failed(state, message) => {
                    return Err(ClientError::LifecycleFailed {
                        url: redact_url(&op_url),
                        state,
                        message,
                    });
                }
                OpState::Running => {
                    // Capped like every server-given wait: a hostile value cannot park the poll.
                    delay = retry_after(&resp.headers)
                        .map(|d| d.min(self.config().retry.max_delay))
                        .unwrap_or(cfg.poll_interval);
                }
            }
        }
    }

    async fn wait(&self, d: Duration) {
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_states() {
        assert_eq!(state_of(202, b""), OpState::Running);
        assert_eq!(
            state_of(200, br#"{"state":{"id":"Running"}}"#),
            OpState::Running
        );
        assert_eq!(
            state_of(200, br#"{"state":{"id":"Succeeded"}}"#),
            OpState::Succeeded
        );
        assert_eq!(
            state_of(200, br#"{"status":"Failed","error":{"message":"boom"}}"#),
            OpState::Failed("Failed".into(), "boom".into())
        );
        assert_eq!(state_of(200, b""), OpState::Succeeded);
    }
}
