//! Every limit the protocol enforces, in one place, each with a name.
//!
//! A limit is checked before or while decoding, so an oversized input is refused before it
//! costs memory or time. spec/protocol.md §Limits lists the same values; a change here is a
//! protocol change.

/// Largest signed receipt, in bytes of its canonical envelope.
pub const MAX_RECEIPT_BYTES: usize = 64 * 1024;
/// Largest signed expense claim, in bytes.
pub const MAX_CLAIM_BYTES: usize = 64 * 1024;
/// Largest signed claim event, in bytes.
pub const MAX_CLAIM_EVENT_BYTES: usize = 8 * 1024;
/// Largest signed directory, in bytes.
pub const MAX_DIRECTORY_BYTES: usize = 512 * 1024;
/// Largest signed equivocation evidence: two records of the largest kind plus framing.
pub const MAX_EVIDENCE_BYTES: usize = 2 * MAX_DIRECTORY_BYTES + 1024;
/// Largest signed assignment of a receipt's buyer, in bytes (about 300 at most in practice).
pub const MAX_ASSIGNMENT_BYTES: usize = 1024;
/// Largest record of any type; what a decoder that does not yet know the type applies.
pub const MAX_RECORD_BYTES: usize = MAX_EVIDENCE_BYTES;

/// Deepest nesting of CBOR arrays and maps in a record (the top-level item is depth 1).
pub const MAX_CBOR_DEPTH: usize = 16;
/// Most data items in one CBOR item, itself and every element, key, value and tag content
/// at any depth: what decoding may build is bounded by this, not by the input's length
/// (an array of four million zeros is four megabytes, its decoded value a hundred and
/// more). The largest directory holds about 44 000.
pub const MAX_CBOR_ITEMS: usize = 65_536;

/// Most records in one `deliver` request between nodes.
pub const MAX_RECORDS_PER_DELIVERY: usize = 512;
/// Largest encoded message (a request or a response) between nodes, in bytes: the
/// transport's frame limit.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Most record bytes one delivery carries, all records together: a message's limit less
/// room for the envelope and each record's CBOR header. Any single record fits
/// ([`MAX_RECORD_BYTES`] is far below it), so a delivery always makes progress.
pub const MAX_DELIVERY_RECORD_BYTES: usize = MAX_MESSAGE_BYTES - 64 * 1024;

/// Most lines on one receipt (text lines included).
pub const MAX_LINES_PER_RECEIPT: usize = 1000;
/// Most discounts on one receipt line.
pub const MAX_DISCOUNTS_PER_LINE: usize = 8;
/// Most payments on one receipt.
pub const MAX_PAYMENTS_PER_RECEIPT: usize = 16;
/// Most items (with or without a receipt) on one expense claim.
pub const MAX_ITEMS_PER_CLAIM: usize = 200;
/// Most participants named on one claim item (representation).
pub const MAX_PARTICIPANTS_PER_ITEM: usize = 50;
/// Most members in one directory.
pub const MAX_MEMBERS_PER_DIRECTORY: usize = 2000;
/// Most network addresses of one directory member.
pub const MAX_ADDRESSES_PER_MEMBER: usize = 8;

/// Longest identifier-like text (register id, references, codes, units), in bytes of UTF-8.
pub const MAX_CODE_BYTES: usize = 64;
/// Longest name or description, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 256;
/// Longest free text (purpose, reason), in bytes of UTF-8.
pub const MAX_FREE_TEXT_BYTES: usize = 2000;

/// Largest absolute amount in minor units (10^13 öre = 100 000 000 000 kr). Small enough
/// that sums over every limit above fit in an `i64` without overflow.
pub const MAX_AMOUNT_MINOR: i64 = 10_000_000_000_000;
/// Largest quantity, in thousandths of the unit (one million units).
pub const MAX_QUANTITY_MILLI: i64 = 1_000_000_000;
/// Largest cash rounding (öresavrundning), in minor units, either sign.
pub const MAX_ROUNDING_MINOR: i64 = 50;
/// Largest distance on one mileage item, in kilometres.
pub const MAX_MILEAGE_KM: u32 = 100_000;
/// Longest per-diem period, in days.
pub const MAX_PER_DIEM_DAYS: i64 = 366;
