//! Saving the application form half-filled (草稿) for a signed-in account,
//! to finish later on any device; the draft is removed once the form is
//! submitted. The fields are kept as typed (name, value pairs), bounded by
//! the form's own decoding.

use crate::AppState;
use crate::app::error::Error;
use crate::auth::Caller;

/// A saved draft: the fields as typed, and when.
pub struct Draft {
    pub pairs: Vec<(String, String)>,
    pub saved_at_ms: i64,
}

/// Saves the caller's draft (signed-in accounts only; `false` for others).
pub async fn save(
    state: &AppState,
    caller: &Caller,
    pairs: &[(String, String)],
) -> Result<bool, Error> {
    let Some(account) = caller.account() else {
        return Ok(false);
    };
    let id = account.id.clone();
    let json = serde_json::to_string(pairs).map_err(|_| Error::Internal("a draft"))?;
    let at = state.now_ms();
    state
        .store
        .write(move |c| onestop_store::drafts::save(c, &id, &json, at))
        .await?;
    Ok(true)
}

/// The caller's saved draft, if any.
pub async fn load(state: &AppState, caller: &Caller) -> Result<Option<Draft>, Error> {
    let Some(account) = caller.account() else {
        return Ok(None);
    };
    let id = account.id.clone();
    let found = state
        .store
        .read(move |c| onestop_store::drafts::get(c, &id))
        .await?;
    Ok(found.and_then(|(json, saved_at_ms)| {
        serde_json::from_str(&json)
            .ok()
            .map(|pairs| Draft { pairs, saved_at_ms })
    }))
}

/// Removes the caller's draft.
pub async fn discard(state: &AppState, caller: &Caller) -> Result<(), Error> {
    let Some(account) = caller.account() else {
        return Ok(());
    };
    let id = account.id.clone();
    state
        .store
        .write(move |c| onestop_store::drafts::discard(c, &id))
        .await?;
    Ok(())
}
