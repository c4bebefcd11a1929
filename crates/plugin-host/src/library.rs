//! Opening a plugin library and checking that it is a strategy this host can call.
#![allow(unsafe_code)] // loading native code is unsafe by nature; each block says why it is sound here.

use crate::description::StrategyDescription;
use crate::error::PluginError;
use crate::failures::FailureLog;
use crate::ffi::{describe, read_static};
use kindred_plugin_abi::{
    ABI_MAJOR, ABI_MINOR, DESCRIPTOR_SIZE_1_0, EntryPoint, FLAG_PANIC_UNWIND, MAGIC, SYMBOL,
    StrategyDescriptor,
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

/// The plugin's descriptor as this host's [`StrategyDescriptor`]: the plugin's own when it
/// has every field, else a copy of the fields it has with the later ones (function pointers
/// added by later minors) left empty.
///
/// # Safety
/// `pointer` must point at `size` readable bytes that live for the rest of the process, with
/// `size` at least [`DESCRIPTOR_SIZE_1_0`].
unsafe fn widened(pointer: *const StrategyDescriptor, size: usize) -> &'static StrategyDescriptor {
    let full = std::mem::size_of::<StrategyDescriptor>();
    if size >= full {
        // SAFETY: every field this host knows is there.
        return unsafe { &*pointer };
    }
    let mut copy = Box::new(std::mem::MaybeUninit::<StrategyDescriptor>::zeroed());
    // SAFETY: `size` bytes are readable at `pointer` and fit in `copy`; the fields after them
    // are `Option`s of function pointers, for which all-zero bytes are `None`.
    unsafe {
        std::ptr::copy_nonoverlapping(pointer.cast::<u8>(), copy.as_mut_ptr().cast::<u8>(), size);
        Box::leak(copy).assume_init_ref()
    }
}

/// A loaded, checked strategy library. The library stays mapped for the life of the process.
#[derive(Debug, Clone)]
pub struct StrategyLibrary {
    /// The file it was loaded from: the plugin's path, or after a reload a copy named by
    /// its SHA-256.
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
    /// The hex SHA-256 of the file: names the build, so a saved state is only loaded into the
    /// build that saved it.
    pub sha256: String,
    /// Whether its instances can save their fitted state and load it (ABI 1.3 and later, when
    /// the plugin opts in).
    pub saves_state: bool,
    /// Where its code runs: loaded here, or in a worker process.
    pub(crate) source: LibrarySource,
    /// Its calls that failed since it was loaded.
    pub failures: FailureLog,
}

/// Where a library's code runs.
#[derive(Debug, Clone)]
pub(crate) enum LibrarySource {
    /// Loaded into this process; its descriptor is valid for the life of the process.
    Loaded(&'static StrategyDescriptor),
    /// In a worker process of its own.
    Isolated(std::sync::Arc<crate::isolation::IsolatedPlugin>),
}

/// The hex SHA-256 of a file.
pub fn sha256_hex(path: &Path) -> std::io::Result<String> {
    Ok(sha256_of(&std::fs::read(path)?))
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
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
    let found = sha256_hex(path)
        .map_err(|error| PluginError::Open { path: path.to_owned(), message: error.to_string() })?;
    if let Some(expected) = sha256
        && !found.eq_ignore_ascii_case(expected.trim())
    {
        return Err(PluginError::Checksum { path: path.to_owned(), expected: expected.to_owned(), found });
    }
    // SAFETY: loading a library runs its initialisers. The operator listed this file in the
    // config as a Kindred plugin (and may pin its hash); that trust is the contract.
    let library = unsafe { libloading::Library::new(path) }.map_err(|error| {
        // libloading says "dlopen failed" and keeps the loader's own words as the source.
        let message = match std::error::Error::source(&error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        };
        PluginError::Open { path: path.to_owned(), message }
    })?;
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
    let needed = DESCRIPTOR_SIZE_1_0;
    if (header.size as usize) < needed {
        return Err(incompatible(
            path,
            "descriptor size",
            format!("at least {needed} bytes"),
            header.size.to_string(),
        ));
    }
    // SAFETY: the header says the descriptor has at least the fields of ABI 1.0, and the
    // library is never unloaded.
    let descriptor = unsafe { widened(pointer, header.size as usize) };
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
        sha256: found,
        saves_state: descriptor.functions.save_state.is_some() && descriptor.functions.load_state.is_some(),
        source: LibrarySource::Loaded(descriptor),
        failures: FailureLog::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_plugin_abi::{FunctionTable, Instance, OwnedBytes, StaticStr, Status};

    unsafe extern "C" fn describe(_out: *mut OwnedBytes) -> Status {
        Status::OK
    }
    unsafe extern "C" fn create(_params: *const u8, _len: usize, _out: *mut Instance) -> Status {
        Status::OK
    }
    unsafe extern "C" fn fit(_instance: Instance, _input: *const kindred_plugin_abi::InputTables) -> Status {
        Status::OK
    }
    unsafe extern "C" fn assign(
        _instance: Instance,
        _input: *const kindred_plugin_abi::InputTables,
        _array: *mut kindred_plugin_abi::FFI_ArrowArray,
        _schema: *mut kindred_plugin_abi::FFI_ArrowSchema,
    ) -> Status {
        Status::OK
    }
    unsafe extern "C" fn bytes(_instance: Instance, _out: *mut OwnedBytes) -> Status {
        Status::OK
    }
    unsafe extern "C" fn last_error(_out: *mut OwnedBytes) -> Status {
        Status::OK
    }
    unsafe extern "C" fn free_bytes(_bytes: OwnedBytes) {}
    unsafe extern "C" fn destroy(_instance: Instance) {}

    #[test]
    fn a_1_0_descriptor_is_widened_with_no_instance_inputs() {
        let name = StaticStr { ptr: "n".as_ptr(), len: 1 };
        let descriptor: &'static StrategyDescriptor = Box::leak(Box::new(StrategyDescriptor {
            magic: MAGIC,
            abi_major: ABI_MAJOR,
            abi_minor: 0,
            size: DESCRIPTOR_SIZE_1_0 as u32,
            flags: FLAG_PANIC_UNWIND,
            name,
            version: name,
            sdk_version: name,
            functions: FunctionTable {
                describe,
                create,
                fit,
                assign,
                model: bytes,
                last_error,
                free_bytes,
                destroy,
                instance_inputs: Some(bytes),
                save_state: None,
                load_state: None,
            },
        }));
        // SAFETY: the descriptor is leaked, so it lives for the rest of the process.
        let full = unsafe { widened(descriptor, std::mem::size_of::<StrategyDescriptor>()) };
        assert!(std::ptr::eq(full, descriptor) && full.functions.instance_inputs.is_some());
        // SAFETY: as above; 1.0's size is smaller than the whole descriptor.
        let old = unsafe { widened(descriptor, DESCRIPTOR_SIZE_1_0) };
        assert!(old.functions.instance_inputs.is_none(), "fields past a 1.0 descriptor are empty");
        assert_eq!(old.magic, MAGIC);
        assert_eq!(old.functions.destroy as usize, descriptor.functions.destroy as usize);
    }
}
