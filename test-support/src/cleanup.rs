//! What a test creates on the machine's shared PostgreSQL and RabbitMQ goes again when the test
//! is done, passed or panicked: a guard's `Drop` defers the removal to the end of the test's
//! runtime.
//!
//! Why the end of the runtime, not the guard's drop: the services a test starts run as tasks
//! of the test's runtime, and they outlive the guards (a dropped `JoinHandle` does not stop its
//! task, an aborted task's own spawns keep running). A notifier still running when its
//! exchange goes would re-declare it on its next reconnect, so the exchange would stay. Once
//! the runtime shuts down, no task of it is polled again, so nothing can re-create what is
//! removed. The removal runs on a thread with a runtime of its own, since `Drop` cannot await
//! and the test's runtime is shutting down; a panic in the test unwinds through the runtime's
//! drop, so it is cleaned up too. Only a killed test process leaves anything behind.
//!
//! `TEST_RESOURCE_TAG` (at most 16 letters and digits, so a database name stays within
//! PostgreSQL's 63 bytes), when set, goes into every name made here, so CI can tell what its
//! own run left behind from what tests running beside it on the same services still use.

use std::future::Future;

use uuid::Uuid;

/// A fresh name `{prefix}{separator}{tag}{separator}{uuid}` (`{prefix}{separator}{uuid}`
/// without a tag), unique to the test.
pub fn unique_name(prefix: &str, separator: char) -> String {
    let id = Uuid::new_v4().simple();
    match tag() {
        Some(tag) => format!("{prefix}{separator}{tag}{separator}{id}"),
        None => format!("{prefix}{separator}{id}"),
    }
}

/// `TEST_RESOURCE_TAG`, lower-cased, if it is set and made of at most 16 ASCII letters and
/// digits; otherwise ignored.
pub fn tag() -> Option<String> {
    let tag = std::env::var("TEST_RESOURCE_TAG").ok()?;
    let valid =
        !tag.is_empty() && tag.len() <= 16 && tag.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| tag.to_ascii_lowercase())
}

/// Runs `removal` (a future made when it is due) on a thread and runtime of its own, once the
/// current tokio runtime has shut down; at once outside a runtime. Never panics: a failure is
/// reported on stderr, naming `what`.
pub fn remove_later<F, Fut>(what: String, removal: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>>,
{
    let deferred = Deferred(Some(Box::new(move || run_removal(&what, removal))));
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        // A task that never finishes: the runtime drops it, and so the guard, when it shuts
        // down. On a runtime already shutting down it is dropped at once, which is as good.
        runtime.spawn(async move {
            let _deferred = deferred;
            std::future::pending::<()>().await;
        });
    } else {
        drop(deferred);
    }
}

struct Deferred(Option<Box<dyn FnOnce() + Send>>);

impl Drop for Deferred {
    fn drop(&mut self) {
        if let Some(work) = self.0.take() {
            work();
        }
    }
}

fn run_removal<F, Fut>(what: &str, removal: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>>,
{
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| error.to_string())?;
                runtime.block_on(async {
                    tokio::time::timeout(std::time::Duration::from_secs(30), removal())
                        .await
                        .unwrap_or_else(|_| Err("timed out".into()))
                })
            })
            .join()
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("test-support: could not remove {what}: {error}"),
        Err(_) => eprintln!("test-support: removing {what} panicked"),
    }
}
