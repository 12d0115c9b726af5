//! Atomic file writing: write into a temporary file in the destination's folder, then rename it
//! over the destination. A reader (or a run interrupted half-way) sees either the old file or
//! the complete new one, never a truncated file.
//!
//! A command's output folder holds one result, whole: [`ResultDir`] has the command write its
//! files into a staging folder beside the output folder, then swaps the staging folder in, so
//! a failed or interrupted command (a full disk, Ctrl-C, `kill -9`) leaves the earlier result
//! exactly as it was, and a finished one leaves nothing older beside its files.
//!
//! What is the tool's: the files listed in the folder's [`MANIFEST`] (or, in a folder written
//! before manifests existed, the names the command itself writes), and hidden leftovers of the
//! tool's own temporary naming (`.<one of those names>.<random>...`, e.g. the `.runs.csv.*.tmp`
//! of a killed run). Everything else in the folder (a user's notes, another command's
//! sub-folder, the partial results of `run --shard`) is carried into the new result untouched.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

/// Write `bytes` to `path` atomically (temporary file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = temp_beside(path, "")?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Let `write` create the file at a temporary path (in the same folder as `path`, ending with
/// `suffix`, e.g. `".png"` for writers that pick the format from the extension), then rename the
/// result over `path`. The temporary file is removed if `write` fails.
pub fn write_atomic_via_path<E, F>(path: &Path, suffix: &str, write: F) -> Result<(), E>
where
    F: FnOnce(&Path) -> Result<(), E>,
    E: From<io::Error>,
{
    let tmp = temp_beside(path, suffix)?;
    write(tmp.path())?;
    // The writer may have replaced the file: reopen it by path for syncing.
    std::fs::File::open(tmp.path())?.sync_all()?;
    tmp.persist(path).map_err(|e| E::from(e.error))?;
    Ok(())
}

/// A hidden temporary file next to `path`: `.<file name>.<random><suffix>`.
pub(crate) fn temp_beside(path: &Path, suffix: &str) -> io::Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )
    })?;
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    // Temporary files are private (0600) by default; a report is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir)
}

/// The file in every output folder that lists the files of its result and what made them.
pub const MANIFEST: &str = "manifest.json";

/// The contents of [`MANIFEST`]. No wall-clock values: the same command gives the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always "alliance-sim".
    pub tool: String,
    pub version: String,
    /// The command that wrote the result: "run", "merge", "report", "compare", "sweep" or
    /// "sensitivity".
    pub command: String,
    /// What the files were computed from (scenario file and hash, seed, runs, sampling, ...).
    pub source: String,
    /// The result's files (this manifest aside), by name, with their sizes in bytes.
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub bytes: u64,
}

/// A result being written: its files go into [`ResultDir::path`], a hidden staging folder
/// beside the output folder (`.<name>.new-<pid>-<random>`, on the same file system), and
/// [`ResultDir::commit`] swaps it in. Dropped without a commit (an error, Ctrl-C), the staging
/// folder is removed and the output folder was never touched.
pub struct ResultDir {
    target: PathBuf,
    staging: tempfile::TempDir,
}

impl ResultDir {
    /// Starts a result for the folder `target` (created with its parents at commit if missing).
    /// Removes the staging and swap folders that killed commands left beside it (those whose
    /// process is gone), and first puts back a result that a crash left outside the folder.
    pub fn begin(target: &Path) -> io::Result<ResultDir> {
        let parent = parent_of(target);
        std::fs::create_dir_all(parent)?;
        let name = folder_name(target)?;
        clean_abandoned(parent, &name, target)?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.new-{}-", std::process::id()))
            .tempdir_in(parent)?;
        Ok(ResultDir {
            target: target.to_path_buf(),
            staging,
        })
    }

    /// Where the command writes its files.
    pub fn path(&self) -> &Path {
        self.staging.path()
    }

    /// The output folder the result will be in.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where `file` (a path inside [`ResultDir::path`]) will be once committed.
    pub fn final_path(&self, file: &Path) -> PathBuf {
        match file.strip_prefix(self.staging.path()) {
            Ok(rest) => self.target.join(rest),
            Err(_) => file.to_path_buf(),
        }
    }

