//! A ledger's entries as one self-checking stream (`ledger.dump` in a backup bundle,
//! crate::backup), so that a backup does not depend on sled's on-disk format: any version
//! of kvitt, or a script, can read it back into whatever store it uses.
//!
//! Layout, all integers big-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | [`DUMP_MAGIC`] `KVITTDMP` |
//! | 4 | format version, [`DUMP_VERSION`] |
//! | per entry | key length (u32, at most [`MAX_KEY_BYTES`]), key, value length (u32, at most [`MAX_VALUE_BYTES`]), value |
//! | 4 | [`END_MARK`] `0xFFFFFFFF` (never a key length) |
//! | 8 | number of entries (u64) |
//! | 32 | SHA-256 of every byte before it, the magic through the count |
//!
//! Entries come in strictly increasing key order (as the store scans them), so a key
//! appears once. Nothing follows the hash.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use super::{Batch, Entry, Store, StoreError};
use crate::ledger::MAX_SCAN_ENTRIES;

/// The first bytes of every dump.
pub const DUMP_MAGIC: &[u8; 8] = b"KVITTDMP";
/// The format version this build writes and reads.
pub const DUMP_VERSION: u32 = 1;
/// The key length that ends the entries (no key is this long).
pub const END_MARK: u32 = u32::MAX;
/// The longest key a dump may hold (the ledger's keys are prefixes and ids, under 200 bytes).
pub const MAX_KEY_BYTES: usize = 64 * 1024;
/// The longest value a dump may hold (a record is at most a few MiB: evidence, a directory).
pub const MAX_VALUE_BYTES: usize = 64 * 1024 * 1024;
/// Entries written to the store per batch when a dump is loaded.
pub const LOAD_BATCH_ENTRIES: usize = 10_000;

/// Why a dump could not be written or read; every variant about a dump's content says
/// where in it (the entry, or the byte offset) it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Reading or writing the stream failed.
    #[error("ledger dump: {0}")]
    Io(std::io::Error),
    /// The store failed while it was read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stream does not start with [`DUMP_MAGIC`].
    #[error("ledger dump: not a kvitt ledger dump (it does not start with KVITTDMP)")]
    NotADump,
    /// The stream is of another format version.
    #[error("ledger dump: format version {found}, this kvitt reads version {DUMP_VERSION}")]
    Version {
        /// The version the stream says.
        found: u32,
    },
    /// The stream ends before its end mark, count and hash.
    #[error("ledger dump: truncated at byte {offset}, in {reading}")]
    Truncated {
        /// Bytes read before the end.
        offset: u64,
        /// What was being read.
        reading: &'static str,
    },
    /// A key or value is longer than its limit.
    #[error("ledger dump: entry {entry} has a {what} of {bytes} bytes, over the limit of {limit}")]
    TooLong {
        /// 0-based index of the entry.
        entry: u64,
        /// `key` or `value`.
        what: &'static str,
        /// Its length.
        bytes: u64,
        /// The limit.
        limit: usize,
    },
    /// A key is not greater than the one before it.
    #[error("ledger dump: entry {entry}'s key is not after the previous entry's")]
    OutOfOrder {
        /// 0-based index of the entry.
        entry: u64,
    },
    /// The count at the end is not the number of entries read.
    #[error("ledger dump: it says it holds {stated} entries, {read} were read")]
    Count {
        /// What the end says.
        stated: u64,
        /// What was read.
        read: u64,
    },
    /// The SHA-256 at the end is not that of the bytes read.
    #[error("ledger dump: SHA-256 is {computed}, the dump says {stated} (it was changed or damaged)")]
    Hash {
        /// The hash the dump states, hex.
        stated: String,
        /// The hash of what was read, hex.
        computed: String,
    },
    /// Bytes follow the hash.
    #[error("ledger dump: bytes follow its end, at byte {offset}")]
    Trailing {
        /// Where the end was.
        offset: u64,
    },
}

impl From<std::io::Error> for DumpError {
    fn from(error: std::io::Error) -> DumpError {
        DumpError::Io(error)
    }
}

/// What a dump holds, as its end states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpSummary {
    /// Entries.
    pub entries: u64,
    /// The SHA-256 at its end.
    pub sha256: [u8; 32],
    /// Bytes of the whole dump.
    pub bytes: u64,
}

