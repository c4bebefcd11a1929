//! Fitted models that survive restarts: the state a refit saves with its difference, and
//! loading it into a new instance when the server starts, instead of refitting.

use crate::state::Inner;
use kindred_plugin_host::{StrategyInstance, create_instance};
use kindred_store::ModelState;
use kindred_store::entity::segmentation;
use std::sync::Arc;

/// The state of `instance`, fitted by job `job_id`, to store with the refit; `None` when its
/// plugin cannot save one or saving failed (then the next start refits, as before states).
pub(crate) async fn saved_state(instance: &Arc<StrategyInstance>, job_id: i64) -> Option<ModelState> {
    if !instance.saves_state() {
        return None;
    }
    let saving = instance.clone();
    let bytes = match tokio::task::spawn_blocking(move || saving.save_state()).await {
        Ok(Ok(bytes)) => bytes?,
        Ok(Err(error)) => {
            tracing::warn!(plugin = instance.plugin(), %error, "the fitted state could not be saved; the next start refits");
            return None;
        }
        Err(error) => {
            tracing::warn!(plugin = instance.plugin(), %error, "saving the fitted state stopped; the next start refits");
            return None;
        }
    };
    Some(ModelState {
        job_id,
        library_sha256: instance.library_sha256().to_owned(),
        params: instance.params().clone(),
        bytes,
        covered_change: 0,
        saved_at: None,
    })
}

/// The model of `segmentation` loaded from its saved state, or why there is none usable: no
/// state, a plugin that cannot save one, another build of the library, other parameters, or
/// a state the plugin refused. With the model, the queue position its refit covered and the
/// refit job that made it (its version).
pub(crate) async fn load(
    inner: &Inner,
    segmentation: &segmentation::Model,
) -> Result<(Arc<StrategyInstance>, i64, i64), String> {
    let params: serde_json::Value = serde_json::from_str(&segmentation.params).unwrap_or_default();
    let instance = create_instance(&inner.host, &segmentation.strategy, Some(&params))
        .await
        .map_err(|error| format!("the plugin cannot create it: {error}"))?;
    if !instance.saves_state() {
        return Err("its plugin cannot save a fitted state".to_owned());
    }
    let state = inner
        .store
        .model_state(segmentation.id)
        .await
        .map_err(|error| format!("its state cannot be read: {error}"))?
        .ok_or_else(|| "no state was saved".to_owned())?;
    if state.library_sha256 != instance.library_sha256() {
        return Err(format!(
            "its state was saved by another build of the plugin (SHA-256 {}, now {})",
            state.library_sha256,
            instance.library_sha256()
        ));
    }
    if state.params != *instance.params() {
        return Err("its state was saved with other parameters (the plugin's defaults changed)".to_owned());
    }
    let instance = Arc::new(instance);
    let loading = instance.clone();
    let job_id = state.job_id;
    tokio::task::spawn_blocking(move || loading.load_state(&state.bytes))
        .await
        .map_err(|error| format!("loading its state stopped: {error}"))?
        .map_err(|error| format!("the plugin refused its saved state: {error}"))?;
    tracing::info!(
        segmentation = segmentation.id,
        job = state.job_id,
        "fitted model loaded from the state its last refit saved"
    );
    Ok((instance, state.covered_change, job_id))
}

/// Loads, for every dynamic segmentation whose current model (a refit committed by any
/// server) is not the one this server holds, that model from its saved state. A segmentation
/// being refitted here is left to its refit, and a version in `unloadable` (tried before) is
/// not tried again. Returns how many were loaded.
pub(crate) async fn catch_up(inner: &Inner, unloadable: &mut std::collections::HashMap<i64, i64>) -> usize {
    let segmentations = match inner.store.segmentations().await {
        Ok(segmentations) => segmentations,
        Err(error) => {
            tracing::warn!(%error, "cannot read segmentations to find new models");
            return 0;
        }
    };
    let mut loaded = 0;
    for segmentation in segmentations {
        let Some(current) = segmentation.model_job_id else { continue };
        if segmentation.mode != kindred_store::SegmentationMode::Dynamic
            || inner.version(segmentation.id) == Some(current)
            || unloadable.get(&segmentation.id) == Some(&current)
        {
            continue;
        }
        if inner.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(&segmentation.id)
        {
            continue;
        }
        match load(inner, &segmentation).await {
            Ok((instance, covered, job_id)) if job_id == current => {
                let lock = inner.lock_for(segmentation.id);
                let _guard = lock.lock().await;
                inner.set_covered(segmentation.id, covered);
                inner.set_live(segmentation.id, Some(instance));
                inner.set_version(segmentation.id, Some(job_id));
                loaded += 1;
                tracing::info!(
                    segmentation = segmentation.id,
                    job = job_id,
                    "loaded the model another server's refit committed"
                );
            }
            // Saved by a refit committed since: the next round loads it.
            Ok(_) => {}
            Err(why) => {
                unloadable.insert(segmentation.id, current);
                tracing::warn!(
                    segmentation = segmentation.id,
                    job = current,
                    reason = %why,
                    "another server's new model cannot be loaded here: the customers writes touch are left \
                     for the server that holds it"
                );
            }
        }
    }
    loaded
}

/// Keeps this server's models current for as long as the engine lives: told by the
/// database when a refit elsewhere commits, and checking every `model_poll` for a notice missed.
pub(crate) async fn follower(inner: Arc<Inner>) {
    let mut unloadable = std::collections::HashMap::new();
    loop {
        tokio::select! {
            () = inner.models_wake.notified() => {}
            () = tokio::time::sleep(inner.settings.model_poll) => {}
        }
        if catch_up(&inner, &mut unloadable).await > 0 {
            // Customers set aside for want of the model can be re-assigned now.
            inner.wake.wake();
        }
    }
}