    /// Writes the manifest and swaps the staging folder in. `own_names` are the names this
    /// command writes (used to tell the tool's files in a folder without a manifest); `keep`
    /// names files of the previous result that belong to the new one too (`report` keeps the
    /// summary and runs it redraws from), moved over unchanged.
    ///
    /// The swap is two renames (the old folder aside, the new one in), after the user's entries
    /// have been moved into the new folder; the old folder, which then holds only the tool's
    /// old files, is removed. If the second rename fails the old folder is put back.
    pub fn commit(
        self,
        command: &str,
        source: &str,
        own_names: &[String],
        keep: &[&str],
    ) -> io::Result<()> {
        let staging = self.staging.path().to_path_buf();
        let target = self.target.clone();
        let mut moved: Vec<OsString> = Vec::new();
        let result = swap_in(
            &staging, &target, command, source, own_names, keep, &mut moved,
        );
        match result {
            Ok(()) => {
                // The staging folder is now the output folder: nothing to remove on drop.
                let _ = self.staging.keep();
                Ok(())
            }
            Err(e) => {
                // Put the carried entries back; if one cannot be, keep the staging folder
                // rather than delete a user's file with it.
                let all_back = target.is_dir()
                    && moved
                        .iter()
                        .all(|name| std::fs::rename(staging.join(name), target.join(name)).is_ok());
                if !all_back && !moved.is_empty() {
                    let kept = self.staging.keep();
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "{e} (files carried over from {} are in {})",
                            target.display(),
                            kept.display()
                        ),
                    ));
                }
                Err(e)
            }
        }
    }
}

/// The steps of [`ResultDir::commit`]; `moved` records the entries carried from `target`
/// into `staging`, for the caller to put back on failure.
fn swap_in(
    staging: &Path,
    target: &Path,
    command: &str,
    source: &str,
    own_names: &[String],
    keep: &[&str],
    moved: &mut Vec<OsString>,
) -> io::Result<()> {
    if !target.is_dir() {
        write_manifest(staging, command, source, moved, keep)?;
        return std::fs::rename(staging, target);
    }
    let tool = tool_entries(target, own_names)?;
    for name in keep {
        let from = target.join(name);
        if from.is_file() && !staging.join(name).exists() {
            std::fs::rename(&from, staging.join(name))?;
            moved.push(OsString::from(name));
        }
    }
    for entry in std::fs::read_dir(target)? {
        let name = entry?.file_name();
        if tool.contains(&name) || staging.join(&name).exists() {
            continue;
        }
        std::fs::rename(target.join(&name), staging.join(&name))?;
        moved.push(name);
    }
    write_manifest(staging, command, source, moved, keep)?;
    let old = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.old-{}-",
            folder_name(target)?,
            std::process::id()
        ))
        .tempdir_in(parent_of(target))?
        .keep();
    // `old` exists (empty) so that no other process takes its name; a folder is renamed
    // over an empty one.
    std::fs::rename(target, &old)?;
    if let Err(e) = std::fs::rename(staging, target) {
        std::fs::rename(&old, target)?;
        return Err(e);
    }
    // Only the previous result's files and the tool's leftovers are left in it.
    std::fs::remove_dir_all(&old)
}

