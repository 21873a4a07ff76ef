//! A folder's writes reach the disk in the background, the whole filesystem at a time.
//!
//! Each write is in the kernel's page cache once it is made, so a process that is killed loses
//! none of them. What a sync per write bought was safety from a crash of the machine itself (a
//! power cut, a kernel panic), and it cost a job more than all of its other work. Now a crash
//! of the machine can lose what was written in the last [`EVERY`] before it. The next process
//! to open the folder sees that from the session note, and the gallery rebuilds what it shows
//! from the pictures that are whole. S3 keeps every write it acknowledges, so none of this
//! applies to it.

use std::{
    fs::File,
    io::{self, Write},
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use serde::{Deserialize, Serialize};

/// How long a write may wait in the page cache at most (plus the time one sync takes).
pub const EVERY: Duration = Duration::from_millis(500);

/// Written, and synced, when a process starts using the folder and when it stops; beside
/// Easel's other bookkeeping.
const SESSION: [&str; 2] = ["_easel", "session.json"];

/// Held locked for as long as a process has the folder open: two processes writing one folder
/// would lose each other's ledger updates, since a folder cannot compare-and-swap.
const LOCK: [&str; 2] = ["_easel", "lock"];

#[derive(Debug)]
pub struct Folder {
    root: PathBuf,
    lock: Mutex<Option<File>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Session {
    /// The kernel's id for the boot this process ran in; unknown outside Linux.
    boot: Option<String>,
    /// Every write of the session was synced before it ended.
    closed: bool,
}

impl Folder {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            lock: Mutex::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes everything written so far durable.
    pub async fn sync(&self) -> io::Result<()> {
        let root = self.root.clone();
        blocking(move || sync_filesystem(&root)).await
    }

    /// Notes that this process now has the folder open, and answers whether the last process
    /// to have it may have lost writes: it never closed its session, and the machine has
    /// started again since (a process that is only killed leaves its writes to the kernel).
    /// Fails with [`io::ErrorKind::WouldBlock`] while another process has it open.
    pub async fn open_session(&self) -> io::Result<bool> {
        {
            let mut held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            if held.is_none() {
                *held = Some(lock_exclusively(&self.root)?);
            }
        }
        let root = self.root.clone();
        blocking(move || {
            let boot = boot_id();
            let last: Option<Session> = std::fs::read(session_path(&root))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let lost = last.is_some_and(|last| {
                !last.closed && (last.boot.is_none() || boot.is_none() || last.boot != boot)
            });
            write_synced(
                &root,
                &Session {
                    boot,
                    closed: false,
                },
            )?;
            Ok(lost)
        })
        .await
    }

    /// Syncs every write, then notes that the session ended with nothing left to lose, and
    /// lets the next process have the folder.
    pub async fn close_session(&self) -> io::Result<()> {
        self.sync().await?;
        let root = self.root.clone();
        blocking(move || {
            write_synced(
                &root,
                &Session {
                    boot: boot_id(),
                    closed: true,
                },
            )
        })
        .await?;
        // Closing the file releases its lock.
        self.lock.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(())
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

fn sync_filesystem(root: &Path) -> io::Result<()> {
    let folder = File::open(root)?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&folder)?;
    #[cfg(not(target_os = "linux"))]
    {
        drop(folder);
        rustix::fs::sync();
    }
    Ok(())
}

/// Replaces the session note, durably: a temporary file synced, renamed over, and its folder
/// synced.
fn write_synced(root: &Path, session: &Session) -> io::Result<()> {
    let path = session_path(root);
    let folder = path.parent().expect("the session note is in a folder");
    std::fs::create_dir_all(folder)?;
    let temporary = path.with_extension("json#new");
    let mut file = File::create(&temporary)?;
    file.write_all(&serde_json::to_vec(session).map_err(io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(&temporary, &path)?;
    File::open(folder)?.sync_all()
}

fn session_path(root: &Path) -> PathBuf {
    in_root(root, &SESSION)
}

fn in_root(root: &Path, parts: &[&str]) -> PathBuf {
    parts
        .iter()
        .fold(root.to_path_buf(), |path, part| path.join(part))
}

/// The folder's lock file, locked for this process alone; the kernel releases it when the
/// process ends, however it ends.
fn lock_exclusively(root: &Path) -> io::Result<File> {
    let path = in_root(root, &LOCK);
    std::fs::create_dir_all(path.parent().expect("the lock file is in a folder"))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
    Ok(file)
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_session_left_open_across_a_restart_of_the_machine_may_have_lost_writes() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path().into());
        assert!(!folder.open_session().await.unwrap(), "a new folder");
        assert!(
            !folder.open_session().await.unwrap(),
            "a killed process, the same boot"
        );
        folder.close_session().await.unwrap();
        assert!(!folder.open_session().await.unwrap(), "a clean stop");

        let crashed = Session {
            boot: Some("an earlier boot".into()),
            closed: false,
        };
        write_synced(dir.path(), &crashed).unwrap();
        assert!(
            folder.open_session().await.unwrap(),
            "a crash of the machine"
        );
        assert!(!folder.open_session().await.unwrap(), "noted once");
    }
}