/// Writes a dump entry by entry; [`DumpWriter::finish`] writes the end.
pub struct DumpWriter<W: Write> {
    out: W,
    hash: Sha256,
    entries: u64,
    bytes: u64,
    last: Option<Vec<u8>>,
}

impl<W: Write> DumpWriter<W> {
    /// Starts a dump on `out` (writes the magic and version).
    pub fn new(out: W) -> Result<DumpWriter<W>, DumpError> {
        let mut writer = DumpWriter { out, hash: Sha256::new(), entries: 0, bytes: 0, last: None };
        writer.put(DUMP_MAGIC)?;
        writer.put(&DUMP_VERSION.to_be_bytes())?;
        Ok(writer)
    }

    /// Appends one entry; keys must come in strictly increasing order.
    pub fn entry(&mut self, key: &[u8], value: &[u8]) -> Result<(), DumpError> {
        let entry = self.entries;
        let too_long =
            |what, bytes: usize, limit| DumpError::TooLong { entry, what, bytes: bytes as u64, limit };
        if key.len() > MAX_KEY_BYTES {
            return Err(too_long("key", key.len(), MAX_KEY_BYTES));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(too_long("value", value.len(), MAX_VALUE_BYTES));
        }
        if self.last.as_deref().is_some_and(|last| last >= key) {
            return Err(DumpError::OutOfOrder { entry });
        }
        // Both fit in u32: the limits are far below it.
        self.put(&(key.len() as u32).to_be_bytes())?;
        self.put(key)?;
        self.put(&(value.len() as u32).to_be_bytes())?;
        self.put(value)?;
        self.entries += 1;
        self.last = Some(key.to_vec());
        Ok(())
    }

    /// Writes the end mark, count and hash; returns what the dump holds and the writer.
    pub fn finish(mut self) -> Result<(DumpSummary, W), DumpError> {
        self.put(&END_MARK.to_be_bytes())?;
        self.put(&self.entries.to_be_bytes())?;
        let sha256: [u8; 32] = self.hash.clone().finalize().into();
        self.out.write_all(&sha256)?;
        self.out.flush()?;
        let summary = DumpSummary { entries: self.entries, sha256, bytes: self.bytes + 32 };
        Ok((summary, self.out))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), DumpError> {
        self.out.write_all(bytes)?;
        self.hash.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }
}

/// Writes every entry of `store` to `out` as a dump, in key order. The caller makes sure
/// no batch is applied meanwhile (GroupCommit::read_still), or the dump may mix states.
pub fn dump_store<W: Write>(store: &dyn Store, out: W) -> Result<(DumpSummary, W), DumpError> {
    let mut writer = DumpWriter::new(out)?;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(b"", after.as_deref(), MAX_SCAN_ENTRIES)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, value) in &page {
            writer.entry(key, value)?;
        }
    }
    writer.finish()
}

/// Reads a dump entry by entry, checking each limit and, at the end, the count and hash.
pub struct DumpReader<R: Read> {
    input: R,
    hash: Sha256,
    offset: u64,
    entries: u64,
    last: Option<Vec<u8>>,
    done: Option<DumpSummary>,
}

impl<R: Read> DumpReader<R> {
    /// Reads and checks the magic and version.
    pub fn new(input: R) -> Result<DumpReader<R>, DumpError> {
        let mut reader =
            DumpReader { input, hash: Sha256::new(), offset: 0, entries: 0, last: None, done: None };
        let mut magic = [0u8; 8];
        reader.take(&mut magic, "the magic").map_err(|error| match error {
            DumpError::Truncated { .. } => DumpError::NotADump,
            other => other,
        })?;
        if &magic != DUMP_MAGIC {
            return Err(DumpError::NotADump);
        }
        let found = reader.u32("the version")?;
        if found != DUMP_VERSION {
            return Err(DumpError::Version { found });
        }
        Ok(reader)
    }

