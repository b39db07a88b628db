//! The local [`Session`]: a directory on this machine (a drop folder, a mounted share) with the
//! same semantics as a server, so jobs and the quick start can run without one.
//!
//! Relative paths are resolved against `root`; renames replace their target atomically.

use super::{
    CopyError, RemoteFile, Session, TransferError, copy_chunks, open_download_target, remote_join,
};
use chrono::{DateTime, Utc};
use std::fs;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A directory used as an endpoint.
#[derive(Debug)]
pub(crate) struct LocalSession {
    label: String,
    root: PathBuf,
}

impl LocalSession {
    /// Checks that `root` is a directory.
    pub(crate) fn open(root: &Path) -> Result<LocalSession, TransferError> {
        let label = format!("local:{}", root.display());
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => Ok(LocalSession {
                label,
                root: root.to_owned(),
            }),
            Ok(_) => Err(TransferError::Setup {
                endpoint: label,
                reason: "not a directory".to_owned(),
            }),
            Err(e) => Err(TransferError::Setup {
                endpoint: label,
                reason: e.to_string(),
            }),
        }
    }

    /// `path` resolved against the root (absolute paths stay as they are).
    fn resolve(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }

    /// Maps an I/O error on the endpoint side: "not found" like a server's, the rest as local.
    fn error(&self, operation: &'static str, path: &str, e: io::Error) -> TransferError {
        if e.kind() == io::ErrorKind::NotFound {
            TransferError::NotFound {
                endpoint: self.label.clone(),
                operation,
                path: path.to_owned(),
            }
        } else {
            TransferError::local(operation, self.resolve(path), e)
        }
    }
}

impl Session for LocalSession {
    fn endpoint(&self) -> &str {
        &self.label
    }

    fn list(&mut self, dir: &str) -> Result<Vec<RemoteFile>, TransferError> {
        let entries = fs::read_dir(self.resolve(dir)).map_err(|e| self.error("list", dir, e))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.error("list", dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // Follows links, like a server's listing of a link to a file.
            let Ok(meta) = fs::metadata(entry.path()) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            files.push(RemoteFile {
                path: remote_join(dir, &name),
                name,
                size: meta.len(),
                modified: meta.modified().ok().map(DateTime::<Utc>::from),
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    fn download(
        &mut self,
        remote: &str,
        local: &Path,
        offset: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        let mut source =
            fs::File::open(self.resolve(remote)).map_err(|e| self.error("download", remote, e))?;
        if offset > 0 {
            source
                .seek(SeekFrom::Start(offset))
                .map_err(|e| self.error("download", remote, e))?;
        }
        let mut target = open_download_target(local, offset)?;
        copy_chunks(&mut source, &mut target, offset, progress).map_err(|e| match e {
            CopyError::Read(e) => self.error("download", remote, e),
            CopyError::Write(e) => TransferError::local("write", local, e),
        })
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, TransferError> {
        let mut source =
            fs::File::open(local).map_err(|e| TransferError::local("open", local, e))?;
        let mut target =
            fs::File::create(self.resolve(remote)).map_err(|e| self.error("upload", remote, e))?;
        copy_chunks(&mut source, &mut target, 0, progress).map_err(|e| match e {
            CopyError::Read(e) => TransferError::local("read", local, e),
            CopyError::Write(e) => self.error("upload", remote, e),
        })
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), TransferError> {
        fs::rename(self.resolve(from), self.resolve(to)).map_err(|e| self.error("rename", from, e))
    }

    fn delete(&mut self, path: &str) -> Result<(), TransferError> {
        fs::remove_file(self.resolve(path)).map_err(|e| self.error("delete", path, e))
    }

    fn size(&mut self, path: &str) -> Result<Option<u64>, TransferError> {
        match fs::metadata(self.resolve(path)) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error("size", path, e)),
        }
    }

    fn mkdir_all(&mut self, dir: &str) -> Result<(), TransferError> {
        fs::create_dir_all(self.resolve(dir)).map_err(|e| self.error("mkdir", dir, e))
    }
}
