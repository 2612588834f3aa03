//! SIGTERM and SIGINT become a shutdown flag. As PID 1 in a container the kernel drops any
//! signal without a handler, so without this `docker stop` waits 10 s and then SIGKILLs.
// The one module with `unsafe`: std has no signal API and the crate has no dependencies.
#![allow(unsafe_code)]

use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
/// `SIG_ERR` is `(sighandler_t) -1`.
const SIG_ERR: usize = usize::MAX;

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
}

/// Only an atomic store: the one kind of work that is async-signal-safe here.
extern "C" fn on_signal(_signum: c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the handlers; false if libc refused one.
pub fn install() -> bool {
    [SIGINT, SIGTERM].into_iter().all(|signum| {
        // SAFETY: `on_signal` has the C signature `signal` expects and touches nothing but
        // a static atomic, so it is safe to run at any point of any thread.
        unsafe { signal(signum, on_signal) != SIG_ERR }
    })
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Blocks until a shutdown signal arrives. Polling keeps the handler trivial.
pub fn wait() {
    while !requested() {
        std::thread::sleep(Duration::from_millis(20));
    }
}
