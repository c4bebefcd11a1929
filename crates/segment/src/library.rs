//! Opening a plugin library and checking that it is a strategy this host can call.
#![allow(unsafe_code)] // loading native code is unsafe by nature; each block says why it is sound here.

use crate::description::StrategyDescription;
use crate::error::PluginError;
use crate::ffi::{describe, read_static};
use kindred_plugin_abi::{
    ABI_MAJOR, ABI_MINOR, EntryPoint, FLAG_PANIC_UNWIND, MAGIC, SYMBOL, StrategyDescriptor,
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The oldest ABI minor this host can call (it needs every function of 1.0).
pub const REQUIRED_MINOR: u16 = 0;

/// The leading fields of every descriptor, whatever its minor: read before trusting the rest.
#[repr(C)]
struct Header {
    magic: u64,
    abi_major: u16,
    abi_minor: u16,
    size: u32,
}

/// A loaded, checked strategy library. The library stays mapped for the life of the process.
#[derive(Debug, Clone)]
pub struct StrategyLibrary {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The strategy's name, from its descriptor.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The SDK version it was built with.
    pub sdk_version: String,
    /// `major.minor` of the ABI it was built against.
    pub abi_version: String,
    /// What it says about itself.
    pub description: StrategyDescription,
    /// Its descriptor, valid for the life of the process.
    pub(crate) descriptor: &'static StrategyDescriptor,
}

/// The hex SHA-256 of a file.
pub fn sha256_hex(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect())
}

fn incompatible(path: &Path, what: &'static str, expected: String, found: String) -> PluginError {
    PluginError::Incompatible { path: path.to_owned(), what, expected, found }
}

/// Opens the library at `path` (checking its SHA-256 first when `sha256` is given), finds
/// `kindred_strategy_v1`, checks the descriptor and asks the strategy to describe itself.
pub fn load(path: &Path, sha256: Option<&str>) -> Result<StrategyLibrary, PluginError> {
    if !path.is_file() {
        return Err(PluginError::Missing { path: path.to_owned() });
    }
    if let Some(expected) = sha256 {
        let found = sha256_hex(path)
            .map_err(|error| PluginError::Open { path: path.to_owned(), message: error.to_string() })?;
        if !found.eq_ignore_ascii_case(expected.trim()) {
            return Err(PluginError::Checksum {
                path: path.to_owned(),
                expected: expected.to_owned(),
                found,
            });
        }
    }
    // SAFETY: loading a library runs its initialisers. The operator listed this file in the
    // config as a Kindred plugin (and may pin its hash); that trust is the contract.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|error| PluginError::Open { path: path.to_owned(), message: error.to_string() })?;
    // Libraries are never unloaded: instances, Arrow release callbacks and strings may point
    // into them for as long as the process runs.
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    // SAFETY: the symbol's type is the ABI's entry point; a library exporting this name with
    // another type breaks the ABI contract, which the magic number below guards against.
    let entry: libloading::Symbol<'static, EntryPoint> =
        unsafe { library.get(SYMBOL) }.map_err(|_| PluginError::NoSymbol { path: path.to_owned() })?;
    // SAFETY: calling the entry point has no preconditions.
    let pointer = unsafe { entry() };
    if pointer.is_null() {
        return Err(incompatible(path, "descriptor", "a pointer".into(), "null".into()));
    }
    // SAFETY: every ABI version starts the descriptor with this header.
    let header = unsafe { &*pointer.cast::<Header>() };
    if header.magic != MAGIC {
        return Err(incompatible(path, "magic", format!("{MAGIC:#018x}"), format!("{:#018x}", header.magic)));
    }
    if header.abi_major != ABI_MAJOR {
        return Err(incompatible(
            path,
            "ABI major version",
            format!("{ABI_MAJOR} (ABI {ABI_MAJOR}.{ABI_MINOR})"),
            format!("{} (ABI {}.{})", header.abi_major, header.abi_major, header.abi_minor),
        ));
    }
    // Always false while the host needs only 1.0; kept for when it needs a later minor.
    #[allow(clippy::absurd_extreme_comparisons)]
    let too_old = header.abi_minor < REQUIRED_MINOR;
    if too_old {
        return Err(incompatible(
            path,
            "ABI minor version",
            format!("{REQUIRED_MINOR} or later"),
            header.abi_minor.to_string(),
        ));
    }
    let needed = std::mem::size_of::<StrategyDescriptor>();
    if (header.size as usize) < needed {
        return Err(incompatible(
            path,
            "descriptor size",
            format!("at least {needed} bytes"),
            header.size.to_string(),
        ));
    }
    // SAFETY: the header says the descriptor has at least the fields this host knows.
    let descriptor: &'static StrategyDescriptor = unsafe { &*pointer };
    if descriptor.flags & FLAG_PANIC_UNWIND == 0 {
        return Err(incompatible(
            path,
            "panic strategy",
            "panic = \"unwind\" (so a panic becomes an error)".into(),
            "panic = \"abort\" (a panic would stop the server)".into(),
        ));
    }
    // SAFETY: the descriptor's strings are static in a library that is never unloaded.
    let (name, version, sdk_version) = unsafe {
        (read_static(descriptor.name), read_static(descriptor.version), read_static(descriptor.sdk_version))
    };
    let description =
        describe(descriptor).map_err(|message| PluginError::Describe { path: path.to_owned(), message })?;
    Ok(StrategyLibrary {
        path: path.to_owned(),
        name,
        version,
        sdk_version,
        abi_version: format!("{}.{}", header.abi_major, header.abi_minor),
        description,
        descriptor,
    })
}
