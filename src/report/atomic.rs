//! Atomic file writing: write into a temporary file in the destination's folder, then rename it
//! over the destination. A reader (or a run interrupted half-way) sees either the old file or
//! the complete new one, never a truncated file.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;

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

    #[test]
    fn missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("x.txt");
        assert!(write_atomic(&path, b"x").is_err());
    }
}
