//! Who is calling: Flight SQL's Basic handshake checks a user's password against the salted
//! hash the project stores and opens a session under a random bearer token; every later call
//! carries the token. A session is the client's own (its settings, its user); it ends when the
//! token has not been used for the idle timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use base64::prelude::BASE64_STANDARD_NO_PAD;
use tonic::Status;
use tonic::metadata::MetadataMap;

use super::session::Session;
use crate::log::Project;
use crate::policy::acl::{Acl, verify_password};

/// At most this many sessions at once (a client that logs in in a loop cannot exhaust memory).
const MAX_SESSIONS: usize = 10_000;

/// How a caller proves who it is.
pub(crate) enum Credentials {
    /// `authorization: Bearer <token>` from an earlier handshake.
    Bearer(String),
    /// `authorization: Basic base64(user:password)`, or the handshake's BasicAuth payload.
    Basic { user: String, password: String },
    /// Nothing.
    None,
}

/// The credentials in a call's headers.
pub(crate) fn credentials(metadata: &MetadataMap) -> Result<Credentials, Status> {
    let Some(value) = metadata.get("authorization") else { return Ok(Credentials::None) };
    let value = value.to_str().map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Ok(Credentials::Bearer(rest.trim().to_string())),
        "basic" => {
            // Padded (pyarrow, JDBC) or not (ADBC's Go client): the same credentials.
            let bytes = BASE64_STANDARD_NO_PAD
                .decode(rest.trim().trim_end_matches('='))
                .map_err(|_| Status::unauthenticated("the Basic authorization header is not base64"))?;
            let text =
                String::from_utf8(bytes).map_err(|_| Status::unauthenticated("the Basic credentials are not UTF-8"))?;
            let (user, password) = text
                .split_once(':')
                .ok_or_else(|| Status::unauthenticated("Basic credentials must be user:password"))?;
            Ok(Credentials::Basic { user: user.to_lowercase(), password: password.to_string() })
        }
        other => Err(Status::unauthenticated(format!("unsupported authorization scheme {other}: use Basic or Bearer"))),
    }
}

/// The open sessions, by token.
pub(crate) struct Sessions {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    idle_timeout: Duration,
}

impl Sessions {
    pub(crate) fn new(idle_timeout: Duration) -> Self {
        Self { sessions: Mutex::default(), idle_timeout }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        // A panic elsewhere while holding the map leaves it consistent (inserts and removes only).
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `session` under a new random token (256 bits from the OS generator) and returns it.
    pub(crate) fn open(&self, session: Session) -> Result<String, Status> {
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let mut sessions = self.lock();
        let timeout = self.idle_timeout;
        sessions.retain(|_, s| !s.idle_for(timeout));
        if sessions.len() >= MAX_SESSIONS {
            return Err(Status::resource_exhausted("too many open sessions; try again later"));
        }
        sessions.insert(token.clone(), Arc::new(session));
        Ok(token)
    }

    /// The session of `token`, unless unknown or idle past the timeout (then it is closed).
    pub(crate) fn get(&self, token: &str) -> Result<Arc<Session>, Status> {
        let mut sessions = self.lock();
        match sessions.get(token) {
            Some(s) if !s.idle_for(self.idle_timeout) => {
                s.touch();
                Ok(Arc::clone(s))
            }
            Some(_) => {
                sessions.remove(token);
                Err(Status::unauthenticated("the session token expired: log in again"))
            }
            None => Err(Status::unauthenticated("unknown session token: log in (handshake) first")),
        }
    }

    /// The anonymous session of a client address (`--allow-anonymous`), if open.
    pub(crate) fn find_anonymous(&self, peer: &str) -> Option<Arc<Session>> {
        self.get(&format!("anonymous:{peer}")).ok()
    }

    /// Keeps the anonymous session of a client address; the one already there wins a race.
    pub(crate) fn keep_anonymous(&self, peer: &str, session: Session) -> Arc<Session> {
        let mut sessions = self.lock();
        let timeout = self.idle_timeout;
        let key = format!("anonymous:{peer}");
        if let Some(s) = sessions.get(&key).filter(|s| !s.idle_for(timeout)) {
            return Arc::clone(s);
        }
        let session = Arc::new(session);
        sessions.insert(key, Arc::clone(&session));
        session
    }
}

/// Checks `user`'s password against the project's latest state: Ok(user) or Unauthenticated,
/// with one message for an unknown user and a wrong password (names cannot be probed).
pub(crate) async fn verify(project: &Project, user: &str, password: &str) -> Result<String, Status> {
    let state = project.snapshot().await.map_err(|e| Status::unavailable(format!("cannot read the project: {e}")))?;
    let acl = Acl::of(&state);
    if !acl.enforced() {
        return Err(Status::unauthenticated(format!(
            "project {} has no users, so nobody can log in: its owner adds one in the CLI \
             (timemachine --user <owner> -c \"ADD USER u IDENTIFIED BY '…'\"), or the server runs with --allow-anonymous",
            project.name()
        )));
    }
    let refused = || Status::unauthenticated("invalid user name or password");
    let Some(hash) = acl.passwords.get(user).cloned() else { return Err(refused()) };
    let password = password.to_string();
    // argon2 is slow on purpose: off the async threads.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| Status::internal(format!("password check failed: {e}")))?;
    if ok { Ok(user.to_string()) } else { Err(refused()) }
}