/// Lists the new result's files in its manifest: every file in `staging` but the entries
/// carried over from the user (`moved`, unless named in `keep`).
fn write_manifest(
    staging: &Path,
    command: &str,
    source: &str,
    moved: &[OsString],
    keep: &[&str],
) -> io::Result<()> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(staging)? {
        let entry = entry?;
        let name = entry.file_name();
        let kept = keep.iter().any(|k| name == *k);
        if (moved.contains(&name) && !kept) || name == MANIFEST || !entry.file_type()?.is_file() {
            continue;
        }
        files.push(ManifestFile {
            name: name.to_string_lossy().into_owned(),
            bytes: entry.metadata()?.len(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = Manifest {
        tool: "alliance-sim".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: command.into(),
        source: source.into(),
        files,
    };
    let mut text = serde_json::to_string_pretty(&manifest).map_err(io::Error::other)?;
    text.push('\n');
    write_atomic(&staging.join(MANIFEST), text.as_bytes())
}

/// The entries of `folder` that are the tool's: the previous manifest's files (or, without one,
/// those of `own_names` present), the manifest, and hidden leftovers named after any of them.
fn tool_entries(folder: &Path, own_names: &[String]) -> io::Result<Vec<OsString>> {
    let listed: Option<Vec<String>> = std::fs::read_to_string(folder.join(MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
        .filter(|m| m.tool == "alliance-sim")
        .map(|m| m.files.into_iter().map(|f| f.name).collect());
    let mut names: Vec<String> = listed.unwrap_or_default();
    names.extend(own_names.iter().cloned());
    names.push(MANIFEST.into());
    let mut tool = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        let is_file = entry.file_type()?.is_file();
        let ours = names.iter().any(|n| *n == text)
            || names.iter().any(|n| {
                text.strip_prefix('.')
                    .and_then(|t| t.strip_prefix(n.as_str()))
                    .is_some_and(|rest| rest.starts_with('.'))
            });
        if ours && is_file {
            tool.push(name);
        }
    }
    Ok(tool)
}

/// Removes `.<name>.new-<pid>-*` and `.<name>.old-<pid>-*` folders beside `target` whose
/// process is gone. If `target` itself is missing (a crash between the two renames of a
/// swap), a complete staging folder (it has its manifest) or the old folder is put back first.
fn clean_abandoned(parent: &Path, name: &str, target: &Path) -> io::Result<()> {
    let mut abandoned = Vec::new();
    for entry in std::fs::read_dir(parent)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let text = file_name.to_string_lossy();
        let Some(rest) = text.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let Some(tail) = rest
            .strip_prefix("new-")
            .or_else(|| rest.strip_prefix("old-"))
        else {
            continue;
        };
        let pid = tail.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if entry.file_type()?.is_dir() && pid.is_some_and(|p| !process_alive(p)) {
            abandoned.push((rest.starts_with("new-"), entry.path()));
        }
    }
    if !target.exists() {
        let complete = abandoned
            .iter()
            .position(|(new, p)| *new && p.join(MANIFEST).is_file())
            .or_else(|| abandoned.iter().position(|(new, _)| !new));
        if let Some(i) = complete {
            let (_, path) = abandoned.remove(i);
            std::fs::rename(path, target)?;
        }
    }
    for (_, path) in abandoned {
        std::fs::remove_dir_all(path)?;
    }
    Ok(())
}

/// Whether process `pid` still runs. Where that cannot be told (no `/proc`), every process
/// counts as running, so nothing in use is ever removed.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn folder_name(path: &Path) -> io::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a folder path: {}", path.display()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
        assert_eq!(entries(dir.path()), vec!["a.txt".to_string()]);
    }

    #[test]
    fn via_path_persists_and_cleans_up_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.png");
        write_atomic_via_path::<io::Error, _>(&path, ".png", |tmp| {
            assert!(tmp.to_string_lossy().ends_with(".png"));
            std::fs::write(tmp, b"png bytes")
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"png bytes");

        let failed =
            write_atomic_via_path::<io::Error, _>(&dir.path().join("c.png"), ".png", |_| {
                Err(io::Error::other("boom"))
            });
        assert!(failed.is_err());
        assert_eq!(entries(dir.path()), vec!["b.png".to_string()]);
    }

    fn own() -> Vec<String> {
        vec![
            "summary.json".into(),
            "runs.csv".into(),
            "report.html".into(),
        ]
    }

    #[test]
    fn a_result_replaces_the_previous_one_and_keeps_the_users_entries() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("study");
        let first = ResultDir::begin(&target).unwrap();
        std::fs::write(first.path().join("summary.json"), "one").unwrap();
        std::fs::write(first.path().join("report.html"), "one").unwrap();
        first.commit("run", "first", &own(), &[]).unwrap();
        std::fs::write(target.join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(target.join("sweep")).unwrap();
        std::fs::write(target.join(".report.html.a1b2c3"), "leftover").unwrap();

        let second = ResultDir::begin(&target).unwrap();
        std::fs::write(second.path().join("summary.json"), "two").unwrap();
        assert_eq!(
            second.final_path(&second.path().join("summary.json")),
            target.join("summary.json")
        );
        second.commit("run", "second", &own(), &[]).unwrap();
        assert_eq!(
            entries(&target),
            ["manifest.json", "notes.txt", "summary.json", "sweep"]
        );
        assert_eq!(std::fs::read(target.join("summary.json")).unwrap(), b"two");
        let manifest: Manifest =
            serde_json::from_slice(&std::fs::read(target.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest.source, "second");
        let names: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["summary.json"]);
        assert_eq!(entries(dir.path()), ["study"]);
    }

    #[test]
    fn a_result_dropped_before_its_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("study");
        let first = ResultDir::begin(&target).unwrap();
        std::fs::write(first.path().join("summary.json"), "one").unwrap();
        first.commit("run", "first", &own(), &[]).unwrap();
        let failed = ResultDir::begin(&target).unwrap();
        std::fs::write(failed.path().join("summary.json"), "half").unwrap();
        drop(failed);
        assert_eq!(entries(dir.path()), ["study"]);
        assert_eq!(std::fs::read(target.join("summary.json")).unwrap(), b"one");
    }

    #[test]
    fn abandoned_staging_is_removed_and_a_complete_one_restored() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("study");
        // A pid that cannot be running (above the kernel's limit of 2^22).
        let dead = dir.path().join(".study.new-4999999-abc");
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("summary.json"), "done").unwrap();
        std::fs::write(dead.join(MANIFEST), "{}").unwrap();
        let stale = dir.path().join(".study.old-4999999-def");
        std::fs::create_dir(&stale).unwrap();
        let live = dir
            .path()
            .join(format!(".study.new-{}-ghi", std::process::id()));
        std::fs::create_dir(&live).unwrap();
        let result = ResultDir::begin(&target).unwrap();
        // The complete result a crash left outside the folder is back; the rest of the dead
        // process's folders are gone, the live one's kept.
        assert_eq!(std::fs::read(target.join("summary.json")).unwrap(), b"done");
        assert!(!dead.exists() && !stale.exists() && live.exists());
        drop(result);
    }

    #[test]
    fn missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("x.txt");
        assert!(write_atomic(&path, b"x").is_err());
    }
}
