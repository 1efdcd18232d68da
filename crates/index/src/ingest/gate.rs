//! The byte gate between the parsers and the writer: memory stays bounded however far the
//! parsers could run ahead of the commits.

use std::sync::Mutex;

/// Bounds the bytes between the parsers and the writer: a parser waits before reading a file
/// while the files read ahead exceed the limit (one file always passes, however large).
pub(super) struct ByteGate {
    state: Mutex<(u64, bool)>,
    changed: std::sync::Condvar,
    limit: u64,
}

impl ByteGate {
    pub(super) fn new(limit: u64) -> Self {
        ByteGate {
            state: Mutex::new((0, false)),
            changed: std::sync::Condvar::new(),
            limit,
        }
    }

    pub(super) fn acquire(&self, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.1 && state.0 > 0 && state.0 + bytes > self.limit {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.0 += bytes;
    }

    pub(super) fn release(&self, bytes: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = state.0.saturating_sub(bytes);
        self.changed.notify_all();
    }

    /// Opens the gate for good when dropped: a writer that stopped must not leave parsers
    /// waiting for bytes it will never take.
    pub(super) fn closer(&self) -> impl Drop + '_ {
        struct Close<'g>(&'g ByteGate);
        impl Drop for Close<'_> {
            fn drop(&mut self) {
                let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
                state.1 = true;
                self.0.changed.notify_all();
            }
        }
        Close(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Runs `acquire(bytes)` on a thread; the receiver hears when it got through.
    fn acquire_on_thread<'s>(
        scope: &'s std::thread::Scope<'s, '_>,
        gate: &'s ByteGate,
        bytes: u64,
    ) -> mpsc::Receiver<()> {
        let (done, passed) = mpsc::channel();
        scope.spawn(move || {
            gate.acquire(bytes);
            let _ = done.send(());
        });
        passed
    }

    #[test]
    fn the_byte_gate_holds_readers_back_until_bytes_are_taken() {
        let gate = ByteGate::new(10);
        gate.acquire(8);
        std::thread::scope(|scope| {
            let passed = acquire_on_thread(scope, &gate, 5);
            assert!(passed.recv_timeout(Duration::from_millis(100)).is_err());
            gate.release(8);
            assert!(passed.recv_timeout(Duration::from_secs(10)).is_ok());
        });
        // One file always passes, however large.
        let empty = ByteGate::new(10);
        empty.acquire(1 << 30);
    }

    #[test]
    fn a_stopped_writer_opens_the_gate() {
        let gate = ByteGate::new(10);
        gate.acquire(8);
        std::thread::scope(|scope| {
            let passed = acquire_on_thread(scope, &gate, 5);
            assert!(passed.recv_timeout(Duration::from_millis(100)).is_err());
            drop(gate.closer());
            assert!(passed.recv_timeout(Duration::from_secs(10)).is_ok());
        });
    }
}
