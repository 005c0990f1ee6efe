//! kvitt protocol core: the records, their one canonical byte form, ids, signatures and
//! validation. No I/O: bytes in, verdicts and bytes out.
//!
//! Every record travels in a signed envelope ([`envelope`]); [`Signed<T>`] exists only
//! for bytes that are canonical CBOR, verify strictly under their signer and pass every
//! rule of their type, so holding one is proof of all three.
//!
//! ```
//! use kvitt_protocol::{Signed, directory::Directory};
//! # fn demo(bytes: &[u8]) {
//! match Signed::<Directory>::decode(bytes) {
//!     Ok(directory) => println!("directory v{} {}", directory.body().version, directory.id()),
//!     Err(error) => println!("refused: {error}"), // e.g. "sig: does not verify … [signature.invalid]"
//! }
//! # }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod assignment;
pub mod cbor;
pub mod channel;
pub mod claim;
pub mod claim_amounts;
pub mod claim_buyer;
pub mod code;
pub mod directory;
pub mod envelope;
pub mod error;
pub mod event;
pub mod evidence;
pub mod fields;
pub mod id;
pub mod limits;
pub mod receipt;
pub mod reconcile;
pub mod routing;
pub mod sample;
pub mod vat;
pub mod wire;

pub use envelope::{AnyRecord, Record, RecordType, Signed};
pub use error::{Error, ErrorCode, Result};
pub use id::{PublicKey, RecordId, Signature};
