//! The workspace master key: `CUSTODIA_MASTER_KEY` (hex) or `.custodia/keys/master.key`
//! (mode 0600) under the workspace, created on first use by commands that write
//! pseudonyms. The full keyring (region keys, per-subject keys) grows from here.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use custodia_core::keys::{MasterKey, MASTER_KEY_LEN};
use rand::RngCore;

use crate::EngineError;

/// Environment variable that overrides the key file.
pub const MASTER_KEY_ENV: &str = "CUSTODIA_MASTER_KEY";

/// Where the key file lives in a workspace.
pub fn key_path(workspace: &Path) -> PathBuf {
    workspace.join(".custodia").join("keys").join("master.key")
}

/// Whether a missing key may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    /// Create a fresh key (commands that produce pseudonyms).
    Create,
    /// Fail (commands that reverse pseudonyms: a fresh key could reverse nothing).
    Fail,
}

/// Loads the master key from the environment or the workspace key file.
pub fn load_master_key(workspace: &Path, if_missing: IfMissing) -> Result<MasterKey, EngineError> {
    if let Ok(hex) = std::env::var(MASTER_KEY_ENV).map(zeroize::Zeroizing::new) {
        return MasterKey::from_hex(&hex)
            .map_err(|e| EngineError::Key(format!("{MASTER_KEY_ENV}: {e}")));
    }
    let path = key_path(workspace);
    match fs::read_to_string(&path) {
        Ok(text) => MasterKey::from_hex(&zeroize::Zeroizing::new(text))
            .map_err(|e| EngineError::Key(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match if_missing {
            IfMissing::Create => create_key(&path),
            IfMissing::Fail => Err(EngineError::Key(format!(
                "no master key: {} does not exist and {MASTER_KEY_ENV} is not set; run the \
                 command in the workspace that de-identified the data (--workspace DIR) or set \
                 {MASTER_KEY_ENV}",
                path.display()
            ))),
        },
        Err(e) => Err(EngineError::io(path, e)),
    }
}

fn create_key(path: &Path) -> Result<MasterKey, EngineError> {
    let dir = path.parent().expect("key path has a parent");
    fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    let mut bytes = zeroize::Zeroizing::new([0u8; MASTER_KEY_LEN]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    let key = MasterKey::from_bytes(*bytes);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(key.to_hex().as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| EngineError::io(path, e))?;
            Ok(key)
        }
        // Another process created it first: use theirs, so both agree.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_master_key(
            path.parent()
                .and_then(Path::parent)
                .and_then(Path::parent)
                .unwrap_or(Path::new(".")),
            IfMissing::Fail,
        ),
        Err(e) => Err(EngineError::io(path, e)),
    }
}