    /// The next entry; `None` once the end was read and checked.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, DumpError> {
        if self.done.is_some() {
            return Ok(None);
        }
        let entry = self.entries;
        let length = self.u32("a key length")?;
        if length == END_MARK {
            self.end()?;
            return Ok(None);
        }
        let key = self.bytes(length, "key", MAX_KEY_BYTES)?;
        let length = self.u32("a value length")?;
        let value = self.bytes(length, "value", MAX_VALUE_BYTES)?;
        if self.last.as_deref().is_some_and(|last| last >= key.as_slice()) {
            return Err(DumpError::OutOfOrder { entry });
        }
        self.last = Some(key.clone());
        self.entries += 1;
        Ok(Some((key, value)))
    }

    /// What the dump holds, once its end was read.
    pub fn summary(&self) -> Option<DumpSummary> {
        self.done
    }

    fn end(&mut self) -> Result<(), DumpError> {
        let mut count = [0u8; 8];
        self.take(&mut count, "the entry count")?;
        let stated = u64::from_be_bytes(count);
        let computed: [u8; 32] = self.hash.clone().finalize().into();
        let mut hash = [0u8; 32];
        self.read_raw(&mut hash, "the SHA-256")?;
        if hash != computed {
            return Err(DumpError::Hash { stated: hex::encode(hash), computed: hex::encode(computed) });
        }
        if stated != self.entries {
            return Err(DumpError::Count { stated, read: self.entries });
        }
        let mut more = [0u8; 1];
        if self.input.read(&mut more)? != 0 {
            return Err(DumpError::Trailing { offset: self.offset });
        }
        self.done = Some(DumpSummary { entries: self.entries, sha256: hash, bytes: self.offset });
        Ok(())
    }

    fn u32(&mut self, reading: &'static str) -> Result<u32, DumpError> {
        let mut bytes = [0u8; 4];
        self.take(&mut bytes, reading)?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn bytes(&mut self, length: u32, what: &'static str, limit: usize) -> Result<Vec<u8>, DumpError> {
        let length = length as usize;
        if length > limit {
            return Err(DumpError::TooLong { entry: self.entries, what, bytes: length as u64, limit });
        }
        let mut bytes = vec![0u8; length];
        self.take(&mut bytes, what)?;
        Ok(bytes)
    }

    /// Reads exactly `into.len()` bytes into the hash.
    fn take(&mut self, into: &mut [u8], reading: &'static str) -> Result<(), DumpError> {
        self.read_raw(into, reading)?;
        self.hash.update(&*into);
        Ok(())
    }

    fn read_raw(&mut self, into: &mut [u8], reading: &'static str) -> Result<(), DumpError> {
        let mut filled = 0;
        while let Some(rest) = into.get_mut(filled..).filter(|rest| !rest.is_empty()) {
            match self.input.read(rest) {
                Ok(0) => return Err(DumpError::Truncated { offset: self.offset + filled as u64, reading }),
                Ok(read) => filled += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.offset += filled as u64;
        Ok(())
    }
}

/// Reads a whole dump and checks it, writing nothing; what it holds.
pub fn verify_dump(input: impl Read) -> Result<DumpSummary, DumpError> {
    load(input, |_| Ok(()))
}

/// Reads a whole dump into `store`, [`LOAD_BATCH_ENTRIES`] entries per batch, and syncs.
/// A dump found damaged part-way has had its earlier entries written: check it with
/// [`verify_dump`] first, and write into a store that is thrown away if this fails.
pub fn load_dump(input: impl Read, store: &dyn Store) -> Result<DumpSummary, DumpError> {
    let summary = load(input, |batch| Ok(store.apply(batch)?))?;
    store.sync()?;
    Ok(summary)
}

fn load(
    input: impl Read,
    mut apply: impl FnMut(&Batch) -> Result<(), DumpError>,
) -> Result<DumpSummary, DumpError> {
    let mut reader = DumpReader::new(std::io::BufReader::with_capacity(1 << 20, input))?;
    let mut batch = Batch::new();
    let mut pending = 0usize;
    while let Some((key, value)) = reader.next_entry()? {
        batch.insert(key, value);
        pending += 1;
        if pending == LOAD_BATCH_ENTRIES {
            apply(&batch)?;
            batch = Batch::new();
            pending = 0;
        }
    }
    if pending > 0 {
        apply(&batch)?;
    }
    // next_entry returned None only after reading and checking the end.
    reader.summary().ok_or(DumpError::Truncated { offset: reader.offset, reading: "the end" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn store_with(entries: u32) -> MemoryStore {
        let store = MemoryStore::new();
        let mut batch = Batch::new();
        for index in 0..entries {
            batch.insert(format!("rec/{index:06}").into_bytes(), vec![index as u8; (index % 300) as usize]);
        }
        store.apply(&batch).unwrap();
        store
    }

    fn dump_of(store: &dyn Store) -> Vec<u8> {
        dump_store(store, Vec::new()).unwrap().1
    }

    #[test]
    fn a_dump_loads_back_into_the_same_entries() {
        let source = store_with(LOAD_BATCH_ENTRIES as u32 + 7);
        let (summary, bytes) = dump_store(&source, Vec::new()).unwrap();
        assert_eq!(summary.entries, LOAD_BATCH_ENTRIES as u64 + 7);
        assert_eq!(summary.bytes, bytes.len() as u64);
        assert_eq!(verify_dump(bytes.as_slice()).unwrap(), summary);
        let target = MemoryStore::new();
        assert_eq!(load_dump(bytes.as_slice(), &target).unwrap(), summary);
        let all = |store: &dyn Store| store.scan(b"", None, usize::MAX).unwrap();
        assert_eq!(all(&target), all(&source));
        // An empty ledger is a dump too.
        let empty = dump_of(&MemoryStore::new());
        assert_eq!(verify_dump(empty.as_slice()).unwrap().entries, 0);
    }

    #[test]
    fn a_truncated_dump_is_refused_wherever_it_is_cut() {
        let bytes = dump_of(&store_with(20));
        for cut in [0, 5, 8, 11, 12, 15, 40, bytes.len() - 33, bytes.len() - 1] {
            let error = verify_dump(&bytes[..cut]).unwrap_err();
            match cut {
                0..=7 => assert!(matches!(error, DumpError::NotADump), "cut at {cut}: {error}"),
                _ => assert!(matches!(error, DumpError::Truncated { .. }), "cut at {cut}: {error}"),
            }
        }
        let error = verify_dump(&bytes[..40]).unwrap_err();
        assert!(error.to_string().contains("truncated at byte 40"), "{error}");
    }

    #[test]
    fn any_flipped_byte_is_caught_and_nothing_is_loaded() {
        let bytes = dump_of(&store_with(20));
        for at in 12..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x01;
            assert!(verify_dump(damaged.as_slice()).is_err(), "a flip at byte {at} went unseen");
        }
        // A flipped value byte: the lengths still parse, the hash does not match.
        let mut damaged = bytes.clone();
        damaged[48] ^= 0x01; // entry 1's one value byte
        let error = verify_dump(damaged.as_slice()).unwrap_err();
        assert!(matches!(error, DumpError::Hash { .. }), "{error}");
    }

    #[test]
    fn another_version_a_wrong_count_and_trailing_bytes_are_named() {
        let bytes = dump_of(&store_with(3));
        let mut other = bytes.clone();
        other[8..12].copy_from_slice(&2u32.to_be_bytes());
        assert!(matches!(verify_dump(other.as_slice()), Err(DumpError::Version { found: 2 })));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(verify_dump(longer.as_slice()), Err(DumpError::Trailing { .. })));
        let mut bad_magic = bytes.clone();
        bad_magic[0] = b'X';
        assert!(matches!(verify_dump(bad_magic.as_slice()), Err(DumpError::NotADump)));
        // A count that does not match, with a hash made to match it.
        let end = bytes.len() - 40;
        let mut recounted = bytes[..end].to_vec();
        recounted.extend_from_slice(&4u64.to_be_bytes());
        let hash: [u8; 32] = Sha256::digest(&recounted).into();
        recounted.extend_from_slice(&hash);
        assert!(matches!(verify_dump(recounted.as_slice()), Err(DumpError::Count { stated: 4, read: 3 })));
    }

    #[test]
    fn keys_and_values_over_their_limits_and_out_of_order_are_refused() {
        let mut writer = DumpWriter::new(Vec::new()).unwrap();
        let long_key = vec![0u8; MAX_KEY_BYTES + 1];
        assert!(matches!(writer.entry(&long_key, b""), Err(DumpError::TooLong { what: "key", .. })));
        writer.entry(&vec![0u8; MAX_KEY_BYTES], b"at the limit").unwrap();
        assert!(matches!(writer.entry(b"\x00", b""), Err(DumpError::OutOfOrder { entry: 1 })));
        // A stated length over the limit is refused before anything that long is read.
        let mut bytes = DUMP_MAGIC.to_vec();
        bytes.extend_from_slice(&DUMP_VERSION.to_be_bytes());
        bytes.extend_from_slice(&1u32.to_be_bytes());
        bytes.push(b'k');
        bytes.extend_from_slice(&(MAX_VALUE_BYTES as u32 + 1).to_be_bytes());
        let error = verify_dump(bytes.as_slice()).unwrap_err();
        assert!(matches!(error, DumpError::TooLong { entry: 0, what: "value", .. }), "{error}");
    }
}
