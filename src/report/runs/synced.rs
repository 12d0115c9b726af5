//! A file synced to the disk as it is written, by a thread of its own.
//!
//! Why: a per-run file is hundreds of megabytes at 10^6 runs. Synced only when it is complete,
//! the whole file is waited for at once after the study (0.61 s for `runs.parquet` at 10^6
//! runs on the machine in docs/performance.md). Synced in parts while the study goes on, the
//! final sync waits only for the last part, and the writer never waits for the disk.

use std::io::{self, Write};
use std::sync::mpsc;

/// Bytes written between two requests for a sync.
const SYNC_EVERY: u64 = 16 << 20;

/// A temporary file whose bytes are synced in the background every [`SYNC_EVERY`] bytes.
/// Put a buffer in front of it: each write is a system call.
pub struct SyncedFile {
    file: tempfile::NamedTempFile,
    syncer: BackgroundSync,
    unsynced: u64,
}

impl SyncedFile {
    pub fn new(file: tempfile::NamedTempFile) -> io::Result<SyncedFile> {
        let syncer = BackgroundSync::start(file.as_file())?;
        Ok(SyncedFile {
            file,
            syncer,
            unsynced: 0,
        })
    }

    /// Waits for the background syncs, syncs the rest and returns the file; the first failure
    /// of any sync, if one failed.
    pub fn finish(self) -> io::Result<tempfile::NamedTempFile> {
        self.syncer.finish()?;
        self.file.as_file().sync_all()?;
        Ok(self.file)
    }
}

impl Write for SyncedFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.unsynced += written as u64;
        if self.unsynced >= SYNC_EVERY {
            self.syncer.request();
            self.unsynced = 0;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Syncs a file to the disk on request, on a thread of its own. A failure is kept for
/// [`BackgroundSync::finish`]: the file shares its error state with the handle synced here,
/// so an error seen here would not be seen again by the final sync.
struct BackgroundSync {
    requests: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl BackgroundSync {
    fn start(file: &std::fs::File) -> io::Result<BackgroundSync> {
        let file = file.try_clone()?;
        let (requests, received) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("runs-sync".into())
            .spawn(move || {
                while received.recv().is_ok() {
                    // Requests made while syncing are served by the next sync.
                    while received.try_recv().is_ok() {}
                    file.sync_data()?;
                }
                Ok(())
            })?;
        Ok(BackgroundSync { requests, thread })
    }

    fn request(&self) {
        // A thread that stopped has a failure, which `finish` reports.
        let _ = self.requests.send(());
    }

    /// Waits for the syncs requested so far; the first failure, if one failed.
    fn finish(self) -> io::Result<()> {
        drop(self.requests);
        self.thread.join().unwrap_or_else(|_| {
            Err(io::Error::other(
                "the thread syncing a per-run file stopped",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_written_is_in_the_finished_file() {
        let dir = tempfile::tempdir().unwrap();
        let temp = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        let mut file = io::BufWriter::new(SyncedFile::new(temp).unwrap());
        // Past two sync requests, in writes of an awkward length.
        let chunk: Vec<u8> = (0..=250u8).collect();
        let mut expected = Vec::new();
        while expected.len() < 2 * SYNC_EVERY as usize + 1000 {
            file.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        let file = file.into_inner().map_err(|e| e.into_error()).unwrap();
        let temp = file.finish().unwrap();
        assert_eq!(std::fs::read(temp.path()).unwrap(), expected);
    }
}
