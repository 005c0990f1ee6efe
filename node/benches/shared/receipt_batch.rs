//! The batch one receipt pushed at a merchant writes, as the benches measure it.

use kvitt_node::ledger::keys;
use kvitt_node::store::Batch;
use kvitt_protocol::{PublicKey, RecordId};

/// A receipt-like batch: the record (1.2 KB), its slot, channel, buyer and outbox entries,
/// the register's serial.
pub fn push(serial: u64, register: &str) -> Batch {
    let mut bytes = serial.to_be_bytes().to_vec();
    while bytes.len() < 1200 {
        let block = RecordId::of(&bytes[bytes.len().saturating_sub(32)..]);
        bytes.extend_from_slice(block.as_bytes());
    }
    let id = RecordId::of(&bytes);
    let agency = PublicKey([3; 32]);
    let mut batch = Batch::new();
    batch.insert(keys::record(&id), bytes);
    let slot = kvitt_protocol::evidence::Slot::Receipt {
        signer: PublicKey([9; 32]),
        register: register.into(),
        serial,
    };
    batch.insert(keys::slot(&slot), id.as_bytes().to_vec());
    batch.insert(keys::serial(register), serial.to_be_bytes().to_vec());
    batch.insert(keys::outbox(&agency, serial), id.as_bytes().to_vec());
    batch.insert(keys::channel(&agency, 1_777_000_000 + serial, &id), Vec::new());
    batch.insert(keys::meta("outbox-sequence"), serial.to_be_bytes().to_vec());
    batch
}
